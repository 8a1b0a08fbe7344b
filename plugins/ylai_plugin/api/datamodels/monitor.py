"""Response models of ``/monitor``: task statistics and their history, queues, scheduler lag, API, hosts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    degraded: bool = Field(
        default=False,
        description="Redis is configured but its circuit breaker is open: each worker serves from its own memory.",
    )


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


# ---------------------------------------------------------------- history: task states, queues, scheduler lag

STATE_POINT_EXAMPLE: dict[str, Any] = {
    "ts": "2026-11-27T09:30:00Z",
    "states": {"running": 3, "queued": 1, "success": 12},
}
COUNT_POINT_EXAMPLE: dict[str, Any] = {"ts": "2026-11-27T09:30:00Z", "count": 4}
LENGTH_POINT_EXAMPLE: dict[str, Any] = {"ts": "2026-11-27T09:30:00Z", "length": 2}
QUEUE_SERIES_EXAMPLE: dict[str, Any] = {
    "queue": "default",
    "now": 1,
    "peak": 4,
    "points": [{"ts": "2026-11-27T09:29:50Z", "count": 1}, COUNT_POINT_EXAMPLE],
}
CELERY_QUEUE_EXAMPLE: dict[str, Any] = {
    "queue": "default",
    "latest": 2,
    "points": [{"ts": "2026-11-27T09:29:50Z", "length": None}, LENGTH_POINT_EXAMPLE],
}
CELERY_QUEUES_EXAMPLE: dict[str, Any] = {
    "status": "ok",
    "detail": None,
    "last_sample": "2026-11-27T09:30:02Z",
    "queues": [CELERY_QUEUE_EXAMPLE],
}
LAG_POINT_EXAMPLE: dict[str, Any] = {
    "ts": "2026-11-27T09:00:00Z",
    "runs": 3,
    "run_delay_p50": 1.2,
    "run_delay_p95": 4.8,
    "tasks": 9,
    "task_gap_p50": 0.9,
    "task_gap_p95": 2.4,
}


class StatePoint(BaseModel):
    """Task instances by state at one point of the task-states chart."""

    model_config = _example(STATE_POINT_EXAMPLE)

    ts: datetime = Field(description="Start of the point's interval.")
    states: dict[str, int] = Field(
        description="``scheduled``, ``queued``, ``running`` (and ``deferred``...): task instances in that state at "
        "the interval's end (now for the last point); any other state: task instances that ended in it during "
        "the interval. States with no task instance are left out."
    )


class TaskStateHistory(BaseModel):
    """The task-states chart of the last ``window_minutes``, rebuilt from the task instances' timestamps."""

    model_config = _example(
        {
            "window_minutes": 60,
            "resolution_seconds": 10,
            "generated_at": "2026-11-27T09:30:05Z",
            "points": [{**STATE_POINT_EXAMPLE, "ts": "2026-11-27T09:29:50Z"}, STATE_POINT_EXAMPLE],
        }
    )

    window_minutes: int
    resolution_seconds: int
    generated_at: datetime
    points: list[StatePoint]


class CountPoint(BaseModel):
    """Queued task instances at one point: the highest number within its interval."""

    model_config = _example(COUNT_POINT_EXAMPLE)

    ts: datetime
    count: int


class QueueSeries(BaseModel):
    """One executor queue: task instances queued (handed to the executor, not started yet)."""

    model_config = _example(QUEUE_SERIES_EXAMPLE)

    queue: str
    now: int = Field(description="Queued now.")
    peak: int = Field(description="The highest number queued at once in the window.")
    points: list[CountPoint]


class LengthPoint(BaseModel):
    """A Celery queue's length at one point: the highest sampled in its interval; null: no reading (a gap)."""

    model_config = _example(LENGTH_POINT_EXAMPLE)

    ts: datetime
    length: int | None


