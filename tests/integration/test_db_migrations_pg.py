"""ylai's migrations on a real, empty Postgres database match the ORM."""

from __future__ import annotations

from tests.unit.ylai_plugin.db.test_migrations import upgrade_with_migration_files


def test_migrations_match_the_orm_on_postgres(empty_postgres: str) -> None:
    assert upgrade_with_migration_files(empty_postgres) == []


def _indexes(url: str, table: str) -> dict[str, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table})
            return {str(row[0]): str(row[1]) for row in rows}
    finally:
        engine.dispose()


def test_migration_0008_indexes_airflows_dag_run_for_run_id_prefixes(empty_postgres: str) -> None:
    """On a database that has Airflow's ``dag_run`` (as ``airflow db migrate`` leaves it), up and down."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from ylai_plugin.db.airflow_indexes import DAG_RUN_PREFIX_INDEX
    from ylai_plugin.db.manager import YlaiDBManager

    engine = create_engine(empty_postgres)
    try:
        with engine.begin() as conn:  # the columns the index covers, as Airflow defines them
            conn.execute(text("CREATE TABLE dag_run (id serial PRIMARY KEY, dag_id varchar(250), run_id varchar(250))"))

        def migrate(step: str, revision: str) -> None:
            with engine.begin() as conn:
                config = Config(YlaiDBManager.alembic_file)
                config.set_main_option("script_location", YlaiDBManager.migration_dir)
                config.attributes["connection"] = conn
                getattr(command, step)(config, revision)

        migrate("upgrade", "heads")
        assert "(dag_id, run_id varchar_pattern_ops)" in _indexes(empty_postgres, "dag_run")[DAG_RUN_PREFIX_INDEX]
        migrate("downgrade", "ylai_0007")
        assert DAG_RUN_PREFIX_INDEX not in _indexes(empty_postgres, "dag_run")
        migrate("upgrade", "ylai_0008")
        assert DAG_RUN_PREFIX_INDEX in _indexes(empty_postgres, "dag_run")
    finally:
        engine.dispose()
