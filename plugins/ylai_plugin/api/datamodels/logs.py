"""Response models of ``/runs/{dag_id}/{run_id}/logs``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.api.datamodels.runs import KIND_DESCRIPTION, NAME_DESCRIPTION

LOG_EXAMPLE: dict[str, Any] = {
    "task_id": "disk_usage",
    "map_index": -1,
    "try_number": 1,
    "state": "success",
    "lines": [
        {"timestamp": "2026-11-27T09:30:01.512000Z", "event": "ylai: running disk_usage.sh", "level": "info"},
        {"timestamp": "2026-11-27T09:30:04.100000Z", "event": "exit code 0", "level": "info"},
    ],
}


class TaskLog(BaseModel):
    """The log of one task instance's latest try."""

    model_config = ConfigDict(json_schema_extra={"examples": [LOG_EXAMPLE]})

    task_id: str
    map_index: int
    try_number: int
    state: str | None
    lines: list[dict[str, Any]] = Field(description="Structured log records: event, level, timestamp, ...")


class RunLogs(BaseModel):
    """Every task log of a run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dag_id": script_dag_id("disk_usage"),
                    "kind": DagKind.SCRIPT.value,
                    "name": "disk_usage",
                    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
                    "state": "success",
                    "tasks": [LOG_EXAMPLE],
                }
            ]
        }
    )

    dag_id: str
    kind: DagKindName | None = Field(default=None, description=KIND_DESCRIPTION)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    run_id: str
    state: str | None
    tasks: list[TaskLog]
