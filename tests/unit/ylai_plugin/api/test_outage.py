"""The API during an outage: every route answers 503 naming the dependency, with Retry-After; no hang.

The metadata database here is a real Postgres URL on a port nobody listens on (connections are
refused, as when Postgres is stopped); tests/integration/test_api_outage.py stops and restarts a
Postgres of its own.
"""

# Full-width punctuation is correct in the Chinese messages.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from starlette.routing import Route

from tests.unit.api_client import headers, token
from tests.unit.metadata_db import closed_port, dead_postgres_url, metadata_db_at
from ylai_plugin.api.app import create_app
from ylai_plugin.api.errors import install_error_handlers
from ylai_plugin.api.outage import RequestTimeoutMiddleware, guard_airflow_login
from ylai_plugin.domain import outages

METADATA_DB = {
    "code": "unavailable",
    "message": "The metadata database is unavailable; retry in 5 s",
    "details": {"dependency": "metadata_db", "retry_after": 5},
}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _get_routes() -> list[str]:
    app = create_app()
    paths = [r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or set())]
    return [p.replace("{page}", "run").replace("{file_name}", "standalone-abcdefgh.js") for p in paths]


def assert_metadata_db_503(resp: Any) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "5"
    assert resp.json() == {"error": METADATA_DB}


@pytest.mark.parametrize("path", _get_routes())
def test_every_route_answers_503_naming_the_metadata_db(client: TestClient, path: str) -> None:
    # The caller's token is checked against revoked tokens in the database first: that check
    # failing is the same 503, not a 500 (nor a 401 that would log the user out).
    with metadata_db_at(dead_postgres_url()):
        resp = client.get(path, headers=headers("admin") | {"Accept": "application/json"}, follow_redirects=False)
    assert_metadata_db_503(resp)


def test_a_write_answers_503_too_and_the_next_request_succeeds(client: TestClient) -> None:
    with metadata_db_at(dead_postgres_url()):
        resp = client.post("/api/v1/tasks", json={"name": "x", "script": "hello"}, headers=headers("admin"))
    assert_metadata_db_503(resp)
    assert client.get("/api/v1/tasks", headers=headers("admin")).status_code == 200


def test_the_message_is_in_the_language_asked_for(client: TestClient) -> None:
    with metadata_db_at(dead_postgres_url()):
        resp = client.get("/api/v1/tasks", headers=headers("admin") | {"Accept-Language": "zh-CN"})
    assert resp.status_code == 503
    assert resp.headers["content-language"] == "zh-CN"
    assert resp.json()["error"]["message"] == "元数据库不可用；请在 5 秒后重试"
    assert resp.json()["error"]["details"]["dependency"] == "metadata_db"


def test_a_browser_opening_a_page_gets_a_page_that_reloads_itself(client: TestClient) -> None:
    with metadata_db_at(dead_postgres_url()):
        resp = client.get("/app/run", headers=headers("admin") | {"Accept": "text/html,*/*;q=0.8"})
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.headers["content-type"].startswith("text/html")
    assert "The metadata database is unavailable" in resp.text
    assert '<meta http-equiv="refresh" content="5">' in resp.text


