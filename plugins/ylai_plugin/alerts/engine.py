"""Firing, dedup, silences, rate limits, resolving, escalation and the delivery outbox.

Every state change is a guarded ``UPDATE``/``INSERT`` so that several evaluator replicas, the
scheduler's listener and the api-server can work on the same tables without double-sending:

- an open incident holds ``open_key = "<rule>:<dedup key>"`` (unique), so a second ``fire`` of
  the same incident is a no-op;
- ``resolve`` flips ``firing`` -> ``resolved`` with ``WHERE state = 'firing'``;
- a delivery is claimed (``claimed_until``) before it is sent; a failure is recorded as an attempt
  and the delivery is retried with exponential backoff until it is sent: nothing is dropped;
- a send goes through its receiver's circuit breaker (:mod:`ylai_plugin.domain.breakers`): while
  it is open, deliveries wait for its probe time instead of hammering the receiver.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ylai_operators.catalog import pipeline_dag_id, script_dag_id
from ylai_plugin import tracing
from ylai_plugin.alerts.schemas import Channel
from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertLease, AlertRule, AlertSilence
from ylai_plugin.domain import breakers

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60
BACKOFF_BASE_SECONDS = 15.0
BACKOFF_MAX_SECONDS = 900.0
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failures: 15 s, 30 s, 60 s ... capped at 15 min."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


# ---------------------------------------------------------------- scope


def dag_matches(scope: dict[str, Any], dag_id: str, tags: Iterable[str]) -> bool:
    """Whether a DAG with ``tags`` is in ``scope`` (empty scope: every DAG)."""
    dag_ids = scope.get("dag_ids") or []
    scripts = scope.get("scripts") or []
    pipelines = scope.get("pipelines") or []
    scope_tags = scope.get("tags") or []
    if not (dag_ids or scripts or pipelines or scope_tags):
        return True
    return (
        dag_id in dag_ids
        or dag_id in {script_dag_id(s) for s in scripts}
        or dag_id in {pipeline_dag_id(p) for p in pipelines}
        or bool(set(scope_tags) & set(tags))
    )


def dag_tags(session: Session) -> dict[str, set[str]]:
    """Every active DAG id with its tags."""
    from airflow.models.dag import DagModel, DagTag

    result: dict[str, set[str]] = {
        dag_id: set() for dag_id in session.scalars(select(DagModel.dag_id).where(~DagModel.is_stale))
    }
    for dag_id, name in session.execute(select(DagTag.dag_id, DagTag.name)):
        if dag_id in result:
            result[dag_id].add(name)
    return result


def tags_of(session: Session, dag_id: str) -> set[str]:
    """The tags of one DAG."""
    from airflow.models.dag import DagTag

    return set(session.scalars(select(DagTag.name).where(DagTag.dag_id == dag_id)))


# ---------------------------------------------------------------- links


# ---------------------------------------------------------------- firing


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The fields messages are rendered from."""
    return {
        "id": alert.id,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "condition_type": alert.condition_type,
        "dedup_key": alert.dedup_key,
        "state": alert.state,
        "severity": alert.severity,
        "details": alert.details,
        "occurrences": alert.occurrences,
        "started_at": alert.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "resolved_at": alert.resolved_at.strftime("%Y-%m-%d %H:%M:%S UTC") if alert.resolved_at else None,
    }


def active_silence(session: Session, rule: AlertRule, dag_id: str | None, tags: Iterable[str], now: datetime) -> bool:
    """Whether a silence covers this rule, or this DAG by scope, right now."""
    silences = session.scalars(
        select(AlertSilence).where(
            AlertSilence.ends_at > now,
            AlertSilence.starts_at <= now,
            or_(AlertSilence.rule_id == rule.id, AlertSilence.rule_id.is_(None)),
        )
    ).all()
    for silence in silences:
        if silence.rule_id is not None and silence.rule_id != rule.id:
            continue
        if silence.scope and (dag_id is None or not dag_matches(silence.scope, dag_id, tags)):
            continue
        return True
    return False


def rate_limited(session: Session, rule: AlertRule, now: datetime) -> bool:
    """Whether the rule already notified ``max_alerts`` incidents in the last ``per_minutes``."""
    limit = rule.rate_limit
    if not limit:
        return False
    since = now - timedelta(minutes=int(limit["per_minutes"]))
    notified = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.rule_id == rule.id, Alert.started_at >= since, Alert.suppressed.is_(None))
    )
    return int(notified or 0) >= int(limit["max_alerts"])


