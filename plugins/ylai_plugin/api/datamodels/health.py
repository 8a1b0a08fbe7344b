"""Response models of ``/health`` and ``/ping``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.domain.health import ComponentHealth

__all__ = ["ComponentHealth", "HealthResponse", "PingResponse"]

_HEALTHY: dict[str, Any] = {"status": "healthy", "detail": None, "latency_ms": 1.2}


class HealthResponse(BaseModel):
    """The answer of the health route: ylai's version and each dependency's state."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "0.1.0",
                    "status": "healthy",
                    "executor": "CeleryExecutor",
                    "metadata_db": _HEALTHY,
                    "broker": {"status": "healthy", "detail": None, "latency_ms": 2.8},
                    "cache": {"status": "healthy", "detail": None, "latency_ms": 0.6},
                    "scheduler": {
                        "status": "healthy",
                        "detail": "last heartbeat 2026-12-03T13:20:01.120000+00:00",
                        "latency_ms": 1.9,
                    },
                },
                {
                    "version": "0.1.0",
                    "status": "unhealthy",
                    "executor": "CeleryExecutor",
                    "metadata_db": _HEALTHY,
                    "broker": {"status": "unhealthy", "detail": "OperationalError", "latency_ms": None},
                    "cache": {"status": "not_configured", "detail": "no [ylai] cache_url", "latency_ms": None},
                    "scheduler": {"status": "unhealthy", "detail": "last heartbeat 2026-12-03T13:02:11+00:00"},
                },
            ]
        }
    )

    version: str
    status: Literal["healthy", "unhealthy"] = Field(
        description="`unhealthy` when a configured dependency does not answer (or no scheduler heartbeats)."
    )
    executor: str
    metadata_db: ComponentHealth = Field(description="Airflow's metadata database, which holds ylai's tables.")
    broker: ComponentHealth = Field(description="The Celery broker (`not_configured` without the CeleryExecutor).")
    cache: ComponentHealth = Field(description="The Redis cache of `[ylai] cache_url` (`not_configured` without).")
    scheduler: ComponentHealth = Field(
        description="Whether a scheduler heartbeat is recent; `unknown` while the metadata database is down."
    )


class PingResponse(BaseModel):
    """The answer of the authenticated no-op."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "user": "alice"}]})

    status: Literal["ok"] = "ok"
    user: str = Field(description="The user the credentials belong to.", examples=["alice"])
