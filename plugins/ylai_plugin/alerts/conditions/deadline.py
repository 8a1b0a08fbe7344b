# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``deadline``: a DAG has not started (or finished) by a time of day."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import select

from ylai_plugin.alerts.conditions.base import (
    Check,
    ConditionParams,
    ConditionType,
    Found,
    Violations,
    params_config,
    ui_hints,
)
from ylai_plugin.alerts.links import run_links
from ylai_plugin.db.alert_models import Alert
from ylai_plugin.domain.errors import text

TYPE = "deadline"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Deadline(ConditionParams):
    """A DAG run has not started (or finished successfully) by ``time`` (HH:MM) each day, in ``timezone``."""

    model_config = params_config(
        TYPE,
        "Deadline",
        {"type": TYPE, "must": "finish", "time": "06:30", "timezone": "Asia/Shanghai"},
        ui={
            "summary": {
                "field": "must",
                "keys": {"start": "alerts.desc.deadlineStart", "finish": "alerts.desc.deadlineFinish"},
            }
        },
    )

    type: Literal["deadline"]
    must: Literal["start", "finish"] = Field(
        default="finish",
        description="What must happen by the time.",
        json_schema_extra=ui_hints(options={"start": "alerts.f.mustStart", "finish": "alerts.f.mustFinish"}),
    )
    # The pattern documents what _hh_mm checks (and with which message): the schema only, no second check.
    time: str = Field(
        examples=["06:30"],
        description="Time of day, HH:MM.",
        json_schema_extra={"pattern": _TIME.pattern, **ui_hints(input="time", initial="06:00", error="alerts.badTime")},
    )
    timezone: str = Field(default="UTC", description="IANA time zone of the time, e.g. Asia/Shanghai.")

    @field_validator("time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(text("alert_rule.deadline_time", "expected HH:MM, 00:00 to 23:59"))
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(text("field.unknown_time_zone", "unknown time zone {zone!r}", zone=value)) from exc
        return value


def find(check: Check) -> Found:
    """Unpaused DAGs in scope that have not started (or finished successfully) by HH:MM each day."""
    from zoneinfo import ZoneInfo

    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun

    session, rule, now, cond = check.session, check.rule, check.now, check.condition
    tz = ZoneInfo(str(cond.get("timezone", "UTC")))
    must = str(cond.get("must", "finish"))
    hour, minute = (int(x) for x in str(cond["time"]).split(":"))
    unpaused = set(session.scalars(select(DagModel.dag_id).where(~DagModel.is_paused)))
    scoped = {d: t for d, t in check.scoped.items() if d in unpaused}
    local_now = now.astimezone(tz)
    days = {local_now.date()}
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.state == "firing")):
        stamp = str(alert.dedup_key).rsplit(":", 1)[-1]
        try:
            days.add(datetime.strptime(stamp, "%Y-%m-%d").date())
        except ValueError:
            continue
    out: Violations = {}
    for day in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        due = midnight.replace(hour=hour, minute=minute)
        if now < due:
            continue
        for dag_id, dag_tags in scoped.items():
            # Within that day: a run of a later day (an evaluation that catches up) does not meet it.
            next_midnight = midnight + timedelta(days=1)
            if must == "start":
                met = (DagRun.start_date >= midnight) & (DagRun.start_date < next_midnight)
            else:
                met = (DagRun.end_date >= midnight) & (DagRun.end_date < next_midnight) & (DagRun.state == "success")
            if session.scalar(select(DagRun.id).where(DagRun.dag_id == dag_id, met).limit(1)):
                continue
            details = {
                "dag_id": dag_id,
                "must": must,
                "time": str(cond["time"]),
                "timezone": str(tz),
                "day": day.isoformat(),
                "links": run_links(dag_id),
            }
            out[f"dag:{dag_id}:{day.isoformat()}"] = (details, dag_id, None, dag_tags)
    return Found(out)


def message_key(details: dict[str, Any]) -> str:
    """Missed start or missed finish."""
    return f"deadline_{details.get('must', 'finish')}"


CONDITION = ConditionType(
    type=TYPE,
    params=Deadline,
    order=70,
    find=find,
    message_key=message_key,
    messages={
        "en": {
            "deadline_start": "Missed deadline {time} {timezone}: {dag_id} has not started today",
            "deadline_finish": "Missed deadline {time} {timezone}: {dag_id} has not finished today",
        },
        "zh-CN": {
            "deadline_start": "错过截止时间 {time} {timezone}：{dag_id} 今天尚未开始运行",
            "deadline_finish": "错过截止时间 {time} {timezone}：{dag_id} 今天尚未成功完成",
        },
    },
)