def test_retry_after_comes_from_the_config(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__RETRY_AFTER_SECONDS", "12")
    with metadata_db_at(dead_postgres_url()):
        resp = client.get("/api/v1/tasks", headers=headers("admin"))
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "12"
    assert resp.json()["error"]["details"] == {"dependency": "metadata_db", "retry_after": 12}


def test_health_reports_each_dependency(client: TestClient) -> None:
    body = client.get("/api/v1/health", headers=headers("viewer")).json()
    assert body["metadata_db"]["status"] == "healthy"
    assert body["broker"]["status"] == "not_configured"
    assert body["cache"]["status"] == "not_configured"
    # The unit tests run no scheduler: the platform is not healthy without one.
    assert body["scheduler"] == {
        "status": "unhealthy",
        "detail": "no scheduler has ever sent a heartbeat",
        "latency_ms": None,
    }
    assert body["status"] == "unhealthy"


def test_health_reports_an_unreachable_cache(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__CACHE_URL", f"redis://:hunter2@127.0.0.1:{closed_port()}/0")
    resp = client.get("/api/v1/health", headers=headers("viewer"))
    assert resp.status_code == 200
    assert resp.json()["cache"]["status"] == "unhealthy"
    assert resp.json()["cache"]["detail"] == "ConnectionError"
    assert "hunter2" not in resp.text


def test_health_reports_a_live_cache(client: TestClient, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__CACHE_URL", redis_url)
    cache = client.get("/api/v1/health", headers=headers("viewer")).json()["cache"]
    assert cache["status"] == "healthy"
    assert cache["latency_ms"] is not None


# --- which dependency an error names ------------------------------------------------------------


def test_driver_errors_name_their_dependency() -> None:
    import kombu.exceptions
    import psycopg2
    import redis
    import sqlalchemy.exc

    assert outages.outage_of(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("down"))) == "metadata_db"
    assert outages.outage_of(sqlalchemy.exc.TimeoutError("QueuePool limit reached")) == "metadata_db"
    assert outages.outage_of(sqlalchemy.exc.DisconnectionError()) == "metadata_db"
    assert outages.outage_of(psycopg2.OperationalError("server closed the connection")) == "metadata_db"
    assert outages.outage_of(redis.ConnectionError("refused")) == "cache"
    assert outages.outage_of(redis.TimeoutError("timed out")) == "cache"
    assert outages.outage_of(kombu.exceptions.OperationalError("refused")) == "broker"
    # Other errors of the same libraries are bugs or bad input, not outages.
    assert outages.outage_of(sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate"))) is None
    assert outages.outage_of(redis.ResponseError("WRONGTYPE")) is None
    assert outages.outage_of(ValueError("x")) is None


def test_an_error_raised_from_an_outage_is_one_when_asked_to_follow() -> None:
    import redis

    def compute() -> None:
        try:
            raise redis.ConnectionError("refused")
        except redis.ConnectionError as exc:
            raise RuntimeError("could not compute") from exc

    with pytest.raises(RuntimeError) as wrapped:
        compute()
    assert outages.outage_of(wrapped.value) is None
    assert outages.outage_of(wrapped.value, follow=True) == "cache"
    group = ExceptionGroup("task group", [ValueError("x"), redis.TimeoutError("slow")])
    assert outages.outage_of(group, follow=True) == "cache"


@pytest.mark.parametrize(
    ("raised", "dependency", "english"),
    [
        ("redis", "cache", "Redis (cache) is unavailable; retry in 5 s"),
        ("kombu", "broker", "The Celery broker is unavailable; retry in 5 s"),
        ("wrapped", "metadata_db", "The metadata database is unavailable; retry in 5 s"),
    ],
)
def test_a_route_that_meets_a_dead_dependency_answers_503(raised: str, dependency: str, english: str) -> None:
    import kombu.exceptions
    import psycopg2
    import redis

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        if raised == "redis":
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379")
        if raised == "kombu":
            raise kombu.exceptions.OperationalError("[Errno 111] Connection refused")
        try:
            raise psycopg2.OperationalError("server closed the connection unexpectedly")
        except psycopg2.OperationalError as exc:
            raise KeyError("lost") from exc  # an unexpected error caused by the outage

    resp = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json()["error"] == {
        "code": "unavailable",
        "message": english,
        "details": {"dependency": dependency, "retry_after": 5},
    }


def test_other_database_errors_stay_500() -> None:
    import sqlalchemy.exc

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise sqlalchemy.exc.ProgrammingError("SELECT nope", {}, Exception("syntax error"))

    resp = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error"


# --- the request timeout ------------------------------------------------------------------------


def _slow_app(*, probe_finds: outages.Dependency | None) -> tuple[FastAPI, threading.Event]:
    """An app with a route that hangs until released, one that sleeps, and a slow stream."""
    release = threading.Event()

    async def probe() -> outages.Dependency | None:
        return probe_finds

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestTimeoutMiddleware, seconds=0.3, probe=probe, exempt=("/exports",))

    @app.get("/hang")
    def hang() -> dict[str, str]:  # a sync route, as most are: it holds a thread
        release.wait(30)
        return {"late": "answer"}

    @app.get("/sleep")
    async def sleep() -> dict[str, str]:
        await asyncio.sleep(30)
        return {"late": "answer"}

    @app.get("/exports/runs")
    async def export() -> dict[str, str]:  # written whole before its first byte, legitimately long
        await asyncio.sleep(0.6)
        return {"file": "done"}

    @app.get("/fast")
    def fast() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/stream")
    def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(4):  # longer than the timeout in all, but it started at once
                await asyncio.sleep(0.2)
                yield f"{i}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    return app, release


@pytest.mark.parametrize("path", ["/hang", "/sleep"])
def test_a_hanging_route_answers_503_naming_the_dependency_found_down(path: str) -> None:
    app, release = _slow_app(probe_finds="metadata_db")
    try:
        resp = TestClient(app).get(path)
    finally:
        release.set()
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json()["error"] == {
        "code": "unavailable",
        "message": "The metadata database is unavailable; retry in 5 s",
        "details": {"dependency": "metadata_db", "retry_after": 5, "timeout": 0.3},
    }


def test_a_hanging_route_with_every_dependency_up_answers_503_naming_the_timeout() -> None:
    app, release = _slow_app(probe_finds=None)
    try:
        resp = TestClient(app).get("/hang", headers={"Accept-Language": "zh-CN"})
    finally:
        release.set()
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
    assert resp.json()["error"] == {
        "code": "unavailable",
        "message": "请求未能在 0.3 秒内完成；请在 5 秒后重试",
        "details": {"dependency": None, "retry_after": 5, "timeout": 0.3},
    }


def test_fast_answers_exempt_routes_and_streams_that_started_in_time_are_untouched() -> None:
    app, _ = _slow_app(probe_finds="metadata_db")
    client = TestClient(app)
    assert client.get("/fast").json() == {"ok": "yes"}
    assert client.get("/exports/runs").json() == {"file": "done"}  # exempt from the bound
    resp = client.get("/stream")
    assert resp.status_code == 200
    assert resp.text == "0\n1\n2\n3\n"


def test_the_ylai_app_is_bounded_by_the_configured_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__REQUEST_TIMEOUT", "45")
    app = create_app()
    bounds = [
        (m.kwargs.get("seconds"), m.kwargs.get("exempt"))
        for m in app.user_middleware
        if getattr(m.cls, "__name__", "") == "RequestTimeoutMiddleware"
    ]
    assert bounds == [(45.0, ("/api/v1/exports", "/api/v1/openapi.json"))]


# --- Airflow's cookie check, before the app ------------------------------------------------------


def _behind_airflows_cookie_check() -> FastAPI:
    """A root app like Airflow's api-server: JWTRefreshMiddleware, then ylai's app at /ylai."""
    from airflow.api_fastapi.auth.middlewares.refresh_token import JWTRefreshMiddleware

    guard_airflow_login("/ylai")
    root = FastAPI()
    root.add_middleware(JWTRefreshMiddleware)
    root.mount("/ylai", create_app())

    @root.get("/api/v2/version")
    def version() -> dict[str, str]:
        return {"version": "3"}

    return root


def test_the_uis_cookie_check_during_an_outage_is_ylais_503(airflow_db: object) -> None:
    client = TestClient(_behind_airflows_cookie_check(), raise_server_exceptions=False)
    client.cookies.set("_token", token("admin"))
    assert client.get("/ylai/api/v1/ping").status_code == 200
    with metadata_db_at(dead_postgres_url()):
        assert_metadata_db_503(client.get("/ylai/api/v1/tasks"))
        # Airflow's own routes keep Airflow's answer.
        assert client.get("/api/v2/version").status_code == 500
    assert client.get("/ylai/api/v1/ping").status_code == 200


def test_the_guard_is_installed_once() -> None:
    from airflow.api_fastapi.auth.middlewares.refresh_token import JWTRefreshMiddleware

    guard_airflow_login("/ylai")
    guarded = JWTRefreshMiddleware.dispatch
    guard_airflow_login("/ylai")
    assert JWTRefreshMiddleware.dispatch is guarded
