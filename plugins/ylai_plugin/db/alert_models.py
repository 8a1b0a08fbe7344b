"""Alerting tables: rules, silences, alerts (incidents), deliveries (an outbox) and attempts.

They share ``Base``/``metadata`` (:mod:`ylai_plugin.db.base`) with the other tables, so Airflow's
``db migrate`` (``YlaiDBManager``) creates them; the migration is ``0004_alerts.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ylai_plugin.db.base import Base, UtcDateTime, utcnow


class AlertRule(Base):
    """What to watch (scope + condition), how loud (severity) and whom to tell (channels)."""

    __tablename__ = "ylai_alert_rule"
    __table_args__ = (
        Index("ix_ylai_alert_rule_condition_type_enabled", "condition_type", "enabled"),
        Index("ix_ylai_alert_rule_source", "source"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    condition_type: Mapped[str] = mapped_column(String(32))
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    escalation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # "api", or "manifest" for rules created from an ``alerts:`` section (source_ref = script:NAME ...)
    source: Mapped[str] = mapped_column(String(16), default="api")
    source_ref: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class AlertSilence(Base):
    """Mutes one rule, or every alert matching a scope, until ``ends_at``."""

    __tablename__ = "ylai_alert_silence"
    __table_args__ = (Index("ix_ylai_alert_silence_ends_at", "ends_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("ylai_alert_rule.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Alert(Base):
    """One incident of a rule: firing until resolved. ``open_key`` is unique while firing (dedup)."""

    __tablename__ = "ylai_alert"
    __table_args__ = (
        Index("ix_ylai_alert_started_at", "started_at"),
        Index("ix_ylai_alert_rule_started", "rule_id", "started_at"),
        Index("ix_ylai_alert_state_started", "state", "started_at"),
        Index("ix_ylai_alert_severity_started", "severity", "started_at"),
        Index("ix_ylai_alert_dag_state", "dag_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("ylai_alert_rule.id", ondelete="SET NULL"), nullable=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    condition_type: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(500))
    # "<rule_id>:<dedup_key>" while firing, NULL once resolved: a unique index makes dedup race-free.
    open_key: Mapped[str | None] = mapped_column(String(520), nullable=True, unique=True)
    state: Mapped[str] = mapped_column(String(16))  # firing | resolved
    severity: Mapped[str] = mapped_column(String(16))
    suppressed: Mapped[str | None] = mapped_column(String(32), nullable=True)  # silenced | rate_limited
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    dag_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Event incidents (a DAG keeps failing): how many failures it holds, and when the latest ended;
    # ``run_id`` and ``details`` follow the latest failure.
    occurrences: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class AlertDelivery(Base):
    """One message to one channel (the outbox): retried with backoff until sent."""

    __tablename__ = "ylai_alert_delivery"
    __table_args__ = (
        Index("ix_ylai_alert_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_ylai_alert_delivery_alert_id", "alert_id"),
        Index("ix_ylai_alert_delivery_breaker_status", "breaker", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("ylai_alert.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # firing | resolved | escalation
    channel_type: Mapped[str] = mapped_column(String(16))  # slack | email | webhook
    target: Mapped[str] = mapped_column(String(1000))
    connection_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | suppressed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Whoever is sending holds the row until this time (listener and evaluator replicas may race).
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The circuit breaker (e.g. ``slack:ylai_slack``) that last failed or held back this delivery:
    # when it closes again, its held-back deliveries are due at once. ``deferrals`` counts the
    # times an open breaker held it back without calling the receiver (not counted in ``attempts``).
    breaker: Mapped[str | None] = mapped_column(String(250), nullable=True)
    deferrals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AlertDeliveryAttempt(Base):
    """One try at sending a delivery, successful or not."""

    __tablename__ = "ylai_alert_attempt"
    __table_args__ = (Index("ix_ylai_alert_attempt_delivery_id", "delivery_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("ylai_alert_delivery.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(250))


class AlertLease(Base):
    """A named lease (e.g. the evaluator's) so that one of several replicas does the work."""

    __tablename__ = "ylai_alert_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