class CeleryQueue(BaseModel):
    """Messages waiting in one Celery queue of the broker."""

    model_config = _example(CELERY_QUEUE_EXAMPLE)

    queue: str
    latest: int | None = Field(description="The latest reading; null unless ``status`` is ``ok``.")
    points: list[LengthPoint]


class CeleryQueues(BaseModel):
    """The broker's queue lengths, sampled by the scheduler when the executor is Celery (Redis brokers)."""

    model_config = _example(CELERY_QUEUES_EXAMPLE)

    status: Literal["ok", "unreachable", "no_samples", "not_configured"] = Field(
        description="``unreachable``: the latest reading failed (``detail`` names the error); ``no_samples``: no "
        "reading for 3 sampling intervals (the scheduler is down); ``not_configured``: the executor is not Celery."
    )
    detail: str | None = None
    last_sample: datetime | None
    queues: list[CeleryQueue]


class QueueMonitor(BaseModel):
    """Queue depth over the last ``window_minutes``: queued task instances per queue, and the Celery queues."""

    model_config = _example(
        {
            "window_minutes": 60,
            "resolution_seconds": 10,
            "generated_at": "2026-11-27T09:30:05Z",
            "queued": [QUEUE_SERIES_EXAMPLE],
            "celery": CELERY_QUEUES_EXAMPLE,
        }
    )

    window_minutes: int
    resolution_seconds: int
    generated_at: datetime
    queued: list[QueueSeries] = Field(description="From the task instances' queued and start times, per queue.")
    celery: CeleryQueues


class LagPoint(BaseModel):
    """Scheduler lag in one interval (seconds); an interval without runs or tasks has no point."""

    model_config = _example(LAG_POINT_EXAMPLE)

    ts: datetime
    runs: int = Field(description="Runs that started in the interval.")
    run_delay_p50: float | None
    run_delay_p95: float | None = Field(description="How late those runs started after they were due.")
    tasks: int = Field(description="Tasks with upstream tasks that started in the interval (first tries).")
    task_gap_p50: float | None
    task_gap_p95: float | None = Field(description="Their start minus the end of their last upstream task.")


class SchedulerLag(BaseModel):
    """How late runs and tasks start, over the last ``window_minutes``."""

    model_config = _example(
        {
            "window_minutes": 60,
            "resolution_seconds": 60,
            "generated_at": "2026-11-27T09:30:05Z",
            "run_delay": {"count": 42, "p50": 1.1, "p95": 5.2},
            "task_gap": {"count": 130, "p50": 0.8, "p95": 2.6},
            "waiting_runs": 1,
            "longest_wait_seconds": 12.5,
            "points": [LAG_POINT_EXAMPLE],
        }
    )

    window_minutes: int
    resolution_seconds: int
    generated_at: datetime
    run_delay: Percentiles = Field(
        description="Runs started in the window: start minus ``run_after`` (the end of the data interval of a "
        "scheduled run, the trigger time of a manual one); backfills left out."
    )
    task_gap: Percentiles = Field(description="Task instances started in the window, after their upstream tasks.")
    waiting_runs: int = Field(description="Runs due and queued now, not started yet.")
    longest_wait_seconds: float | None = Field(description="How long the longest of them has been due.")
    points: list[LagPoint]


# ---------------------------------------------------------------- backpressure: queue limits


class QueueLimit(BaseModel):
    """One executor queue's backpressure: how many task instances wait in it, and how many may."""

    model_config = _example({"queue": "default", "depth": 12, "limit": 200, "full": False})

    queue: str
    depth: int = Field(
        description="Task instances waiting in the queue now: queued, scheduled, and those of runs not started yet."
    )
    limit: int = Field(description="Run requests through ylai are refused (429) once the depth reaches it; 0: none.")
    full: bool = Field(description="Whether run requests adding to this queue are refused now.")