def open_alert(session: Session, rule_id: int, dedup_key: str) -> Alert | None:
    """The firing incident of a rule for ``dedup_key``."""
    return session.scalar(select(Alert).where(Alert.open_key == f"{rule_id}:{dedup_key}"))


def fire(
    session: Session,
    rule: AlertRule,
    dedup_key: str,
    details: dict[str, Any],
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    tags: Iterable[str] = (),
    now: datetime | None = None,
    failed_at: datetime | None = None,
) -> Alert | None:
    """Open an incident and queue its deliveries; None when that incident is already open (dedup).

    A silenced or rate-limited incident is recorded (``suppressed``) without deliveries.
    ``failed_at`` marks an event (a run or task that failed then): a later failure that belongs to
    an open incident updates it (see :func:`add_failure`) instead of opening a second one.
    """
    from ylai_plugin.alerts.messages import headline

    now = now or utcnow()
    existing = open_alert(session, rule.id, dedup_key)
    if existing is not None:
        if failed_at is not None and run_id is not None:
            add_failure(session, existing, run_id, details, failed_at)
        return None
    suppressed = None
    if active_silence(session, rule, dag_id, tags, now):
        suppressed = "silenced"
    elif rate_limited(session, rule, now):
        suppressed = "rate_limited"
    alert = Alert(
        rule_id=rule.id,
        rule_name=rule.name,
        condition_type=rule.condition_type,
        dedup_key=dedup_key,
        open_key=f"{rule.id}:{dedup_key}",
        state="firing",
        severity=rule.severity,
        suppressed=suppressed,
        title=headline(rule.condition_type, details, "en"),
        summary=str(details.get("error_tail") or "")[-2000:],
        details=details,
        dag_id=dag_id,
        run_id=run_id,
        started_at=now,
        escalation_level=0,
        occurrences=1,
        last_failure_at=failed_at,
    )
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None  # another process opened it first
    if suppressed is None:
        enqueue(session, alert, "firing", rule.channels, now)
    log.info("alert %s fired: %s%s", alert.id, alert.title, f" ({suppressed})" if suppressed else "")
    return alert


def add_failure(session: Session, alert: Alert, run_id: str, details: dict[str, Any], failed_at: datetime) -> bool:
    """Count a further failure into an open incident and point it at that run, if it is newer.

    One incident per DAG (or task) until it recovers, so nobody is paged again for each failed
    run; the incident still shows the latest failed run and its error. No message is sent.
    """
    latest = alert.last_failure_at or alert.started_at
    if run_id == alert.run_id or failed_at <= latest:
        return False
    session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.state == "firing")
        .values(
            run_id=run_id,
            details=details,
            summary=str(details.get("error_tail") or "")[-2000:],
            occurrences=Alert.occurrences + 1,
            last_failure_at=failed_at,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(alert)
    log.info("alert %s: failure %d, run %s", alert.id, alert.occurrences, run_id)
    return True


def resolve(session: Session, alert: Alert, now: datetime | None = None) -> bool:
    """Close a firing incident and queue the "resolved" message; False when it was already closed."""
    now = now or utcnow()
    done = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.state == "firing")
        .values(state="resolved", open_key=None, resolved_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return False
    session.refresh(alert)
    if alert.suppressed is None:
        rule = session.get(AlertRule, alert.rule_id) if alert.rule_id else None
        channels = _notified_channels(session, alert) or (rule.channels if rule else [])
        enqueue(session, alert, "resolved", channels, now)
    log.info("alert %s resolved", alert.id)
    return True


def _notified_channels(session: Session, alert: Alert) -> list[dict[str, Any]]:
    """Every distinct channel the incident was sent to (first message and escalations)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for d in session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id)):
        seen.setdefault(
            (d.channel_type, d.target),
            {"type": d.channel_type, "target": d.target, "connection_id": d.connection_id, "language": d.language},
        )
    return list(seen.values())


def resolve_where(session: Session, rule_ids: Iterable[int], keys: Iterable[str], now: datetime | None = None) -> int:
    """Resolve the open incidents of ``rule_ids`` for ``keys``; return how many were resolved."""
    open_keys = [f"{r}:{k}" for r in rule_ids for k in keys]
    if not open_keys:
        return 0
    alerts = session.scalars(select(Alert).where(Alert.open_key.in_(open_keys))).all()
    return sum(resolve(session, a, now) for a in alerts)


def sync_incidents(
    session: Session,
    rule: AlertRule,
    violations: dict[str, tuple[dict[str, Any], str | None, str | None, set[str]]],
    now: datetime,
) -> tuple[int, int]:
    """Fire new ``violations`` (key -> details, dag_id, run_id, tags); resolve the rule's others."""
    fired = 0
    for key, (details, dag_id, run_id, tags) in violations.items():
        if fire(session, rule, key, details, dag_id=dag_id, run_id=run_id, tags=tags, now=now) is not None:
            fired += 1
    still_open = session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.state == "firing")).all()
    resolved = sum(resolve(session, a, now) for a in still_open if a.dedup_key not in violations)
    return fired, resolved


