"""Lifecycle listener: the scheduler's samplers, the dag-processor's catalog watch, run and task events.

The scheduler samples its host (local executor) or the Celery broker's queues; the dag-processor
watches the catalog (:mod:`ylai_plugin.domain.dag_reparse`).
"""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl


@hookimpl
def on_starting(component: Any) -> None:
    """Start the scheduler's sampler, or the dag-processor's catalog watch.

    The sampler reads the scheduler's host when it executes tasks itself, else the Celery queues.
    """
    import sys

    # Called from Job.__init__, before the job type is set: the command line tells the component.
    if sys.argv[1:2] == ["dag-processor"]:
        from ylai_plugin.domain.dag_reparse import start_watcher

        start_watcher()
        return
    if sys.argv[1:2] != ["scheduler"]:
        return
    from airflow.configuration import conf

    from ylai_plugin.monitoring.queue_sampler import celery_configured, start_queue_sampler

    if celery_configured(conf.get("core", "executor")):
        # Celery workers sample their hosts; one scheduler reading the broker is enough.
        start_queue_sampler()
        return
    from ylai_plugin.monitoring.sampler import start_sampler

    start_sampler("scheduler")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """Alert rules on run/task failures fire at once (recorded and sent from a thread).

    A run failed by its approval (rejected in Airflow's own UI, or timed out) gets the reason as
    its note, as a rejection through ylai's API does.
    """
    from ylai_plugin.alerts.events import handle_run_failed, in_background
    from ylai_plugin.domain.approvals import note_failed_approval

    in_background(handle_run_failed, dag_run.dag_id, dag_run.run_id)
    in_background(note_failed_approval, dag_run.dag_id, dag_run.run_id)


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    """When a run's approval task starts waiting (not when it resumes), tell its ``notify`` channels."""
    task = getattr(task_instance, "task", None)
    approval = getattr(task, "approval", None)
    context = getattr(task_instance, "_ti_context_from_server", None)
    if not isinstance(approval, dict) or not approval.get("notify") or context is None or context.next_method:
        return
    from ylai_plugin.alerts.approval_notices import notify

    request = {
        **approval,
        "kind": getattr(task, "kind", "script"),
        "target": getattr(task, "target", task_instance.dag_id),
        "requester": getattr(context.dag_run, "triggering_user_name", None),
        "dag_id": task_instance.dag_id,
        "run_id": task_instance.run_id,
    }
    notify(request, list(approval["notify"]))


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """A successful run resolves the DAG's open failure incidents."""
    from ylai_plugin.alerts.events import handle_run_succeeded, in_background

    in_background(handle_run_succeeded, dag_run.dag_id)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    """task_failed rules fire at once where the failure is seen with DB access (scheduler, api-server).

    Task processes (``RuntimeTaskInstance``) have no database access in Airflow 3: failures there
    are alerted when the run ends and by the evaluator's next pass.
    """
    if type(task_instance).__name__ != "TaskInstance":
        return  # RuntimeTaskInstance in a task process: nothing is imported there
    from airflow.models.taskinstance import TaskInstance

    if not isinstance(task_instance, TaskInstance) or str(task_instance.state) != "failed":
        return  # a task process, or up_for_retry: not failed "after its retries"
    from ylai_plugin.alerts.events import handle_task_failed, in_background

    ti = task_instance
    in_background(handle_task_failed, ti.dag_id, ti.run_id, ti.task_id, int(ti.try_number or 1), int(ti.map_index))
