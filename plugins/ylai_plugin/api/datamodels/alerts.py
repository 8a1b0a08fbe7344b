"""Request and response models of ``/alerts``: rules, silences, alerts and their deliveries.

The rule body itself (scope, condition, channels, ...) is :class:`ylai_plugin.alerts.schemas.RuleBody`;
its condition is the union of the registered condition types (:mod:`ylai_plugin.alerts.conditions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.alerts.conditions import ConditionTypeName
from ylai_plugin.alerts.schemas import RuleBody, Scope, Severity

NO_NUL = "^[^\\x00]*$"
# The enum of condition types (``AlertConditionType`` in the OpenAPI document), from the registry.
ConditionType = ConditionTypeName


RULE_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "nightly pipeline failed",
    "description": "",
    "enabled": True,
    "severity": "critical",
    "scope": {"dag_ids": [], "scripts": [], "pipelines": [], "tags": ["nightly"]},
    "condition": {"type": "run_failed"},
    "channels": [{"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}],
    "rate_limit": None,
    "escalation": None,
    "source": "api",
    "source_ref": None,
    "created_by": "alice",
    "created_at": "2026-11-28T02:00:00Z",
    "updated_at": "2026-11-28T02:00:00Z",
    "firing": 0,
}


class RuleOut(RuleBody):
    """A stored rule, with who made it and how many of its incidents are firing now."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [RULE_EXAMPLE]})

    id: int
    source: Literal["api", "manifest"] = Field(
        description="'manifest' rules come from an alerts: section; only 'enabled' can be changed here."
    )
    source_ref: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    firing: int = Field(description="Incidents of this rule that are firing now.")


class RulePatch(BaseModel):
    """Fields to change; anything omitted stays. The merged rule is validated as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    severity: Severity | None = None
    scope: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None
    channels: list[dict[str, Any]] | None = None
    rate_limit: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None


SILENCE_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "rule_id": None,
    "scope": {"dag_ids": [], "scripts": [], "pipelines": [], "tags": ["nightly"]},
    "starts_at": "2026-11-28T02:00:00Z",
    "ends_at": "2026-11-28T06:00:00Z",
    "comment": "warehouse maintenance",
    "created_by": "alice",
    "created_at": "2026-11-28T02:00:00Z",
    "active": True,
}


class SilenceIn(BaseModel):
    """Mute one rule (``rule_id``) or every rule's alerts for DAGs in ``scope`` until ``ends_at``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"rule_id": 1, "ends_at": "2026-12-01T08:00:00Z", "comment": "maintenance"},
                {"scope": {"tags": ["nightly"]}, "ends_at": "2026-12-01T08:00:00Z"},
            ]
        },
    )

    rule_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    scope: Scope | None = None
    starts_at: datetime | None = Field(default=None, description="Default: now.")
    ends_at: datetime
    comment: str = Field(default="", max_length=2000, pattern=NO_NUL)


class SilenceOut(BaseModel):
    """A silence."""

    model_config = ConfigDict(json_schema_extra={"examples": [SILENCE_EXAMPLE]})

    id: int
    rule_id: int | None
    scope: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    active: bool = Field(description="Whether it mutes alerts right now.")


ALERT_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "rule_id": 1,
    "rule_name": "nightly pipeline failed",
    "condition_type": "run_failed",
    "dedup_key": "dag:pipeline__nightly_sales",
    "state": "resolved",
    "severity": "critical",
    "suppressed": None,
    "title": "DAG run failed: pipeline__nightly_sales",
    "summary": "ValueError: no rows for 2026-11-27",
    "details": {
        "dag_id": "pipeline__nightly_sales",
        "run_id": "scheduled__2026-11-27T01:00:00+00:00",
        "error_tail": "ValueError: no rows for 2026-11-27",
        "links": {
            "run": "https://airflow.example.com/dags/pipeline__nightly_sales/runs/scheduled__2026-11-27T01:00:00+00:00"
        },
    },
    "dag_id": "pipeline__nightly_sales",
    "run_id": "scheduled__2026-11-27T01:00:00+00:00",
    "started_at": "2026-11-28T01:03:10Z",
    "resolved_at": "2026-11-28T02:04:00Z",
    "last_notified_at": "2026-11-28T02:04:01Z",
    "escalation_level": 0,
    "occurrences": 2,
    "last_failure_at": "2026-11-28T01:40:12Z",
}
ATTEMPT_EXAMPLE: dict[str, Any] = {
    "attempted_at": "2026-11-28T01:03:11Z",
    "ok": True,
    "error": None,
    "duration_ms": 182.5,
    "worker": "scheduler-1:4242",
}
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 11,
    "kind": "firing",
    "channel_type": "slack",
    "target": "#data-alerts",
    "connection_id": None,
    "language": "en",
    "status": "sent",
    "attempts": 1,
    "next_attempt_at": None,
    "last_error": None,
    "created_at": "2026-11-28T01:03:10Z",
    "sent_at": "2026-11-28T01:03:11Z",
    "attempt_log": [ATTEMPT_EXAMPLE],
}


class AlertOut(BaseModel):
    """One alert (incident): firing until it resolves; ``suppressed`` ones were recorded but not sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE]})

    id: int
    rule_id: int | None
    rule_name: str
    condition_type: str
    dedup_key: str
    state: Literal["firing", "resolved"]
    severity: Severity
    suppressed: Literal["silenced", "rate_limited"] | None
    title: str
    summary: str
    details: dict[str, Any]
    dag_id: str | None
    run_id: str | None
    started_at: datetime
    resolved_at: datetime | None
    last_notified_at: datetime | None
    escalation_level: int
    occurrences: int = Field(description="Failures in this incident; run_id and details are the latest one's.")
    last_failure_at: datetime | None = Field(description="When the latest failure of an event incident ended.")


class AttemptOut(BaseModel):
    """One try at sending."""

    model_config = ConfigDict(json_schema_extra={"examples": [ATTEMPT_EXAMPLE]})

    attempted_at: datetime
    ok: bool
    error: str | None
    duration_ms: float
    worker: str


class DeliveryOut(BaseModel):
    """One message to one channel, with every attempt."""

    model_config = ConfigDict(json_schema_extra={"examples": [DELIVERY_EXAMPLE]})

    id: int
    kind: Literal["firing", "resolved", "escalation"]
    channel_type: Literal["slack", "email", "webhook"]
    target: str
    connection_id: str | None
    language: str
    status: Literal["pending", "sent"]
    attempts: int = Field(description="Sends tried (each one is in attempt_log).")
    deferrals: int = Field(
        default=0,
        description="Times an open circuit breaker held it back until its probe time, without trying it "
        "(not counted in attempts).",
    )
    breaker: str | None = Field(
        default=None,
        description="The circuit breaker of its receiver (e.g. slack:ylai_slack), once it was tried or held back.",
    )
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    attempt_log: list[AttemptOut]


class AlertDetail(AlertOut):
    """An alert with its deliveries."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE | {"deliveries": [DELIVERY_EXAMPLE]}]})

    deliveries: list[DeliveryOut]
