# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``run_failed``: a DAG run ended failed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    return [run_failure(dag_id, run_id, end) for dag_id, run_id, end in runs]


def run_failure(dag_id: str, run_id: str, end: datetime | None = None) -> Failure:
    """One incident per DAG: further failed runs belong to it until the DAG succeeds."""
    return Failure(f"dag:{dag_id}", dag_id, run_id, end)


def on_run_failed(session: Session, dag_id: str, run_id: str) -> Iterable[Failure]:
    """The listener saw the run fail."""
    return [run_failure(dag_id, run_id)]


CONDITION = ConditionType(
    type=TYPE,
    params=RunFailed,
    order=10,
    failures=failures,
    on_run_failed=on_run_failed,
    messages={
        "en": {TYPE: "DAG run failed: {dag_id}"},
        "zh-CN": {TYPE: "DAG 运行失败：{dag_id}"},
    },
)
