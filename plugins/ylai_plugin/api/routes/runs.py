"""``/runs/{dag_id}/{run_id}/logs``: a run's task logs, as JSON or as a live Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ylai_plugin.api.errors import ErrorResponse, not_found
from ylai_plugin.api.security import UserDep, ensure_dag_access
from ylai_plugin.domain.list_cache import cached_read

router = APIRouter(prefix="/runs", tags=["runs"], responses={404: {"model": ErrorResponse}})
FINISHED = {"success", "failed"}
POLL_SECONDS = 1.0


LOG_EXAMPLE: dict[str, Any] = {
    "task_id": "disk_usage",
    "map_index": -1,
    "try_number": 1,
    "state": "success",
    "lines": [
        {"timestamp": "2026-11-27T09:30:01.512000Z", "event": "ylai: running disk_usage.sh", "level": "info"},
        {"timestamp": "2026-11-27T09:30:04.100000Z", "event": "exit code 0", "level": "info"},
    ],
}


class TaskLog(BaseModel):
    """The log of one task instance's latest try."""

    model_config = ConfigDict(json_schema_extra={"examples": [LOG_EXAMPLE]})

    task_id: str
    map_index: int
    try_number: int
    state: str | None
    lines: list[dict[str, Any]] = Field(description="Structured log records: event, level, timestamp, ...")


class RunLogs(BaseModel):
    """Every task log of a run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dag_id": "script__disk_usage",
                    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
                    "state": "success",
                    "tasks": [LOG_EXAMPLE],
                }
            ]
        }
    )

    dag_id: str
    run_id: str
    state: str | None
    tasks: list[TaskLog]


def _run_and_tis(dag_id: str, run_id: str, session: Any) -> tuple[Any, list[Any]]:
    from airflow.models import DagRun, TaskInstance

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise not_found("Run", f"{dag_id}/{run_id}")
    tis = session.scalars(
        select(TaskInstance)
        .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        .order_by(TaskInstance.start_date.is_(None), TaskInstance.start_date, TaskInstance.task_id)
    ).all()
    return run, list(tis)


def _read(ti: Any) -> list[dict[str, Any]]:
    from airflow.utils.log.log_reader import TaskLogReader

    if not ti.try_number:
        return []
    stream, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})  # type: ignore[typeddict-item]
    return [entry.model_dump(mode="json", exclude_none=True) for entry in stream]


def _check(user: Any, dag_id: str) -> None:
    ensure_dag_access(user, dag_id, "GET", "TASK_LOGS")


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
    run, tis = _run_and_tis(dag_id, run_id, session)
    tasks = [
        TaskLog(
            task_id=ti.task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
            state=str(ti.state) if ti.state else None,
            lines=_read(ti),
        )
        for ti in tis
    ]
    return RunLogs(dag_id=dag_id, run_id=run_id, state=str(run.state) if run.state else None, tasks=tasks)


def encode_cursor(offsets: dict[str, int]) -> str:
    """An SSE event id that records how many lines of each task log were sent."""
    return base64.urlsafe_b64encode(json.dumps(offsets, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> dict[str, int]:
    """Parse a ``Last-Event-ID``; anything malformed restarts from the beginning."""
    if not raw:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and v >= 0}


def _sse(event: str, data: Any, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _snapshot(dag_id: str, run_id: str) -> tuple[str | None, list[tuple[str, str | None, list[dict[str, Any]]]]]:
    from airflow.utils.session import create_session

    with create_session() as session:
        run, tis = _run_and_tis(dag_id, run_id, session)
        # Only records with a timestamp: the reader adds untimed headers ("Log message source
        # details") that change as a log moves from the worker's log server to the log folder,
        # which would shift the line offsets that Last-Event-ID resumes from.
        logs = [
            (
                f"{ti.task_id}:{ti.map_index}:{ti.try_number}",
                str(ti.state) if ti.state else None,
                [line for line in _read(ti) if line.get("timestamp")],
            )
            for ti in tis
        ]
        return (str(run.state) if run.state else None), logs


async def stream_logs(dag_id: str, run_id: str, offsets: dict[str, int], poll: float) -> AsyncIterator[str]:
    """Yield ``log`` events for new lines, ``state`` events on changes, and ``end`` once the run finished."""
    states: dict[str, str | None] = {}
    yield "retry: 2000\n\n"
    while True:
        run_state, logs = await anyio.to_thread.run_sync(_snapshot, dag_id, run_id)
        for key, state, lines in logs:
            task_id, map_index, try_number = key.rsplit(":", 2)
            if states.get(key, "?") != state:
                states[key] = state
                yield _sse("state", {"task_id": task_id, "map_index": int(map_index), "state": state})
            for line in lines[offsets.get(key, 0) :]:
                offsets[key] = offsets.get(key, 0) + 1
                payload = {"task_id": task_id, "map_index": int(map_index), "try_number": int(try_number), **line}
                yield _sse("log", payload, encode_cursor(offsets))
        if run_state in FINISHED:
            yield _sse("end", {"state": run_state}, encode_cursor(offsets))
            return
        await asyncio.sleep(poll)


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
    _run_and_tis(dag_id, run_id, session)  # 404 before the stream starts
    return StreamingResponse(
        stream_logs(dag_id, run_id, decode_cursor(last_event_id), poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
