"""Build one Airflow DAG per registered script: ``script__<name>``.

The DAG's ``Param``s come from the manifest, so Airflow's trigger form shows
typed fields and ``POST /api/v2/dags/script__<name>/dagRuns`` validates ``conf``
against the same schema before any run is created.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ylai_operators.naming import SCRIPT_PREFIX, script_dag_id
from ylai_operators.param_schema import to_param
from ylai_operators.registry import Script
from ylai_operators.script_tasks import script_operator_kwargs

__all__ = ["SCRIPT_DAG_PREFIX", "build_script_dag", "script_dag_id", "script_doc", "script_operator_kwargs"]

if TYPE_CHECKING:
    from airflow.sdk import DAG

SCRIPT_DAG_PREFIX = SCRIPT_PREFIX
# A fixed start date: script DAGs are triggered, never back-filled.
START_DATE = datetime(2024, 1, 1, tzinfo=UTC)


def script_doc(script: Script) -> str:
    """Markdown shown on the DAG page: description, parameters and outputs."""
    m = script.manifest
    lines = [f"### {m.display_title}", "", m.description or "_No description._", ""]
    if m.params:
        lines += ["| parameter | type | required | description |", "|---|---|---|---|"]
        for name, p in m.params.items():
            kind = p.type + (" (secret)" if p.secret else "")
            lines.append(f"| `{name}` | {kind} | {'yes' if p.required else 'no'} | {p.description or ''} |")
        lines.append("")
    if m.outputs:
        lines += ["| output | type | description |", "|---|---|---|"]
        lines += [f"| `{n}` | {o.type} | {o.description or ''} |" for n, o in m.outputs.items()]
        lines.append("")
    if script.content is not None:
        lines.append(f"Script stored in the database, version {script.version} ({script.runtime}).")
    else:
        lines.append(f"Script: `{script.path.name}` ({script.runtime}), manifest: `{script.manifest_path.name}`.")
    return "\n".join(lines)


def build_script_dag(script: Script) -> DAG:
    """Return the ``script__<name>`` DAG for one script."""
    from airflow.sdk import DAG

    from ylai_operators.approval import approval_task, script_approval
    from ylai_operators.script_operator import ScriptOperator

    m = script.manifest
    with DAG(
        dag_id=script_dag_id(m.name),
        dag_display_name=m.display_title,
        description=(m.description.strip().splitlines() or [m.display_title])[0][:200],
        doc_md=script_doc(script),
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        tags=sorted({"ylai", "script", *m.tags}),
        default_args={"owner": m.owner, "retries": m.retries},
        params={name: to_param(p, secret=p.secret or m.sensitive) for name, p in m.params.items()},
    ) as dag:
        run = ScriptOperator(
            task_id=m.name,
            param_refs={name: name for name in m.params},
            **script_operator_kwargs(script),
        )
        approval = script_approval(m)
        if approval is not None:  # the script waits for a person's approval (ylai_operators.approval)
            approval_task(approval, kind="script", target=m.name) >> run
    return dag
