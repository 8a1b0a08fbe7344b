"""ylai's API on a Postgres of its own that the tests stop and start again.

Through the real app (``create_app()``, Airflow's ORM and pool with ``pool_pre_ping``): while the
database is stopped every route answers 503 naming it, with ``Retry-After``; a query that waits
forever (a table locked by another session) ends in the request timeout's 503 instead of a hang;
and the first request after the database is back succeeds, stale pooled connections included.
The shared Postgres is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.faults.services import DedicatedPostgres
from tests.unit.api_client import headers
from tests.unit.metadata_db import metadata_db_at
from ylai_plugin.api.app import create_app

pytestmark = pytest.mark.timeout(600)

ROUTES = ["/api/v1/tasks", "/api/v1/scripts", "/api/v1/me", "/api/v1/health", "/api/v1/monitor/apis", "/api/v1/presets"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[DedicatedPostgres]:
    cluster = DedicatedPostgres()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def on_postgres(postgres: DedicatedPostgres) -> Iterator[None]:
    """Airflow's ORM on the test's cluster, with Airflow's and ylai's tables."""
    from airflow.utils.db import initdb

    with metadata_db_at(postgres.url):
        initdb()
        yield


@pytest.fixture(scope="module")
def client(on_postgres: None) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def running(postgres: DedicatedPostgres) -> Iterator[DedicatedPostgres]:
    """The cluster, started again after the test whatever happened in it."""
    try:
        yield postgres
    finally:
        postgres.ensure_running()


def _get(client: TestClient, path: str, **extra: str) -> Any:
    return client.get(path, headers=headers("admin") | {"Accept": "application/json", **extra})


def _assert_503_naming_the_database(resp: Any) -> None:
    assert resp.status_code == 503, resp.text
    assert int(resp.headers["retry-after"]) > 0
    error = resp.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"].startswith("The metadata database is unavailable")
    assert error["details"]["dependency"] == "metadata_db"


def test_a_stopped_database_is_503_on_every_route_and_the_first_request_after_it_is_200(
    client: TestClient, running: DedicatedPostgres
) -> None:
    for path in ROUTES:  # the pool now holds live connections
        assert _get(client, path).status_code == 200, path
    running.stop()
    for path in ROUTES:
        _assert_503_naming_the_database(_get(client, path))
    zh = _get(client, "/api/v1/tasks", **{"Accept-Language": "zh-CN"})
    assert zh.status_code == 503
    assert zh.json()["error"]["message"].startswith("元数据库不可用")
    running.start()
    for path in ROUTES:
        assert _get(client, path).status_code == 200, path


def test_a_restart_between_two_requests_is_invisible(client: TestClient, running: DedicatedPostgres) -> None:
    # Every pooled connection now points at a server process that is gone; the pool's pre-ping
    # finds each one dead and opens a new one, so not even the first request sees an error.
    assert _get(client, "/api/v1/tasks").status_code == 200
    running.stop()
    running.start()
    assert _get(client, "/api/v1/tasks").status_code == 200
    health = _get(client, "/api/v1/health").json()
    assert health["metadata_db"]["status"] == "healthy"


def test_a_query_that_hangs_is_503_after_the_request_timeout_not_a_hang(
    on_postgres: None, postgres: DedicatedPostgres, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # A real hang on a database that still answers everything else: another session holds the
    # tasks table's lock, so the route's query waits (in its worker thread) with no error to come.
    import psycopg2

    from ylai_plugin.domain import list_cache

    monkeypatch.setenv("AIRFLOW__YLAI__REQUEST_TIMEOUT", "3")
    monkeypatch.setenv("AIRFLOW__YLAI__LIST_CACHE_SECONDS", "0")  # the answer must come from the table
    list_cache.reset()
    request.addfinalizer(list_cache.reset)
    with TestClient(create_app()) as client:
        assert _get(client, "/api/v1/tasks").status_code == 200
        locker = psycopg2.connect(postgres.url)
        try:
            with locker.cursor() as cur:
                cur.execute("LOCK TABLE ylai_task IN ACCESS EXCLUSIVE MODE")
            resp = _get(client, "/api/v1/tasks")
        finally:
            locker.rollback()  # the waiting query goes on and ends; its late answer is dropped
            locker.close()
        assert resp.status_code == 503, resp.text
        assert int(resp.headers["retry-after"]) > 0
        error = resp.json()["error"]
        assert error["code"] == "unavailable"
        # Every dependency answers its health check: the message names the timeout.
        assert error["message"].startswith("The request did not finish within 3 s")
        assert error["details"]["dependency"] is None
        assert error["details"]["timeout"] == 3
        assert _get(client, "/api/v1/tasks").status_code == 200