def enqueue(session: Session, alert: Alert, kind: str, channels: list[dict[str, Any]], now: datetime) -> None:
    """Queue one delivery per channel (the outbox)."""
    for raw in channels:
        channel = Channel.model_validate(raw)
        session.add(
            AlertDelivery(
                alert_id=alert.id,
                kind=kind,
                channel_type=channel.type,
                target=channel.target,
                connection_id=channel.connection_id,
                language=channel.language,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()


def escalate(session: Session, now: datetime | None = None) -> int:
    """Queue escalation messages for incidents unresolved for the rule's ``after_minutes``."""
    now = now or utcnow()
    count = 0
    rows = session.execute(
        select(Alert, AlertRule)
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.state == "firing", Alert.suppressed.is_(None), AlertRule.escalation.is_not(None))
    ).all()
    for alert, rule in rows:
        esc = rule.escalation or {}
        after = timedelta(minutes=int(esc.get("after_minutes", 60)))
        level = alert.escalation_level
        if level >= 1 and not esc.get("repeat"):
            continue
        if now < alert.started_at + after * (level + 1):
            continue
        done = session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.escalation_level == level, Alert.state == "firing")
            .values(escalation_level=level + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) == 1:
            enqueue(session, alert, "escalation", esc.get("channels") or rule.channels, now)
            count += 1
    return count


# ---------------------------------------------------------------- delivery (outbox)


def due_deliveries(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of pending deliveries whose next attempt is due and that nobody holds."""
    return list(
        session.scalars(
            select(AlertDelivery.id)
            .where(
                AlertDelivery.status == "pending",
                AlertDelivery.next_attempt_at <= now,
                or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now),
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(limit)
        )
    )


def deliver(ids: Iterable[int], now: datetime | None = None) -> int:
    """Try to send each delivery once (claiming it first); return how many were sent.

    Each send goes through the circuit breaker of its receiver (:func:`channels.breaker_name`).
    While it is open the delivery is not sent but held back until the breaker's probe time
    (``deferrals`` + 1, ``attempts`` unchanged: nothing was tried); when a trial send closes the
    breaker, every delivery it held back is due at once.
    """
    return _deliver(ids, now)[0]


def _deliver(ids: Iterable[int], now: datetime | None) -> tuple[int, bool]:
    """:func:`deliver`, and whether a breaker closed (so held-back deliveries are due now)."""
    from airflow.utils.session import create_session

    from ylai_plugin.alerts import channels
    from ylai_plugin.alerts.messages import render

    sent = 0
    released = False
    for delivery_id in ids:
        start = now or utcnow()
        with create_session() as session:
            claimed = session.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery_id,
                    AlertDelivery.status == "pending",
                    or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < start),
                )
                .values(claimed_until=start + timedelta(seconds=CLAIM_SECONDS))
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                continue
            delivery = session.get(AlertDelivery, delivery_id)
            alert = session.get(Alert, delivery.alert_id) if delivery else None
            if delivery is None or alert is None:
                continue
            kind, channel_type, target = delivery.kind, delivery.channel_type, delivery.target
            connection_id, language, attempts = delivery.connection_id, delivery.language, delivery.attempts
            message = render(alert_dict(alert), kind, language)
            alert_id = alert.id
        breaker = breakers.get_breaker(
            channels.breaker_name(channel_type, target, connection_id), dependency=channel_type
        )
        try:
            ticket = breaker.admit()
        except breakers.BreakerOpen as held:
            _hold_back(delivery_id, held)
            continue
        error: str | None = None
        t0 = time.monotonic()
        span_attributes = {
            "ylai.alert.id": alert_id,
            "ylai.alert.delivery_id": delivery_id,
            "ylai.alert.kind": kind,
            "ylai.alert.channel": channel_type,
            "ylai.alert.attempt": attempts + 1,
        }
        with tracing.span("ylai.alert.deliver", attributes=span_attributes) as span:
            try:
                channels.send(channel_type, target, connection_id, message)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                ticket.failure(exc)
                tracing.record_error(span, exc)
        closed = ticket.success() if error is None else False
        elapsed_ms = (time.monotonic() - t0) * 1000
        done_at = utcnow()
        with create_session() as session:
            session.add(
                AlertDeliveryAttempt(
                    delivery_id=delivery_id,
                    attempted_at=done_at,
                    ok=error is None,
                    error=error,
                    duration_ms=elapsed_ms,
                    worker=WORKER,
                )
            )
            values: dict[str, Any] = {
                "attempts": attempts + 1,
                "claimed_until": None,
                "last_error": error,
                "breaker": breaker.name,
            }
            if error is None:
                values |= {"status": "sent", "sent_at": done_at, "next_attempt_at": None}
                session.execute(
                    update(Alert)
                    .where(Alert.id == alert_id)
                    .values(last_notified_at=done_at)
                    .execution_options(synchronize_session=False)
                )
                sent += 1
            else:
                values["next_attempt_at"] = done_at + backoff(attempts + 1)
                log.warning("alert delivery %s to %s %s failed: %s", delivery_id, channel_type, target, error)
            session.execute(
                update(AlertDelivery)
                .where(AlertDelivery.id == delivery_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if closed:
                released = release_held_back(session, breaker.name, done_at) > 0 or released
    return sent, released


def _hold_back(delivery_id: int, held: breakers.BreakerOpen) -> None:
    """Put a delivery back for the open breaker ``held.name``'s probe time, without trying it."""
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id)
            .values(
                claimed_until=None,
                next_attempt_at=held.retry_at_datetime,
                deferrals=AlertDelivery.deferrals + 1,
                breaker=held.name,
            )
            .execution_options(synchronize_session=False)
        )
    log.info("alert delivery %s held back: circuit breaker %s is open", delivery_id, held.name)


