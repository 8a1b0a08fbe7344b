"""Scripts created through the API, with their versions.

Revision ID: ylai_0003
Revises: ylai_0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ylai_0003"
down_revision = "ylai_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ylai_script and ylai_script_version."""
    op.create_table(
        "ylai_script",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_script")),
        sa.UniqueConstraint("name", name=op.f("uq_ylai_script_name")),
    )
    op.create_table(
        "ylai_script_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["ylai_script.id"],
            name=op.f("fk_ylai_script_version_script_id_ylai_script"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ylai_script_version")),
        sa.UniqueConstraint("script_id", "version", name=op.f("uq_ylai_script_version_script_id_version")),
    )


def downgrade() -> None:
    """Drop the script tables."""
    op.drop_table("ylai_script_version")
    op.drop_table("ylai_script")
