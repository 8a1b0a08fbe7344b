"""Task DAGs: each saved task with a ``schedule`` or an ``approval`` becomes a small DAG, ``task__<id>``.

The API publishes these tasks to the ``ylai_scheduled_tasks`` Variable (read while parsing,
as for database scripts). Airflow's scheduler does the timing.

- A task with a schedule and no approval: one step triggers the task's target DAG with its
  saved params, under a run id ``ylai-task-<id>-<time>`` by which ylai lists the task's
  scheduled runs, and does not wait for it (as before approvals existed).
- A task with an ``approval`` (with or without a schedule): the first task is the approval
  gate (:func:`ylai_operators.approval.approval_task`), then ``trigger`` starts the target with
  the run's conf over the saved params and waits for it, so the task run ends as the target's
  run does. ylai starts such a task by triggering this DAG, so the gate is the task's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ylai_operators.naming import TASK_PREFIX

if TYPE_CHECKING:
    from airflow.sdk import DAG

VARIABLE = "ylai_scheduled_tasks"
DAG_PREFIX = TASK_PREFIX


def run_id_prefix(task_id: int) -> str:
    """Run ids of a task's scheduled runs start with this."""
    return f"ylai-task-{task_id}-"


def build_task_dag(task_id: int, task: dict[str, Any]) -> DAG:
    """The DAG of one task: ``trigger`` alone, or the approval gate then ``trigger`` (see the module)."""
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
    from airflow.sdk import DAG

    class LiteralConfTrigger(TriggerDagRunOperator):
        # Saved params are data: a value containing "{{ ... }}" must not be rendered by Jinja.
        template_fields = tuple(f for f in TriggerDagRunOperator.template_fields if f != "conf")

    class RunConfTrigger(LiteralConfTrigger):
        """Triggers the target with this run's conf over the saved params (ylai passes a run's params so)."""

        def execute(self, context: Any) -> Any:
            self.conf = {**(self.conf or {}), **(context["dag_run"].conf or {})}
            return super().execute(context)

    if task.get("approval"):
        return _gated_dag(task_id, task, RunConfTrigger)

    with DAG(
        dag_id=f"{DAG_PREFIX}{task_id}",
        dag_display_name=f"Task: {task['name']}",
        description=f"Runs ylai task {task['name']!r} ({task['dag_id']}) on schedule {task['schedule']}.",
        doc_md=(
            f"### Scheduled ylai task `{task['name']}`\n\nTriggers `{task['dag_id']}` with the task's saved "
            f"params on `{task['schedule']}`. Managed by ylai: edit the task, not this DAG."
        ),
        schedule=task["schedule"],
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["ylai", "task"],
        default_args={"owner": task.get("owner") or "ylai", "retries": 1},
    ) as dag:
        LiteralConfTrigger(
            task_id="trigger",
            trigger_dag_id=task["dag_id"],
            trigger_run_id=run_id_prefix(task_id) + "{{ ts_nodash }}",
            conf=dict(task.get("params") or {}),
            wait_for_completion=False,
        )
    return dag


def _gated_dag(task_id: int, task: dict[str, Any], trigger: type[Any]) -> DAG:
    """The DAG of a task that needs approval: the gate, then the target's run, waited for."""
    from airflow.sdk import DAG

    from ylai_operators.approval import approval_task, spec_from_record

    schedule = task.get("schedule")
    with DAG(
        dag_id=f"{DAG_PREFIX}{task_id}",
        dag_display_name=f"Task: {task['name']}",
        description=f"Runs ylai task {task['name']!r} ({task['dag_id']}) once approved.",
        doc_md=(
            f"### ylai task `{task['name']}` (needs approval)\n\nWaits for an approval, then triggers "
            f"`{task['dag_id']}` with the task's saved params"
            + (f" on `{schedule}`" if schedule else "")
            + ". Managed by ylai: edit the task, not this DAG."
        ),
        schedule=schedule,
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1 if schedule else 16,
        tags=["ylai", "task"],
        default_args={"owner": task.get("owner") or "ylai"},
    ) as dag:
        gate = approval_task(spec_from_record(task["approval"]), kind="task", target=task["name"])
        # No run id prefix: the target's run is listed through this DAG's run (which has the
        # approval), not as a scheduled run of its own. No retries: a retry would start the target again.
        gate >> trigger(
            task_id="trigger",
            trigger_dag_id=task["dag_id"],
            conf=dict(task.get("params") or {}),
            wait_for_completion=True,
            poke_interval=10,
            deferrable=True,
            retries=0,
        )
    return dag


def scheduled_task_dags() -> dict[str, DAG]:
    """One DAG per published task (scheduled or needing approval)."""
    import warnings

    try:
        from ylai_operators.db_scripts import read_json_variable

        published = read_json_variable(VARIABLE) or {}
    except Exception as exc:  # no metadata DB while parsing: no scheduled tasks, not an import error
        warnings.warn(f"ylai: cannot read {VARIABLE}: {exc}", stacklevel=1)
        return {}
    dags = {}
    for key, task in sorted(published.items(), key=lambda kv: int(kv[0])):
        try:
            dag = build_task_dag(int(key), task)
        except Exception as exc:
            warnings.warn(f"ylai: scheduled task {key} cannot become a DAG: {exc}", stacklevel=1)
            continue
        dags[dag.dag_id] = dag
    return dags
