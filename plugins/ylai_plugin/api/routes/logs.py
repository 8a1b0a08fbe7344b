"""``/logs/search``: task-log lines across runs, for the DAGs whose task logs the caller may read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query

from ylai_operators.catalog import pipeline_dag_id, script_dag_id
from ylai_plugin import config
from ylai_plugin.api.datamodels.log_search import LogSearchPage
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import access, log_search
from ylai_plugin.domain.errors import Invalid, text
from ylai_plugin.permissions import RESOURCE_MONITOR

router = APIRouter(prefix="/logs", tags=["logs"], responses={422: {"model": ErrorResponse}})
Level = Literal["debug", "info", "warning", "error", "critical"]
RunState = Literal["queued", "running", "success", "failed"]


def log_readable_dag_ids(user: Any) -> frozenset[str]:
    """The DAGs whose task logs ``user`` may read: readable DAGs with the TASK_LOGS right, as Airflow checks it."""
    return frozenset(d for d in access.readable_dag_ids(user) if access.can_access_dag(user, d, "GET", "TASK_LOGS"))


@router.get("/search", response_model=LogSearchPage, dependencies=[Depends(requires(RESOURCE_MONITOR))])
def search_logs(
    user: UserDep,
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=1000, description="Text to find, case-insensitively; a regex with `regex=true`.")
    ] = "",
    regex: Annotated[bool, Query(description="Whether `q` is a Python regular expression.")] = False,
    level: Annotated[list[Level] | None, Query(description="Only lines of these levels.")] = None,
    dag_id: Annotated[str | None, Query(description="Only this DAG's runs.")] = None,
    script: Annotated[str | None, Query(description="Only this script's runs.")] = None,
    pipeline: Annotated[str | None, Query(description="Only this pipeline's runs.")] = None,
    state: Annotated[list[RunState] | None, Query(description="Only runs in these states.")] = None,
    since: Annotated[datetime | None, Query(description="Only lines written at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Only lines written at or before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Lines per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=4000, description="`next_cursor` of the previous page, to continue.")
    ] = None,
) -> LogSearchPage:
    """Task-log lines matching a text or regex across runs, newest task instances first.

    Paged by a cursor rather than an offset: counting every match would mean reading every log.
    A request reads at most ``[ylai] log_search_max_bytes`` of logs (and scans for at most
    ``log_search_max_seconds``); ``stopped_by`` says which limit stopped it and ``next_cursor``
    continues from there. A bad or unsafe regex is a 422 on ``q``.
    """
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise Invalid.at(f"query.{name}", text("logs.naive_time", "needs a time zone, e.g. 2026-12-04T10:00:00Z"))
    wanted = {d for d in (dag_id, script and script_dag_id(script), pipeline and pipeline_dag_id(pipeline)) if d}
    filters = log_search.Filters(
        q=q,
        regex=regex,
        levels=frozenset(level or ()),
        dag_ids=frozenset(wanted) if wanted else None,
        run_states=frozenset(state or ()),
        since=since,
        until=until,
    )
    log_search.matcher(q, regex)  # a bad regex is a 422 before any permission or DB work
    max_bytes = max(config.LOG_SEARCH_MAX_BYTES.get(), 1)
    page = log_search.search(
        session,
        filters,
        log_readable_dag_ids(user),
        limit=limit,
        cursor=cursor,
        max_bytes=max_bytes,
        max_seconds=max(config.LOG_SEARCH_MAX_SECONDS.get(), 0.1),
    )
    return LogSearchPage.model_validate(
        {
            "items": page.items,
            "limit": limit,
            "next_cursor": page.next_cursor,
            "stopped_by": page.stopped_by,
            "scanned_bytes": page.scanned_bytes,
            "scanned_files": page.scanned_files,
            "max_scan_bytes": max_bytes,
        }
    )
