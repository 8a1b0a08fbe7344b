"""ylai's Alembic migrations produce exactly the tables of the ORM, on SQLite (Postgres: integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect

from ylai_plugin.db.manager import YlaiDBManager
from ylai_plugin.db.models import metadata


def upgrade_with_migration_files(url: str) -> list[Any]:
    """Run every migration on an empty database; return Alembic's diff against the ORM."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = Config(YlaiDBManager.alembic_file)
            config.set_main_option("script_location", YlaiDBManager.migration_dir)
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "version_table": YlaiDBManager.version_table_name,
                    "compare_type": True,
                    "include_object": lambda obj, name, type_, *a: (
                        not (type_ == "table" and name not in metadata.tables)
                    ),
                },
            )
            assert ctx.get_current_revision() is not None
            diff = compare_metadata(ctx, metadata)
            tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
        return list(diff)
    finally:
        engine.dispose()


def test_migrations_match_the_orm_on_sqlite(tmp_path: Path) -> None:
    assert upgrade_with_migration_files(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_manager_is_discovered_by_airflow_and_valid() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.utils.db_manager import RunDBManager

    assert "ylai_plugin.db.manager.YlaiDBManager" in ProvidersManager().db_managers  # type: ignore[no-untyped-call]
    RunDBManager._validate(YlaiDBManager)  # type: ignore[arg-type]  # raises on a broken env.py or a table clash


def test_airflow_db_migrate_created_the_tables(airflow_db: Path) -> None:
    engine = create_engine(f"sqlite:///{airflow_db}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"ylai_task", "ylai_task_run", "ylai_preset", "ylai_alembic_version"} <= tables


def test_task_approval_migration_adds_and_drops_its_column(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:

        def to(revision: str, down: bool = False) -> set[str]:
            with engine.begin() as conn:
                config = Config(YlaiDBManager.alembic_file)
                config.set_main_option("script_location", YlaiDBManager.migration_dir)
                config.attributes["connection"] = conn
                (command.downgrade if down else command.upgrade)(config, revision)
            with engine.connect() as conn:
                return {c["name"] for c in inspect(conn).get_columns("ylai_task")}

        assert "approval" not in to("ylai_0013")
        assert "approval" in to("ylai_0014")
        assert "approval" not in to("ylai_0013", down=True)
    finally:
        engine.dispose()
