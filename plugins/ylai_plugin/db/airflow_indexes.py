"""Indexes ylai adds to Airflow's own tables, for queries only ylai makes.

Created by migration ``ylai_0008`` on an existing database and by
:meth:`ylai_plugin.db.manager.YlaiDBManager.create_db_from_orm` on a new one (Airflow creates
a new database from the ORM and only stamps the migrations). Both run after Airflow's own
tables exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

DAG_RUN_PREFIX_INDEX = "ix_ylai_dag_run_run_id_prefix"


def _applies(bind: Any) -> bool:
    # Postgres only: on SQLite and MySQL a LIKE 'prefix%' already uses the ordinary
    # (dag_id, run_id) index. Without dag_run (the migration tests' empty database) there is
    # nothing to index.
    return bool(bind.dialect.name == "postgresql" and inspect(bind).has_table("dag_run"))


def create(bind: Any) -> None:
    """Index ``dag_run (dag_id, run_id)`` for run-id prefixes (a scheduled task's runs).

    Airflow's unique ``(dag_id, run_id)`` index cannot serve ``run_id LIKE 'ylai-task-12-%'``
    unless the database's collation is ``C``, and Postgres images default to ``en_US.utf8``.
    Without this index, ``GET /tasks/{id}`` and ``/tasks/{id}/runs`` filtered every run of the
    task's DAG: 11-30 ms per query with 11,000 runs, growing with the DAG's history.
    """
    if _applies(bind):
        columns = "dag_id, run_id varchar_pattern_ops"
        bind.execute(text(f"CREATE INDEX IF NOT EXISTS {DAG_RUN_PREFIX_INDEX} ON dag_run ({columns})"))


def drop(bind: Any) -> None:
    """Drop what :func:`create` made."""
    if _applies(bind):
        bind.execute(text(f"DROP INDEX IF EXISTS {DAG_RUN_PREFIX_INDEX}"))
