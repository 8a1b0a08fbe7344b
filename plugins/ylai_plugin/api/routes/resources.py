"""``/resources``: scripts ranked by peak RSS, CPU seconds and duration over a range (cached briefly)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from ylai_plugin.api.datamodels.resources import OrderBy, RangeId, ResourceRanking
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import resources, stats
from ylai_plugin.domain.access import readable_dag_ids
from ylai_plugin.domain.cache import cache_key, get_cache, in_own_session
from ylai_plugin.permissions import RESOURCE_MONITOR

router = APIRouter(prefix="/resources", tags=["resources"])


def _ranking(session: Any, dag_ids: frozenset[str], range_id: str, order_by: str, limit: int) -> ResourceRanking:
    return ResourceRanking.model_validate(resources.ranking(session, dag_ids, range_id, order_by, limit))


@router.get("/scripts", response_model=ResourceRanking, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def rank_scripts(
    user: UserDep,
    range_id: Annotated[RangeId, Query(alias="range", description="The range, ending now.")] = "7d",
    order_by: Annotated[OrderBy, Query(description="The figure to rank by; '-' first for the highest first.")] = (
        "-peak_rss_bytes_p95"
    ),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Scripts whose DAG the caller may read, ranked by p50/p95 peak RSS, CPU seconds or duration.

    Each script has its figures over the range, over the range before it (and the change), and
    its trend per hour (24h) or day. Cached like ``/monitor`` (dashboards poll it).
    """
    dag_ids = frozenset(readable_dag_ids(user))
    raw = get_cache(stats.MONITOR_CACHE_SECONDS).get_or_compute_json(
        cache_key("resources", dag_ids, range_id, order_by, limit),
        in_own_session(_ranking, dag_ids, range_id, order_by, limit),
    )
    # The cached JSON as it is: it was a valid ResourceRanking when it was computed.
    return Response(content=raw, media_type="application/json")
