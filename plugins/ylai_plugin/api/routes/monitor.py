"""``/monitor``: task statistics and their history, error trends, API and host figures, queue limits, circuit breakers.

Everything but the breakers is cached briefly: dashboards poll it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from ylai_plugin import config
from ylai_plugin.api.datamodels.monitor import (
    ApiMonitor,
    BreakerOut,
    BreakerSettings,
    CacheStats,
    DependencyMonitor,
    ErrorTrends,
    QueueLimit,
    QueueLimits,
    QueueMonitor,
    SchedulerLag,
    SystemMonitor,
    TaskMonitor,
    TaskStateHistory,
)
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import backpressure, breakers, stats, timeline
from ylai_plugin.domain.access import readable_dag_ids
from ylai_plugin.domain.cache import cache_key, get_cache, in_own_session
from ylai_plugin.domain.health import executor
from ylai_plugin.monitoring import errors, figures
from ylai_plugin.permissions import RESOURCE_MONITOR

router = APIRouter(prefix="/monitor", tags=["monitor"])
CACHE_TTL_SECONDS = stats.MONITOR_CACHE_SECONDS
# The history charts cover the Monitor's ranges (15 min, 1 h, 24 h); samples are kept 25 h.
HistoryWindow = Annotated[int, Query(ge=1, le=24 * 60, description="Look-back window, in minutes.")]


def _task_monitor(session: Any, dag_ids: frozenset[str], window_hours: int) -> TaskMonitor:
    return TaskMonitor.model_validate(stats.task_monitor(session, dag_ids, window_hours))


@router.get("/tasks", response_model=TaskMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def task_monitor(
    user: UserDep,
    window_hours: Annotated[int, Query(ge=1, le=24 * 31, description="Look-back window.")] = 24,
) -> Response:
    """Counts by state, success rate, p50/p95 duration per DAG, queue wait, top failing, runs per hour."""
    dag_ids = _readable_dag_ids(user)
    return _cached("tasks", _task_monitor, dag_ids, window_hours)


def _error_trends(session: Any, dag_ids: frozenset[str], hours: int) -> ErrorTrends:
    return ErrorTrends.model_validate(errors.error_trends(session, dag_ids, hours))


@router.get("/errors", response_model=ErrorTrends, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def error_trends(
    user: UserDep,
    hours: Annotated[int, Query(ge=1, le=24 * 7, description="Look-back window, in hours.")] = 24,
) -> Response:
    """Failures per hour per script/pipeline and the top error signatures (normalised last stderr lines).

    Only the DAGs the caller may read count. A signature is ``new`` when first seen after the
    DAG's latest deploy.
    """
    dag_ids = _readable_dag_ids(user)
    return _cached("errors", _error_trends, dag_ids, hours)


_readable_lock = threading.Lock()
_readable: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}


def _readable_dag_ids(user: Any) -> frozenset[str]:
    """The DAGs the user may read, remembered for the monitor cache's TTL.

    The aggregates themselves are up to ``CACHE_TTL_SECONDS`` old, and FAB caches a user's
    permissions for 30 s anyway; asking the auth manager (a query) on every poll of a cached
    dashboard would cost more than the cached answer.
    """
    key = (type(user).__name__, str(user.get_id()))
    now = time.monotonic()
    with _readable_lock:
        hit = _readable.get(key)
    if hit and now - hit[0] < CACHE_TTL_SECONDS:
        return hit[1]
    dag_ids = frozenset(readable_dag_ids(user))
    with _readable_lock:
        if len(_readable) > 1024:
            _readable.clear()
        _readable[key] = (now, dag_ids)
    return dag_ids


def _cached(name: str, compute: Callable[..., BaseModel], *args: Any) -> Response:
    """``compute(session, *args)`` as JSON, cached for ``CACHE_TTL_SECONDS`` under ``name`` and ``args``."""
    raw = get_cache(CACHE_TTL_SECONDS).get_or_compute_json(cache_key(name, *args), in_own_session(compute, *args))
    return _json(raw)


def _json(raw: bytes) -> Response:
    """The cached JSON as it is: it was a valid ``response_model`` when it was computed."""
    return Response(content=raw, media_type="application/json")


def _cache_stats() -> CacheStats:
    return CacheStats.model_validate(figures.cache_figures(get_cache(CACHE_TTL_SECONDS)))


def _list_cache_stats() -> CacheStats | None:
    from ylai_plugin.domain.list_cache import get_list_cache

    cache = get_list_cache()
    return CacheStats.model_validate(figures.cache_figures(cache)) if cache is not None else None


def _api_monitor(session: Any, window_minutes: int) -> ApiMonitor:
    return ApiMonitor.model_validate(
        figures.api_figures(session, window_minutes) | {"cache": _cache_stats(), "list_cache": _list_cache_stats()}
    )


@router.get("/apis", response_model=ApiMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def api_monitor(
    user: UserDep,
    window_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> Response:
    """Request count, error rate and p50/p95/p99 latency per route of ``/api/v2`` and ``/ylai``."""
    raw = get_cache(CACHE_TTL_SECONDS).get_or_compute_json(
        cache_key("apis", window_minutes), in_own_session(_api_monitor, window_minutes)
    )
    body = json.loads(raw)
    body["cache"] = _cache_stats().model_dump(mode="json")  # live counters, not the cached ones
    lists = _list_cache_stats()
    body["list_cache"] = lists.model_dump(mode="json") if lists is not None else None
    return _json(json.dumps(body, separators=(",", ":")).encode())


def _system_monitor(session: Any, window_minutes: int) -> SystemMonitor:
    return SystemMonitor.model_validate(figures.system_figures(session, window_minutes))


@router.get("/system", response_model=SystemMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def system_monitor(
    user: UserDep,
    window_minutes: Annotated[int, Query(ge=1, le=25 * 60)] = 60,
) -> Response:
    """CPU, memory, disk, load, running tasks and heartbeat per host, with history."""
    return _cached("system", _system_monitor, window_minutes)


def _task_states(session: Any, dag_ids: frozenset[str], window_minutes: int) -> TaskStateHistory:
    window = timeline.Window.last(window_minutes)
    return TaskStateHistory.model_validate(timeline.task_state_history(session, dag_ids, window))


@router.get("/task-states", response_model=TaskStateHistory, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def task_state_history(user: UserDep, window_minutes: HistoryWindow = 60) -> Response:
    """Task instances by state over time, rebuilt from their scheduled/queued/start/end times."""
    dag_ids = _readable_dag_ids(user)
    return _cached("task-states", _task_states, dag_ids, window_minutes)


def _queues(session: Any, dag_ids: frozenset[str], window_minutes: int) -> QueueMonitor:
    window = timeline.Window.last(window_minutes)
    body = timeline.queue_history(session, dag_ids, window)
    return QueueMonitor.model_validate(body | {"celery": figures.celery_queue_figures(session, window, executor())})


@router.get("/queues", response_model=QueueMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def queue_monitor(user: UserDep, window_minutes: HistoryWindow = 60) -> Response:
    """Queue depth over time: queued task instances per queue and, with Celery, the broker's queue lengths."""
    dag_ids = _readable_dag_ids(user)
    return _cached("queues", _queues, dag_ids, window_minutes)


