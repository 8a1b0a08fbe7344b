# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``task_failed``: a task failed after its retries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from ylai_plugin.alerts.conditions.base import Check, ConditionParams, ConditionType, Failure, params_config

TYPE = "task_failed"


class TaskFailed(ConditionParams):
    """A task failed after its retries (with its error tail). Resolves when a later run of the DAG succeeds."""

    model_config = params_config(TYPE, "Task failed", {"type": TYPE})

    type: Literal["task_failed"]


def failures(check: Check, since: datetime) -> Iterable[Failure]:
    """Task instances of DAGs in scope that ended failed since ``since``."""
    from airflow.models.taskinstance import TaskInstance as TI

    tis = check.session.execute(
        select(TI.dag_id, TI.run_id, TI.task_id, TI.end_date).where(
            TI.state == "failed", TI.end_date >= since, TI.dag_id.in_(check.scoped)
        )
    ).all()
    return [Failure(f"task:{dag_id}.{task_id}", dag_id, run_id, end, task_id) for dag_id, run_id, task_id, end in tis]


CONDITION = ConditionType(
    type=TYPE,
    params=TaskFailed,
    order=20,
    failures=failures,
    messages={
        "en": {TYPE: "Task failed after its retries: {dag_id}.{task_id}"},
        "zh-CN": {TYPE: "任务重试后仍失败：{dag_id}.{task_id}"},
    },
)
