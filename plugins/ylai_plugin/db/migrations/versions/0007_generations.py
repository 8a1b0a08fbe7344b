"""A change counter per group of tables, for the list caches.

Revision ID: ylai_0007
Revises: ylai_0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0007"
down_revision = "ylai_0006"
branch_labels = None
depends_on = None

GROUPS = ("tasks", "presets", "scripts")


def upgrade() -> None:
    """``ylai_generation`` with one row per group, so writers only ever UPDATE it."""
    table = op.create_table(
        "ylai_generation",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ylai_generation"),
    )
    op.bulk_insert(table, [{"name": name, "value": 0} for name in GROUPS])


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("ylai_generation")
