"""The alert rule model, validated with pydantic so every error names its field."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from ylai_plugin.alerts.conditions import CONDITION_TYPES as CONDITION_TYPES
from ylai_plugin.alerts.conditions import EVENT_CONDITIONS as EVENT_CONDITIONS
from ylai_plugin.alerts.conditions import Condition as Condition
from ylai_plugin.alerts.conditions.base import StrictModel as _Strict
from ylai_plugin.domain.errors import text

Severity = Literal["info", "warning", "critical"]
Language = Literal["en", "zh-CN"]
ChannelType = Literal["slack", "email", "webhook"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
        description=(
            "Airflow connection; default [ylai] alert_slack_conn_id / alert_smtp_conn_id. For a webhook, an"
            " optional http connection whose base URL, headers and credentials the request uses."
        ),
    )
    language: Language = "en"

    @model_validator(mode="after")
    def _target_fits(self) -> Channel:
        if self.type == "email" and not _EMAIL.match(self.target):
            raise ValueError(text("alert_rule.email_target", "target must be an e-mail address for an email channel"))
        is_url = self.target.startswith(("http://", "https://"))
        is_path_below_connection = bool(self.connection_id) and self.target.startswith("/")
        if self.type == "webhook" and not (is_url or is_path_below_connection):
            raise ValueError(
                text(
                    "alert_rule.webhook_target",
                    "target must be an http(s) URL for a webhook channel (or a /path with a connection_id)",
                )
            )
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
