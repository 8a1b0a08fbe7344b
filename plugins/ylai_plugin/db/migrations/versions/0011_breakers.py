"""Circuit breakers: each process's breaker states, and the deliveries an open breaker held back.

Revision ID: ylai_0011
Revises: ylai_0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0011"
down_revision = "ylai_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_breaker_state; add the breaker columns to ylai_alert_delivery."""
    op.create_table(
        "ylai_breaker_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=250), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("dependency", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("times_opened", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_probe_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_breaker_state")),
        sa.UniqueConstraint("process", "name", name=op.f("uq_ylai_breaker_state_process_name")),
    )
    op.create_index("ix_ylai_breaker_state_updated_at", "ylai_breaker_state", ["updated_at"])
    with op.batch_alter_table("ylai_alert_delivery") as batch:
        batch.add_column(sa.Column("breaker", sa.String(length=250), nullable=True))
        batch.add_column(sa.Column("deferrals", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_ylai_alert_delivery_breaker_status", "ylai_alert_delivery", ["breaker", "status"])


def downgrade() -> None:
    """Drop ylai_breaker_state and the delivery columns."""
    op.drop_index("ix_ylai_alert_delivery_breaker_status", table_name="ylai_alert_delivery")
    with op.batch_alter_table("ylai_alert_delivery") as batch:
        batch.drop_column("deferrals")
        batch.drop_column("breaker")
    op.drop_table("ylai_breaker_state")
