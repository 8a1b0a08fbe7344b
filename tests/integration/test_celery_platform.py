"""``ylai run`` on Postgres + Redis: CeleryExecutor, a real Celery worker, FAB auth."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.running_platform import RunningPlatform


@pytest.fixture(scope="module")
def platform(celery_platform: RunningPlatform) -> RunningPlatform:
    return celery_platform


def test_banner_names_the_celery_mode(platform: RunningPlatform) -> None:
    out = platform.output()
    assert "Postgres + CeleryExecutor" in out
    assert "username:  ops" in out
    assert "celery-test-pw" not in out, "a password from the environment is never echoed"
    assert platform.component_lines("celery-worker")


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
    from ylai_plugin.ui_bundle import bundle_exists

    if bundle_exists():  # `make test` builds the UI before the platforms start
        pages = [(a["name"], a["category"]) for a in ylai["react_apps"]]
        from ylai_plugin.plugin import UI_PAGES

        assert pages == [(name, "ylai") for name, _route in UI_PAGES]
        assert pages[0] == ("ylai Overview · 概览", "ylai")  # both languages: Airflow 3.3 shows names as given
    else:
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
    worker_lines = platform.component_lines("celery-worker")
    assert any("execute_workload" in line for line in worker_lines), "\n".join(worker_lines[-40:])
    xcom = platform.request(
        "GET",
        f"/api/v2/dags/ylai_example_hello/dagRuns/{quoted}/taskInstances/result/xcomEntries/return_value",
    ).json()
    assert "from celery" in json.dumps(xcom["value"])


# -- scripts and pipelines on Celery (issue 3) -----------------------------------------


def test_script_dag_exposes_typed_params_in_the_trigger_form(platform: RunningPlatform) -> None:
    platform.wait_for_dag("script__data_generator")
    params = platform.request("GET", "/api/v2/dags/script__data_generator/details").json()["params"]
    assert params["rows"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000000}
    assert params["rows"]["value"] == 1000
    assert params["start_date"]["schema"]["format"] == "date"
    assert params["output_format"]["schema"]["enum"] == ["csv", "jsonl"]
    assert params["output_format"]["schema"]["values_display"] == {"csv": "CSV", "jsonl": "JSON lines"}
    assert params["notes"]["schema"]["format"] == "multiline"
    assert params["columns"]["schema"]["type"] == "array"
    assert params["columns"]["schema"]["examples"] == ["id", "day", "amount", "category"]
    assert params["options"]["schema"]["type"] == "object"
    assert "secret" in params["api_token"]["description"]


def test_invalid_conf_is_rejected_with_the_reason_and_creates_no_run(platform: RunningPlatform) -> None:
    platform.wait_for_dag("script__data_generator")
    before = platform.request("GET", "/api/v2/dags/script__data_generator/dagRuns").json()["total_entries"]
    for conf, reason in [
        ({"rows": 0}, "0 is less than the minimum of 1"),
        ({"rows": "many"}, "'many' is not of type 'integer'"),
        ({"start_date": "2024-02-31"}, "is not a 'date'"),
        ({"output_format": "xml"}, "'xml' is not one of"),
    ]:
        resp = platform.request(
            "POST", "/api/v2/dags/script__data_generator/dagRuns", {"logical_date": None, "conf": conf}
        )
        assert resp.status == 400, (conf, resp.status, resp.body[:300])
        assert reason in resp.json()["detail"], resp.json()
    after = platform.request("GET", "/api/v2/dags/script__data_generator/dagRuns").json()["total_entries"]
    assert after == before


def test_script_run_returns_outputs_and_masks_secrets_in_the_log(platform: RunningPlatform) -> None:
    token = "tok-6f1d2c9a-never-logged"
    run_id = platform.trigger(
        "script__data_generator", {"rows": 25, "api_token": token, "notes": "first line\n$(whoami)"}
    )
    assert platform.wait_for_run("script__data_generator", run_id) == "success", platform.tail()
    result = platform.xcom("script__data_generator", run_id, "data_generator")
    assert result["outputs"]["rows"] == 25
    assert result["exit_code"] == 0
    assert result["peak_rss_bytes"] > 0
    assert result["artifacts"] == ["generated.csv"]
    log = platform.task_log("script__data_generator", run_id, "data_generator")
    assert "wrote 25 rows" in log
    assert "notes: first line" in log
    assert "using api token ***" in log
    assert token not in log


def test_fan_out_pipeline_passes_outputs_downstream_on_celery(platform: RunningPlatform) -> None:
    dag_id = "pipeline__data_quality_fanout"
    platform.wait_for_dag(dag_id)
    run_id = platform.trigger(dag_id, {"rows": 321})
    assert platform.wait_for_run(dag_id, run_id, timeout=300) == "success", platform.tail()
    generate = platform.xcom(dag_id, run_id, "generate")["outputs"]
    profile = platform.xcom(dag_id, run_id, "profile")["outputs"]
    gate = platform.xcom(dag_id, run_id, "gate")["outputs"]
    assert generate["rows"] == 321
    assert profile["rows"] == 321  # profile read the file generate wrote
    assert gate["rows"] == 321  # gate got profile.rows through the binding
    disk = platform.xcom(dag_id, run_id, "disk")["outputs"]
    assert gate["disk_bytes"] == disk["total_bytes"]
    collected = platform.xcom(dag_id, run_id, "collect_outputs")
    assert collected["outputs"] == {"gate": gate}
    assert set(collected["nodes"]) == {"generate", "profile", "disk", "gate"}


def test_monitor_queues_read_the_celery_broker_and_lag_follows_the_pipeline(platform: RunningPlatform) -> None:
    """The scheduler samples the broker's queue (Redis LLEN); queue depth and lag come from the fan-out run."""
    from tests.integration.running_platform import wait_until

    queue = platform.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]

    def sampled() -> dict[str, Any] | None:
        body: dict[str, Any] = platform.request("GET", "/ylai/api/v1/monitor/queues?window_minutes=15").json()
        celery = body["celery"]
        return body if celery["status"] == "ok" and queue in [q["queue"] for q in celery["queues"]] else None

    body = wait_until(sampled, 90, lambda: f"no broker sample from the scheduler:\n{platform.tail()}")
    broker = next(q for q in body["celery"]["queues"] if q["queue"] == queue)
    assert isinstance(broker["latest"], int)
    assert any(p["length"] is not None for p in broker["points"])
    queued = next(q for q in body["queued"] if q["queue"] == queue)  # the fan-out pipeline's tasks waited there
    assert queued["peak"] >= 1
    lag = platform.request("GET", "/ylai/api/v1/monitor/lag?window_minutes=60").json()
    assert lag["run_delay"]["count"] >= 1
    assert lag["task_gap"]["count"] >= 4, lag  # profile, disk, gate and collect_outputs after their upstreams
    assert lag["task_gap"]["p95"] < 120, lag


