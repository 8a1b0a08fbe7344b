"""``GET /ylai/api/v1/health``: ylai's version and the state of the metadata DB and broker; ``GET /ping``."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from ylai_plugin.api.datamodels.health import HealthResponse, PingResponse
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import health as checks
from ylai_plugin.version import ylai_version

router = APIRouter(tags=["health"])
# importlib.metadata scans sys.path on every call; the installed version does not change.
_version = cache(ylai_version)


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """Return ylai's version and whether the metadata DB and the broker answer."""
    executor = checks.executor()
    return HealthResponse(
        version=_version(),
        executor=executor,
        metadata_db=checks.check_metadata_db(),
        broker=checks.check_broker(executor),
    )


@router.get("/ping", response_model=PingResponse)
def ping(user: UserDep) -> PingResponse:
    """Check your credentials: authentication and the rate limit, and nothing else.

    What every ylai route pays before its own work; the load benchmark (``bench/api_load.py``)
    measures it as the ceiling of an authenticated request.
    """
    return PingResponse(user=user.get_name())