class QueueLimits(BaseModel):
    """Backpressure per queue: the default queue, queues with a limit of their own and every queue in use."""

    model_config = _example(
        {
            "generated_at": "2026-12-03T14:00:05Z",
            "retry_after_seconds": 30,
            "queues": [{"queue": "default", "depth": 12, "limit": 200, "full": False}],
        }
    )

    generated_at: datetime
    retry_after_seconds: int = Field(description="The Retry-After of a refused run request.")
    queues: list[QueueLimit]


BREAKER_EXAMPLE: dict[str, Any] = {
    "process": "ylai-alerts-7d9f:4121",
    "component": "ylai alerts",
    "this_process": False,
    "name": "slack:ylai_slack",
    "dependency": "slack",
    "state": "open",
    "consecutive_failures": 5,
    "failures": 7,
    "successes": 120,
    "rejected": 14,
    "times_opened": 1,
    "last_failure_at": "2026-12-03T14:00:01Z",
    "last_error": "SlackApiError",
    "opened_at": "2026-12-03T14:00:01Z",
    "next_probe_at": "2026-12-03T14:00:31Z",
    "updated_at": "2026-12-03T14:00:03Z",
}


class BreakerOut(BaseModel):
    """One circuit breaker of one process: its state and counters since the process started."""

    model_config = _example(BREAKER_EXAMPLE)

    process: str = Field(description="The process it lives in, as host:pid.")
    component: str = Field(description="What that process is (its command line): airflow api-server, ylai alerts ...")
    this_process: bool = Field(description="Whether it is the api-server worker that answered (read live).")
    name: str = Field(
        description="The dependency it guards: slack:<connection>, email:<connection>, "
        "webhook:<host or connection>, redis-cache:<host>:<port>, redis-rate-limit."
    )
    dependency: str = Field(description="The kind of dependency: slack, email, webhook, redis.")
    state: Literal["closed", "open", "half-open"] = Field(
        description="closed: calls go through; open: they fail fast without reaching the dependency "
        "(alert deliveries wait, the cache serves from memory); half-open: trial calls decide."
    )
    consecutive_failures: int = Field(description="Failures in a row while closed (it opens at the threshold).")
    failures: int
    successes: int
    rejected: int = Field(description="Calls not made because it was open.")
    times_opened: int
    last_failure_at: datetime | None
    last_error: str | None = Field(description="The type of the last error (never its message: it may hold secrets).")
    opened_at: datetime | None
    next_probe_at: datetime | None = Field(description="When an open breaker lets its next trial call through.")
    updated_at: datetime = Field(description="When the process last published it (now for this process).")


class BreakerSettings(BaseModel):
    """The ``[ylai] breaker_*`` options (as this api-server worker reads them)."""

    model_config = _example({"failure_threshold": 5, "open_seconds": 30.0, "half_open_calls": 1})

    failure_threshold: int
    open_seconds: float
    half_open_calls: int


class DependencyMonitor(BaseModel):
    """The circuit breakers of every live process around ylai's outgoing dependencies."""

    model_config = _example(
        {
            "generated_at": "2026-12-03T14:00:05Z",
            "not_closed": 1,
            "settings": {"failure_threshold": 5, "open_seconds": 30.0, "half_open_calls": 1},
            "breakers": [BREAKER_EXAMPLE],
        }
    )

    generated_at: datetime
    not_closed: int = Field(description="How many breakers are open or half-open.")
    settings: BreakerSettings
    breakers: list[BreakerOut]


