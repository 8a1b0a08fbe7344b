"""Request and response models of ``/tasks``: saved, named, parameterised jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from ylai_operators.catalog import PIPELINE_PREFIX, SCRIPT_PREFIX, ApprovalSpec, DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.api.datamodels.runs import KIND_DESCRIPTION, NAME_DESCRIPTION, RUN_EXAMPLE, RunOut
from ylai_plugin.domain.errors import text
from ylai_plugin.domain.tasks import target_dag_id

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$"
TaskKind = Literal["script", "pipeline", "dag"]
TaskSort = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"]


APPROVAL_DESCRIPTION = (
    "The task's own approval (null: none): a run of the task waits for it, as a script's with "
    "`approval:` does. Same fields and rules as a manifest's `approval` (`timeout`: 300, '90s', '15m', '2h', '1d')."
)


class TaskApprovalIn(ApprovalSpec):
    """The manifest's ``approval`` model (same fields, defaults and checks), with the schema its parser accepts."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"approvers": ["Op", "alice"], "timeout": "4h", "reason_required": True}]}
    )

    timeout: Annotated[
        timedelta,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0},
                    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"},
                ],
                "description": "How long a run waits: seconds, or '90s', '15m', '2h', '1d'.",
            }
        ),
    ] = Field(default=ApprovalSpec.model_fields["timeout"].default, json_schema_extra={"default": "24h"})


class TaskApprovalOut(BaseModel):
    """A task's approval as saved (``timeout_seconds``: send it back as ``timeout``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "approvers": ["Op", "alice"],
                    "timeout_seconds": 14400.0,
                    "reason_required": True,
                    "four_eyes": True,
                    "notify": [],
                }
            ]
        }
    )

    approvers: list[str] = Field(description="Role names or usernames that may decide (an Admin always may).")
    timeout_seconds: float = Field(description="How long a run waits for a decision before it fails.")
    reason_required: bool = Field(description="Approving needs a comment (rejecting always does).")
    four_eyes: bool = Field(description="Whoever started the run cannot decide on it.")
    notify: list[dict[str, Any]] = Field(default_factory=list, description="Alert channels told of each request.")


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
    approval: TaskApprovalIn | None = Field(default=None, description=APPROVAL_DESCRIPTION)

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
    approval: TaskApprovalIn | None = Field(default=None, description=APPROVAL_DESCRIPTION)

    _schedule = field_validator("schedule")(_check_schedule)

    def changes(self) -> dict[str, Any]:
        """The fields given, ``approval`` as the record the task keeps."""
        given = self.model_dump(exclude_unset=True)
        if "approval" in given:
            given["approval"] = self.approval.as_record() if self.approval is not None else None
        return given


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
                    "approval": None,
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
    approval: TaskApprovalOut | None = Field(default=None, description="The task's own approval; null: none.")
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run: RunOut | None = None
