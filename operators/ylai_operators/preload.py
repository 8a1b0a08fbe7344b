"""Import, once per component, what every ylai task imports at start-up.

A LocalExecutor task is a fork of a fork of the scheduler (scheduler -> executor worker ->
task supervisor -> task runner), and the task runner then imports the task's DAG file:
``ylai_operators`` (pydantic models, YAML loader) and Airflow's operator machinery. Imported
in the parent, those modules are inherited by every fork instead of being imported again by
every task (0.1-0.4 s per task on a loaded 2-core machine, bench/pipeline_latency.py). The
ylai plugin calls :func:`warm_imports` when Airflow loads plugins, which the scheduler does
before it starts the executor's workers (and DAG-processor parsers fork from their manager
the same way). It never raises: a failure here only costs speed.
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
)


def warm_imports() -> None:
    """Import :data:`MODULES`, ignoring any that fail."""
    for name in MODULES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
