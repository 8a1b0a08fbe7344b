"""Whether the dependencies ylai needs answer: the metadata database and the Celery broker.

A failed check is an answer (``unhealthy`` with the error's type), never an exception, and
never carries a URL: broker and database URLs hold passwords.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

State = Literal["healthy", "unhealthy", "not_configured"]


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
