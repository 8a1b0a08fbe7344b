# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``task_failed``: a task failed after its retries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin.alerts.conditions.base import (
    Check,
    ConditionParams,
    ConditionType,
    Failure,
    failed_tasks,
    params_config,
)

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
    return [task_failure(dag_id, run_id, task_id, end) for dag_id, run_id, task_id, end in tis]


def task_failure(
    dag_id: str, run_id: str, task_id: str, end: datetime | None = None, attempt: tuple[int, int] | None = None
) -> Failure:
    """One incident per task of a DAG."""
    return Failure(f"task:{dag_id}.{task_id}", dag_id, run_id, end, task_id, attempt)


def on_run_failed(session: Session, dag_id: str, run_id: str) -> Iterable[Failure]:
    """The listener saw the run fail: each of its failed tasks (a task process cannot report its own)."""
    return [task_failure(dag_id, run_id, task_id) for task_id, _, _ in failed_tasks(session, dag_id, run_id)]


def on_task_failed(dag_id: str, run_id: str, task_id: str, attempt: tuple[int, int]) -> Failure:
    """The scheduler or the api-server failed the task after its retries."""
    return task_failure(dag_id, run_id, task_id, attempt=attempt)


CONDITION = ConditionType(
    type=TYPE,
    params=TaskFailed,
    order=20,
    failures=failures,
    on_run_failed=on_run_failed,
    on_task_failed=on_task_failed,
    messages={
        "en": {TYPE: "Task failed after its retries: {dag_id}.{task_id}"},
        "zh-CN": {TYPE: "任务重试后仍失败：{dag_id}.{task_id}"},
    },
)
