"""Alerting: rules, silences, alerts (incidents), deliveries (outbox), attempts and leases.

Revision ID: ylai_0004
Revises: ylai_0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0004"
down_revision = "ylai_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ylai_alert* tables."""
    op.create_table(
        "ylai_alert_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=250), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ylai_alert_lease")),
    )
    op.create_table(
        "ylai_alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("condition_type", sa.String(length=32), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("rate_limit", sa.JSON(), nullable=True),
        sa.Column("escalation", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_alert_rule")),
        sa.UniqueConstraint("name", name=op.f("uq_ylai_alert_rule_name")),
    )
    op.create_index(
        "ix_ylai_alert_rule_condition_type_enabled", "ylai_alert_rule", ["condition_type", "enabled"], unique=False
    )
    op.create_index("ix_ylai_alert_rule_source", "ylai_alert_rule", ["source"], unique=False)
    op.create_table(
        "ylai_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.String(length=200), nullable=False),
        sa.Column("condition_type", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=500), nullable=False),
        sa.Column("open_key", sa.String(length=520), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("suppressed", sa.String(length=32), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["ylai_alert_rule.id"], name=op.f("fk_ylai_alert_rule_id_ylai_alert_rule"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_alert")),
        sa.UniqueConstraint("open_key", name=op.f("uq_ylai_alert_open_key")),
    )
    op.create_index("ix_ylai_alert_dag_state", "ylai_alert", ["dag_id", "state"], unique=False)
    op.create_index("ix_ylai_alert_rule_started", "ylai_alert", ["rule_id", "started_at"], unique=False)
    op.create_index("ix_ylai_alert_severity_started", "ylai_alert", ["severity", "started_at"], unique=False)
    op.create_index("ix_ylai_alert_started_at", "ylai_alert", ["started_at"], unique=False)
    op.create_index("ix_ylai_alert_state_started", "ylai_alert", ["state", "started_at"], unique=False)
    op.create_table(
        "ylai_alert_silence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["ylai_alert_rule.id"],
            name=op.f("fk_ylai_alert_silence_rule_id_ylai_alert_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_alert_silence")),
    )
    op.create_index("ix_ylai_alert_silence_ends_at", "ylai_alert_silence", ["ends_at"], unique=False)
    op.create_index(op.f("ix_ylai_alert_silence_rule_id"), "ylai_alert_silence", ["rule_id"], unique=False)
    op.create_table(
        "ylai_alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel_type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("connection_id", sa.String(length=250), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["ylai_alert.id"], name=op.f("fk_ylai_alert_delivery_alert_id_ylai_alert"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_alert_delivery")),
    )
    op.create_index("ix_ylai_alert_delivery_alert_id", "ylai_alert_delivery", ["alert_id"], unique=False)
    op.create_index(
        "ix_ylai_alert_delivery_status_next", "ylai_alert_delivery", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "ylai_alert_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(length=250), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["ylai_alert_delivery.id"],
            name=op.f("fk_ylai_alert_attempt_delivery_id_ylai_alert_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_alert_attempt")),
    )
    op.create_index("ix_ylai_alert_attempt_delivery_id", "ylai_alert_attempt", ["delivery_id"], unique=False)


def downgrade() -> None:
    """Drop the ylai_alert* tables."""
    op.drop_index("ix_ylai_alert_attempt_delivery_id", table_name="ylai_alert_attempt")
    op.drop_table("ylai_alert_attempt")
    op.drop_index("ix_ylai_alert_delivery_status_next", table_name="ylai_alert_delivery")
    op.drop_index("ix_ylai_alert_delivery_alert_id", table_name="ylai_alert_delivery")
    op.drop_table("ylai_alert_delivery")
    op.drop_index(op.f("ix_ylai_alert_silence_rule_id"), table_name="ylai_alert_silence")
    op.drop_index("ix_ylai_alert_silence_ends_at", table_name="ylai_alert_silence")
    op.drop_table("ylai_alert_silence")
    op.drop_index("ix_ylai_alert_state_started", table_name="ylai_alert")
    op.drop_index("ix_ylai_alert_started_at", table_name="ylai_alert")
    op.drop_index("ix_ylai_alert_severity_started", table_name="ylai_alert")
    op.drop_index("ix_ylai_alert_rule_started", table_name="ylai_alert")
    op.drop_index("ix_ylai_alert_dag_state", table_name="ylai_alert")
    op.drop_table("ylai_alert")
    op.drop_index("ix_ylai_alert_rule_source", table_name="ylai_alert_rule")
    op.drop_index("ix_ylai_alert_rule_condition_type_enabled", table_name="ylai_alert_rule")
    op.drop_table("ylai_alert_rule")
    op.drop_table("ylai_alert_lease")
