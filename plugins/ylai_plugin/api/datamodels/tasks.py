"""Request and response models of ``/tasks``: saved, named, parameterised jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ylai_operators.catalog import PIPELINE_PREFIX, SCRIPT_PREFIX, DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.api.datamodels.runs import KIND_DESCRIPTION, NAME_DESCRIPTION, RUN_EXAMPLE, RunOut
from ylai_plugin.domain.errors import text
from ylai_plugin.domain.tasks import target_dag_id

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$"
TaskKind = Literal["script", "pipeline", "dag"]
TaskSort = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"]


def _check_schedule(value: str | None) -> str | None:
    from ylai_operators.catalog import check_schedule

    if value is not None and (problem := check_schedule(value)):
        raise ValueError(problem)
    return value


class TaskIn(BaseModel):
    """A new task: exactly one of ``script``, ``pipeline`` or ``dag_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "nightly profile", "script": "csv_profiler", "params": {"path": "/data/x.csv"}}]
        },
    )

    name: str = Field(pattern=NAME_PATTERN, description="Unique name.")
    description: str = Field(default="", max_length=4000)
    script: str | None = Field(default=None, description=f"A script's name (its DAG is {SCRIPT_PREFIX}<name>).")
    pipeline: str | None = Field(default=None, description=f"A pipeline's name (its DAG is {PIPELINE_PREFIX}<name>).")
    dag_id: str | None = Field(default=None, max_length=250, description="Any DAG with params.")
    params: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = Field(default=None, max_length=128, description="Cron expression or preset.")

    @model_validator(mode="after")
    def _one_target(self) -> TaskIn:
        if sum(x is not None for x in (self.script, self.pipeline, self.dag_id)) != 1:
            raise ValueError(text("task.one_target", "give exactly one of 'script', 'pipeline' or 'dag_id'"))
        return self

    _schedule = field_validator("schedule")(_check_schedule)

    def target_dag_id(self) -> str:
        """The DAG this task runs."""
        return target_dag_id(script=self.script, pipeline=self.pipeline, dag_id=self.dag_id)


class TaskPatch(BaseModel):
    """Fields to change; the target DAG cannot change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"description": "Profile last night's export", "params": {"path": "/data/y.csv"}}]
        },
    )

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    params: dict[str, Any] | None = None
    schedule: str | None = Field(default=None, max_length=128)

    _schedule = field_validator("schedule")(_check_schedule)


class TaskOut(BaseModel):
    """A task with its last run.

    ``kind`` and ``name`` are the task's own (its target's kind, its unique name);
    ``dag_kind`` and ``dag_name`` spell out ``dag_id``, so that no client slices ids.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "name": "nightly profile",
                    "description": "Profile the nightly CSV export",
                    "kind": "script",
                    "dag_id": script_dag_id("csv_profiler"),
                    "dag_kind": DagKind.SCRIPT.value,
                    "dag_name": "csv_profiler",
                    "params": {"path": "/data/x.csv"},
                    "schedule": None,
                    "created_by": "alice",
                    "created_at": "2026-11-20T08:00:00Z",
                    "updated_at": "2026-11-27T09:15:00Z",
                    "last_run": {
                        **RUN_EXAMPLE,
                        "dag_id": script_dag_id("csv_profiler"),
                        "name": "csv_profiler",
                        "conf": {"path": "/data/x.csv"},
                    },
                }
            ]
        }
    )

    id: int
    name: str
    description: str
    kind: TaskKind
    dag_id: str
    dag_kind: DagKindName | None = Field(default=None, description=KIND_DESCRIPTION)
    dag_name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    params: dict[str, Any]
    schedule: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run: RunOut | None = None
