"""``/monitor``: task statistics over a time window (cached briefly: dashboards poll it)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select

from ylai_plugin.api.security import UserDep, readable_dag_ids, requires
from ylai_plugin.domain.cache import cache_key, get_cache, in_own_session
from ylai_plugin.domain.dags import kind_of
from ylai_plugin.permissions import RESOURCE_MONITOR

router = APIRouter(prefix="/monitor", tags=["monitor"])
CACHE_TTL_SECONDS = 10.0

PERCENTILES_EXAMPLE: dict[str, Any] = {"count": 120, "p50": 3.2, "p95": 11.8}
DAG_STATS_EXAMPLE: dict[str, Any] = {
    "dag_id": "script__disk_usage",
    "kind": "script",
    "runs": 120,
    "succeeded": 114,
    "failed": 6,
    "success_rate": 0.95,
    "duration": PERCENTILES_EXAMPLE,
}
ROUTE_EXAMPLE: dict[str, Any] = {
    "method": "GET",
    "route": "/api/v2/dags/{dag_id}/dagRuns",
    "requests": 5400,
    "error_rate": 0.0,
    "client_error_rate": 0.002,
    "mean_ms": 18.4,
    "p50_ms": 12.0,
    "p95_ms": 45.0,
    "p99_ms": 90.0,
}
CACHE_EXAMPLE: dict[str, Any] = {
    "backend": "redis",
    "hits": 9120,
    "misses": 360,
    "hit_rate": 0.962,
    "ttl_seconds": 10.0,
}
SAMPLE_EXAMPLE: dict[str, Any] = {
    "ts": "2026-11-27T09:30:00Z",
    "cpu_percent": 37.5,
    "mem_percent": 61.2,
    "disk_percent": 48.0,
    "load1": 1.4,
    "running_tasks": 3,
}
HOST_EXAMPLE: dict[str, Any] = {
    "host": "worker-1",
    "kinds": ["celery-worker"],
    "last_heartbeat": "2026-11-27T09:30:00Z",
    "alive": True,
    "cpu_count": 8,
    "mem_total_bytes": 17179869184,
    "disk_free_bytes": 53687091200,
    "latest": SAMPLE_EXAMPLE,
    "history": [{**SAMPLE_EXAMPLE, "ts": "2026-11-27T09:29:50Z", "cpu_percent": 35.0}, SAMPLE_EXAMPLE],
}


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class Percentiles(BaseModel):
    """Duration percentiles, in seconds."""

    model_config = _example(PERCENTILES_EXAMPLE)

    count: int
    p50: float | None
    p95: float | None


class DagStats(BaseModel):
    """Per DAG (script, pipeline or plain DAG) figures in the window."""

    model_config = _example(DAG_STATS_EXAMPLE)

    dag_id: str
    kind: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    duration: Percentiles


class HourBucket(BaseModel):
    """Runs started in one hour."""

    model_config = _example({"hour": "2026-11-27T09:00:00Z", "runs": 14, "failed": 1})

    hour: datetime
    runs: int
    failed: int


class TaskMonitor(BaseModel):
    """Task statistics of the last ``window_hours``."""

    model_config = _example(
        {
            "window_hours": 24,
            "generated_at": "2026-11-27T09:30:00Z",
            "task_states": {"success": 1180, "failed": 9, "running": 2, "upstream_failed": 4},
            "run_states": {"success": 114, "failed": 6, "running": 1},
            "success_rate": 0.95,
            "queue_wait": {"count": 1189, "p50": 0.8, "p95": 2.9},
            "per_dag": [DAG_STATS_EXAMPLE],
            "top_failing": [DAG_STATS_EXAMPLE],
            "runs_per_hour": [{"hour": "2026-11-27T09:00:00Z", "runs": 14, "failed": 1}],
        }
    )

    window_hours: int
    generated_at: datetime
    task_states: dict[str, int] = Field(
        description="Task instances by state: those started in the window, and live ones, of the runs due in "
        "the window or still running or queued."
    )
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


def task_monitor_queries(dag_ids: frozenset[str], since: datetime) -> dict[str, Any]:
    """The three queries of :func:`compute_task_monitor` (``bench/api_load.py --explain`` shows their plans).

    Airflow has no index on ``task_instance.start_date``: filtering on it scans every task
    instance. Task instances are reached through their runs instead: the runs due in the
    window (``idx_dag_run_run_after``) and the running or queued ones (Airflow's partial
    indexes ``idx_dag_run_running_dags``/``idx_dag_run_queued_dags``), then their task
    instances through ``ti_dag_run`` (dag_id, run_id).
    """
    from airflow.models import DagRun, TaskInstance
    from sqlalchemy import and_

    live = ("running", "queued", "scheduled", "deferred", "up_for_retry")
    # Three comparisons, not an IN: each arm matches one index, and Postgres ORs the bitmaps.
    window_runs = (
        select(DagRun.dag_id, DagRun.run_id)
        .where(
            DagRun.dag_id.in_(dag_ids),
            or_(DagRun.run_after >= since, DagRun.state == "running", DagRun.state == "queued"),
        )
        .subquery()
    )
    in_window_runs = and_(TaskInstance.dag_id == window_runs.c.dag_id, TaskInstance.run_id == window_runs.c.run_id)
    return {
        "task_states": select(TaskInstance.state, func.count())
        .join(window_runs, in_window_runs)
        .where(or_(TaskInstance.start_date >= since, TaskInstance.state.in_(live)))
        .group_by(TaskInstance.state),
        "queue_waits": select(TaskInstance.queued_dttm, TaskInstance.start_date)
        .join(window_runs, in_window_runs)
        .where(TaskInstance.start_date >= since, TaskInstance.queued_dttm.is_not(None))
        .limit(50_000),
        "runs": select(DagRun.dag_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.run_after)
        .where(DagRun.dag_id.in_(dag_ids), DagRun.run_after >= since)
        .limit(100_000),
    }


def compute_task_monitor(session: Any, dag_ids: frozenset[str], window_hours: int) -> TaskMonitor:
    """Aggregate task instances and DAG runs of ``dag_ids`` over the window (see :func:`task_monitor_queries`)."""
    now = datetime.now(UTC)
    queries = task_monitor_queries(dag_ids, now - timedelta(hours=window_hours))
    ti_states = dict(session.execute(queries["task_states"]).all())
    waits = [
        (start - queued).total_seconds()
        for queued, start in session.execute(queries["queue_waits"])
        if queued and start and start >= queued
    ]
    runs = session.execute(queries["runs"]).all()
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
    window_hours: Annotated[int, Query(ge=1, le=24 * 31, description="Look-back window.")] = 24,
) -> Response:
    """Counts by state, success rate, p50/p95 duration per DAG, queue wait, top failing, runs per hour."""
    dag_ids = _readable_dag_ids(user)
    return _json(
        get_cache(CACHE_TTL_SECONDS).get_or_compute_json(
            cache_key("tasks", dag_ids, window_hours), in_own_session(compute_task_monitor, dag_ids, window_hours)
        )
    )


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


def _json(raw: bytes) -> Response:
    """The cached JSON as it is: it was a valid ``response_model`` when it was computed."""
    return Response(content=raw, media_type="application/json")


class RouteStats(BaseModel):
    """Requests to one route template, summed over every api-server worker."""

    model_config = _example(ROUTE_EXAMPLE)

    method: str
    route: str = Field(examples=["/api/v2/dags/{dag_id}/dagRuns"])
    requests: int
    error_rate: float = Field(description="Share of 5xx answers.")
    client_error_rate: float = Field(description="Share of 4xx answers.")
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class CacheStats(BaseModel):
    """The monitor cache: shared by all api-server workers with Redis, per worker in memory."""

    model_config = _example(CACHE_EXAMPLE)

    backend: Literal["redis", "memory"]
    hits: int
    misses: int
    hit_rate: float | None
    ttl_seconds: float


class ApiMonitor(BaseModel):
    """API statistics of the last ``window_minutes``."""

    model_config = _example(
        {
            "window_minutes": 60,
            "generated_at": "2026-11-27T09:30:00Z",
            "workers": 4,
            "total_requests": 5400,
            "error_rate": 0.0,
            "routes": [ROUTE_EXAMPLE],
            "cache": CACHE_EXAMPLE,
            "list_cache": {**CACHE_EXAMPLE, "hits": 15200, "misses": 2100, "hit_rate": 0.8786, "ttl_seconds": 2.0},
        }
    )

    window_minutes: int
    generated_at: datetime
    workers: int = Field(description="api-server worker processes that reported in the window.")
    total_requests: int
    error_rate: float
    routes: list[RouteStats]
    cache: CacheStats
    list_cache: CacheStats | None = Field(
        default=None,
        description="The per-user cache of list answers (``[ylai] list_cache_seconds``); null when it is off.",
    )


def compute_api_monitor(session: Any, window_minutes: int) -> ApiMonitor:
    """Sum ``ylai_api_stat`` rows of the window."""
    from ylai_plugin.db.models import ApiStat
    from ylai_plugin.monitoring.api_stats import summarize

    # No synchronous flush here: a write on the request path would queue behind SQLite's
    # single writer; the flusher thread lands every worker's figures within a few seconds.
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=window_minutes)).replace(second=0, microsecond=0)
    rows = session.scalars(select(ApiStat).where(ApiStat.minute >= since)).all()
    routes = [RouteStats(**r) for r in summarize(list(rows))]
    total = sum(r.requests for r in routes)
    errors = sum(r.error_rate * r.requests for r in routes)
    return ApiMonitor(
        window_minutes=window_minutes,
        generated_at=now,
        workers=len({r.worker for r in rows}),
        total_requests=total,
        error_rate=round(errors / total, 4) if total else 0.0,
        routes=routes,
        cache=_cache_stats(),
        list_cache=_list_cache_stats(),
    )


def _cache_stats() -> CacheStats:
    return _stats_of(get_cache(CACHE_TTL_SECONDS))


def _list_cache_stats() -> CacheStats | None:
    from ylai_plugin.domain.list_cache import get_list_cache

    cache = get_list_cache()
    return _stats_of(cache) if cache is not None else None


def _stats_of(cache: Any) -> CacheStats:
    hits, misses = cache.counters()
    return CacheStats(
        backend=cache.backend,
        hits=hits,
        misses=misses,
        hit_rate=round(hits / (hits + misses), 4) if hits + misses else None,
        ttl_seconds=cache.ttl,
    )


@router.get("/apis", response_model=ApiMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def api_monitor(
    user: UserDep,
    window_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> Response:
    """Request count, error rate and p50/p95/p99 latency per route of ``/api/v2`` and ``/ylai``."""
    raw = get_cache(CACHE_TTL_SECONDS).get_or_compute_json(
        cache_key("apis", window_minutes), in_own_session(compute_api_monitor, window_minutes)
    )
    body = json.loads(raw)
    body["cache"] = _cache_stats().model_dump(mode="json")  # live counters, not the cached ones
    lists = _list_cache_stats()
    body["list_cache"] = lists.model_dump(mode="json") if lists is not None else None
    return _json(json.dumps(body, separators=(",", ":")).encode())


class Sample(BaseModel):
    """One resource sample."""

    model_config = _example(SAMPLE_EXAMPLE)

    ts: datetime
    cpu_percent: float
    mem_percent: float
    disk_percent: float
    load1: float
    running_tasks: int


class HostMonitor(BaseModel):
    """A host running a Celery worker, an api-server or a scheduler, with its history."""

    model_config = _example(HOST_EXAMPLE)

    host: str
    kinds: list[str]
    last_heartbeat: datetime
    alive: bool = Field(description="Reported within the last 3 sampling intervals.")
    cpu_count: int
    mem_total_bytes: int
    disk_free_bytes: int
    latest: Sample
    history: list[Sample]


class SystemMonitor(BaseModel):
    """Every host that reported in the window."""

    model_config = _example(
        {
            "window_minutes": 60,
            "resolution_seconds": 10,
            "generated_at": "2026-11-27T09:30:05Z",
            "workers_alive": 1,
            "hosts": [HOST_EXAMPLE],
        }
    )

    window_minutes: int
    resolution_seconds: int
    generated_at: datetime
    workers_alive: int
    hosts: list[HostMonitor]


def compute_system_monitor(session: Any, window_minutes: int) -> SystemMonitor:
    """Group samples per host; downsample so a chart gets at most ~360 points per host."""
    from ylai_plugin.db.models import WorkerSample
    from ylai_plugin.monitoring.sampler import INTERVAL_SECONDS

    now = datetime.now(UTC)
    since = now - timedelta(minutes=window_minutes)
    rows = session.scalars(
        select(WorkerSample).where(WorkerSample.ts >= since).order_by(WorkerSample.host, WorkerSample.ts)
    ).all()
    resolution = max(int(INTERVAL_SECONDS), window_minutes * 60 // 360)
    per_host: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        per_host[row.host].append(row)
    hosts = []
    for host, samples in sorted(per_host.items()):
        buckets: dict[int, Any] = {}
        for s in samples:
            ts = s.ts if s.ts.tzinfo else s.ts.replace(tzinfo=UTC)
            buckets[int(ts.timestamp()) // resolution] = s  # the last sample of each bucket
        last = samples[-1]
        last_ts = last.ts if last.ts.tzinfo else last.ts.replace(tzinfo=UTC)

        def as_sample(s: Any) -> Sample:
            return Sample(
                ts=s.ts,
                cpu_percent=s.cpu_percent,
                mem_percent=s.mem_percent,
                disk_percent=s.disk_percent,
                load1=s.load1,
                running_tasks=s.running_tasks,
            )

        hosts.append(
            HostMonitor(
                host=host,
                kinds=sorted({s.kind for s in samples}),
                last_heartbeat=last_ts,
                alive=(now - last_ts).total_seconds() <= 3 * INTERVAL_SECONDS,
                cpu_count=last.cpu_count,
                mem_total_bytes=last.mem_total_bytes,
                disk_free_bytes=last.disk_free_bytes,
                latest=as_sample(last),
                history=[as_sample(s) for _, s in sorted(buckets.items())],
            )
        )
    return SystemMonitor(
        window_minutes=window_minutes,
        resolution_seconds=resolution,
        generated_at=now,
        workers_alive=sum(1 for h in hosts if h.alive),
        hosts=hosts,
    )


@router.get("/system", response_model=SystemMonitor, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def system_monitor(
    user: UserDep,
    window_minutes: Annotated[int, Query(ge=1, le=25 * 60)] = 60,
) -> Response:
    """CPU, memory, disk, load, running tasks and heartbeat per host, with history."""
    return _json(
        get_cache(CACHE_TTL_SECONDS).get_or_compute_json(
            cache_key("system", window_minutes), in_own_session(compute_system_monitor, window_minutes)
        )
    )
