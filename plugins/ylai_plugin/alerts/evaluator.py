"""The periodic evaluator behind ``ylai alerts``: metric conditions, retries, escalation, auto-resolve.

One replica at a time evaluates (a lease row in ``ylai_alert_lease``); the others wait and take
over when its lease lapses. Each tick:

1. syncs rules declared in manifests and pipeline YAML (``alerts:``) into the rule table;
2. evaluates every enabled rule: event rules (run/task failed) as a safety net behind the
   scheduler listener, plus metric rules (failure rate, duration, queue wait, worker heartbeat,
   deadline) - firing new incidents and resolving those that no longer hold;
3. queues escalations; 4. sends every due delivery (first tries and retries with backoff).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ylai_plugin.alerts import engine
from ylai_plugin.db.alert_models import Alert, AlertRule

log = logging.getLogger(__name__)

LEASE_NAME = "evaluator"
# Event rules: failures that ended this long ago are still picked up if the listener missed them.
EVENT_LOOKBACK = timedelta(minutes=15)
Violations = dict[str, tuple[dict[str, Any], str | None, str | None, set[str]]]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


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
    """Whether a failure needs no new incident: alerted already, part of an open one, or recovered since."""
    from airflow.models.dagrun import DagRun

    if _already_alerted(session, rule, key, run_id) or engine.open_alert(session, rule.id, key):
        return True
    recovered = select(DagRun.id).where(DagRun.dag_id == dag_id, DagRun.state == "success", DagRun.end_date > end)
    return end is not None and session.scalar(recovered.limit(1)) is not None


def evaluate_event_rule(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> int:
    """Fire for failures the listener missed; resolve incidents whose DAG has succeeded since."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI

    from ylai_plugin.alerts import events

    scoped = _in_scope(rule, tags)
    fired = 0
    since = now - EVENT_LOOKBACK
    if rule.condition_type == "run_failed":
        runs = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.end_date).where(
                DagRun.state == "failed", DagRun.end_date >= since, DagRun.dag_id.in_(scoped)
            )
        ).all()
        for dag_id, run_id, end in runs:
            key = f"dag:{dag_id}"
            if _handled(session, rule, key, dag_id, run_id, end):
                continue
            details = events.run_details(session, dag_id, run_id)
            fired += (
                engine.fire(session, rule, key, details, dag_id=dag_id, run_id=run_id, tags=scoped[dag_id], now=now)
                is not None
            )
    else:
        tis = session.execute(
            select(TI.dag_id, TI.run_id, TI.task_id, TI.end_date).where(
                TI.state == "failed", TI.end_date >= since, TI.dag_id.in_(scoped)
            )
        ).all()
        for dag_id, run_id, task_id, end in tis:
            key = f"task:{dag_id}.{task_id}"
            if _handled(session, rule, key, dag_id, run_id, end):
                continue
            details = events.task_details(session, dag_id, run_id, task_id)
            fired += (
                engine.fire(session, rule, key, details, dag_id=dag_id, run_id=run_id, tags=scoped[dag_id], now=now)
                is not None
            )
    # Recovery: a run of the DAG succeeded after the incident opened.
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.state == "firing")).all():
        if alert.dag_id and session.scalar(
            select(DagRun.id)
            .where(DagRun.dag_id == alert.dag_id, DagRun.state == "success", DagRun.end_date > alert.started_at)
            .limit(1)
        ):
            engine.resolve(session, alert, now)
    return fired


# ---------------------------------------------------------------- metric rules


