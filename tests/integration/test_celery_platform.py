"""``ylai run`` on Postgres + Redis: CeleryExecutor, a real Celery worker, FAB auth."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.running_platform import RunningPlatform


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, fresh_postgres_url: str, redis_url: str, celery_queue: str
) -> Iterator[RunningPlatform]:
    home = tmp_path_factory.mktemp("celery") / "home"
    p = RunningPlatform(
        home,
        {
            "YLAI_DATABASE_URL": fresh_postgres_url,
            "YLAI_BROKER_URL": redis_url,
            "YLAI_ADMIN_USERNAME": "ops",
            "YLAI_ADMIN_PASSWORD": "celery-test-pw",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": celery_queue,
        },
    )
    p.start()
    try:
        p.wait_ready()
        yield p
    finally:
        p.kill()


def test_banner_names_the_celery_mode(platform: RunningPlatform) -> None:
    out = platform.output()
    assert "Postgres + CeleryExecutor" in out
    assert "username:  ops" in out
    assert "celery-test-pw" not in out, "a password from the environment is never echoed"
    assert "celery-worker |" in out


def test_health_requires_authentication(platform: RunningPlatform) -> None:
    assert platform.request("GET", "/ylai/api/v1/health", auth=False).status == 401
    assert platform.request("GET", "/ylai/", auth=False).status == 401


def test_health_with_bearer_reports_db_and_broker(platform: RunningPlatform) -> None:
    resp = platform.request("GET", "/ylai/api/v1/health")
    assert resp.status == 200
    body = resp.json()
    assert body["executor"] == "CeleryExecutor"
    assert body["metadata_db"]["status"] == "healthy"
    assert body["broker"]["status"] == "healthy"


def test_health_with_ui_cookie(platform: RunningPlatform) -> None:
    resp = platform.request("GET", "/ylai/api/v1/health", cookie=platform.token())
    assert resp.status == 200
    assert resp.json()["broker"]["status"] == "healthy"


def test_plugin_is_listed_by_the_api_and_the_cli(platform: RunningPlatform) -> None:
    plugins = platform.request("GET", "/api/v2/plugins").json()["plugins"]
    ylai = next(p for p in plugins if p["name"] == "ylai")
    assert ylai["fastapi_apps"][0]["url_prefix"] == "/ylai"
    assert ylai["external_views"][0]["name"] == "ylai"

    env_out = subprocess.run(
        [sys.executable, "-m", "ylai_plugin.cli", "--root", str(REPO_ROOT), "env"],
        env=platform.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {**platform.env}
    for line in env_out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    airflow = str(Path(sys.executable).with_name("airflow"))
    listed = subprocess.run(
        [airflow, "plugins", "-o", "json"], env=env, capture_output=True, text=True, check=True
    ).stdout
    names = [p["name"] for p in json.loads(listed[listed.index("[") :])]
    assert "ylai" in names


def test_dag_triggered_through_the_rest_api_succeeds_on_the_celery_worker(
    platform: RunningPlatform, celery_queue: str
) -> None:
    run_id = platform.trigger("ylai_example_hello", {"greeting": "from celery"})
    assert platform.wait_for_run("ylai_example_hello", run_id) == "success"
    quoted = run_id.replace("+", "%2B").replace(":", "%3A")
    tis = platform.request("GET", f"/api/v2/dags/ylai_example_hello/dagRuns/{quoted}/taskInstances").json()
    assert {ti["task_id"]: ti["state"] for ti in tis["task_instances"]} == {
        "say": "success",
        "result": "success",
    }
    assert {ti["queue"] for ti in tis["task_instances"]} == {celery_queue}
    # The worker, not the scheduler, executed the workloads.
    worker_lines = [line for line in platform.output().splitlines() if line.startswith("celery-worker")]
    assert any("execute_workload" in line for line in worker_lines), "\n".join(worker_lines[-40:])
    xcom = platform.request(
        "GET",
        f"/api/v2/dags/ylai_example_hello/dagRuns/{quoted}/taskInstances/result/xcomEntries/return_value",
    ).json()
    assert "from celery" in json.dumps(xcom["value"])


def test_sigterm_stops_every_component_without_orphans(platform: RunningPlatform) -> None:
    assert len(platform.descendants()) >= 5
    rc, survivors = platform.stop(signal.SIGTERM)
    assert rc == 0, platform.tail()
    assert survivors == []
    assert "stopped" in platform.tail(5)
