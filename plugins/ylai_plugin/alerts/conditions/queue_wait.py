# ruff: noqa: RUF001  (Chinese messages use full-width punctuation on purpose)
"""``queue_wait``: a run or task has waited in the queue too long."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field
from sqlalchemy import select

from ylai_plugin.alerts.conditions import base
from ylai_plugin.alerts.links import run_links

TYPE = "queue_wait"


class QueueWait(base.ConditionParams):
    """A run or task of the DAG has waited in the queue for more than ``max_seconds``."""

    model_config = base.params_config(TYPE, "Queue wait", {"type": TYPE, "max_seconds": 600})

    type: Literal["queue_wait"]
    max_seconds: float = Field(
        gt=0,
        description="Fire when a run or task has been queued longer than this.",
        json_schema_extra=base.ui_hints(initial=600, unit="seconds", label="alerts.f.max_seconds_queue"),
    )


def find(check: base.Check) -> base.Found:
    """DAGs with a queued run or task waiting longer than ``max_seconds``."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI

    limit = float(check.condition.get("max_seconds", 300))
    cutoff = check.now - timedelta(seconds=limit)
    oldest: dict[str, tuple[datetime, str]] = {}
    queries = (
        select(DagRun.dag_id, DagRun.run_id, DagRun.queued_at).where(
            DagRun.state == "queued", DagRun.queued_at < cutoff, DagRun.dag_id.in_(check.scoped)
        ),
        select(TI.dag_id, TI.run_id, TI.queued_dttm).where(
            TI.state == "queued", TI.queued_dttm < cutoff, TI.dag_id.in_(check.scoped)
        ),
    )
    for query in queries:
        for dag_id, run_id, queued in check.session.execute(query):
            queued = base.aware(queued)
            if queued is not None and (dag_id not in oldest or queued < oldest[dag_id][0]):
                oldest[dag_id] = (queued, run_id)
    out: base.Violations = {}
    for dag_id, (queued, run_id) in oldest.items():
        details = {
            "dag_id": dag_id,
            "run_id": run_id,
            "wait_seconds": round((check.now - queued).total_seconds(), 1),
            "limit_seconds": limit,
            "links": run_links(dag_id, run_id),
        }
        out[f"dag:{dag_id}"] = (details, dag_id, run_id, check.scoped[dag_id])
    return base.Found(out)


CONDITION = base.ConditionType(
    type=TYPE,
    params=QueueWait,
    order=50,
    find=find,
    messages={
        "en": {TYPE: "Waiting in the queue too long: {dag_id} ({wait} > {limit})"},
        "zh-CN": {TYPE: "排队时间过长：{dag_id}（{wait} > {limit}）"},
    },
)
