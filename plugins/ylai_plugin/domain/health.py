"""Whether the dependencies ylai needs answer: metadata database, broker, cache, scheduler.

The metadata database, the Celery broker, the Redis cache and the scheduler's heartbeat. A
failed check is an answer (``unhealthy`` with the error's type), never an exception, and never
carries a URL: broker, cache and database URLs hold passwords. :func:`check_all` runs the checks
side by side, each bounded by a short timeout, so a dependency that hangs is reported
``unhealthy`` (``timed out after 2 s``) instead of holding the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ylai_plugin import config

State = Literal["healthy", "unhealthy", "not_configured", "unknown"]
#: Seconds each check of :func:`check_all` may take.
CHECK_TIMEOUT = 2.0


class ComponentHealth(BaseModel):
    """Health of one dependency."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "healthy", "detail": None, "latency_ms": 1.2}]}
    )

    status: State
    detail: str | None = None
    latency_ms: float | None = None


def _checkout_pings(engine: Any) -> bool:
    """Whether getting a connection from ``engine`` already proves the database answers.

    Airflow's pool pings every connection it hands out (``[database] sql_alchemy_pool_pre_ping``,
    on by default) and replaces a dead one with a new connection; without a pool, every
    connection is new. Either way the checkout talked to the database, and a ``SELECT 1`` of
    our own would repeat it: three quarters of the check's CPU.
    """
    from sqlalchemy.pool import NullPool

    return isinstance(engine.pool, NullPool) or bool(getattr(engine.pool, "_pre_ping", False))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def check_metadata_db() -> ComponentHealth:
    """Check that the metadata database answers: a pooled connection, pinged or new."""
    from airflow import settings
    from sqlalchemy import text

    started = time.perf_counter()
    try:
        # A bare pooled connection: an ORM session would add a transaction and its commit,
        # a third of this route's cost under load, to a check that writes nothing.
        assert settings.engine is not None, "the metadata database is not configured"
        with settings.engine.connect() as conn:
            if not _checkout_pings(settings.engine):
                conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "unhealthy", never a 500
        return ComponentHealth(status="unhealthy", detail=type(exc).__name__)
    return ComponentHealth(status="healthy", latency_ms=_elapsed_ms(started))


def check_broker(executor: str) -> ComponentHealth:
    """Connect to the Celery broker, when the CeleryExecutor is configured."""
    if "CeleryExecutor" not in executor:
        return ComponentHealth(status="not_configured", detail=f"executor is {executor}")
    from airflow.configuration import conf
    from kombu import Connection

    started = time.perf_counter()
    try:
        with Connection(conf.get("celery", "broker_url"), connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # the URL carries a password: report only the error type
        return ComponentHealth(status="unhealthy", detail=type(exc).__name__)
    return ComponentHealth(status="healthy", latency_ms=_elapsed_ms(started))


def executor() -> str:
    """The configured executor (``[core] executor``)."""
    from airflow.configuration import conf

    return str(conf.get("core", "executor"))


def check_cache() -> ComponentHealth:
    """PING the Redis cache, when ``[ylai] cache_url`` names one."""
    url = config.CACHE_URL.get()
    if not url:
        return ComponentHealth(status="not_configured", detail="no [ylai] cache_url: each process caches in memory")
    import redis

    started = time.perf_counter()
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception as exc:  # the URL may carry a password: report only the error type
        return ComponentHealth(status="unhealthy", detail=type(exc).__name__)
    finally:
        client.close()
    return ComponentHealth(status="healthy", latency_ms=_elapsed_ms(started))


def check_scheduler() -> ComponentHealth:
    """Whether a scheduler heartbeat is recent enough (``[scheduler] scheduler_health_check_threshold``).

    Read from the metadata database: with the database down it is ``unknown``, not ``unhealthy``.
    """
    from airflow.jobs.job import most_recent_job

    started = time.perf_counter()
    try:
        job = most_recent_job("SchedulerJob")
    except Exception as exc:
        return ComponentHealth(status="unknown", detail=f"metadata database: {type(exc).__name__}")
    if job is None or job.latest_heartbeat is None:
        return ComponentHealth(status="unhealthy", detail="no scheduler has ever sent a heartbeat")
    heartbeat = job.latest_heartbeat.isoformat()
    if not job.is_alive():
        return ComponentHealth(status="unhealthy", detail=f"last heartbeat {heartbeat}")
    return ComponentHealth(status="healthy", detail=f"last heartbeat {heartbeat}", latency_ms=_elapsed_ms(started))


NOT_CHECKED = ComponentHealth(status="unknown", detail="not checked")


@dataclass(frozen=True)
class Report:
    """Every dependency's state, as :func:`check_all` found it."""

    executor: str
    metadata_db: ComponentHealth
    broker: ComponentHealth
    cache: ComponentHealth
    scheduler: ComponentHealth

    @property
    def healthy(self) -> bool:
        """Whether every dependency that is configured answers."""
        parts = (self.metadata_db, self.broker, self.cache, self.scheduler)
        return all(part.status in ("healthy", "not_configured") for part in parts)

    def first_down(self) -> Literal["metadata_db", "broker", "cache"] | None:
        """The first dependency a request needs that does not answer (the scheduler is none)."""
        for name, part in (("metadata_db", self.metadata_db), ("broker", self.broker), ("cache", self.cache)):
            if part.status == "unhealthy":
                return name  # type: ignore[return-value]
        return None


async def _bounded(check: Callable[[], ComponentHealth], timeout: float) -> ComponentHealth:
    # A check stuck on a socket keeps its thread until the driver gives up; the answer does not wait.
    try:
        return await asyncio.wait_for(asyncio.to_thread(check), timeout)
    except TimeoutError:
        return ComponentHealth(status="unhealthy", detail=f"timed out after {timeout:g} s")


async def check_all(timeout: float = CHECK_TIMEOUT, *, scheduler: bool = True) -> Report:
    """Check every dependency at once, each for at most ``timeout`` seconds."""
    running = executor()

    async def now(answer: ComponentHealth) -> ComponentHealth:
        return answer

    # What is not configured is answered here, without a trip to a thread (the route is polled).
    no_broker = "CeleryExecutor" not in running
    no_cache = not config.CACHE_URL.get()
    db, broker, cache, sched = await asyncio.gather(
        _bounded(check_metadata_db, timeout),
        now(check_broker(running)) if no_broker else _bounded(lambda: check_broker(running), timeout),
        now(check_cache()) if no_cache else _bounded(check_cache, timeout),
        _bounded(check_scheduler, timeout) if scheduler else now(NOT_CHECKED),
    )
    if db.status == "unhealthy" and sched.status != "healthy":  # its heartbeat is read from that database
        sched = ComponentHealth(status="unknown", detail="the metadata database is unavailable")
    return Report(executor=running, metadata_db=db, broker=broker, cache=cache, scheduler=sched)