def test_monitor_system_has_samples_from_the_celery_worker_and_api_server(platform: RunningPlatform) -> None:
    from tests.integration.running_platform import wait_until

    def kinds() -> str | None:
        body = platform.request("GET", "/ylai/api/v1/monitor/system?window_minutes=15").json()
        found = {k for h in body["hosts"] if h["alive"] for k in h["kinds"]}
        return "ok" if {"celery-worker", "api-server"} <= found else None

    wait_until(kinds, 90, lambda: f"no samples from the worker and api-server:\n{platform.tail()}")
    body = platform.request("GET", "/ylai/api/v1/monitor/system?window_minutes=15").json()
    assert body["workers_alive"] >= 1
    host = body["hosts"][0]
    assert host["history"]
    assert 0 <= host["latest"]["cpu_percent"] <= 100
    assert 0 < host["latest"]["mem_percent"] < 100


def test_monitor_apis_counts_airflow_and_ylai_routes(platform: RunningPlatform) -> None:
    from tests.integration.running_platform import wait_until

    platform.request("GET", "/api/v2/dags/ylai_example_hello")
    platform.request("GET", "/ylai/api/v1/tasks")

    def stats() -> dict[str, Any] | None:
        body: dict[str, Any] = platform.request("GET", "/ylai/api/v1/monitor/apis?window_minutes=60").json()
        seen = {(r["method"], r["route"]) for r in body["routes"]}
        return body if ("GET", "/api/v2/dags/{dag_id}") in seen else None

    # The api-server's flusher lands figures every few seconds; the monitor cache lives 10 s.
    body = wait_until(stats, 60, lambda: "GET /api/v2/dags/{dag_id} never showed up in /monitor/apis")
    routes = {(r["method"], r["route"]): r for r in body["routes"]}
    assert routes[("POST", "/api/v2/dags/{dag_id}/dagRuns")]["requests"] >= 1
    assert routes[("GET", "/api/v2/dags/{dag_id}")]["requests"] >= 1
    assert any(route.startswith("/ylai/api/v1/") for _, route in routes)
    assert all("ylai_example_hello" not in route for _, route in routes), "raw ids must not become routes"
    assert body["total_requests"] >= 3
    assert body["cache"]["ttl_seconds"] > 0


