"""A DAG run as ylai shows it, and the optional body of every ``.../run`` route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel, ConfigDict, Field

from ylai_operators.catalog import DagKind, script_dag_id
from ylai_plugin.api.datamodels.approvals import RunApproval
from ylai_plugin.api.datamodels.common import DagKindName
from ylai_plugin.domain import dags

RUN_EXAMPLE: dict[str, Any] = {
    "dag_id": script_dag_id("disk_usage"),
    "kind": DagKind.SCRIPT.value,
    "name": "disk_usage",
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "state": "success",
    "queued_at": "2026-11-27T09:30:00.200000Z",
    "start_date": "2026-11-27T09:30:01Z",
    "end_date": "2026-11-27T09:30:04.500000Z",
    "duration_seconds": 3.5,
    "triggered_by": "alice",
    "conf": {"top": 5},
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "result": {"outputs": {"largest": "/var/log"}, "exit_code": 0, "peak_rss_bytes": 5242880, "cpu_seconds": 0.4},
    "script_version": "sha256:3f79bb7b435b",
}

KIND_DESCRIPTION = "The kind of ylai DAG (`script`, `pipeline`, ...); null for any other DAG."
NAME_DESCRIPTION = "The script's, pipeline's, ... name in `dag_id`; null for any other DAG."


class RunOut(BaseModel):
    """A DAG run, as ylai shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})

    dag_id: str
    kind: DagKindName | None = Field(default=None, description=KIND_DESCRIPTION)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    run_id: str
    state: str | None
    queued_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration_seconds: float | None = None
    triggered_by: str | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    trace_id: str | None = Field(
        default=None,
        description="The run's OpenTelemetry trace id (32 hex digits) when it was traced; null otherwise.",
    )
    result: Any = Field(default=None, description="The script's or pipeline's result (its XCom), when finished.")
    approval: RunApproval | None = Field(
        default=None, description="The approval the run waits for (or waited for); null when it needs none."
    )
    script_version: str | None = Field(
        default=None,
        description="The version of the script a script run ran: a database script's number (``3``), or "
        "``sha256:<12 hex>`` of a repository script's file; null for other DAGs and runs not started yet.",
    )


class RunRequest(BaseModel):
    """Optional overrides for one run."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"params": {"top": 5}, "note": "after the clean-up"}]}
    )

    params: dict[str, Any] = Field(default_factory=dict, description="Merged over the task's saved params.")
    note: str | None = Field(default=None, max_length=1000)
    preset_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The preset the params came from, when the run starts from one (usage statistics only).",
    )


# Optional body: absent means no overrides. A default (not ``None``) keeps the documented
# schema a plain ``RunRequest`` that generated clients can leave out, not ``anyOf [.., null]``.
RunBody = Annotated[RunRequest, Body(default_factory=RunRequest)]


def run_out(run: Any, result: Any, secrets: dict[str, frozenset[str]]) -> RunOut:
    """A run's summary, its conf masked with the secret params of its DAG (``secrets``)."""
    return RunOut(**dags.run_view(run, result, secrets))
