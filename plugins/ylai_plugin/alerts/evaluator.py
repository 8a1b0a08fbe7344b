"""The periodic evaluator behind ``ylai alerts``: metric conditions, retries, escalation, auto-resolve.

One replica at a time evaluates (a lease row in ``ylai_alert_lease``); the others wait and take
over when its lease lapses. Each tick:

1. syncs rules declared in manifests, pipeline YAML and database pipelines (``alerts:``) into the
   rule table;
2. evaluates every enabled rule with its condition type from :mod:`ylai_plugin.alerts.conditions`:
   event conditions (run/task failed) as a safety net behind the scheduler listener, metric
   conditions (failure rate, duration, queue wait, worker heartbeat, deadline) by firing new
   incidents and resolving those that no longer hold;
3. queues escalations; 4. sends every due delivery (first tries and retries with backoff).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin import tracing
from ylai_plugin.alerts import conditions, engine
from ylai_plugin.alerts.conditions.base import Check, ConditionType
from ylai_plugin.alerts.events import fire_failure
from ylai_plugin.db.alert_models import Alert, AlertRule

log = logging.getLogger(__name__)

LEASE_NAME = "evaluator"
# Event rules: failures that ended this long ago are still picked up if the listener missed them.
EVENT_LOOKBACK = timedelta(minutes=15)


def _in_scope(rule: AlertRule, tags: dict[str, set[str]]) -> dict[str, set[str]]:
    return {d: t for d, t in tags.items() if engine.dag_matches(rule.scope or {}, d, t)}


def _already_alerted(session: Session, rule: AlertRule, key: str, run_id: str) -> bool:
    return (
        session.scalar(
            select(Alert.id).where(Alert.rule_id == rule.id, Alert.dedup_key == key, Alert.run_id == run_id).limit(1)
        )
        is not None
    )


# ---------------------------------------------------------------- event rules (safety net) + recovery


def _handled(session: Session, rule: AlertRule, key: str, dag_id: str, run_id: str, end: datetime | None) -> bool:
    """Whether a failure needs nothing: alerted already, no newer than its open incident, or recovered since."""
    from airflow.models.dagrun import DagRun

    if _already_alerted(session, rule, key, run_id):
        return True
    incident = engine.open_alert(session, rule.id, key)
    if incident is not None and (end is None or end <= (incident.last_failure_at or incident.started_at)):
        return True
    recovered = select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.state == "success", DagRun.end_date > end)
    return end is not None and session.scalar(recovered.limit(1)) is not None


def _evaluate_event_rule(condition: ConditionType, check: Check) -> int:
    """Fire for failures the listener missed; resolve incidents whose DAG has succeeded since."""
    from airflow.models.dagrun import DagRun

    assert condition.failures is not None
    session, rule, now = check.session, check.rule, check.now
    fired = 0
    # A rule speaks of failures from its creation on: one made while a DAG is failing waits for the next failure.
    since = max(now - EVENT_LOOKBACK, rule.created_at) if rule.created_at else now - EVENT_LOOKBACK
    for failure in condition.failures(check, since):
        if _handled(session, rule, failure.key, failure.dag_id, failure.run_id, failure.end):
            continue
        alert = fire_failure(session, rule, failure, check.scoped[failure.dag_id], now, failed_at=failure.end or now)
        fired += alert is not None
    # Recovery: a run of the DAG succeeded after the incident opened.
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.state == "firing")).all():
        if alert.dag_id and session.scalar(
            select(DagRun.id)
            .where(DagRun.dag_id == alert.dag_id, DagRun.state == "success", DagRun.end_date > alert.started_at)
            .limit(1)
        ):
            engine.resolve(session, alert, now)
    return fired


def evaluate_rule(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> tuple[int, int]:
    """Evaluate one rule now with its condition type from the registry; return (fired, resolved)."""
    condition = conditions.get(rule.condition_type)
    if condition is None:
        return 0, 0
    check = Check(session=session, rule=rule, scoped=_in_scope(rule, tags), now=now)
    if condition.is_event:
        return _evaluate_event_rule(condition, check), 0
    assert condition.find is not None
    found = condition.find(check)
    violations = dict(found.violations)
    for key in found.keep:
        alert = engine.open_alert(session, rule.id, key)
        if alert is not None:
            violations.setdefault(key, (alert.details, alert.dag_id, alert.run_id, set()))
    return engine.sync_incidents(session, rule, violations, now)


def tick(now: datetime | None = None, *, holder: str = engine.WORKER, lease_seconds: float = 90) -> dict[str, int]:
    """One evaluation pass, if this process holds the lease; returns counters (``leader`` 0/1)."""
    from airflow.utils.session import create_session

    now = now or engine.utcnow()
    stats = {"leader": 0, "rules": 0, "fired": 0, "resolved": 0, "escalated": 0, "sent": 0}
    with create_session() as session:
        if not engine.acquire_lease(session, LEASE_NAME, holder, timedelta(seconds=lease_seconds), now):
            return stats
    stats["leader"] = 1
    # One trace per pass of the leader (the other replicas only ask for the lease).
    with tracing.span("ylai.alerts.tick", attributes={"ylai.alerts.worker": holder}) as span:
        _evaluate_all(now, stats)
        tracing.set_attributes(span, **{f"ylai.alerts.{key}": value for key, value in stats.items()})
    return stats


def _evaluate_all(now: datetime, stats: dict[str, int]) -> None:
    """The leader's pass: sync rules, evaluate each, escalate, deliver; counts go into ``stats``."""
    from airflow.utils.session import create_session

    try:
        from ylai_plugin.alerts.shorthand import sync_if_changed

        sync_if_changed()
    except Exception:
        log.exception("syncing alert rules from manifests and pipelines failed")
    with create_session() as session:
        tags = engine.dag_tags(session)
        rule_ids = list(session.scalars(select(AlertRule.id).where(AlertRule.enabled.is_(True))))
    for rule_id in rule_ids:
        with tracing.span("ylai.alert.evaluate", attributes={"ylai.alert.rule_id": rule_id}) as span:
            try:
                with create_session() as session:
                    rule = session.get(AlertRule, rule_id)
                    if rule is None:
                        continue
                    fired, resolved = evaluate_rule(session, rule, tags, now)
                    stats["rules"] += 1
                    stats["fired"] += fired
                    stats["resolved"] += resolved
                    tracing.set_attributes(
                        span,
                        **{
                            "ylai.alert.condition": rule.condition_type,
                            "ylai.alert.fired": fired,
                            "ylai.alert.resolved": resolved,
                        },
                    )
            except Exception as exc:
                log.exception("evaluating alert rule %s failed", rule_id)
                tracing.record_error(span, exc)
    with create_session() as session:
        stats["escalated"] = engine.escalate(session, now)
    stats["sent"] = engine.deliver_due(now)


