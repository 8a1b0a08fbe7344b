"""Feedback, usage statistics and click heatmaps.

Revision ID: ylai_0015
Revises: ylai_0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0015"
down_revision = "ylai_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_feedback, ylai_usage_event, ylai_usage_daily, ylai_usage_user and ylai_click_daily."""
    op.create_table(
        "ylai_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(length=256), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("page", sa.String(length=200), nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("reply_note", sa.Text(), nullable=True),
        sa.Column("handled_by", sa.String(length=256), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_feedback")),
    )
    op.create_index("ix_ylai_feedback_created_at", "ylai_feedback", ["created_at"])
    op.create_index("ix_ylai_feedback_handled_created_at", "ylai_feedback", ["handled", "created_at"])
    op.create_table(
        "ylai_usage_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_usage_event")),
    )
    op.create_index("ix_ylai_usage_event_ts", "ylai_usage_event", ["ts"])
    op.create_index("ix_ylai_usage_event_user_ts", "ylai_usage_event", ["user", "ts"])
    op.create_table(
        "ylai_usage_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_usage_daily")),
        sa.UniqueConstraint(
            "day", "user", "kind", "key", "source", name=op.f("uq_ylai_usage_daily_day_user_kind_key_source")
        ),
    )
    op.create_index("ix_ylai_usage_daily_kind_day", "ylai_usage_daily", ["kind", "day"])
    op.create_table(
        "ylai_usage_user",
        sa.Column("user", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user", name=op.f("pk_ylai_usage_user")),
    )
    op.create_index("ix_ylai_usage_user_first_seen", "ylai_usage_user", ["first_seen"])
    op.create_table(
        "ylai_click_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("page", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_click_daily")),
        sa.UniqueConstraint("page", "day", "region", "x", "y", name=op.f("uq_ylai_click_daily_page_day_region_x_y")),
    )


def downgrade() -> None:
    """Drop the five tables."""
    op.drop_table("ylai_click_daily")
    op.drop_index("ix_ylai_usage_user_first_seen", table_name="ylai_usage_user")
    op.drop_table("ylai_usage_user")
    op.drop_index("ix_ylai_usage_daily_kind_day", table_name="ylai_usage_daily")
    op.drop_table("ylai_usage_daily")
    op.drop_index("ix_ylai_usage_event_user_ts", table_name="ylai_usage_event")
    op.drop_index("ix_ylai_usage_event_ts", table_name="ylai_usage_event")
    op.drop_table("ylai_usage_event")
    op.drop_index("ix_ylai_feedback_handled_created_at", table_name="ylai_feedback")
    op.drop_index("ix_ylai_feedback_created_at", table_name="ylai_feedback")
    op.drop_table("ylai_feedback")
