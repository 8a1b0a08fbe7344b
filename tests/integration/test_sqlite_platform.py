"""``ylai run`` with nothing configured: SQLite + LocalExecutor, generated admin password, restartable."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.integration.running_platform import RunningPlatform
from ylai_plugin.run_platform import PASSWORD_FILE


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    p = RunningPlatform(tmp_path_factory.mktemp("sqlite") / "home", {})
    p.start()
    try:
        p.wait_ready()
        yield p
    finally:
        p.kill()


def test_first_run_generates_prints_and_saves_the_admin_password(platform: RunningPlatform) -> None:
    out = platform.output()
    assert "SQLite + LocalExecutor (embedded default)" in out
    assert "celery-worker" not in out
    password = platform.banner_password()
    assert (platform.home / PASSWORD_FILE).read_text().strip() == password
    assert (platform.home / PASSWORD_FILE).stat().st_mode & 0o077 == 0
    assert platform.login("admin", password).status in (200, 201)
    assert platform.login("admin", password + "x").status == 401


def test_ui_answers_with_the_login_page(platform: RunningPlatform) -> None:
    resp = platform.request("GET", "/", auth=False)
    assert resp.status == 200
    assert b"<html" in resp.body.lower()
    assert platform.request("GET", "/auth/login/", auth=False).status == 200


def test_health_requires_authentication(platform: RunningPlatform) -> None:
    assert platform.request("GET", "/ylai/api/v1/health", auth=False).status == 401
    body = platform.request("GET", "/ylai/api/v1/health").json()
    assert body["executor"] == "LocalExecutor"
    assert body["metadata_db"]["status"] == "healthy"
    assert body["broker"]["status"] == "not_configured"


def test_dag_triggered_through_the_rest_api_succeeds_on_local_executor(platform: RunningPlatform) -> None:
    run_id = platform.trigger("ylai_example_hello", {"greeting": "from sqlite"})
    assert platform.wait_for_run("ylai_example_hello", run_id) == "success"


def test_restart_is_idempotent_and_keeps_data(platform: RunningPlatform) -> None:
    password = platform.banner_password()
    runs_before = platform.request("GET", "/api/v2/dags/ylai_example_hello/dagRuns").json()["total_entries"]
    assert runs_before >= 1

    rc, survivors = platform.stop(signal.SIGINT)  # what Ctrl-C sends
    assert rc == 0, platform.tail()
    assert survivors == []

    platform.start()
    platform.wait_ready()
    second_banner = platform.output().split("ylai          | stopped")[-1]
    assert f"password:  {password}   (saved in" in second_banner
    assert platform.login("admin", password).status in (200, 201)
    users = platform.request("GET", "/auth/fab/v1/users").json()
    assert [u["username"] for u in users["users"]] == ["admin"]
    runs_after = platform.request("GET", "/api/v2/dags/ylai_example_hello/dagRuns").json()["total_entries"]
    assert runs_after == runs_before

    rc, survivors = platform.stop(signal.SIGTERM)
    assert rc == 0, platform.tail()
    assert survivors == []
