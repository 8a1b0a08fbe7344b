"""Event conditions (a run failed; a task failed after its retries), fired from the scheduler's listener.

The listener hands the work to a thread so that the scheduler's loop is not held up: the thread
records the incident and its deliveries, then tries to send them at once. Whatever it could not
send stays in the outbox for the evaluator to retry.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin.alerts import engine
from ylai_plugin.alerts.conditions import EVENT_CONDITIONS, run_failed, task_failed
from ylai_plugin.alerts.links import run_links
from ylai_plugin.db.alert_models import Alert, AlertRule

log = logging.getLogger(__name__)
TAIL_LINES = 20


def _log_line(raw: str) -> str:
    """One task-log line as text: Airflow 3 writes JSON lines (structlog)."""
    raw = raw.rstrip("\n")
    if not raw.startswith("{"):
        return raw
    try:
        record = json.loads(raw)
    except ValueError:
        return raw
    text = str(record.get("event", ""))
    for err in record.get("error_detail") or []:
        if isinstance(err, dict):
            text += f"\n{err.get('exc_type', '')}: {err.get('exc_value', '')}"
    return text


def error_tail(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
    """The last lines of a task attempt's log file (local or shared log folder), or ""."""
    from airflow.configuration import conf

    folder = Path(conf.get("logging", "base_log_folder"))
    path = folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        path = path / f"map_index={map_index}"
    path = path / f"attempt={try_number}.log"
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            lines = list(deque(fh, maxlen=200))
    except OSError:
        lines = _lines_via_log_reader(dag_id, run_id, task_id, try_number, map_index)
    text = "\n".join(line for line in (_log_line(raw) for raw in lines) if line.strip())
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def _lines_via_log_reader(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int) -> list[str]:
    """The log's last lines through Airflow's task log reader (remote logging, a worker's log server)."""
    try:
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.log.log_reader import TaskLogReader
        from airflow.utils.session import create_session

        with create_session() as session:
            ti = session.scalar(
                select(TI).where(
                    TI.dag_id == dag_id, TI.run_id == run_id, TI.task_id == task_id, TI.map_index == map_index
                )
            )
            if ti is None:
                return []
            stream = TaskLogReader().read_log_stream(ti, try_number, {})  # type: ignore[typeddict-item]
            return list(deque((line for chunk in stream for line in chunk.splitlines()), maxlen=200))
    except Exception:
        log.debug("could not read the log of %s %s %s", dag_id, run_id, task_id, exc_info=True)
        return []


def _failed_tasks(session: Session, dag_id: str, run_id: str) -> list[tuple[str, int, int]]:
    from airflow.models.taskinstance import TaskInstance as TI

    return [
        (task_id, int(try_number or 1), int(map_index))
        for task_id, try_number, map_index in session.execute(
            select(TI.task_id, TI.try_number, TI.map_index).where(
                TI.dag_id == dag_id, TI.run_id == run_id, TI.state == "failed"
            )
        )
    ]


