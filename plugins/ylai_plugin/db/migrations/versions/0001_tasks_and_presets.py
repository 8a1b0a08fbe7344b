"""Tasks, their runs, and presets.

Revision ID: ylai_0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_task, ylai_task_run and ylai_preset."""
    op.create_table(
        "ylai_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_task")),
        sa.UniqueConstraint("name", name=op.f("uq_ylai_task_name")),
    )
    op.create_index(op.f("ix_ylai_task_dag_id"), "ylai_task", ["dag_id"])
    op.create_table(
        "ylai_task_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("triggered_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["ylai_task.id"], name=op.f("fk_ylai_task_run_task_id_ylai_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_task_run")),
        sa.UniqueConstraint("dag_id", "run_id", name=op.f("uq_ylai_task_run_dag_id_run_id")),
    )
    op.create_index("ix_ylai_task_run_task_created", "ylai_task_run", ["task_id", "created_at"])
    op.create_table(
        "ylai_preset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("shared_with_role", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_preset")),
        sa.UniqueConstraint("dag_id", "owner", "name", name=op.f("uq_ylai_preset_dag_id_owner_name")),
    )
    op.create_index(op.f("ix_ylai_preset_dag_id"), "ylai_preset", ["dag_id"])


def downgrade() -> None:
    """Drop ylai's tables."""
    op.drop_table("ylai_preset")
    op.drop_table("ylai_task_run")
    op.drop_table("ylai_task")
