"""``/runs/{dag_id}/{run_id}``: one run as ylai shows it, and its task logs (JSON or a live SSE stream)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from ylai_plugin.api.datamodels.logs import RunLogs
from ylai_plugin.api.datamodels.runs import RunOut
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import cached_read
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import access, runs, tasks
from ylai_plugin.domain.errors import not_found

router = APIRouter(prefix="/runs", tags=["runs"], responses={404: {"model": ErrorResponse}})
POLL_SECONDS = 1.0


def _check(user: Any, dag_id: str) -> None:
    access.ensure_dag_access(user, dag_id, "GET", "TASK_LOGS")


@router.get("/{dag_id}/{run_id}", response_model=RunOut)
def get_run(dag_id: str, run_id: str, user: UserDep, session: SessionDep) -> RunOut:
    """One run of any DAG the caller may read: state, times, masked conf, result and trace id.

    ``trace_id`` links the run to its trace (``/me``'s ``trace_url_template``): set for runs
    traced with ``[traces] otel_on``, the request's trace for runs started through ylai.
    """
    access.ensure_dag_access(user, dag_id, "GET", "RUN")
    found = tasks.runs_by_key(session, [(dag_id, run_id)]).get((dag_id, run_id))
    if found is None:
        raise not_found("Run", f"{dag_id}/{run_id}")
    return RunOut(**found)


@router.get("/{dag_id}/{run_id}/logs", response_model=RunLogs)
def get_run_logs(request: Request, dag_id: str, run_id: str, user: UserDep) -> Response:
    """The latest try's log of every task of the run.

    Cached per user for ``[ylai] list_cache_seconds`` (2 s by default), like the lists: a
    script polling a run's logs costs at most one log read per that time. New lines of a
    running task may show that much later here; ``/logs/stream`` tails them live.
    """
    return cached_read(request, user, [], lambda session: _run_logs(session, dag_id, run_id, user))


def _run_logs(session: Any, dag_id: str, run_id: str, user: Any) -> RunLogs:
    _check(user, dag_id)
    return RunLogs.model_validate(runs.run_logs(session, dag_id, run_id))


def _sse(event: str, data: Any, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def _stream(dag_id: str, run_id: str, offsets: dict[str, int], poll: float) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async for event, data, cursor in runs.log_events(dag_id, run_id, offsets, poll):
        yield _sse(event, data, cursor)


@router.get(
    "/{dag_id}/{run_id}/logs/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
def stream_run_logs(
    dag_id: str,
    run_id: str,
    user: UserDep,
    session: SessionDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    poll: Annotated[float, Query(ge=0.2, le=10, description="Seconds between polls.")] = POLL_SECONDS,
) -> StreamingResponse:
    """Tail the run's task logs until it finishes; resumes after ``Last-Event-ID``."""
    _check(user, dag_id)
    runs.run_and_task_instances(dag_id, run_id, session)  # 404 before the stream starts
    return StreamingResponse(
        _stream(dag_id, run_id, runs.decode_cursor(last_event_id), poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