def failure_rate(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> Violations:
    """DAGs whose runs ended in the window failed at least ``threshold_percent`` of the time."""
    from airflow.models.dagrun import DagRun

    cond = rule.condition
    scoped = _in_scope(rule, tags)
    since = now - timedelta(minutes=int(cond.get("window_minutes", 1440)))
    counts: dict[str, dict[str, int]] = {}
    for dag_id, state, n in session.execute(
        select(DagRun.dag_id, DagRun.state, func.count())
        .where(DagRun.end_date >= since, DagRun.state.in_(["success", "failed"]), DagRun.dag_id.in_(scoped))
        .group_by(DagRun.dag_id, DagRun.state)
    ):
        counts.setdefault(dag_id, {})[str(state)] = int(n)
    out: Violations = {}
    for dag_id, by_state in counts.items():
        runs = sum(by_state.values())
        failed = by_state.get("failed", 0)
        rate = 100.0 * failed / runs if runs else 0.0
        if runs >= int(cond.get("min_runs", 3)) and rate >= float(cond.get("threshold_percent", 50)):
            details = {
                "dag_id": dag_id,
                "rate_percent": round(rate, 1),
                "failed": failed,
                "runs": runs,
                "window_minutes": int(cond.get("window_minutes", 1440)),
                "threshold_percent": float(cond.get("threshold_percent", 50)),
                "links": engine.run_links(dag_id),
            }
            out[f"dag:{dag_id}"] = (details, dag_id, None, scoped[dag_id])
    return out


def duration(
    session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime
) -> tuple[Violations, set[str]]:
    """The latest run of each DAG, running or finished, over the limit; plus keys to leave as they are.

    An incident resolves when a later run *finishes* within the limit; while a new run is still
    within the limit nothing changes.
    """
    from airflow.models.dagrun import DagRun

    cond = rule.condition
    out: Violations = {}
    keep: set[str] = set()
    for dag_id, dag_tags in _in_scope(rule, tags).items():
        latest = session.execute(
            select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.conf)
            .where(DagRun.dag_id == dag_id, DagRun.start_date.is_not(None))
            .order_by(DagRun.start_date.desc())
            .limit(1)
        ).first()
        if latest is None:
            continue
        run_id, state, start, end = latest[0], str(latest[1]), _aware(latest[2]), _aware(latest[3])
        assert start is not None
        running = state == "running" or end is None
        elapsed = ((end or now) - start).total_seconds()
        if cond.get("max_seconds"):
            limit = float(cond["max_seconds"])
        else:
            history = session.execute(
                select(DagRun.start_date, DagRun.end_date)
                .where(
                    DagRun.dag_id == dag_id,
                    DagRun.state == "success",
                    DagRun.run_id != run_id,
                    DagRun.start_date.is_not(None),
                    DagRun.end_date.is_not(None),
                )
                .order_by(DagRun.start_date.desc())
                .limit(int(cond.get("last_n_runs", 20)))
            ).all()
            durations = [(_aware(e) - _aware(s)).total_seconds() for s, e in history]  # type: ignore[operator]
            if len(durations) < int(cond.get("min_runs", 3)):
                continue
            limit = float(cond.get("p95_factor", 2)) * p95(durations)
        key = f"dag:{dag_id}"
        if elapsed > limit:
            details = {
                "dag_id": dag_id,
                "run_id": run_id,
                "running": running,
                "elapsed_seconds": round(elapsed, 1),
                "limit_seconds": round(limit, 1),
                "params": latest[4] or {},
                "links": engine.run_links(dag_id, run_id),
            }
            out[key] = (details, dag_id, run_id, dag_tags)
        elif running:
            keep.add(key)
    return out, keep


