"""Event conditions (a run failed; a task failed after its retries), fired from the scheduler's listener.

The listener hands the work to a thread so that the scheduler's loop is not held up: the thread
records the incident and its deliveries, then tries to send them at once. Whatever it could not
send stays in the outbox for the evaluator to retry.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin import tracing
from ylai_plugin.alerts import conditions, engine
from ylai_plugin.alerts.conditions import EVENT_CONDITIONS
from ylai_plugin.alerts.conditions.base import Failure
from ylai_plugin.alerts.details import details_of
from ylai_plugin.db.alert_models import Alert, AlertRule

log = logging.getLogger(__name__)


def record_run_failed(dag_id: str, run_id: str) -> list[int]:
    """Fire the enabled event rules (run_failed, task_failed, ...) whose scope holds the DAG; return new alert ids."""
    from airflow.utils.session import create_session

    fired: list[int] = []
    with create_session() as session:
        rules = session.scalars(
            select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.condition_type.in_(EVENT_CONDITIONS))
        ).all()
        tags = engine.tags_of(session, dag_id)
        now = engine.utcnow()
        for rule in rules:
            condition = conditions.get(rule.condition_type)
            if condition is None or condition.on_run_failed is None:
                continue
            if not engine.dag_matches(rule.scope or {}, dag_id, tags):
                continue
            for failure in condition.on_run_failed(session, dag_id, run_id):
                fired += _fire_now(session, rule, failure, tags, now)
    return fired


def _fire_now(session: Session, rule: AlertRule, failure: Failure, tags: set[str], now: datetime) -> list[int]:
    """Open an incident for a failure that just happened (or add it to the open one); the new alert's id."""
    alert = fire_failure(session, rule, failure, tags, now, failed_at=now)
    return [alert.id] if alert else []


def fire_failure(
    session: Session, rule: AlertRule, failure: Failure, tags: set[str], now: datetime, *, failed_at: datetime
) -> Alert | None:
    """Open an incident for ``failure`` with its details, or count it into the open one (listener and evaluator)."""
    return engine.fire(
        session,
        rule,
        failure.key,
        details_of(session, failure),
        dag_id=failure.dag_id,
        run_id=failure.run_id,
        tags=tags,
        now=now,
        failed_at=failed_at,
    )


def record_task_failed(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> list[int]:
    """Fire the enabled rules of task conditions (task_failed) whose scope holds the DAG for one task."""
    from airflow.utils.session import create_session

    types = [c.type for c in conditions.REGISTRY.values() if c.on_task_failed is not None]
    fired: list[int] = []
    with create_session() as session:
        rules = session.scalars(
            select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.condition_type.in_(types))
        ).all()
        tags = engine.tags_of(session, dag_id) if rules else set()
        for rule in rules:
            condition = conditions.get(rule.condition_type)
            if condition is None or condition.on_task_failed is None:
                continue
            if not engine.dag_matches(rule.scope or {}, dag_id, tags):
                continue
            failure = condition.on_task_failed(dag_id, run_id, task_id, (try_number, map_index))
            fired += _fire_now(session, rule, failure, tags, engine.utcnow())
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
    """Run ``target(*args)`` in a daemon thread (the listener must return quickly).

    The thread's spans (the deliveries') join the trace current here: the request's, when an API
    call (a run or task marked failed) made Airflow call the listener.
    """
    thread = threading.Thread(
        target=tracing.in_current_context(target), args=args, name="ylai-alert-event", daemon=True
    )
    thread.start()
    return thread
