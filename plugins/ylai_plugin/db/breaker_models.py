"""The circuit breakers' last published state, one row per breaker and process.

Breakers live in each process (the ``ylai alerts`` evaluator, the scheduler's listener, every
api-server worker); each process writes its breakers here when their state changes (and, less
often, their counters), so ``/monitor/dependencies`` can show all of them from any worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ylai_plugin.db.base import Base, UtcDateTime, utcnow


class BreakerState(Base):
    """One circuit breaker of one process, as it last published itself."""

    __tablename__ = "ylai_breaker_state"
    __table_args__ = (
        UniqueConstraint("process", "name"),
        Index("ix_ylai_breaker_state_updated_at", "updated_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process: Mapped[str] = mapped_column(String(250))  # "<host>:<pid>"
    component: Mapped[str] = mapped_column(String(64))  # api-server, alerts, scheduler ...
    name: Mapped[str] = mapped_column(String(250))  # e.g. slack:ylai_slack, redis-cache
    dependency: Mapped[str] = mapped_column(String(32))  # slack | email | webhook | redis | http
    state: Mapped[str] = mapped_column(String(16))  # closed | open | half-open
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    times_opened: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    next_probe_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
