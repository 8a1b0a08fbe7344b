from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from ylai_plugin.api.app import create_app
from ylai_plugin.domain.health import check_broker, check_metadata_db
from ylai_plugin.version import ylai_version


@pytest.fixture(scope="module")
def token(airflow_db: object) -> str:
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    am = init_auth_manager()
    return am.generate_jwt(SimpleAuthManagerUser(username="tester", role="viewer"))


@pytest.fixture(scope="module")
def client(token: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _get_routes() -> list[str]:
    app = create_app()
    return [r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or set())]


# The HTML pages (the standalone view, the interactive API docs) send browsers to the login page instead.
HTML_PAGES = {"/app/", "/app/{page}", "/api/v1/swagger"}


def _url(path: str) -> str:
    return path.replace("{page}", "run").replace("{file_name}", "standalone-abcdefgh.js")


def test_the_route_walk_sees_the_standalone_view() -> None:
    assert HTML_PAGES | {"/app/assets/{file_name}"} <= set(_get_routes())


@pytest.mark.parametrize("path", _get_routes())
def test_every_route_rejects_anonymous_callers(client: TestClient, path: str) -> None:
    client.cookies.clear()
    resp = client.get(_url(path), follow_redirects=False)
    if path in HTML_PAGES:
        assert resp.status_code == 303
        assert resp.headers["location"].startswith("/auth/login")
    else:
        assert resp.status_code == 401


@pytest.mark.parametrize("path", _get_routes())
def test_every_route_rejects_a_forged_token(client: TestClient, path: str) -> None:
    client.cookies.clear()
    resp = client.get(_url(path), headers={"Authorization": "Bearer not-a-jwt"}, follow_redirects=False)
    if path in HTML_PAGES:
        assert resp.status_code == 303
    else:
        assert resp.status_code in (401, 403)


def test_health_with_bearer_token(client: TestClient, token: str) -> None:
    client.cookies.clear()
    resp = client.get("/api/v1/health", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["version"] == ylai_version()
    assert body["executor"] == "LocalExecutor"
    assert body["metadata_db"]["status"] == "healthy"
    assert body["broker"]["status"] == "not_configured"


def test_ping_answers_who_the_credentials_belong_to(client: TestClient, token: str) -> None:
    client.cookies.clear()
    resp = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"
    assert resp.json()["user"]
    assert client.get("/api/v1/ping").status_code == 401


def test_health_with_ui_cookie(client: TestClient, token: str) -> None:
    client.cookies.set("_token", token)
    try:
        assert client.get("/api/v1/health").status_code == 200
        page = client.get("/")
        assert page.status_code == 200
        assert "api/v1/health" in page.text
    finally:
        client.cookies.clear()


def test_openapi_schema_is_served_behind_auth(client: TestClient, token: str) -> None:
    resp = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert "/api/v1/health" in resp.json()["paths"]


def test_unreachable_broker_is_unhealthy_without_leaking_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.configuration import conf

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    monkeypatch.setitem(conf._sections.setdefault("celery", {}), "broker_url", url)  # type: ignore[attr-defined]
    monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", url)
    result = check_broker("CeleryExecutor")
    assert result.status == "unhealthy"
    assert "hunter2" not in result.model_dump_json()


def test_unreachable_metadata_db_is_unhealthy_without_leaking_the_url(
    airflow_db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow import settings
    from sqlalchemy import create_engine

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    real = settings.engine
    down = create_engine(f"postgresql+psycopg://ylai:hunter2@127.0.0.1:{port}/airflow")
    monkeypatch.setattr(settings, "engine", down)
    try:
        result = check_metadata_db()
    finally:
        monkeypatch.setattr(settings, "engine", real)
        down.dispose()
    assert result.status == "unhealthy"
    assert result.detail == "OperationalError"
    assert "hunter2" not in result.model_dump_json()
    assert check_metadata_db().status == "healthy"
