# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``failure_rate``: too many of a DAG's recent runs failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

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
from ylai_plugin.domain.stats import run_statistics

TYPE = "failure_rate"


class FailureRate(ConditionParams):
    """Of the runs of a DAG that ended in the last ``window_minutes``, at least ``threshold_percent`` failed."""

    model_config = params_config(
        TYPE, "Failure rate", {"type": TYPE, "window_minutes": 1440, "threshold_percent": 50, "min_runs": 3}
    )

    type: Literal["failure_rate"]
    # In the order of the rule editor's fields.
    threshold_percent: float = Field(default=50, gt=0, le=100, description="Fire at this share of failed runs or more.")
    window_minutes: int = Field(
        default=1440,
        ge=1,
        le=60 * 24 * 90,
        description="Look at the runs that ended in this many last minutes.",
        json_schema_extra=ui_hints(unit="minutes"),
    )
    min_runs: int = Field(
        default=3, ge=1, le=100_000, description="Stay quiet with fewer runs than this in the window."
    )


def find(check: Check) -> Found:
    """DAGs whose runs ended in the window failed at least ``threshold_percent`` of the time."""
    from airflow.models.dagrun import DagRun

    cond = check.condition
    window = int(cond.get("window_minutes", 1440))
    threshold = float(cond.get("threshold_percent", 50))
    ended = run_statistics(
        check.session,
        [
            DagRun.end_date >= check.now - timedelta(minutes=window),
            DagRun.state.in_(["success", "failed"]),
            DagRun.dag_id.in_(check.scoped),
        ],
    )
    out: Violations = {}
    for figures in ended.dags():
        runs, failed = figures.runs, figures.failed
        rate = 100.0 * failed / runs if runs else 0.0
        if runs >= int(cond.get("min_runs", 3)) and rate >= threshold:
            details = {
                "dag_id": figures.dag_id,
                "rate_percent": round(rate, 1),
                "failed": failed,
                "runs": runs,
                "window_minutes": window,
                "threshold_percent": threshold,
                "links": run_links(figures.dag_id),
            }
            out[f"dag:{figures.dag_id}"] = (details, figures.dag_id, None, check.scoped[figures.dag_id])
    return Found(out)


CONDITION = ConditionType(
    type=TYPE,
    params=FailureRate,
    order=30,
    find=find,
    messages={
        "en": {TYPE: "Failure rate {rate_percent}% ({failed}/{runs} runs in {window_minutes} min): {dag_id}"},
        "zh-CN": {TYPE: "失败率 {rate_percent}%（{window_minutes} 分钟内 {runs} 次运行失败 {failed} 次）：{dag_id}"},
    },
)
