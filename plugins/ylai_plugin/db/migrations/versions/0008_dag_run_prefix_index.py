"""An index for the run-id prefix of a scheduled task's runs, on Postgres.

Revision ID: ylai_0008
Revises: ylai_0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

from ylai_plugin.db import airflow_indexes

revision = "ylai_0008"
down_revision = "ylai_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``dag_run (dag_id, run_id varchar_pattern_ops)``: see :func:`ylai_plugin.db.airflow_indexes.create`."""
    airflow_indexes.create(op.get_bind())


def downgrade() -> None:
    """Drop the index."""
    airflow_indexes.drop(op.get_bind())
