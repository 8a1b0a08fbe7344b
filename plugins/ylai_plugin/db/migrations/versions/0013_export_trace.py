"""Export jobs keep the trace context of the request that queued them.

Revision ID: ylai_0013
Revises: ylai_0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0013"
down_revision = "ylai_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ylai_export_job.trace_context (the queuing request's W3C traceparent and tracestate)."""
    with op.batch_alter_table("ylai_export_job") as batch:
        batch.add_column(sa.Column("trace_context", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ylai_export_job.trace_context."""
    with op.batch_alter_table("ylai_export_job") as batch:
        batch.drop_column("trace_context")