def lease_is_held() -> bool:
    """Whether some evaluator replica holds a valid lease (the health check of ``ylai alerts``)."""
    from airflow.utils.session import create_session

    from ylai_plugin.db.alert_models import AlertLease

    with create_session() as session:
        lease = session.get(AlertLease, LEASE_NAME)
        held = lease is not None and lease.expires_at > engine.utcnow()
        print(f"evaluator lease: {'held by ' + lease.holder if held and lease else 'not held'}")
        return held


def run_forever(interval: float = 15.0, stop: threading.Event | None = None) -> None:
    """Evaluate every ``interval`` seconds until SIGTERM/SIGINT (or ``stop``)."""
    from airflow.utils.session import create_session

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info("ylai alerts evaluator %s: every %.0f s", engine.WORKER, interval)
    # Webhook (httpx) and Redis calls of the deliveries as child spans, with [traces] otel_on.
    tracing.instrument_clients()
    while not stop.is_set():
        try:
            stats = tick(lease_seconds=max(interval * 4, 60))
            if stats["fired"] or stats["resolved"] or stats["sent"] or stats["escalated"]:
                log.info("alerts tick: %s", stats)
        except Exception:
            log.exception("alerts tick failed")
        stop.wait(interval)
    with create_session() as session:
        engine.release_lease(session, LEASE_NAME, engine.WORKER)
