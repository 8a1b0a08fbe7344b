"""Alembic environment for ylai's tables (mirrors the FAB provider's)."""

from __future__ import annotations

import contextlib
from typing import Any

from airflow import settings
from alembic import context

from ylai_plugin.db.manager import YlaiDBManager

config = context.config
version_table = YlaiDBManager.version_table_name
target_metadata = YlaiDBManager.metadata


def include_object(_: Any, name: str | None, type_: str, *args: Any) -> bool:
    """Only ever look at ylai's own tables: Airflow's are not ours to migrate."""
    return not (type_ == "table" and name not in target_metadata.tables)


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(
        url=settings.SQL_ALCHEMY_CONN,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
        version_table=version_table,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on Airflow's engine (or a connection handed in by the caller)."""
    with contextlib.ExitStack() as stack:
        connection = config.attributes.get("connection", None)
        if not connection:
            assert settings.engine is not None, "Airflow's ORM is not configured"
            connection = stack.enter_context(settings.engine.connect())
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            target_metadata=target_metadata,
            compare_type=True,
            include_object=include_object,
            render_as_batch=True,  # SQLite cannot ALTER most things
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
