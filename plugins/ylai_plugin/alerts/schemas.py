"""The alert rule model, validated with pydantic so every error names its field."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["info", "warning", "critical"]
Language = Literal["en", "zh-CN"]
ChannelType = Literal["slack", "email", "webhook"]
CONDITION_TYPES = (
    "run_failed",
    "task_failed",
    "failure_rate",
    "duration",
    "queue_wait",
    "worker_heartbeat",
    "deadline",
)
EVENT_CONDITIONS = ("run_failed", "task_failed")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _reject_nul(value: Any) -> Any:
    """Postgres text cannot hold NUL characters: refuse them as invalid input instead of failing later."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _reject_nul(item)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _reject_nul(value)


class Scope(_Strict):
    """Which DAGs a rule watches. Empty lists everywhere means every DAG.

    A DAG is in scope when it matches any list: its id, the script (``script__<name>``) or
    pipeline (``pipeline__<name>``) it runs, or one of its tags.
    """

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"tags": ["nightly"]}, {"scripts": ["disk_usage"]}]}
    )

    dag_ids: list[Annotated[str, Field(min_length=1, max_length=250)]] = Field(default_factory=list, max_length=500)
    scripts: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=500)
    pipelines: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list, max_length=500)
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)

    @property
    def is_all(self) -> bool:
        """Whether the scope is "everything"."""
        return not (self.dag_ids or self.scripts or self.pipelines or self.tags)


class RunFailed(_Strict):
    """A DAG run ended failed. Resolves when a later run of that DAG succeeds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"type": "run_failed"}]})

    type: Literal["run_failed"]


class TaskFailed(_Strict):
    """A task failed after its retries (with its error tail). Resolves when a later run of the DAG succeeds."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"type": "task_failed"}]})

    type: Literal["task_failed"]


class FailureRate(_Strict):
    """Of the runs of a DAG that ended in the last ``window_minutes``, at least ``threshold_percent`` failed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"type": "failure_rate", "window_minutes": 1440, "threshold_percent": 50, "min_runs": 3}]
        },
    )

    type: Literal["failure_rate"]
    window_minutes: int = Field(default=1440, ge=1, le=60 * 24 * 90)
    threshold_percent: float = Field(default=50, gt=0, le=100)
    min_runs: int = Field(default=3, ge=1, le=100_000)


class Duration(_Strict):
    """The latest run of a DAG (running or finished) took longer than a limit.

    The limit is ``max_seconds``, or ``p95_factor`` times the p95 duration of the DAG's last
    ``last_n_runs`` successful runs (needs ``min_runs`` of them). Checked while the run is running.
    """

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"type": "duration", "p95_factor": 2, "last_n_runs": 20}]}
    )

    type: Literal["duration"]
    max_seconds: float | None = Field(default=None, gt=0)
    p95_factor: float | None = Field(default=None, gt=0, le=1000)
    last_n_runs: int = Field(default=20, ge=1, le=1000)
    min_runs: int = Field(default=3, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_limit(self) -> Duration:
        if (self.max_seconds is None) == (self.p95_factor is None):
            raise ValueError("set exactly one of max_seconds or p95_factor")
        return self


class QueueWait(_Strict):
    """A run or task of the DAG has waited in the queue for more than ``max_seconds``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"type": "queue_wait", "max_seconds": 600}]}
    )

    type: Literal["queue_wait"]
    max_seconds: float = Field(gt=0)


class WorkerHeartbeat(_Strict):
    """A worker has sent no heartbeat (resource sample) for ``max_silence_seconds``; or none is alive.

    Workers are the hosts in ylai's resource samples whose kind is in ``kinds`` (Celery workers sample
    themselves every few seconds; with a local executor the scheduler runs the tasks).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"type": "worker_heartbeat", "max_silence_seconds": 120, "min_alive": 1}]},
    )

    type: Literal["worker_heartbeat"]
    max_silence_seconds: float = Field(default=120, ge=5)
    min_alive: int = Field(default=1, ge=0, le=10_000, description="Fire 'no worker alive' below this count.")
    kinds: list[str] = Field(default_factory=lambda: ["celery-worker"], min_length=1)


class Deadline(_Strict):
    """A DAG run has not started (or finished successfully) by ``time`` (HH:MM) each day, in ``timezone``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"type": "deadline", "must": "finish", "time": "06:30", "timezone": "Asia/Shanghai"}]
        },
    )

    type: Literal["deadline"]
    must: Literal["start", "finish"] = "finish"
    time: str = Field(examples=["06:30"])
    timezone: str = "UTC"

    @field_validator("time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("expected HH:MM, 00:00 to 23:59")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


Condition = Annotated[
    RunFailed | TaskFailed | FailureRate | Duration | QueueWait | WorkerHeartbeat | Deadline,
    Field(discriminator="type"),
]


class Channel(_Strict):
    """Where to send: a Slack channel, an e-mail address or a webhook URL, in a language."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"type": "slack", "target": "#data-alerts", "language": "en"}]},
    )

    type: ChannelType
    target: str = Field(min_length=1, max_length=1000, description="'#channel', an e-mail address or a URL.")
    connection_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=250,
        description="Airflow connection; default [ylai] alert_slack_conn_id / alert_smtp_conn_id.",
    )
    language: Language = "en"

    @model_validator(mode="after")
    def _target_fits(self) -> Channel:
        if self.type == "email" and not _EMAIL.match(self.target):
            raise ValueError("target must be an e-mail address for an email channel")
        if self.type == "webhook" and not self.target.startswith(("http://", "https://")):
            raise ValueError("target must be an http(s) URL for a webhook channel")
        return self


class RateLimit(_Strict):
    """At most ``max_alerts`` notified incidents per ``per_minutes``; the rest are recorded as rate_limited."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_alerts": 5, "per_minutes": 60}]})

    max_alerts: int = Field(ge=1, le=100_000)
    per_minutes: int = Field(ge=1, le=60 * 24 * 30)


class Escalation(_Strict):
    """After ``after_minutes`` unresolved, notify again (``channels`` null) or through other channels."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"after_minutes": 60, "channels": [{"type": "email", "target": "oncall@example.com"}]}]
        },
    )

    after_minutes: int = Field(ge=1, le=60 * 24 * 30)
    channels: list[Channel] | None = Field(default=None, max_length=20)
    repeat: bool = Field(default=False, description="Keep escalating every after_minutes until resolved.")


class RuleBody(_Strict):
    """Everything a rule is made of (the API's create body, and what the shorthand produces)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "nightly pipelines failing",
                    "severity": "critical",
                    "scope": {"tags": ["nightly"]},
                    "condition": {"type": "run_failed"},
                    "channels": [{"type": "slack", "target": "#data-alerts"}],
                },
                {
                    "name": "nightly pipelines slow",
                    "scope": {"tags": ["nightly"]},
                    "condition": {"type": "duration", "p95_factor": 2, "last_n_runs": 20},
                    "channels": [{"type": "slack", "target": "#data-alerts", "language": "zh-CN"}],
                    "escalation": {
                        "after_minutes": 60,
                        "channels": [{"type": "email", "target": "oncall@example.com"}],
                    },
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    enabled: bool = True
    severity: Severity = "warning"
    scope: Scope = Field(default_factory=Scope)
    condition: Condition
    channels: list[Channel] = Field(min_length=1, max_length=20)
    rate_limit: RateLimit | None = None
    escalation: Escalation | None = None


def condition_of(rule_condition: dict[str, Any]) -> Any:
    """Parse a stored condition dict into its model."""
    from pydantic import TypeAdapter

    return TypeAdapter(Condition).validate_python(rule_condition)
