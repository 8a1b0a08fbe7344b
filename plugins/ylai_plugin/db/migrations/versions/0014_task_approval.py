"""A saved task may require approval of its own.

Revision ID: ylai_0014
Revises: ylai_0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0014"
down_revision = "ylai_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ylai_task.approval (the task's approval rules as a record; null: none of its own)."""
    with op.batch_alter_table("ylai_task") as batch:
        batch.add_column(sa.Column("approval", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ylai_task.approval."""
    with op.batch_alter_table("ylai_task") as batch:
        batch.drop_column("approval")
