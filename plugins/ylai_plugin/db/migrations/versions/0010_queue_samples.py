"""Celery queue lengths read from the broker (the Monitor's queue-depth chart).

Revision ID: ylai_0010
Revises: ylai_0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0010"
down_revision = "ylai_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_queue_sample."""
    op.create_table(
        "ylai_queue_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=256), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_queue_sample")),
    )
    op.create_index("ix_ylai_queue_sample_ts", "ylai_queue_sample", ["ts"])


def downgrade() -> None:
    """Drop ylai_queue_sample."""
    op.drop_table("ylai_queue_sample")
