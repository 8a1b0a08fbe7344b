"""Response models of ``GET /logs/search``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, script_dag_id
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.api.datamodels.runs import KIND_DESCRIPTION, NAME_DESCRIPTION

RUN_ID = "manual__2026-11-27T09:30:00.123456+00:00"
HIT_EXAMPLE: dict[str, Any] = {
    "dag_id": script_dag_id("disk_usage"),
    "kind": DagKind.SCRIPT.value,
    "name": "disk_usage",
    "run_id": RUN_ID,
    "run_state": "failed",
    "task_id": "disk_usage",
    "map_index": -1,
    "try_number": 2,
    "line_number": 14,
    "timestamp": "2026-11-27T09:30:04.100000Z",
    "level": "error",
    "text": "OSError: disk full on /var/log",
    "matches": [[9, 18]],
    "run_link": "dags/script__disk_usage/runs/manual__2026-11-27T09%3A30%3A00.123456%2B00%3A00",
    "line_link": "dags/script__disk_usage/runs/manual__2026-11-27T09%3A30%3A00.123456%2B00%3A00"
    "/tasks/disk_usage?try_number=2#14",
}


class LogHit(BaseModel):
    """One task-log line that matched."""

    model_config = ConfigDict(json_schema_extra={"examples": [HIT_EXAMPLE]})

    dag_id: str
    kind: DagKindName | None = Field(default=None, description=KIND_DESCRIPTION)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    run_id: str
    run_state: str | None = Field(description="The DAG run's state.")
    task_id: str
    map_index: int = Field(description="-1 unless the task is mapped.")
    try_number: int
    line_number: int = Field(description="1-based line of the try's log.")
    timestamp: str | None = Field(description="When the task wrote the line, as the log records it.")
    level: str | None = Field(description="`debug`, `info`, `warning`, `error` or `critical`; null for a plain line.")
    text: str = Field(description="The line's message (secrets masked by Airflow), at most 2,000 characters.")
    matches: list[list[int]] = Field(description="`[start, end)` character spans of the matches in `text`.")
    run_link: str = Field(description="The run's page, relative to Airflow's base URL.")
    line_link: str = Field(description="The try's log page with the line's number, relative to Airflow's base URL.")


class LogSearchPage(BaseModel):
    """One page of matching lines, newest task instances first, and where the scan stopped."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [HIT_EXAMPLE],
                    "limit": 50,
                    "next_cursor": "WyIyMDI2LTExLTI3VDA5OjMwOjAxKzAwOjAwIiwi",
                    "stopped_by": "scan_limit",
                    "scanned_bytes": 4194304,
                    "scanned_files": 5123,
                    "max_scan_bytes": 4194304,
                }
            ]
        }
    )

    items: list[LogHit]
    limit: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` to continue the scan where it stopped; null when every candidate log was read."
    )
    stopped_by: Literal["page", "scan_limit", "time_limit"] | None = Field(
        description="Why the scan stopped: the page was full, the bytes-per-request limit, the time limit; "
        "null when it reached the end."
    )
    scanned_bytes: int = Field(description="Log bytes this request read.")
    scanned_files: int = Field(description="Log files this request opened.")
    max_scan_bytes: int = Field(description="The bytes-per-request limit (`[ylai] log_search_max_bytes`).")