def _conf_of(session: Session, dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.models.dagrun import DagRun

    conf = session.scalar(select(DagRun.conf).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return dict(conf or {})


def run_details(session: Session, dag_id: str, run_id: str) -> dict[str, Any]:
    """What a "run failed" message shows: params, failed tasks, the first one's error tail, links."""
    failed = _failed_tasks(session, dag_id, run_id)
    first = failed[0] if failed else None
    details: dict[str, Any] = {
        "dag_id": dag_id,
        "run_id": run_id,
        "params": _conf_of(session, dag_id, run_id),
        "failed_tasks": [t for t, _, _ in failed],
        "links": run_links(dag_id, run_id, first[0] if first else None, first[1] if first else 1),
    }
    if first:
        details["task_id"] = first[0]
        details["error_tail"] = error_tail(dag_id, run_id, first[0], first[1], first[2])
    return details


def task_details(
    session: Session, dag_id: str, run_id: str, task_id: str, attempt: tuple[int, int] | None = None
) -> dict[str, Any]:
    """What a "task failed" message shows (``attempt``: try number and map index, else from the DB)."""
    attempts = {t: (n, m) for t, n, m in _failed_tasks(session, dag_id, run_id)}
    try_number, map_index = attempt or attempts.get(task_id, (1, -1))
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "try_number": try_number,
        "params": _conf_of(session, dag_id, run_id),
        "error_tail": error_tail(dag_id, run_id, task_id, try_number, map_index),
        "links": run_links(dag_id, run_id, task_id, try_number),
    }


def record_run_failed(dag_id: str, run_id: str) -> list[int]:
    """Fire the enabled run_failed / task_failed rules whose scope holds the DAG; return new alert ids."""
    from airflow.utils.session import create_session

    fired: list[int] = []
    with create_session() as session:
        rules = session.scalars(
            select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.condition_type.in_(EVENT_CONDITIONS))
        ).all()
        tags = engine.tags_of(session, dag_id)
        now = engine.utcnow()
        for rule in rules:
            if not engine.dag_matches(rule.scope or {}, dag_id, tags):
                continue
            if rule.condition_type == run_failed.TYPE:
                alert = engine.fire(
                    session,
                    rule,
                    f"dag:{dag_id}",
                    run_details(session, dag_id, run_id),
                    dag_id=dag_id,
                    run_id=run_id,
                    tags=tags,
                    now=now,
                )
                fired += [alert.id] if alert else []
                continue
            for task_id, _, _ in _failed_tasks(session, dag_id, run_id):
                alert = engine.fire(
                    session,
                    rule,
                    f"task:{dag_id}.{task_id}",
                    task_details(session, dag_id, run_id, task_id),
                    dag_id=dag_id,
                    run_id=run_id,
                    tags=tags,
                    now=now,
                )
                fired += [alert.id] if alert else []
    return fired


def record_task_failed(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> list[int]:
    """Fire the enabled task_failed rules whose scope holds the DAG for one task; return new alert ids."""
    from airflow.utils.session import create_session

    fired: list[int] = []
    with create_session() as session:
        rules = session.scalars(
            select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.condition_type == task_failed.TYPE)
        ).all()
        tags = engine.tags_of(session, dag_id) if rules else set()
        for rule in rules:
            if not engine.dag_matches(rule.scope or {}, dag_id, tags):
                continue
            details = task_details(session, dag_id, run_id, task_id, (try_number, map_index))
            alert = engine.fire(
                session, rule, f"task:{dag_id}.{task_id}", details, dag_id=dag_id, run_id=run_id, tags=tags
            )
            fired += [alert.id] if alert else []
    return fired


def handle_task_failed(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> None:
    """Record and send a task failure seen by the scheduler or the api-server."""
    try:
        _send_for(record_task_failed(dag_id, run_id, task_id, try_number, map_index))
    except Exception:
        log.exception("recording the failure of %s.%s in %s as an alert failed", dag_id, task_id, run_id)


def record_run_succeeded(dag_id: str) -> list[int]:
    """Resolve the DAG's open run_failed / task_failed incidents; return their ids."""
    from airflow.utils.session import create_session

    resolved: list[int] = []
    with create_session() as session:
        alerts = session.scalars(
            select(Alert).where(
                Alert.dag_id == dag_id,
                Alert.state == "firing",
                Alert.condition_type.in_(EVENT_CONDITIONS),
            )
        ).all()
        now = engine.utcnow()
        resolved = [a.id for a in alerts if engine.resolve(session, a, now)]
    return resolved


def _send_for(alert_ids: list[int]) -> None:
    from airflow.utils.session import create_session

    with create_session() as session:
        ids = engine.pending_ids_of(session, alert_ids)
    engine.deliver(ids)


def handle_run_failed(dag_id: str, run_id: str) -> None:
    """Record and send (the listener's thread body); errors are logged, the evaluator is the safety net."""
    try:
        _send_for(record_run_failed(dag_id, run_id))
    except Exception:
        log.exception("recording the failure of %s %s as an alert failed", dag_id, run_id)


def handle_run_succeeded(dag_id: str) -> None:
    """Resolve and send the "resolved" messages."""
    try:
        _send_for(record_run_succeeded(dag_id))
    except Exception:
        log.exception("resolving the alerts of %s failed", dag_id)


def in_background(target: Any, *args: Any) -> threading.Thread:
    """Run ``target(*args)`` in a daemon thread (the listener must return quickly)."""
    thread = threading.Thread(target=target, args=args, name="ylai-alert-event", daemon=True)
    thread.start()
    return thread