def test_tasks_presets_and_scripts_api_on_postgres(platform: RunningPlatform) -> None:
    platform.wait_for_dag("script__quality_gate")
    task = platform.request(
        "POST", "/ylai/api/v1/tasks", {"name": "pg task", "script": "quality_gate", "params": {"rows": 5}}
    )
    assert task.status == 201, task.body[:300]
    again = platform.request(
        "POST", "/ylai/api/v1/tasks", {"name": "pg task", "script": "quality_gate", "params": {"rows": 5}}
    )
    assert again.status == 409
    bad = platform.request("PATCH", f"/ylai/api/v1/tasks/{task.json()['id']}", {"params": {"rows": -1}})
    assert bad.status == 422
    assert bad.json()["error"]["details"][0]["field"] == "params.rows"
    run = platform.request("POST", f"/ylai/api/v1/tasks/{task.json()['id']}/run", {})
    assert run.status == 201
    assert platform.wait_for_run("script__quality_gate", run.json()["run_id"]) == "success"
    shown = platform.request("GET", f"/ylai/api/v1/tasks/{task.json()['id']}").json()
    assert shown["last_run"]["result"]["outputs"]["rows"] == 5
    preset = platform.request(
        "POST", "/ylai/api/v1/presets", {"name": "pg preset", "dag_id": "script__quality_gate", "params": {"rows": 9}}
    )
    assert preset.status == 201, preset.body[:300]
    listed = platform.request("GET", "/ylai/api/v1/presets?dag_id=script__quality_gate&fields=name,params").json()
    assert listed["items"] == [{"name": "pg preset", "params": {"rows": 9}}]
    detail = platform.request("GET", "/ylai/api/v1/scripts/quality_gate").json()
    assert detail["stats"]["succeeded"] >= 1
    monitor = platform.request("GET", "/ylai/api/v1/monitor/tasks?window_hours=1").json()
    assert monitor["run_states"].get("success", 0) >= 1


