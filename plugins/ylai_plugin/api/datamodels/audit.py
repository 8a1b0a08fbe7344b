"""Response model of ``/audit``: one entry of Airflow's audit log as ylai shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryOut(BaseModel):
    """One entry of Airflow's audit log (the ``log`` table).

    ylai's own entries (action ``ylai.<kind>.<verb>``) name their object as ``object_kind`` and
    ``object_id`` and say what changed in ``summary``; Airflow's events carry what Airflow wrote.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 812,
                    "when": "2026-11-30T08:15:02Z",
                    "user": "alice",
                    "action": "ylai.task.update",
                    "object_kind": "task",
                    "object_id": "12",
                    "summary": "changed params, schedule of task 'nightly sample'",
                    "dag_id": "script__data_generator",
                    "run_id": None,
                    "task_id": None,
                    "extra": {"changed": ["params", "schedule"]},
                }
            ]
        }
    )

    id: int
    when: datetime = Field(description="When it happened (UTC).")
    user: str | None = Field(description="Who acted.")
    action: str = Field(description="What was done, e.g. ylai.task.create; Airflow's own event names otherwise.")
    object_kind: str | None = Field(description="The kind of object: task, preset, script, pipeline, ...")
    object_id: str | None = Field(description="The object's id or name.")
    summary: str | None = Field(description="A short sentence of what changed (field names, never secret values).")
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    extra: dict[str, Any] = Field(description="More facts of the entry, e.g. the changed field names.")
