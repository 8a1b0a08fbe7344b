"""``YlaiDBManager``: Airflow runs it on ``airflow db migrate`` (discovered via provider info)."""

from __future__ import annotations

from pathlib import Path

from airflow.utils.db_manager import BaseDBManager

# The package, not a model module: importing it registers every table on the metadata.
from ylai_plugin.db import metadata

_HERE = Path(__file__).parent


class YlaiDBManager(BaseDBManager):
    """Creates and migrates ylai's tables in the Airflow metadata database."""

    metadata = metadata
    version_table_name = "ylai_alembic_version"
    migration_dir = (_HERE / "migrations").as_posix()
    alembic_file = (_HERE / "alembic.ini").as_posix()
    supports_table_dropping = True

    def create_db_from_orm(self) -> None:
        """The ylai tables from the ORM, then the indexes ylai adds to Airflow's tables.

        Airflow builds a new database this way and stamps the migrations as applied, so the
        indexes a migration adds to Airflow's tables (``ylai_0008``) are made here too.
        """
        super().create_db_from_orm()  # type: ignore[no-untyped-call]
        from ylai_plugin.db import airflow_indexes

        with self.session.get_bind().engine.begin() as conn:
            airflow_indexes.create(conn)