def test_logs_scripts_presets_and_task_runs_api_on_postgres(platform: RunningPlatform) -> None:
    """The rest of ylai's API on Postgres, with the run executed by the Celery worker."""
    import urllib.parse

    platform.wait_for_dag("script__disk_usage")
    run = platform.request("POST", "/ylai/api/v1/scripts/disk_usage/run", {"params": {"path": "/tmp", "top": 2}})
    assert run.status == 201, run.body[:300]
    run_id = run.json()["run_id"]
    assert platform.wait_for_run("script__disk_usage", run_id) == "success", platform.tail()
    quoted = urllib.parse.quote(run_id, safe="")
    logs = platform.request("GET", f"/ylai/api/v1/runs/script__disk_usage/{quoted}/logs")
    assert logs.status == 200, logs.body[:300]
    assert any("bytes free" in line.get("event", "") for line in logs.json()["tasks"][0]["lines"])
    events = platform.sse_events(f"/ylai/api/v1/runs/script__disk_usage/{quoted}/logs/stream?poll=0.5")
    assert events[-1]["event"] == "end"
    assert events[-1]["data"]["state"] == "success"
    lines = [e for e in events if e["event"] == "log"]
    resumed = platform.sse_events(
        f"/ylai/api/v1/runs/script__disk_usage/{quoted}/logs/stream?poll=0.5", last_event_id=lines[0]["id"]
    )
    assert [e["data"] for e in resumed if e["event"] == "log"] == [e["data"] for e in lines[1:]]
    recent = platform.request("GET", "/ylai/api/v1/scripts/disk_usage").json()["recent_runs"]
    assert next(r for r in recent if r["run_id"] == run_id)["exit_code"] == 0

    task = platform.request("POST", "/ylai/api/v1/tasks", {"name": "pg runs", "script": "disk_usage", "params": {}})
    assert task.status == 201, task.body[:300]
    task_id = task.json()["id"]
    started = platform.request("POST", f"/ylai/api/v1/tasks/{task_id}/run", {"params": {"top": 1}})
    assert started.status == 201, started.body[:300]
    runs = platform.request("GET", f"/ylai/api/v1/tasks/{task_id}/runs").json()
    assert [r["run_id"] for r in runs["items"]] == [started.json()["run_id"]]
    assert platform.request("GET", f"/ylai/api/v1/tasks/{task_id}/runs?limit=0").status == 422
    assert platform.request("DELETE", f"/ylai/api/v1/tasks/{task_id}").status == 204
    assert platform.request("GET", f"/ylai/api/v1/tasks/{task_id}").status == 404

    preset = platform.request(
        "POST", "/ylai/api/v1/presets", {"name": "pg edit", "dag_id": "script__disk_usage", "params": {"top": 2}}
    )
    assert preset.status == 201, preset.body[:300]
    preset_id = preset.json()["id"]
    patched = platform.request("PATCH", f"/ylai/api/v1/presets/{preset_id}", {"params": {"top": 0}})
    assert patched.status == 422
    patched = platform.request("PATCH", f"/ylai/api/v1/presets/{preset_id}", {"name": "pg edited"})
    assert patched.status == 200, patched.body[:300]
    assert platform.request("GET", f"/ylai/api/v1/presets/{preset_id}").json()["name"] == "pg edited"
    assert platform.request("DELETE", f"/ylai/api/v1/presets/{preset_id}").status == 204

    script = {
        "name": "pg_hello",
        "runtime": "bash",
        "content": "echo hello",
        "manifest": {"params": {"who": {"type": "string", "default": "pg"}}},
    }
    created = platform.request("POST", "/ylai/api/v1/scripts", script)
    assert created.status == 201, created.body[:300]
    assert platform.request("POST", "/ylai/api/v1/scripts", script).status == 409
    version = platform.request("POST", "/ylai/api/v1/scripts/pg_hello/versions", {"content": "echo hi", "comment": "2"})
    assert version.status in (200, 201), version.body[:300]
    shown = platform.request("GET", "/ylai/api/v1/scripts/pg_hello").json()
    assert (shown["source"], shown["version"], shown["runtime"]) == ("database", 2, "bash")


def test_lists_show_each_write_at_once_on_every_api_server_worker(platform: RunningPlatform) -> None:
    """Each request opens a new connection, which either worker may take; a list answer cached
    by one worker (in Redis, shared) must never hide a write made through the other."""
    from tests.integration.running_platform import wait_until

    platform.wait_for_dag("script__disk_usage")
    name = "pg fresh lists"
    task = platform.request("POST", "/ylai/api/v1/tasks", {"name": name, "script": "disk_usage", "params": {}})
    assert task.status == 201, task.body[:300]
    query = f"/ylai/api/v1/tasks?q={name.replace(' ', '%20')}"
    for i in range(12):
        patched = platform.request("PATCH", f"/ylai/api/v1/tasks/{task.json()['id']}", {"description": f"v{i}"})
        assert patched.status == 200, patched.body[:300]
        for _ in range(2):  # the second answer comes from the cache, on whichever worker
            listed = platform.request("GET", query).json()
            assert [t["description"] for t in listed["items"]] == [f"v{i}"], i
    assert platform.request("DELETE", f"/ylai/api/v1/tasks/{task.json()['id']}").status == 204
    assert platform.request("GET", query).json()["items"] == []

    def both_workers_counted() -> dict[str, Any] | None:
        for _ in range(10):  # more connections for the worker that took fewer
            platform.request("GET", "/ylai/api/v1/ping")
        body: dict[str, Any] = platform.request("GET", "/ylai/api/v1/monitor/apis?window_minutes=60").json()
        return body if body["workers"] >= 2 else None

    apis = wait_until(both_workers_counted, 60, lambda: "only one api-server worker reported API statistics")
    assert apis["list_cache"]["backend"] == "redis"
    assert apis["list_cache"]["hits"] >= 1


