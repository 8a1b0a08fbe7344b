"""``/monitor``: task statistics over a time window (cached briefly: dashboards poll it)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from ylai_plugin.api.security import UserDep, readable_dag_ids, requires
from ylai_plugin.permissions import RESOURCE_MONITOR
from ylai_plugin.services.dags import kind_of

router = APIRouter(prefix="/monitor", tags=["monitor"])
CACHE_TTL_SECONDS = 10.0
T = TypeVar("T")


class TTLCache:
    """A tiny in-process cache with hit/miss counters."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Any, compute: Callable[[], T]) -> T:
        """Return the cached value for ``key`` or compute and store it."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                self.hits += 1
                value: T = hit[1]
                return value
            self.misses += 1
        value = compute()
        with self._lock:
            self._data[key] = (now, value)
            if len(self._data) > 256:  # bound memory: drop the oldest entries
                for old in sorted(self._data, key=lambda k: self._data[k][0])[:128]:
                    del self._data[old]
        return value


cache = TTLCache(CACHE_TTL_SECONDS)


class Percentiles(BaseModel):
    """Duration percentiles, in seconds."""

    count: int
    p50: float | None
    p95: float | None


class DagStats(BaseModel):
    """Per DAG (script, pipeline or plain DAG) figures in the window."""

    dag_id: str
    kind: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    duration: Percentiles


class HourBucket(BaseModel):
    """Runs started in one hour."""

    hour: datetime
    runs: int
    failed: int


class TaskMonitor(BaseModel):
    """Task statistics of the last ``window_hours``."""

    window_hours: int
    generated_at: datetime
    task_states: dict[str, int] = Field(description="Task instances by state (started in the window, or live).")
    run_states: dict[str, int] = Field(description="DAG runs by state.")
    success_rate: float | None = Field(description="Succeeded / finished DAG runs.")
    queue_wait: Percentiles = Field(description="Task instances, queued to running.")
    per_dag: list[DagStats]
    top_failing: list[DagStats]
    runs_per_hour: list[HourBucket]


def percentiles(values: list[float]) -> Percentiles:
    """Nearest-rank p50 and p95."""
    if not values:
        return Percentiles(count=0, p50=None, p95=None)
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(p * len(ordered) + 0.999999) - 1))], 3)

    return Percentiles(count=len(ordered), p50=rank(0.50), p95=rank(0.95))


def compute_task_monitor(session: Any, dag_ids: frozenset[str], window_hours: int) -> TaskMonitor:
    """Aggregate task instances and DAG runs of ``dag_ids`` over the window."""
    from airflow.models import DagRun, TaskInstance

    now = datetime.now(UTC)
    since = now - timedelta(hours=window_hours)
    live = ("running", "queued", "scheduled", "deferred", "up_for_retry")
    ti_states = dict(
        session.execute(
            select(TaskInstance.state, func.count())
            .where(
                TaskInstance.dag_id.in_(dag_ids),
                or_(TaskInstance.start_date >= since, TaskInstance.state.in_(live)),
            )
            .group_by(TaskInstance.state)
        ).all()
    )
    waits = [
        (start - queued).total_seconds()
        for queued, start in session.execute(
            select(TaskInstance.queued_dttm, TaskInstance.start_date)
            .where(
                TaskInstance.dag_id.in_(dag_ids),
                TaskInstance.start_date >= since,
                TaskInstance.queued_dttm.is_not(None),
            )
            .limit(50_000)
        )
        if queued and start and start >= queued
    ]
    runs = session.execute(
        select(DagRun.dag_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.run_after)
        .where(DagRun.dag_id.in_(dag_ids), DagRun.run_after >= since)
        .limit(100_000)
    ).all()
    run_states: Counter[str] = Counter()
    by_dag: dict[str, Counter[str]] = defaultdict(Counter)
    durations: dict[str, list[float]] = defaultdict(list)
    hours: dict[datetime, Counter[str]] = defaultdict(Counter)
    for dag_id, state, start, end, run_after in runs:
        state = str(state)
        run_states[state] += 1
        by_dag[dag_id][state] += 1
        if start and end:
            durations[dag_id].append((end - start).total_seconds())
        bucket = run_after.replace(minute=0, second=0, microsecond=0)
        hours[bucket]["runs"] += 1
        hours[bucket]["failed"] += state == "failed"
    per_dag = []
    for dag_id, counts in sorted(by_dag.items()):
        ok, bad = counts["success"], counts["failed"]
        per_dag.append(
            DagStats(
                dag_id=dag_id,
                kind=kind_of(dag_id),
                runs=sum(counts.values()),
                succeeded=ok,
                failed=bad,
                success_rate=round(ok / (ok + bad), 4) if ok + bad else None,
                duration=percentiles(durations[dag_id]),
            )
        )
    ok, bad = run_states["success"], run_states["failed"]
    return TaskMonitor(
        window_hours=window_hours,
        generated_at=now,
        task_states={str(k): v for k, v in ti_states.items()},
        run_states=dict(run_states),
        success_rate=round(ok / (ok + bad), 4) if ok + bad else None,
        queue_wait=percentiles(waits),
        per_dag=per_dag,
        top_failing=sorted((d for d in per_dag if d.failed), key=lambda d: (-d.failed, d.dag_id))[:10],
        runs_per_hour=[HourBucket(hour=h, runs=c["runs"], failed=c["failed"]) for h, c in sorted(hours.items())],
    )


@router.get("/tasks", response_model=TaskMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def task_monitor(
    user: UserDep,
    session: SessionDep,
    window_hours: Annotated[int, Query(ge=1, le=24 * 31, description="Look-back window.")] = 24,
) -> TaskMonitor:
    """Counts by state, success rate, p50/p95 duration per DAG, queue wait, top failing, runs per hour."""
    dag_ids = frozenset(readable_dag_ids(user))
    return cache.get_or_compute(
        ("tasks", dag_ids, window_hours), lambda: compute_task_monitor(session, dag_ids, window_hours)
    )
