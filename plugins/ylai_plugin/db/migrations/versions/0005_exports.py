"""Export jobs.

Revision ID: ylai_0005
Revises: ylai_0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0005"
down_revision = "ylai_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_export_job."""
    op.create_table(
        "ylai_export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("dag_ids", sa.JSON(), nullable=False),
        sa.Column("include_global", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("rows_total", sa.BigInteger(), nullable=True),
        sa.Column("location", sa.String(length=1000), nullable=True),
        sa.Column("file_name", sa.String(length=250), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=250), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_export_job")),
    )
    op.create_index(
        "ix_ylai_export_job_created_by_created_at", "ylai_export_job", ["created_by", "created_at"], unique=False
    )
    op.create_index("ix_ylai_export_job_state", "ylai_export_job", ["state"], unique=False)


def downgrade() -> None:
    """Drop ylai_export_job."""
    op.drop_index("ix_ylai_export_job_state", table_name="ylai_export_job")
    op.drop_index("ix_ylai_export_job_created_by_created_at", table_name="ylai_export_job")
    op.drop_table("ylai_export_job")