def test_a_scheduled_tasks_runs_are_found_through_an_index_on_postgres(
    platform: RunningPlatform, fresh_postgres_url: str
) -> None:
    """``GET /tasks/{id}`` and ``/runs`` find scheduled runs by run-id prefix: an index serves it.

    Runs ylai's own statements, with bound parameters as the api-server sends them, through
    ``EXPLAIN`` on the platform's database (made by ``airflow db migrate``), after adding
    5,000 runs of one DAG in a transaction that is rolled back: with the handful of runs the
    platform has, any plan costs the same, and the planner's choice would say nothing.
    """
    from airflow.models import DagRun
    from sqlalchemy import create_engine, func, select

    from ylai_plugin.domain.tasks import scheduled_runs

    dag_id = "script__disk_usage"
    url = fresh_postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    statements = [
        select(DagRun.run_after, DagRun.dag_id, DagRun.run_id)
        .where(*scheduled_runs(dag_id, 12))
        .order_by(DagRun.id.desc())
        .limit(50),
        select(func.count()).select_from(DagRun).where(*scheduled_runs(dag_id, 12)),
    ]
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.exec_driver_sql(
                "INSERT INTO dag_run (dag_id, run_id, run_type, run_after, state) "
                "SELECT %(dag_id)s, 'index-probe-' || n, 'manual', now(), 'success' FROM generate_series(1, 5000) n",
                {"dag_id": dag_id},
            )
            conn.exec_driver_sql("ANALYZE dag_run")
            for statement in statements:
                compiled = statement.compile(dialect=engine.dialect)
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
                assert "ix_ylai_dag_run_run_id_prefix" in plan, plan
                assert "~>=~ 'ylai-task-12-'" in plan, plan  # the prefix is an index condition, not a filter
            transaction.rollback()
    finally:
        engine.dispose()


def test_every_line_of_every_component_is_a_json_object_with_its_context(platform: RunningPlatform) -> None:
    """The platform runs with ``YLAI_LOG_FORMAT=json``; by now it has run scripts on the worker, failed runs
    (the Sentry and trace tests) and served requests: every line so far is one JSON object with the keys."""
    records = platform.records()
    components = {r["component"] for r in records}
    assert components >= {"ylai", "api-server", "scheduler", "dag-processor", "triggerer", "celery-worker", "alerts"}
    assert {r["level"] for r in records} <= {"debug", "info", "warning", "error", "critical"}
    worker = [r for r in records if r["component"] == "celery-worker"]
    # The worker's Airflow lines keep their structure, and the task instance it executes becomes keys.
    executed = [r for r in worker if r["logger"].endswith("celery_executor_utils") and r.get("task_id")]
    assert executed, worker[-20:]
    assert any(
        r["dag_id"] == "ylai_example_hello" and r["task_id"] == "say" and r["try_number"] == 1 and r.get("trace_id")
        for r in executed
    ), executed
    # The api-server's access lines carry the request id and, with tracing on, the trace and span ids.
    access = [r for r in records if r["component"] == "api-server" and r.get("request_id")]
    assert access, [r for r in records if r["component"] == "api-server"][-10:]
    assert any(r.get("trace_id") and r.get("span_id") for r in access), access[-5:]


def test_sigterm_stops_every_component_without_orphans(platform: RunningPlatform) -> None:
    assert len(platform.descendants()) >= 5
    rc, survivors = platform.stop(signal.SIGTERM)
    assert rc == 0, platform.tail()
    assert survivors == []
    assert "stopped" in platform.tail(5)
