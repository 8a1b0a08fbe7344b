# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``duration``: the latest run of a DAG takes longer than a limit."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import select

from ylai_plugin.alerts.conditions.base import (
    Check,
    ConditionParams,
    ConditionType,
    Found,
    Violations,
    aware,
    params_config,
    ui_hints,
)
from ylai_plugin.alerts.links import run_links
from ylai_plugin.domain.errors import text
from ylai_plugin.domain.stats import percentile, recent_success_durations

TYPE = "duration"


class Duration(ConditionParams):
    """The latest run of a DAG (running or finished) took longer than a limit.

    The limit is ``max_seconds``, or ``p95_factor`` times the p95 duration of the DAG's last
    ``last_n_runs`` successful runs (needs ``min_runs`` of them). Checked while the run is running.
    """

    model_config = params_config(
        TYPE,
        "Run duration",
        {"type": TYPE, "p95_factor": 2, "last_n_runs": 20},
        ui={
            "add_default": True,
            "modes": {
                "name": "duration_mode",
                "label": "alerts.f.duration_mode",
                "options": [
                    {
                        "value": "factor",
                        "label": "alerts.f.modeFactor",
                        "fields": ["p95_factor", "last_n_runs", "min_runs"],
                        "summary": "alerts.desc.durationFactor",
                    },
                    {
                        "value": "absolute",
                        "label": "alerts.f.modeAbsolute",
                        "fields": ["max_seconds"],
                        "summary": "alerts.desc.durationMax",
                    },
                ],
            },
        },
    )

    type: Literal["duration"]
    max_seconds: float | None = Field(
        default=None,
        gt=0,
        description="A fixed limit in seconds (or set p95_factor).",
        json_schema_extra=ui_hints(initial=3600, unit="seconds"),
    )
    p95_factor: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="The limit as a multiple of the p95 of recent successful runs.",
        json_schema_extra=ui_hints(initial=2, help="alerts.f.p95_factorHelp"),
    )
    last_n_runs: int = Field(default=20, ge=1, le=1000, description="How many recent successful runs the p95 covers.")
    min_runs: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Successful runs needed before a p95 limit applies.",
        json_schema_extra=ui_hints(label="alerts.f.min_runs_duration"),
    )

    @model_validator(mode="after")
    def _one_limit(self) -> Duration:
        if (self.max_seconds is None) == (self.p95_factor is None):
            raise ValueError(text("alert_rule.duration_limit", "set exactly one of max_seconds or p95_factor"))
        return self


def find(check: Check) -> Found:
    """The latest run of each DAG, running or finished, over the limit; plus keys to leave as they are.

    An incident resolves when a later run *finishes* within the limit; while a new run is still
    within the limit nothing changes.
    """
    from airflow.models.dagrun import DagRun

    cond = check.condition
    out: Violations = {}
    keep: set[str] = set()
    for dag_id, dag_tags in check.scoped.items():
        latest = check.session.execute(
            select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.conf)
            .where(DagRun.dag_id == dag_id, DagRun.start_date.is_not(None))
            .order_by(DagRun.start_date.desc())
            .limit(1)
        ).first()
        if latest is None:
            continue
        run_id, state, start, end = latest[0], str(latest[1]), aware(latest[2]), aware(latest[3])
        assert start is not None
        running = state == "running" or end is None
        elapsed = ((end or check.now) - start).total_seconds()
        if cond.get("max_seconds"):
            limit = float(cond["max_seconds"])
        else:
            durations = recent_success_durations(
                check.session, dag_id, int(cond.get("last_n_runs", 20)), exclude_run_id=run_id
            )
            if len(durations) < int(cond.get("min_runs", 3)):
                continue
            p95 = percentile(durations, 0.95, ndigits=None)
            assert p95 is not None
            limit = float(cond.get("p95_factor", 2)) * p95
        key = f"dag:{dag_id}"
        if elapsed > limit:
            details = {
                "dag_id": dag_id,
                "run_id": run_id,
                "running": running,
                "elapsed_seconds": round(elapsed, 1),
                "limit_seconds": round(limit, 1),
                "params": latest[4] or {},
                "links": run_links(dag_id, run_id),
            }
            out[key] = (details, dag_id, run_id, dag_tags)
        elif running:
            keep.add(key)
    return Found(out, keep)


def message_key(details: dict[str, Any]) -> str:
    """A run still running reads differently from a finished one."""
    return "duration_running" if details.get("running") else TYPE


CONDITION = ConditionType(
    type=TYPE,
    params=Duration,
    order=40,
    find=find,
    message_key=message_key,
    messages={
        "en": {
            TYPE: "Run too long: {dag_id} ({elapsed} > {limit})",
            "duration_running": "Run still running and too long: {dag_id} ({elapsed} > {limit})",
        },
        "zh-CN": {
            TYPE: "运行时间过长：{dag_id}（{elapsed} > {limit}）",
            "duration_running": "运行仍在进行且时间过长：{dag_id}（{elapsed} > {limit}）",
        },
    },
)
