"""``ylai run`` with nothing configured: SQLite + LocalExecutor, generated admin password, restartable."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.running_platform import RunningPlatform, wait_until
from ylai_plugin.run_platform import PASSWORD_FILE


@pytest.fixture(scope="module")
def platform(sqlite_platform: RunningPlatform) -> RunningPlatform:
    # Shared with test_api_on_platform.py; this module's last test restarts it and stops it.
    return sqlite_platform


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


def test_every_example_script_and_pipeline_succeeds(platform: RunningPlatform, tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("name,age\nada,36\nalan,\ngrace,85\n")
    health_url = f"{platform.base_url}/api/v2/monitor/health"
    runs: dict[str, dict[str, Any]] = {
        "script__csv_profiler": {"path": str(csv)},
        "script__http_check": {"url": health_url, "expected_status": 200},
        "script__disk_usage": {"path": str(tmp_path), "top": 3},
        "script__quality_gate": {"rows": 10, "null_cells": 0},
        "script__data_generator": {"rows": 10, "output_format": "jsonl", "columns": ["id", "amount"]},
        "pipeline__generate_and_profile": {"rows": 50},
    }
    run_ids = {}
    for dag_id, conf in runs.items():
        platform.wait_for_dag(dag_id)
        run_ids[dag_id] = platform.trigger(dag_id, conf)
    for dag_id, run_id in run_ids.items():
        assert platform.wait_for_run(dag_id, run_id) == "success", (dag_id, platform.tail())

    profile = platform.xcom("script__csv_profiler", run_ids["script__csv_profiler"], "csv_profiler")["outputs"]
    assert (profile["rows"], profile["columns"], profile["null_cells"]) == (3, 2, 1)
    assert profile["column_stats"]["age"]["max"] == 85.0
    check = platform.xcom("script__http_check", run_ids["script__http_check"], "http_check")["outputs"]
    assert check["status"] == 200
    assert check["ok"] is True
    assert check["latency_ms"] > 0
    disk = platform.xcom("script__disk_usage", run_ids["script__disk_usage"], "disk_usage")["outputs"]
    assert disk["total_bytes"] >= csv.stat().st_size
    log = platform.task_log("script__disk_usage", run_ids["script__disk_usage"], "disk_usage")
    assert "people.csv" in log
    pipeline = platform.xcom(
        "pipeline__generate_and_profile", run_ids["pipeline__generate_and_profile"], "collect_outputs"
    )
    assert pipeline["outputs"]["profile"]["rows"] == 50


def test_failing_script_reports_exit_code_and_stderr(platform: RunningPlatform, tmp_path: Path) -> None:
    run_id = platform.trigger("script__csv_profiler", {"path": str(tmp_path / "missing.csv")})
    assert platform.wait_for_run("script__csv_profiler", run_id, timeout=300) == "failed"
    log = platform.task_log("script__csv_profiler", run_id, "csv_profiler", try_number=1)
    assert "exited with code 2" in log
    assert "no such file" in log

    # The task process left its error line (an XCom, through the Execution API): the Monitor groups it.
    def signature() -> dict[str, Any] | None:
        body = platform.request("GET", "/ylai/api/v1/monitor/errors?hours=1").json()
        return next((s for s in body["signatures"] if s["latest"]["run_id"] == run_id), None)

    found = wait_until(signature, 30, lambda: "no error signature for the failed run")
    assert found["signature"] == "csv_profiler: no such file: <path>"
    assert found["example"] == f"csv_profiler: no such file: {tmp_path / 'missing.csv'}"
    assert found["count"] >= 1


def test_restart_is_idempotent_and_keeps_data(platform: RunningPlatform) -> None:
    password = platform.banner_password()
    runs_before = platform.request("GET", "/api/v2/dags/ylai_example_hello/dagRuns").json()["total_entries"]
    assert runs_before >= 1
    users_before = sorted(u["username"] for u in platform.request("GET", "/auth/fab/v1/users").json()["users"])
    assert users_before.count("admin") == 1

    rc, survivors = platform.stop(signal.SIGINT)  # what Ctrl-C sends
    assert rc == 0, platform.tail()
    assert survivors == []

    platform.start()
    platform.wait_ready()
    second_banner = platform.output().split("ylai          | stopped")[-1]
    assert f"password:  {password}   (saved in" in second_banner
    assert platform.login("admin", password).status in (200, 201)
    users_after = sorted(u["username"] for u in platform.request("GET", "/auth/fab/v1/users").json()["users"])
    assert users_after == users_before  # no duplicate admin, no lost users
    runs_after = platform.request("GET", "/api/v2/dags/ylai_example_hello/dagRuns").json()["total_entries"]
    assert runs_after == runs_before

    rc, survivors = platform.stop(signal.SIGTERM)
    assert rc == 0, platform.tail()
    assert survivors == []
