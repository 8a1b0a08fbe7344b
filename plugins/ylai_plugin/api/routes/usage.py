"""``/usage``: the page-view beacon, usage statistics and click heatmaps (the Insights page).

``POST /usage/events`` takes batches from any signed-in user, with a token bucket of its own
(``[ylai] usage_rate_per_minute``, ``usage_burst``: 429 with ``Retry-After`` beyond it) and a
daily cap per user. It is telemetry, not a change: it writes no audit entry (Airflow's log table
would fill with clicks). Statistics and heatmaps need ``ylai Insights`` (read).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query

from ylai_plugin import config
from ylai_plugin.api.datamodels.usage import Heatmap, UsageAccepted, UsageBatch, UsageStats
from ylai_plugin.api.errors import ApiError, ErrorResponse
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import usage
from ylai_plugin.domain.errors import Invalid, text
from ylai_plugin.permissions import RESOURCE_INSIGHTS

router = APIRouter(prefix="/usage", tags=["usage"])
#: The longest period the statistics cover in one answer.
MAX_DAYS = 366
DEFAULT_DAYS = 30
INSIGHTS = [Depends(requires(RESOURCE_INSIGHTS))]
READ_ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
StartQuery = Annotated[date | None, Query(description="First day (UTC, inclusive); default: 30 days before end.")]
EndQuery = Annotated[date | None, Query(description="Last day (UTC, inclusive); default: today.")]


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid.at("query.start", text("usage.start_after_end", "'start' must not be after 'end'"))
    if (end - start).days >= MAX_DAYS:
        raise Invalid.at("query.start", text("usage.period_too_long", "at most {days} days at once", days=MAX_DAYS))
    return start, end


@router.post(
    "/events",
    status_code=202,
    response_model=UsageAccepted,
    responses={422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def record_usage_events(body: UsageBatch, user: UserDep, session: SessionDep) -> UsageAccepted:
    """Record a batch of page views and clicks (1..50). Not audited: telemetry, not a change.

    Answers 202 with how many were recorded: 0 when ``[ylai] usage_enabled`` is off, fewer than
    sent once the user's daily cap is reached. 429 with ``Retry-After`` when batches come too fast.
    """
    if not config.USAGE_ENABLED.get():
        return UsageAccepted(accepted=0, enabled=False)
    wait = usage.take_beacon_token(user)
    if wait > 0:
        seconds = math.ceil(wait)
        message = text("rate_limited", "Too many requests; retry in {seconds} s", seconds=seconds)
        raise ApiError(429, message, {"retry_after": seconds}).with_headers({"Retry-After": str(seconds)})
    accepted = usage.record_events(session, user, [e.model_dump() for e in body.events])
    return UsageAccepted(accepted=accepted)


@router.get("/stats", response_model=UsageStats, dependencies=INSIGHTS, responses=READ_ERRORS)
def usage_stats(session: SessionDep, start: StartQuery = None, end: EndQuery = None) -> UsageStats:
    """Page views, feature use by source, active users per role, top scripts and pipelines, time to first run."""
    first, last = _period(start, end)
    return UsageStats.model_validate(usage.stats(session, first, last))


@router.get("/heatmap", response_model=Heatmap, dependencies=INSIGHTS, responses=READ_ERRORS)
def usage_heatmap(
    session: SessionDep,
    page: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_-]{0,63}$", description="A page id, e.g. `run`.")],
    start: StartQuery = None,
    end: EndQuery = None,
) -> Heatmap:
    """Clicks on ``page`` per layout region and position bucket, summed over the days."""
    if page not in usage.pages():
        reason = text("usage.unknown_page", "not a ylai page; one of {pages}", pages=", ".join(sorted(usage.pages())))
        raise Invalid.at("query.page", reason)
    first, last = _period(start, end)
    return Heatmap.model_validate(usage.heatmap(session, page, first, last))