FAILED_TRY_EXAMPLE: dict[str, Any] = {
    "run_id": "manual__2026-11-27T09:12:30+00:00",
    "task_id": "csv_profiler",
    "try_number": 2,
}
ERROR_SIGNATURE_EXAMPLE: dict[str, Any] = {
    "dag_id": "script__csv_profiler",
    "kind": "script",
    "name": "csv_profiler",
    "signature": "FileNotFoundError: [Errno <n>] No such file or directory: '<str>'",
    "example": "FileNotFoundError: [Errno 2] No such file or directory: '/data/in/2026-11-27.csv'",
    "count": 7,
    "first_seen": "2026-11-27T06:12:40Z",
    "last_seen": "2026-11-27T09:12:41Z",
    "deployed_at": "2026-11-27T06:00:02Z",
    "new": True,
    "latest": FAILED_TRY_EXAMPLE,
}
DAG_FAILURES_EXAMPLE: dict[str, Any] = {
    "dag_id": "script__csv_profiler",
    "kind": "script",
    "name": "csv_profiler",
    "failed": 7,
}
HOUR_FAILURES_EXAMPLE: dict[str, Any] = {**DAG_FAILURES_EXAMPLE, "hour": "2026-11-27T09:00:00Z", "failed": 3}
ERROR_TRENDS_EXAMPLE: dict[str, Any] = {
    "generated_at": "2026-11-27T09:30:00Z",
    "hours": 24,
    "since": "2026-11-26T09:30:00Z",
    "history_days": 30,
    "truncated": False,
    "total": 7,
    "dags": [DAG_FAILURES_EXAMPLE],
    "per_hour": [HOUR_FAILURES_EXAMPLE],
    "signatures": [ERROR_SIGNATURE_EXAMPLE],
    "signature_count": 1,
}


class FailedTry(BaseModel):
    """The latest failed task instance of a signature (the run page links to it)."""

    model_config = _example(FAILED_TRY_EXAMPLE)

    run_id: str
    task_id: str
    try_number: int


class ErrorSignature(BaseModel):
    """One error of one DAG: its normalised last stderr line and when it was seen."""

    model_config = _example(ERROR_SIGNATURE_EXAMPLE)

    dag_id: str
    kind: str = Field(description="script, pipeline or dag.")
    name: str = Field(description="The script's or pipeline's name; any other DAG's id.")
    signature: str = Field(
        description="The error line normalised: numbers, UUIDs, hex ids, paths, URLs, times and quoted values "
        "replaced by <n>, <uuid>, <hex>, <path>, <url>, <time>, '<str>'. Empty: the task left no error line "
        "(not a script task, or stopped by Airflow: timeout, lost worker)."
    )
    example: str = Field(description="The latest failure's line as the script wrote it (secrets masked).")
    count: int = Field(description="Failures with this signature in the window.")
    first_seen: datetime = Field(description="Earliest failure with it in the last history_days days.")
    last_seen: datetime
    deployed_at: datetime | None = Field(
        description="The DAG's latest deploy: its latest Airflow DAG version, or its current ylai version if later."
    )
    new: bool = Field(description="First seen after deployed_at.")
    latest: FailedTry


class DagFailures(BaseModel):
    """Failed task instances of one DAG in the window."""

    model_config = _example(DAG_FAILURES_EXAMPLE)

    dag_id: str
    kind: str
    name: str
    failed: int


class HourFailures(DagFailures):
    """Failed task instances of one DAG in one hour (UTC, the hour's start)."""

    model_config = _example(HOUR_FAILURES_EXAMPLE)

    hour: datetime


class ErrorTrends(BaseModel):
    """Failures per hour per script/pipeline and the most frequent error signatures of the window."""

    model_config = _example(ERROR_TRENDS_EXAMPLE)

    generated_at: datetime
    hours: int
    since: datetime
    history_days: int = Field(description="How far back first_seen is looked for.")
    truncated: bool = Field(description="More failed task instances than one answer reads: the oldest were left out.")
    total: int = Field(description="Failed task instances in the window.")
    dags: list[DagFailures] = Field(description="Per DAG, most failures first.")
    per_hour: list[HourFailures] = Field(description="Hours without failures are left out.")
    signatures: list[ErrorSignature] = Field(description="The most frequent signatures, then the latest.")
    signature_count: int = Field(description="Distinct signatures in the window (the list shows the top ones).")
