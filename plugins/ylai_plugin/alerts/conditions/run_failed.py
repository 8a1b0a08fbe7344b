# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``run_failed``: a DAG run ended failed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from ylai_plugin.alerts.conditions.base import Check, ConditionParams, ConditionType, Failure, params_config

TYPE = "run_failed"


class RunFailed(ConditionParams):
    """A DAG run ended failed. Resolves when a later run of that DAG succeeds."""

    model_config = params_config(TYPE, "DAG run failed", {"type": TYPE})

    type: Literal["run_failed"]


def failures(check: Check, since: datetime) -> Iterable[Failure]:
    """Runs of DAGs in scope that ended failed since ``since``."""
    from airflow.models.dagrun import DagRun

    runs = check.session.execute(
        select(DagRun.dag_id, DagRun.run_id, DagRun.end_date).where(
            DagRun.state == "failed", DagRun.end_date >= since, DagRun.dag_id.in_(check.scoped)
        )
    ).all()
    return [Failure(f"dag:{dag_id}", dag_id, run_id, end) for dag_id, run_id, end in runs]


CONDITION = ConditionType(
    type=TYPE,
    params=RunFailed,
    order=10,
    failures=failures,
    messages={
        "en": {TYPE: "DAG run failed: {dag_id}"},
        "zh-CN": {TYPE: "DAG 运行失败：{dag_id}"},
    },
)
