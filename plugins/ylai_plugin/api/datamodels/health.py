"""Response models of ``/health`` and ``/ping``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ylai_plugin.domain.health import ComponentHealth

__all__ = ["ComponentHealth", "HealthResponse", "PingResponse"]


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


class PingResponse(BaseModel):
    """The answer of the authenticated no-op."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "user": "alice"}]})

    status: Literal["ok"] = "ok"
    user: str = Field(description="The user the credentials belong to.", examples=["alice"])
