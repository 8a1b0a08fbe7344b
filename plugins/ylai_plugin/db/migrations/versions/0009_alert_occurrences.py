"""An open incident counts its failures and points at the latest one.

Revision ID: ylai_0009
Revises: ylai_0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0009"
down_revision = "ylai_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``occurrences`` and ``last_failure_at`` to ylai_alert."""
    with op.batch_alter_table("ylai_alert") as batch:
        batch.add_column(sa.Column("occurrences", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("ylai_alert") as batch:
        batch.drop_column("last_failure_at")
        batch.drop_column("occurrences")
