"""``/health``'s metadata-DB check on real Postgres: one round trip, and a dead connection is never "healthy"."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_service
from tests.integration.conftest import POSTGRES_URL
from ylai_plugin.domain.health import check_metadata_db


@pytest.fixture
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A one-connection pool on the test Postgres, installed as Airflow's engine."""
    require_service("PostgreSQL", POSTGRES_URL)
    from airflow import settings
    from sqlalchemy import create_engine

    made = create_engine(POSTGRES_URL, pool_size=1, max_overflow=0, pool_pre_ping=request.param)
    monkeypatch.setattr(settings, "engine", made)
    try:
        yield made
    finally:
        made.dispose()


def _statements(engine: Any) -> list[str]:
    """Every statement the engine sends from now on (a pool's pre-ping is not one)."""
    from sqlalchemy import event

    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    return sent


def _pooled_backend(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(pid: int) -> None:
    """What a Postgres restart or an idle timeout does to a pooled connection."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(POSTGRES_URL)) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.parametrize("engine", [True], indirect=True)
def test_with_airflows_pre_ping_the_checkout_is_the_check(engine: Any) -> None:
    first = _pooled_backend(engine)
    sent = _statements(engine)
    assert check_metadata_db().status == "healthy"
    assert sent == []  # the pool's ping was the round trip; no SELECT 1 of ours on top
    _terminate(first)
    result = check_metadata_db()
    assert result.status == "healthy"  # the ping found the connection dead and made a new one
    assert result.latency_ms is not None
    assert sent == []
    assert _pooled_backend(engine) != first


@pytest.mark.parametrize("engine", [False], indirect=True)
def test_without_pre_ping_the_check_queries_and_sees_a_dead_connection(engine: Any) -> None:
    first = _pooled_backend(engine)
    sent = _statements(engine)
    assert check_metadata_db().status == "healthy"
    assert sent == ["SELECT 1"]
    _terminate(first)
    result = check_metadata_db()  # a checkout alone would hand out the dead connection
    assert result.status == "unhealthy"
    assert result.detail == "OperationalError"
    assert check_metadata_db().status == "healthy"  # SQLAlchemy dropped it; the next one is new
