"""``GET /ylai/api/v1/health``: ylai's version and the state of the metadata DB and broker; ``GET /ping``."""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.api.security import UserDep
from ylai_plugin.version import ylai_version

State = Literal["healthy", "unhealthy", "not_configured"]


class ComponentHealth(BaseModel):
    """Health of one dependency."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "healthy", "detail": None, "latency_ms": 1.2}]}
    )

    status: State
    detail: str | None = None
    latency_ms: float | None = None


class HealthResponse(BaseModel):
    """The answer of the health route."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "0.1.0",
                    "executor": "CeleryExecutor",
                    "metadata_db": {"status": "healthy", "detail": None, "latency_ms": 1.2},
                    "broker": {"status": "healthy", "detail": None, "latency_ms": 2.8},
                }
            ]
        }
    )

    version: str
    executor: str
    metadata_db: ComponentHealth
    broker: ComponentHealth


router = APIRouter(tags=["health"])
# importlib.metadata scans sys.path on every call; the installed version does not change.
_version = cache(ylai_version)


def _checkout_pings(engine: Any) -> bool:
    """Whether getting a connection from ``engine`` already proves the database answers.

    Airflow's pool pings every connection it hands out (``[database] sql_alchemy_pool_pre_ping``,
    on by default) and replaces a dead one with a new connection; without a pool, every
    connection is new. Either way the checkout talked to the database, and a ``SELECT 1`` of
    our own would repeat it: three quarters of the check's CPU.
    """
    from sqlalchemy.pool import NullPool

    return isinstance(engine.pool, NullPool) or bool(getattr(engine.pool, "_pre_ping", False))


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
    return ComponentHealth(status="healthy", latency_ms=round((time.perf_counter() - started) * 1000, 2))


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
    return ComponentHealth(status="healthy", latency_ms=round((time.perf_counter() - started) * 1000, 2))


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """Return ylai's version and whether the metadata DB and the broker answer."""
    from airflow.configuration import conf

    executor = conf.get("core", "executor")
    return HealthResponse(
        version=_version(),
        executor=executor,
        metadata_db=check_metadata_db(),
        broker=check_broker(executor),
    )


class PingResponse(BaseModel):
    """The answer of the authenticated no-op."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "user": "alice"}]})

    status: Literal["ok"] = "ok"
    user: str = Field(description="The user the credentials belong to.", examples=["alice"])


@router.get("/ping", response_model=PingResponse)
def ping(user: UserDep) -> PingResponse:
    """Check your credentials: authentication and the rate limit, and nothing else.

    What every ylai route pays before its own work; the load benchmark (``bench/api_load.py``)
    measures it as the ceiling of an authenticated request.
    """
    return PingResponse(user=user.get_name())
