"""Celery's database result backend with pooled connections in every process.

The scheduler asks the result backend for the state of every task it has sent to Celery on each
loop (Airflow's ``BulkStateFetcher``). Celery pools the backend's database connections only in
processes it forked (its worker's pool); everywhere else, and so in the scheduler, each ask
created an engine and opened and closed a new database connection -- a new Postgres backend
process every ~0.1 s while tasks run. That was the largest single cost of the scheduler's loop
on Celery + Postgres (py-spy: ~15 % of its CPU) and what held a chain of tasks to 3.7x stock
Airflow's speed (``bench/pipeline_latency.py --executor celery``, issue 21).

Selected by :mod:`ylai_plugin.monitoring.celery_config` for a ``db+...`` result backend, with the
same URL and engine options (Airflow's ``connect_args``), plus ``pool_pre_ping`` so that a
connection that died with a database restart is replaced before use; on a retryable database
error Celery drops the engine as before (``invalidate``). A forked child
never uses its parent's pooled connections: SQLAlchemy's ``dispose(close=False)`` after the fork.
"""

from __future__ import annotations

import os
from typing import Any

from celery.backends.database import DatabaseBackend
from celery.backends.database.session import SessionManager
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


class PooledSessionManager(SessionManager):  # type: ignore[misc]
    """Celery's session manager, with one pooled engine (and session factory) per database URL."""

    def get_engine(self, dburi: str, **kwargs: Any) -> Any:
        """The engine of ``dburi``, created (with its pool) on first use in this process."""
        engine = self._engines.get(dburi)
        if engine is None:
            # A kept connection may have died with a database restart: checked before each use
            # (Celery's own NullPool never kept one; Airflow's engine options set no pre-ping).
            kwargs.setdefault("pool_pre_ping", True)
            engine = self._engines[dburi] = create_engine(dburi, **kwargs)
            # A child must open its own connections, and must not close the parent's either.
            os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        return engine

    def create_session(self, dburi: str, short_lived_sessions: bool = False, **kwargs: Any) -> Any:
        """``(engine, session factory)`` of ``dburi``, both reused (as Celery does in a forked process)."""
        engine = self.get_engine(dburi, **kwargs)
        if short_lived_sessions or dburi not in self._sessions:
            self._sessions[dburi] = sessionmaker(bind=engine)
        return engine, self._sessions[dburi]


class PooledDatabaseBackend(DatabaseBackend):  # type: ignore[misc]
    """Celery's ``db+...`` result backend with :class:`PooledSessionManager`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_manager = PooledSessionManager()
