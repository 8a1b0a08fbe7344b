"""Scheduled report specs: the YAML files in ``dags/reports/``, validated, and their period.

What a report is; :mod:`ylai_operators.report_dags` turns each spec into a DAG and
:mod:`ylai_operators.report_operator` makes and delivers the report at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

KINDS = ("runs", "tasks", "scripts", "audit", "monitor", "alerts")
FORMATS = ("csv", "xlsx", "pdf")
LANGUAGES = ("en", "zh-CN")
PERIODS = ("previous_day", "previous_week", "previous_month", "last_24h", "last_7d", "last_30d")
FILTERS = ("dag_id", "script", "state", "user")
NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")


class ReportSpecError(ValueError):
    """A report spec is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class ReportSpec:
    """One scheduled report."""

    name: str
    kind: str
    format: str = "pdf"
    language: str = "en"
    period: str = "previous_day"
    schedule: str | None = "0 6 * * *"
    enabled: bool = True
    description: str = ""
    owner: str = "ylai"
    filters: dict[str, Any] = field(default_factory=dict)
    api_conn_id: str = "ylai_api"
    email: dict[str, Any] | None = None
    slack: dict[str, Any] | None = None


def period_bounds(period: str, end: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` of ``period`` relative to ``end`` (the run's data interval end), in UTC."""
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    day = end.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "previous_day":
        return day - timedelta(days=1), day
    if period == "previous_week":
        monday = day - timedelta(days=day.weekday())
        return monday - timedelta(days=7), monday
    if period == "previous_month":
        first = day.replace(day=1)
        last_month = first - timedelta(days=1)
        return last_month.replace(day=1), first
    hours = {"last_24h": 24, "last_7d": 24 * 7, "last_30d": 24 * 30}[period]
    return end - timedelta(hours=hours), end


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ReportSpecError(f"{where}: '{key}' must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def parse_spec(data: Any, where: str) -> ReportSpec:
    """Validate one YAML document."""
    if not isinstance(data, dict):
        raise ReportSpecError(f"{where}: a report spec is a mapping")
    known = {
        "name", "kind", "format", "language", "period", "schedule", "enabled", "description", "owner",
        "filters", "api_conn_id", "email", "slack",
    }  # fmt: skip
    if unknown := sorted(set(data) - known):
        raise ReportSpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ReportSpecError(f"{where}: 'name' must be lower-case letters, digits and _ (got {name!r})")
    filters = data.get("filters") or {}
    if not isinstance(filters, dict) or (bad := sorted(set(filters) - set(FILTERS))):
        raise ReportSpecError(f"{where}: 'filters' may only have {', '.join(FILTERS)}")
    email = data.get("email")
    if email is not None:
        to = email.get("to") if isinstance(email, dict) else None
        if isinstance(to, str):
            email = {**email, "to": [to]}
        elif not isinstance(to, list) or not to or not all(isinstance(x, str) and "@" in x for x in to):
            raise ReportSpecError(f"{where}: 'email.to' must list e-mail addresses")
    slack = data.get("slack")
    if slack is not None and not (isinstance(slack, dict) and isinstance(slack.get("conn_id", "ylai_slack"), str)):
        raise ReportSpecError(f"{where}: 'slack' must be a mapping with 'conn_id' and optionally 'channel'")
    schedule = data.get("schedule", "0 6 * * *")
    if schedule is not None and not isinstance(schedule, str):
        raise ReportSpecError(f"{where}: 'schedule' must be a cron expression or preset")
    del bad
    return ReportSpec(
        name=name,
        kind=_choice(data, "kind", KINDS, "", where),
        format=_choice(data, "format", FORMATS, "pdf", where),
        language=_choice(data, "language", LANGUAGES, "en", where),
        period=_choice(data, "period", PERIODS, "previous_day", where),
        schedule=schedule,
        enabled=bool(data.get("enabled", True)),
        description=str(data.get("description", "")),
        owner=str(data.get("owner", "ylai")),
        filters=dict(filters),
        api_conn_id=str(data.get("api_conn_id", "ylai_api")),
        email=email,
        slack=slack,
    )


def load_specs(folder: Path) -> list[ReportSpec]:
    """Every ``*.yaml``/``*.yml`` in ``folder``, sorted by name; duplicates are an error."""
    import yaml

    specs: dict[str, ReportSpec] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        spec = parse_spec(yaml.safe_load(path.read_text()), path.name)
        if spec.name in specs:
            raise ReportSpecError(f"{path.name}: report {spec.name!r} is defined twice")
        specs[spec.name] = spec
    return sorted(specs.values(), key=lambda s: s.name)
