"""Lifecycle listener: with a local executor the scheduler runs the tasks, so it samples its host."""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl


@hookimpl
def on_starting(component: Any) -> None:
    """Start the sampler in the scheduler when it executes tasks itself."""
    import sys

    # Called from Job.__init__, before the job type is set: the command line tells the component.
    if sys.argv[1:2] != ["scheduler"]:
        return
    from airflow.configuration import conf

    if "Celery" in conf.get("core", "executor"):
        return  # Celery workers sample themselves
    from ylai_plugin.monitoring.sampler import start_sampler

    start_sampler("scheduler")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """Alert rules on run/task failures fire at once (recorded and sent from a thread)."""
    from ylai_plugin.alerts.events import handle_run_failed, in_background

    in_background(handle_run_failed, dag_run.dag_id, dag_run.run_id)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """A successful run resolves the DAG's open failure incidents."""
    from ylai_plugin.alerts.events import handle_run_succeeded, in_background

    in_background(handle_run_succeeded, dag_run.dag_id)
