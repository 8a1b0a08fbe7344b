"""Import, once per component, what every ylai task imports at start-up.

A LocalExecutor task is a fork of a fork of the scheduler (scheduler -> executor worker ->
task supervisor -> task runner), and the task runner then imports the task's DAG file:
``ylai_operators`` (pydantic models, YAML loader) and Airflow's operator machinery. Imported
in the parent, those modules are inherited by every fork instead of being imported again by
every task (0.1-0.4 s per task on a loaded 2-core machine, bench/pipeline_latency.py). The
ylai plugin calls :func:`warm_imports` when Airflow loads plugins, which the scheduler does
before it starts the executor's workers (and DAG-processor parsers fork from their manager
the same way). A Celery worker does not load plugins: ylai's Celery configuration calls it when
the worker starts, before its pool processes fork (:mod:`ylai_plugin.monitoring.celery_config`).
It never raises: a failure here only costs speed.
"""

from __future__ import annotations

import contextlib
import importlib

MODULES = (
    "yaml",
    "airflow.sdk",
    "airflow.sdk.bases.operator",
    "airflow.sdk.definitions.dag",
    "airflow.sdk.definitions.param",
    "ylai_operators.dag_factory",
    "ylai_operators.script_operator",
    "ylai_operators.collect",
    # What runs every task: the supervisor (imported by the Celery worker's pool process for its
    # first task) and the task runner's DAG bag, which the scheduler has but a Celery worker does
    # not: ~50 ms of every task on Celery (bench/pipeline_latency.py --executor celery).
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.dag_processing.dagbag",
)


def warm_imports() -> None:
    """Import :data:`MODULES`, ignoring any that fail."""
    for name in MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