def release_held_back(session: Session, breaker: str, now: datetime) -> int:
    """Make the pending deliveries of ``breaker`` due ``now`` (it closed: the receiver answers again).

    That covers the ones an open breaker held back and the ones waiting out a failure's backoff.
    """
    done = session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.breaker == breaker, AlertDelivery.status == "pending", AlertDelivery.next_attempt_at > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(done, "rowcount", 0) or 0)
    if count:
        log.info("circuit breaker %s closed: %d held-back alert deliveries are due", breaker, count)
    return count


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send every due delivery; return how many were sent.

    When a breaker closes on the way, what it held back is due at once and goes out in the
    same call (a few rounds at most), not a tick later.
    """
    from airflow.utils.session import create_session

    total = 0
    for _ in range(10):
        with create_session() as session:
            ids = due_deliveries(session, now or utcnow(), limit)
        sent, released = _deliver(ids, now)
        total += sent
        if not released:
            break
    return total


def deliver_in_background(ids: list[int]) -> threading.Thread | None:
    """Send now without blocking the caller; the outbox retries failures.

    The deliveries' spans join the caller's trace (its request's, in the api-server).
    """
    if not ids:
        return None
    thread = threading.Thread(
        target=tracing.in_current_context(_deliver_quietly), args=(ids,), name="ylai-alert-delivery", daemon=True
    )
    thread.start()
    return thread


def _deliver_quietly(ids: list[int]) -> None:
    try:
        deliver(ids)
    except Exception:
        log.exception("immediate alert delivery failed; the evaluator will retry")


def pending_ids_of(session: Session, alert_ids: Iterable[int]) -> list[int]:
    """Pending deliveries of some alerts."""
    ids = list(alert_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(AlertDelivery.id).where(AlertDelivery.alert_id.in_(ids), AlertDelivery.status == "pending")
        )
    )


# ---------------------------------------------------------------- lease


def acquire_lease(session: Session, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holder's lease is valid."""
    now = now or utcnow()
    done = session.execute(
        update(AlertLease)
        .where(AlertLease.name == name, or_(AlertLease.holder == holder, AlertLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) == 1:
        return True
    if session.get(AlertLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(AlertLease(name=name, holder=holder, expires_at=now + ttl))
            session.flush()
    except IntegrityError:
        return False
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    """Give the lease up (on a clean shutdown) so another replica takes over at once."""
    session.execute(
        update(AlertLease)
        .where(AlertLease.name == name, AlertLease.holder == holder)
        .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
        .execution_options(synchronize_session=False)
    )
