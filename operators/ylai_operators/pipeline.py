"""Former home of the pipeline specs and their DAGs, kept so that existing imports work.

Specs and their checks live in :mod:`ylai_operators.pipeline_spec`, the DAG builder in
:mod:`ylai_operators.pipeline_dags`; the plugin imports them through :mod:`ylai_operators.catalog`.
"""

from __future__ import annotations

from ylai_operators.pipeline_dags import PIPELINE_DAG_PREFIX, build_pipeline_dag
from ylai_operators.pipeline_spec import (
    COLLECT_TASK_ID,
    NODE_ID,
    SCHEDULE_PRESETS,
    Binding,
    NodeSpec,
    ParamRef,
    Pipeline,
    PipelineSpec,
    check_pipeline,
    check_schedule,
    load_pipeline,
    load_pipelines,
    parse_value,
    read_spec,
)

__all__ = [
    "COLLECT_TASK_ID",
    "NODE_ID",
    "PIPELINE_DAG_PREFIX",
    "SCHEDULE_PRESETS",
    "Binding",
    "NodeSpec",
    "ParamRef",
    "Pipeline",
    "PipelineSpec",
    "build_pipeline_dag",
    "check_pipeline",
    "check_schedule",
    "load_pipeline",
    "load_pipelines",
    "parse_value",
    "read_spec",
]