def _lag(session: Any, dag_ids: frozenset[str], window_minutes: int) -> SchedulerLag:
    window = timeline.Window.last(window_minutes, points=timeline.LAG_POINTS, floor=timeline.LAG_MIN_RESOLUTION_SECONDS)
    return SchedulerLag.model_validate(timeline.scheduler_lag(session, dag_ids, window))


@router.get("/lag", response_model=SchedulerLag, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def scheduler_lag(user: UserDep, window_minutes: HistoryWindow = 60) -> Response:
    """Scheduler lag over time: how late runs start after they are due, and tasks after their upstream tasks."""
    dag_ids = _readable_dag_ids(user)
    return _cached("lag", _lag, dag_ids, window_minutes)


def _queue_limits(session: Any) -> QueueLimits:
    queues = [
        QueueLimit(queue=load.queue, depth=load.depth, limit=load.limit, full=load.full)
        for load in backpressure.loads(session)
    ]
    retry_after = max(config.QUEUE_FULL_RETRY_AFTER.get(), 1)
    return QueueLimits(generated_at=datetime.now(UTC), retry_after_seconds=retry_after, queues=queues)


@router.get("/queue-limits", response_model=QueueLimits, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def queue_limits(user: UserDep) -> Response:
    """Backpressure: each queue's waiting task instances and its limit, above which run requests get 429."""
    return _cached("queue-limits", _queue_limits)


def _dependencies(session: Any) -> DependencyMonitor:
    me = breakers.process_id()
    items = [
        BreakerOut(
            process=process,
            component=component,
            this_process=process == me,
            updated_at=updated_at,
            **{k: v for k, v in asdict(snap).items() if not k.endswith("_at")},
            last_failure_at=_moment(snap.last_failure_at),
            opened_at=_moment(snap.opened_at),
            next_probe_at=_moment(snap.next_probe_at),
        )
        for process, component, snap, updated_at in breakers.states(session)
    ]
    return DependencyMonitor(
        generated_at=datetime.now(UTC),
        not_closed=sum(1 for b in items if b.state != "closed"),
        settings=BreakerSettings.model_validate(breakers.settings()),
        breakers=items,
    )


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


@router.get("/dependencies", response_model=DependencyMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def dependency_monitor(user: UserDep) -> DependencyMonitor:
    """Circuit breakers around outgoing dependencies (alert channels, Redis), in every live process.

    Not cached: this worker's breakers are read live, the other processes' from what they
    published (on each state change, and every minute).
    """
    return cast("DependencyMonitor", in_own_session(_dependencies)())
