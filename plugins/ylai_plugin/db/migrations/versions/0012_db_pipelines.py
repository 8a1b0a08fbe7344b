"""Pipelines created through the API, with their versions, and their change counter.

Revision ID: ylai_0012
Revises: ylai_0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0012"
down_revision = "ylai_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_pipeline and ylai_pipeline_version; seed the ``pipelines`` generation."""
    op.create_table(
        "ylai_pipeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_pipeline")),
        sa.UniqueConstraint("name", name=op.f("uq_ylai_pipeline_name")),
    )
    op.create_table(
        "ylai_pipeline_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["ylai_pipeline.id"],
            name=op.f("fk_ylai_pipeline_version_pipeline_id_ylai_pipeline"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_pipeline_version")),
        sa.UniqueConstraint("pipeline_id", "version", name=op.f("uq_ylai_pipeline_version_pipeline_id_version")),
    )
    generation = sa.table("ylai_generation", sa.column("name", sa.String(32)), sa.column("value", sa.BigInteger()))
    op.bulk_insert(generation, [{"name": "pipelines", "value": 0}])


def downgrade() -> None:
    """Drop the pipeline tables and their counter."""
    op.execute("DELETE FROM ylai_generation WHERE name = 'pipelines'")
    op.drop_table("ylai_pipeline_version")
    op.drop_table("ylai_pipeline")
