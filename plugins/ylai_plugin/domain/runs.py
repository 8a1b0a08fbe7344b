"""A run's task logs: read once, or followed as events until the run finishes.

No HTTP here: :func:`log_events` yields ``(event, data, cursor)`` tuples that the API sends
as Server-Sent Events; the cursor (how many lines of each task log were sent) is what a
client hands back to resume (``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import select
from typing_extensions import TypedDict

from ylai_operators.catalog import DagKind, parse_dag_id
from ylai_plugin.domain.errors import not_found

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FINISHED = {"success", "failed"}


class TaskLogRecords(TypedDict):
    """The log of one task instance's latest try: structured records (event, level, timestamp, ...)."""

    task_id: str
    map_index: int
    try_number: int
    state: str | None
    lines: list[dict[str, Any]]


class RunLogRecords(TypedDict):
    """Every task log of a run; ``kind`` and ``name`` are None for a DAG ylai did not generate."""

    dag_id: str
    kind: DagKind | None
    name: str | None
    run_id: str
    state: str | None
    tasks: list[TaskLogRecords]


def run_and_task_instances(dag_id: str, run_id: str, session: Session) -> tuple[Any, list[Any]]:
    """The DagRun and its task instances, started ones first; :class:`NotFound` without such a run."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.trigger import Trigger
    from sqlalchemy.orm import joinedload

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise not_found("Run", f"{dag_id}/{run_id}")
    # Loaded with what Airflow's log reader reads, as Airflow's own log route does: the reader
    # opens and closes the thread's scoped session inside (a nested create_session), which
    # detaches these objects, and a lazy load after that raised DetachedInstanceError ("Could
    # not read served logs"), so a running task's log and the run's end went missing.
    tis = session.scalars(
        select(TaskInstance)
        .options(
            joinedload(TaskInstance.trigger).joinedload(Trigger.triggerer_job),
            joinedload(TaskInstance.dag_model),
            joinedload(TaskInstance.dag_run),
        )
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


def _state(obj: Any) -> str | None:
    return str(obj.state) if obj.state else None


def run_logs(session: Session, dag_id: str, run_id: str) -> RunLogRecords:
    """The latest try's log of every task of the run; :class:`NotFound` without such a run."""
    run, tis = run_and_task_instances(dag_id, run_id, session)
    tasks = [
        TaskLogRecords(
            task_id=ti.task_id, map_index=ti.map_index, try_number=ti.try_number, state=_state(ti), lines=_read(ti)
        )
        for ti in tis
    ]
    parsed = parse_dag_id(dag_id)
    return RunLogRecords(
        dag_id=dag_id,
        kind=parsed.kind if parsed else None,
        name=parsed.name if parsed else None,
        run_id=run_id,
        state=_state(run),
        tasks=tasks,
    )


def encode_cursor(offsets: dict[str, int]) -> str:
    """An event id that records how many lines of each task log were sent."""
    return base64.urlsafe_b64encode(json.dumps(offsets, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> dict[str, int]:
    """Parse a cursor (``Last-Event-ID``); anything malformed restarts from the beginning."""
    if not raw:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and v >= 0}


def snapshot(dag_id: str, run_id: str) -> tuple[str | None, list[tuple[str, str | None, list[dict[str, Any]]]]]:
    """The run's state and, per task try (``task_id:map_index:try_number``), its state and timed log lines."""
    from airflow.utils.session import create_session

    with create_session() as session:
        run, tis = run_and_task_instances(dag_id, run_id, session)
        # Only records with a timestamp: the reader adds untimed headers ("Log message source
        # details") that change as a log moves from the worker's log server to the log folder,
        # which would shift the line offsets that Last-Event-ID resumes from.
        logs = [
            (
                f"{ti.task_id}:{ti.map_index}:{ti.try_number}",
                _state(ti),
                [line for line in _read(ti) if line.get("timestamp")],
            )
            for ti in tis
        ]
        return _state(run), logs


async def log_events(
    dag_id: str, run_id: str, offsets: dict[str, int], poll: float
) -> AsyncIterator[tuple[str, dict[str, Any], str | None]]:
    """Yield ``log`` events for new lines, ``state`` events on changes, and ``end`` once the run finished.

    Each event is ``(name, data, cursor)``; the cursor is None on ``state`` events (they are
    sent again on resume). ``offsets`` is updated in place as lines are yielded.
    """
    states: dict[str, str | None] = {}
    while True:
        run_state, logs = await anyio.to_thread.run_sync(snapshot, dag_id, run_id)
        for key, state, lines in logs:
            task_id, map_index, try_number = key.rsplit(":", 2)
            if states.get(key, "?") != state:
                states[key] = state
                yield "state", {"task_id": task_id, "map_index": int(map_index), "state": state}, None
            for line in lines[offsets.get(key, 0) :]:
                offsets[key] = offsets.get(key, 0) + 1
                payload = {"task_id": task_id, "map_index": int(map_index), "try_number": int(try_number), **line}
                yield "log", payload, encode_cursor(offsets)
        if run_state in FINISHED:
            yield "end", {"state": run_state}, encode_cursor(offsets)
            return
        await asyncio.sleep(poll)
