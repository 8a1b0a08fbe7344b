"""Feedback and usage statistics (migration ``0015_feedback_usage.py``).

- :class:`Feedback`: what people say, from the feedback button of every ylai page.
- :class:`UsageEvent`: raw page views and feature uses (runs, presets, exports, editor saves),
  kept ``[ylai] usage_retention_days``; clicks never land here.
- :class:`UsageDaily`: the same, counted per day, user, kind, key and source; kept.
- :class:`UsageUser`: when each user was first seen and first started a run (time to first run).
- :class:`ClickDaily`: heatmap cells per day, page, region and position bucket. No user, no text:
  a click is only where it landed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ylai_plugin.db.base import Base, UtcDateTime, utcnow


class Feedback(Base):
    """One piece of feedback: a rating, a comment and where it was given; Admins mark it handled."""

    __tablename__ = "ylai_feedback"
    # The Feedback page lists the newest first, often only the unhandled ones.
    __table_args__ = (Index("ix_ylai_feedback_handled_created_at", "handled", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    user: Mapped[str] = mapped_column(String(256))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    page: Mapped[str] = mapped_column(String(200))
    app_version: Mapped[str] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class UsageEvent(Base):
    """A raw usage event: a page view or a feature use, with when and by whom. Expires."""

    __tablename__ = "ylai_usage_event"
    __table_args__ = (Index("ix_ylai_usage_event_user_ts", "user", "ts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # page_view | run | preset | export | editor_save
    key: Mapped[str] = mapped_column(String(250), default="")  # the page, DAG id or export kind
    source: Mapped[str] = mapped_column(String(8), default="")  # ui | api


class UsageDaily(Base):
    """Usage counted per day, user, kind, key (page, DAG id, export kind) and source (``ui``/``api``). Kept."""

    __tablename__ = "ylai_usage_daily"
    __table_args__ = (
        UniqueConstraint("day", "user", "kind", "key", "source"),
        Index("ix_ylai_usage_daily_kind_day", "kind", "day"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    user: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(250), default="")
    source: Mapped[str] = mapped_column(String(8), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)


class UsageUser(Base):
    """A user's main role, when ylai first saw them and when they first started a run."""

    __tablename__ = "ylai_usage_user"
    user: Mapped[str] = mapped_column(String(256), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    first_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ClickDaily(Base):
    """Clicks per day, page, layout region and position bucket (``x``, ``y`` in 0..buckets-1). Kept."""

    __tablename__ = "ylai_click_daily"
    __table_args__ = (UniqueConstraint("page", "day", "region", "x", "y"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    page: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(16))
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["ClickDaily", "Feedback", "UsageDaily", "UsageEvent", "UsageUser"]
