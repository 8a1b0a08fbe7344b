"""Request and response models of ``/pipelines``: the list, one pipeline's detail and the validator."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, pipeline_dag_id
from ylai_plugin.api.datamodels.approvals import RunApproval
from ylai_plugin.api.datamodels.common import DagCatalogEntry, DagKindName
from ylai_plugin.api.datamodels.scripts import VERSION_EXAMPLE, VersionOut

KIND_DESCRIPTION = "The DAG's kind (``pipeline``), so that clients need not slice ``dag_id``."
SPEC_EXAMPLE: dict[str, Any] = {
    "name": "generate_and_profile",
    "title": "Generate and profile",
    "params": {"rows": {"type": "integer", "default": 5000, "minimum": 1}},
    "nodes": {
        "generate": {"script": "data_generator", "params": {"rows": {"param": "rows"}}},
        "profile": {"script": "csv_profiler", "params": {"path": {"from": "generate.path"}}},
    },
}
PARAMS_SCHEMA_EXAMPLE: dict[str, Any] = {
    "type": "object",
    "properties": {"rows": {"type": "integer", "minimum": 1, "default": 5000}},
    "required": [],
    "additionalProperties": False,
}
PIPELINE_EXAMPLE: dict[str, Any] = {
    "name": "generate_and_profile",
    "dag_id": pipeline_dag_id("generate_and_profile"),
    "kind": DagKind.PIPELINE.value,
    "title": "Generate and profile",
    "description": "Generates a data set, then profiles it with pandas.",
    "owner": "data-platform",
    "tags": ["data", "example"],
    "source": "repository",
    "version": "3f2a9c0d1b7e4a55",
    "node_count": 2,
    "last_run_state": "success",
    "last_run_at": "2026-11-27T09:30:00Z",
}
RUN_EXAMPLE: dict[str, Any] = {
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "state": "success",
    "start_date": "2026-11-27T09:30:01Z",
    "end_date": "2026-11-27T09:30:41Z",
    "duration_seconds": 40.0,
}


class PipelineOut(DagCatalogEntry):
    """A pipeline that is (or becomes) the DAG ``pipeline__<name>``."""

    model_config = ConfigDict(json_schema_extra={"examples": [PIPELINE_EXAMPLE]})

    kind: DagKindName = Field(description=KIND_DESCRIPTION)
    source: Literal["repository", "database"] = Field(
        description="Where the spec lives: a YAML file of the repository, or ylai's database (``POST /pipelines``)."
    )
    version: str | None = Field(
        description="A repository pipeline: a content hash of its file. A database pipeline: its current version "
        'number, as a string (``"3"``; the number is ``current_version`` of ``/pipelines/{name}/versions``). '
        "Null when unknown."
    )
    node_count: int
    last_run_state: str | None = None
    last_run_at: datetime | None = None


class PipelineRunOut(BaseModel):
    """One run of a pipeline's DAG."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})

    run_id: str
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None
    approval: RunApproval | None = Field(default=None, description="The approval the run waits for, if any.")


class NodePosition(BaseModel):
    """Where an editor drew a node (canvas units)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"x": 120.0, "y": 40.0}]})

    x: float
    y: float


class PipelineDetail(PipelineOut):
    """A pipeline with its spec, layout, params schema and recent runs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **PIPELINE_EXAMPLE,
                    "spec": SPEC_EXAMPLE,
                    "layout": {"generate": {"x": 0.0, "y": 0.0}, "profile": {"x": 240.0, "y": 0.0}},
                    "params_schema": PARAMS_SCHEMA_EXAMPLE,
                    "recent_runs": [RUN_EXAMPLE],
                }
            ]
        }
    )

    spec: dict[str, Any] = Field(description="The spec as its YAML file holds it, as JSON, without ``layout``.")
    layout: dict[str, NodePosition] = Field(description="Node positions of the ``layout`` section (may be empty).")
    params_schema: dict[str, Any] = Field(description="JSON Schema (object) of the pipeline's params.")
    recent_runs: list[PipelineRunOut]


class ValidateIn(BaseModel):
    """A spec to check, as JSON (the fields of a pipeline YAML file, ``layout`` included)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"spec": SPEC_EXAMPLE}]})

    spec: dict[str, Any]


class ProblemOut(BaseModel):
    """One reason a spec would not become a DAG."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"node": "profile", "field": "params.path", "reason": "required parameter of script 'csv_profiler' "
                 "is not set"}
            ]
        }
    )  # fmt: skip

    node: str | None = Field(description="The node it belongs to; null for the pipeline itself.")
    field: str = Field(description="The field, relative to the node (``params.path``) or to the pipeline.")
    reason: str


class ValidateOut(BaseModel):
    """What the compiler says about a spec."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"valid": True, "problems": [], "params_schema": PARAMS_SCHEMA_EXAMPLE},
                {
                    "valid": False,
                    "problems": [{"node": "a", "field": "depends_on", "reason": "cycle: a -> b -> a"}],
                    "params_schema": None,
                },
            ]
        }
    )

    valid: bool
    problems: list[ProblemOut]
    params_schema: dict[str, Any] | None = Field(description="JSON Schema of the params, when the spec is valid.")


LAYOUT_EXAMPLE: dict[str, Any] = {"generate": {"x": 0.0, "y": 0.0}, "profile": {"x": 240.0, "y": 0.0}}


class PipelineIn(BaseModel):
    """A database pipeline's spec to store as a new version (version 1 for ``POST /pipelines``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"spec": {**SPEC_EXAMPLE, "name": "my_profile", "layout": LAYOUT_EXAMPLE}, "comment": "first"}]
        },
    )

    spec: dict[str, Any] = Field(
        description="The fields of a pipeline YAML file, as JSON, ``layout`` included. Checked by the compiler of "
        "``POST /pipelines/validate``, against the repository's and the database's scripts."
    )
    comment: str = Field(default="", max_length=2000, description="What this version changes.")


class DbPipelineOut(BaseModel):
    """A database pipeline after a change, with every stored version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "my_profile",
                    "dag_id": pipeline_dag_id("my_profile"),
                    "kind": DagKind.PIPELINE.value,
                    "current_version": 2,
                    "versions": [
                        {**VERSION_EXAMPLE, "version": 1, "comment": "", "created_at": "2026-11-26T16:00:00Z"},
                        VERSION_EXAMPLE,
                    ],
                }
            ]
        }
    )

    name: str
    dag_id: str
    kind: DagKindName = Field(description=KIND_DESCRIPTION)
    current_version: int = Field(description="The version the DAG is built from.")
    versions: list[VersionOut] = Field(description="Every stored version, oldest first.")


class PipelineVersionOut(VersionOut):
    """One stored version of a database pipeline, with its spec and layout."""

    model_config = ConfigDict(
        from_attributes=False,
        json_schema_extra={
            "examples": [{**VERSION_EXAMPLE, "spec": {**SPEC_EXAMPLE, "name": "my_profile"}, "layout": LAYOUT_EXAMPLE}]
        },
    )

    spec: dict[str, Any] = Field(description="The spec as JSON, without ``layout`` (as in ``PipelineDetail``).")
    layout: dict[str, NodePosition] = Field(description="Node positions of the ``layout`` section (may be empty).")
