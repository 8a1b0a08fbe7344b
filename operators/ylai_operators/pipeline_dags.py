"""Checked pipelines as DAGs: one ``pipeline__<name>`` per pipeline, a ScriptOperator per node.

The last task, ``collect_outputs``, gathers the outputs of the nodes nothing depends on into
the pipeline's single result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ylai_operators.naming import PIPELINE_PREFIX
from ylai_operators.param_schema import to_param
from ylai_operators.pipeline_spec import COLLECT_TASK_ID, Binding, ParamRef, Pipeline, parse_value
from ylai_operators.registry import Registry

if TYPE_CHECKING:
    from airflow.sdk import DAG

PIPELINE_DAG_PREFIX = PIPELINE_PREFIX


def build_pipeline_dag(pipeline: Pipeline, registry: Registry) -> DAG:
    """Return the ``pipeline__<name>`` DAG of a checked pipeline."""
    from airflow.sdk import DAG

    from ylai_operators.approval import approval_task, pipeline_approval
    from ylai_operators.collect import CollectOutputsOperator
    from ylai_operators.script_dags import START_DATE
    from ylai_operators.script_operator import ScriptOperator
    from ylai_operators.script_tasks import script_operator_kwargs

    spec = pipeline.spec
    doc = [f"### {spec.title or spec.name}", "", spec.description or "_No description._", ""]
    doc += ["| node | script | after |", "|---|---|---|"]
    doc += [
        f"| `{n}` | `{spec.nodes[n].script}` | {', '.join(sorted(pipeline.upstream[n])) or '-'} |"
        for n in pipeline.order
    ]
    doc += ["", f"Spec: `{pipeline.path.name}`."]
    with DAG(
        dag_id=PIPELINE_DAG_PREFIX + spec.name,
        dag_display_name=spec.title or spec.name,
        description=(spec.description.strip().splitlines() or [spec.name])[0][:200],
        doc_md="\n".join(doc),
        schedule=spec.schedule,
        start_date=START_DATE,
        catchup=False,
        tags=sorted({"ylai", "pipeline", *spec.tags}),
        default_args={"owner": spec.owner, "retries": spec.retries},
        params={name: to_param(p) for name, p in spec.params.items()},
    ) as dag:
        tasks = {}
        for node_id in pipeline.order:
            node = spec.nodes[node_id]
            script = registry.scripts[node.script]
            literal: dict[str, Any] = {}
            refs: dict[str, str] = {}
            bindings: dict[str, str] = {}
            for pname, raw in node.params.items():
                value = parse_value(raw)
                if isinstance(value, Binding):
                    bindings[pname] = f"{value.node}.{value.output}"
                elif isinstance(value, ParamRef):
                    refs[pname] = value.name
                else:
                    literal[pname] = value
            kwargs = script_operator_kwargs(script) | {"owner": spec.owner, "retries": spec.retries}
            if node.retries is not None:
                kwargs["retries"] = node.retries
            if node.timeout is not None:
                kwargs["execution_timeout"] = node.timeout
            if node.resources is not None:
                if node.resources.cpu is not None:
                    kwargs["pool_slots"] = node.resources.cpu
                if node.resources.memory_mb is not None:
                    kwargs["memory_limit_mb"] = node.resources.memory_mb
                if node.resources.queue is not None:
                    kwargs["queue"] = node.resources.queue
            tasks[node_id] = ScriptOperator(
                task_id=node_id, param_values=literal, param_refs=refs, bindings=bindings, **kwargs
            )
        for node_id, ups in pipeline.upstream.items():
            for up in sorted(ups):
                tasks[up] >> tasks[node_id]
        collect = CollectOutputsOperator(
            task_id=COLLECT_TASK_ID,
            nodes=pipeline.order,
            leaves=pipeline.leaves,
            owner=spec.owner,
            retries=max(spec.retries, 1),
        )
        for leaf in pipeline.leaves:
            tasks[leaf] >> collect
        manifests = [registry.scripts[spec.nodes[n].script].manifest for n in pipeline.order]
        approval = pipeline_approval(spec.approval, manifests)
        if approval is not None:  # no node starts before a person approves the run
            gate = approval_task(approval, kind="pipeline", target=spec.name)
            for node_id in pipeline.order:
                if not pipeline.upstream.get(node_id):
                    gate >> tasks[node_id]
    return dag
