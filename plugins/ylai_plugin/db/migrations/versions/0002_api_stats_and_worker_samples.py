"""API request statistics and host resource samples.

Revision ID: ylai_0002
Revises: ylai_0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0002"
down_revision = "ylai_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_api_stat and ylai_worker_sample."""
    op.create_table(
        "ylai_api_stat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=250), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("server_errors", sa.Integer(), nullable=False),
        sa.Column("client_errors", sa.Integer(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("histogram", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_api_stat")),
        sa.UniqueConstraint(
            "worker", "minute", "method", "route", name=op.f("uq_ylai_api_stat_worker_minute_method_route")
        ),
    )
    op.create_index("ix_ylai_api_stat_minute", "ylai_api_stat", ["minute"])
    op.create_table(
        "ylai_worker_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=False),
        sa.Column("cpu_count", sa.Integer(), nullable=False),
        sa.Column("mem_percent", sa.Float(), nullable=False),
        sa.Column("mem_used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mem_total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("disk_percent", sa.Float(), nullable=False),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=False),
        sa.Column("load1", sa.Float(), nullable=False),
        sa.Column("load5", sa.Float(), nullable=False),
        sa.Column("load15", sa.Float(), nullable=False),
        sa.Column("running_tasks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_worker_sample")),
    )
    op.create_index("ix_ylai_worker_sample_ts", "ylai_worker_sample", ["ts"])
    op.create_index("ix_ylai_worker_sample_host_ts", "ylai_worker_sample", ["host", "ts"])


def downgrade() -> None:
    """Drop the monitoring tables."""
    op.drop_table("ylai_worker_sample")
    op.drop_table("ylai_api_stat")
