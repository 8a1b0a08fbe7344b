"""Indexes for the default task and preset list queries.

Revision ID: ylai_0006
Revises: ylai_0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "ylai_0006"
down_revision = "ylai_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """GET /tasks sorts by -updated_at; GET /presets filters by owner or shared role."""
    op.create_index("ix_ylai_task_updated_at", "ylai_task", ["updated_at", "id"])
    op.create_index("ix_ylai_preset_owner", "ylai_preset", ["owner"])
    op.create_index("ix_ylai_preset_shared_with_role", "ylai_preset", ["shared_with_role"])


def downgrade() -> None:
    """Drop the three indexes."""
    op.drop_index("ix_ylai_preset_shared_with_role", "ylai_preset")
    op.drop_index("ix_ylai_preset_owner", "ylai_preset")
    op.drop_index("ix_ylai_task_updated_at", "ylai_task")