def queue_wait(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> Violations:
    """DAGs with a queued run or task waiting longer than ``max_seconds``."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI

    limit = float(rule.condition.get("max_seconds", 300))
    scoped = _in_scope(rule, tags)
    cutoff = now - timedelta(seconds=limit)
    oldest: dict[str, tuple[datetime, str]] = {}
    queries = (
        select(DagRun.dag_id, DagRun.run_id, DagRun.queued_at).where(
            DagRun.state == "queued", DagRun.queued_at < cutoff, DagRun.dag_id.in_(scoped)
        ),
        select(TI.dag_id, TI.run_id, TI.queued_dttm).where(
            TI.state == "queued", TI.queued_dttm < cutoff, TI.dag_id.in_(scoped)
        ),
    )
    for query in queries:
        for dag_id, run_id, queued in session.execute(query):
            queued = _aware(queued)
            if queued is not None and (dag_id not in oldest or queued < oldest[dag_id][0]):
                oldest[dag_id] = (queued, run_id)
    out: Violations = {}
    for dag_id, (queued, run_id) in oldest.items():
        details = {
            "dag_id": dag_id,
            "run_id": run_id,
            "wait_seconds": round((now - queued).total_seconds(), 1),
            "limit_seconds": limit,
            "links": engine.run_links(dag_id, run_id),
        }
        out[f"dag:{dag_id}"] = (details, dag_id, run_id, scoped[dag_id])
    return out


def worker_heartbeat(session: Session, rule: AlertRule, now: datetime) -> Violations:
    """Hosts of ``kinds`` silent for ``max_silence_seconds`` (seen in the last day); or too few alive."""
    from ylai_plugin.db.models import WorkerSample

    cond = rule.condition
    silence = float(cond.get("max_silence_seconds", 120))
    kinds = list(cond.get("kinds") or ["celery-worker"])
    last_seen = {
        host: _aware(ts)
        for host, ts in session.execute(
            select(WorkerSample.host, func.max(WorkerSample.ts))
            .where(WorkerSample.kind.in_(kinds), WorkerSample.ts >= now - timedelta(days=1))
            .group_by(WorkerSample.host)
        )
    }
    cutoff = now - timedelta(seconds=silence)
    out: Violations = {}
    alive = 0
    for host, ts in last_seen.items():
        if ts is not None and ts >= cutoff:
            alive += 1
            continue
        details = {
            "host": host,
            "last_seen": ts.isoformat() if ts else None,
            "silence_seconds": round((now - ts).total_seconds(), 1) if ts else None,
        }
        out[f"host:{host}"] = (details, None, None, set())
    min_alive = int(cond.get("min_alive", 1))
    if alive < min_alive:
        out["no-worker"] = ({"no_worker": True, "alive": alive, "min_alive": min_alive}, None, None, set())
    return out


def deadline(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> Violations:
    """Unpaused DAGs in scope that have not started (or finished successfully) by HH:MM each day."""
    from zoneinfo import ZoneInfo

    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun

    cond = rule.condition
    tz = ZoneInfo(str(cond.get("timezone", "UTC")))
    must = str(cond.get("must", "finish"))
    hour, minute = (int(x) for x in str(cond["time"]).split(":"))
    unpaused = set(session.scalars(select(DagModel.dag_id).where(~DagModel.is_paused)))
    scoped = {d: t for d, t in _in_scope(rule, tags).items() if d in unpaused}
    local_now = now.astimezone(tz)
    days = {local_now.date()}
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.state == "firing")):
        stamp = str(alert.dedup_key).rsplit(":", 1)[-1]
        try:
            days.add(datetime.strptime(stamp, "%Y-%m-%d").date())
        except ValueError:
            continue
    out: Violations = {}
    for day in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        due = midnight.replace(hour=hour, minute=minute)
        if now < due:
            continue
        for dag_id, dag_tags in scoped.items():
            if must == "start":
                met = DagRun.start_date >= midnight
            else:
                met = (DagRun.end_date >= midnight) & (DagRun.state == "success")
            if session.scalar(select(DagRun.id).where(DagRun.dag_id == dag_id, met).limit(1)):
                continue
            details = {
                "dag_id": dag_id,
                "must": must,
                "time": str(cond["time"]),
                "timezone": str(tz),
                "day": day.isoformat(),
                "links": engine.run_links(dag_id),
            }
            out[f"dag:{dag_id}:{day.isoformat()}"] = (details, dag_id, None, dag_tags)
    return out


def evaluate_rule(session: Session, rule: AlertRule, tags: dict[str, set[str]], now: datetime) -> tuple[int, int]:
    """Evaluate one rule now; return (fired, resolved)."""
    if rule.condition_type in ("run_failed", "task_failed"):
        return evaluate_event_rule(session, rule, tags, now), 0
    keep: set[str] = set()
    if rule.condition_type == "failure_rate":
        violations = failure_rate(session, rule, tags, now)
    elif rule.condition_type == "duration":
        violations, keep = duration(session, rule, tags, now)
    elif rule.condition_type == "queue_wait":
        violations = queue_wait(session, rule, tags, now)
    elif rule.condition_type == "worker_heartbeat":
        violations = worker_heartbeat(session, rule, now)
    elif rule.condition_type == "deadline":
        violations = deadline(session, rule, tags, now)
    else:
        return 0, 0
    for key in keep:
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
    try:
        from ylai_plugin.alerts.shorthand import sync_if_changed

        sync_if_changed()
    except Exception:
        log.exception("syncing alert rules from manifests and pipelines failed")
    with create_session() as session:
        tags = engine.dag_tags(session)
        rule_ids = list(session.scalars(select(AlertRule.id).where(AlertRule.enabled.is_(True))))
    for rule_id in rule_ids:
        try:
            with create_session() as session:
                rule = session.get(AlertRule, rule_id)
                if rule is None:
                    continue
                fired, resolved = evaluate_rule(session, rule, tags, now)
                stats["rules"] += 1
                stats["fired"] += fired
                stats["resolved"] += resolved
        except Exception:
            log.exception("evaluating alert rule %s failed", rule_id)
    with create_session() as session:
        stats["escalated"] = engine.escalate(session, now)
    stats["sent"] = engine.deliver_due(now)
    return stats


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
