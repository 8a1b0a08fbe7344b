"""What an export covers: its kind, format, language and filters, validated with field paths."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ylai_plugin.domain.errors import Text, text

Kind = Literal["runs", "tasks", "scripts", "audit", "monitor", "alerts", "feedback"]
KINDS: tuple[str, ...] = ("runs", "tasks", "scripts", "audit", "monitor", "alerts", "feedback")
Format = Literal["csv", "xlsx", "pdf"]
DEFAULT_DAYS = 30
MAX_DAYS = 3660

RUN_STATES = ("queued", "running", "success", "failed")
TASK_STATES = (
    "none",
    "scheduled",
    "queued",
    "running",
    "success",
    "restarting",
    "failed",
    "up_for_retry",
    "up_for_reschedule",
    "upstream_failed",
    "skipped",
    "removed",
    "deferred",
)
ALERT_STATES = ("firing", "resolved")
# A feedback is open until an Admin marks it handled.
FEEDBACK_STATES = ("open", "handled")
#: Which filters each kind understands; any other given filter is a 422 naming it.
STATES: dict[str, tuple[str, ...]] = {
    "runs": RUN_STATES,
    "tasks": TASK_STATES,
    "alerts": ALERT_STATES,
    "feedback": FEEDBACK_STATES,
}
USER_FILTER = {"runs", "tasks", "audit", "scripts", "feedback"}
SCRIPT_FILTER = {"runs", "tasks", "audit", "scripts", "monitor", "alerts"}


class ExportFilters(BaseModel):
    """Filters shared by every kind; the time range defaults to the last 30 days."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"month": "2026-11", "dag_id": ["pipeline__nightly"], "state": ["failed"]},
                {"since": "2026-11-01T00:00:00Z", "until": "2026-11-08T00:00:00Z", "user": "alice"},
            ]
        },
    )

    since: datetime | None = Field(default=None, description="Start of the period (inclusive), ISO 8601; UTC if naive.")
    until: datetime | None = Field(default=None, description="End of the period (exclusive); default now.")
    month: str | None = Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="A calendar month (UTC), e.g. 2026-11; instead of since/until.",
        examples=["2026-11"],
    )
    dag_id: list[str] = Field(default_factory=list, max_length=200, description="Only these DAGs (repeatable).")
    script: list[str] = Field(
        default_factory=list, max_length=200, description="Only these scripts, i.e. DAGs script__<name> (repeatable)."
    )
    state: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Only these states (repeatable): runs "
        + "|".join(RUN_STATES)
        + "; tasks "
        + "|".join(TASK_STATES)
        + "; alerts "
        + "|".join(ALERT_STATES)
        + "; feedback "
        + "|".join(FEEDBACK_STATES)
        + ".",
    )
    user: str | None = Field(
        default=None,
        max_length=256,
        description="Runs, tasks: who triggered the run; audit: who acted; scripts: the owner; feedback: who gave it.",
    )
    action: str | None = Field(
        default=None, max_length=128, description="Audit only: actions starting with this, e.g. `ylai.` or `ylai.task`."
    )
    object: str | None = Field(
        default=None, max_length=300, description="Audit only: `<kind>` (e.g. `task`) or `<kind>:<id or name>`."
    )
    rating: list[Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=list,
        max_length=5,
        description="Feedback only: these ratings, 1 to 5 (repeatable or comma-separated).",
    )
    # No NUL: PostgreSQL refuses it in a text parameter (a 500 instead of a 422).
    page: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Feedback only: the page it was given on, e.g. `run` (exact, as the Feedback list's filter).",
    )

    @field_validator("dag_id", "script", "state")
    @classmethod
    def _items(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value or len(value) > 250:
                raise ValueError(text("export.value_length", "each value must have 1 to 250 characters"))
        return values

    @model_validator(mode="after")
    def _period(self) -> ExportFilters:
        if self.month and (self.since or self.until):
            raise ValueError(text("export.month_or_period", "give either 'month' or 'since'/'until', not both"))
        since, until = self.period()
        if since >= until:
            raise ValueError(text("export.since_before_until", "'since' must be before 'until'"))
        if until - since > timedelta(days=MAX_DAYS):
            raise ValueError(text("export.period_too_long", "the period may span at most {days} days", days=MAX_DAYS))
        return self

    def period(self) -> tuple[datetime, datetime]:
        """The resolved ``[since, until)`` in UTC."""
        if self.month:
            year, month = (int(x) for x in self.month.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
            return start, start + timedelta(days=calendar.monthrange(year, month)[1])
        until = _utc(self.until) if self.until else datetime.now(UTC)
        since = _utc(self.since) if self.since else until - timedelta(days=DEFAULT_DAYS)
        return since, until


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def kind_problems(kind: str, filters: ExportFilters, prefix: str) -> list[dict[str, str | Text]]:
    """Field errors for filters that ``kind`` does not support (``prefix`` is ``query`` or ``body.filters``)."""
    problems: list[dict[str, str | Text]] = []
    allowed_states = STATES.get(kind)
    if filters.state and allowed_states is None:
        reason = text("export.no_state_filter", "{kind} exports have no state filter", kind=kind)
        problems.append({"field": f"{prefix}.state", "reason": reason})
    elif allowed_states is not None:
        for i, state in enumerate(filters.state):
            if state not in allowed_states:
                problems.append(
                    {
                        "field": f"{prefix}.state.{i}",
                        "reason": text(
                            "export.unknown_state",
                            "unknown {kind} state {state!r}; choose from {states}",
                            kind=kind,
                            state=state,
                            states=", ".join(allowed_states),
                        ),
                    }
                )
    if filters.user is not None and kind not in USER_FILTER:
        reason = text("export.no_user_filter", "{kind} exports have no user filter", kind=kind)
        problems.append({"field": f"{prefix}.user", "reason": reason})
    for name in ("action", "object"):
        if getattr(filters, name) is not None and kind != "audit":
            reason = text("export.audit_only_filter", "only audit exports have the {name} filter", name=name)
            problems.append({"field": f"{prefix}.{name}", "reason": reason})
    for name in ("rating", "page"):
        if getattr(filters, name) not in (None, []) and kind != "feedback":
            reason = text("export.feedback_only_filter", "only feedback exports have the {name} filter", name=name)
            problems.append({"field": f"{prefix}.{name}", "reason": reason})
    return problems


@dataclass(frozen=True)
class ExportSpec:
    """A validated export: what, how, and which DAGs the requester may see."""

    kind: str
    format: str
    language: str
    filters: ExportFilters
    dag_ids: frozenset[str]
    include_global: bool = False  # audit rows / alerts without a DAG (admin-like readers only)
    requested_by: str = ""

    def describe(self) -> dict[str, Any]:
        """The filters as they apply, for the report header (the feedback-only ones only when given)."""
        since, until = self.filters.period()
        described: dict[str, Any] = {
            "since": since,
            "until": until,
            "dag_id": self.filters.dag_id,
            "script": self.filters.script,
            "state": self.filters.state,
            "user": self.filters.user,
            "action": self.filters.action,
            "object": self.filters.object,
        }
        if self.filters.rating:
            described["rating"] = [str(r) for r in self.filters.rating]
        if self.filters.page is not None:
            described["page"] = self.filters.page
        return described
