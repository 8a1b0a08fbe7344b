"""``GET /ylai/api/v1/health``: ylai's version and each dependency's state; ``GET /ping``."""

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
async def health() -> HealthResponse:
    """Return ylai's version and the state of each dependency: metadata DB, broker, cache, scheduler.

    Each check has 2 s at most, all run at once, so a dead dependency is reported, never waited on.
    The route needs a logged-in caller like every other; while the metadata database is down the
    login itself cannot be checked, and the answer is the 503 that names the database.
    """
    report = await checks.check_all()
    return HealthResponse(
        version=_version(),
        status="healthy" if report.healthy else "unhealthy",
        executor=report.executor,
        metadata_db=report.metadata_db,
        broker=report.broker,
        cache=report.cache,
        scheduler=report.scheduler,
    )


@router.get("/ping", response_model=PingResponse)
def ping(user: UserDep) -> PingResponse:
    """Check your credentials: authentication and the rate limit, and nothing else.

    What every ylai route pays before its own work; the load benchmark (``bench/api_load.py``)
    measures it as the ceiling of an authenticated request.
    """
    return PingResponse(user=user.get_name())
