"""ylai's REST API on a real platform: FAB RBAC on every route, DAG-level permissions, logs and SSE."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.running_platform import RunningPlatform, wait_until

# What the dag-processor logs when a script published through the API asks for a parse.
CATALOG_CHANGED = "variable ylai_db_scripts"

PASSWORD = "Rbac-test-pw-1"
WRITE_METHODS = {"post", "patch", "put", "delete"}
# Reads a Viewer may not make: the access matrix (Admin), the audit trail (Airflow's audit log, Admin),
# feedback (ylai Feedback) and usage insights (ylai Insights), Admin's only by default.
ADMIN_READS = {"/api/v1/access", "/api/v1/audit", "/api/v1/feedback", "/api/v1/usage/stats", "/api/v1/usage/heatmap"}
# Writes every signed-in user may make: giving feedback and sending the usage beacon (an empty body: 422).
ANYONE_WRITES = {("post", "/api/v1/feedback"), ("post", "/api/v1/usage/events")}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(request: pytest.FixtureRequest) -> RunningPlatform:
    """Every test here runs on the SQLite platform and on the Postgres + Celery one."""
    fixture = {"sqlite": "sqlite_platform", "postgres": "celery_platform"}[request.param]
    found: RunningPlatform = request.getfixturevalue(fixture)
    return found


def _create_user(p: RunningPlatform, username: str, role: str) -> str:
    resp = p.request(
        "POST",
        "/auth/fab/v1/users",
        {
            "username": username,
            "password": PASSWORD,
            "first_name": username,
            "last_name": "test",
            "email": f"{username}@example.com",
            "roles": [{"name": role}],
        },
    )
    assert resp.status in (200, 409), resp.body[:300]
    login = p.login(username, PASSWORD)
    assert login.status in (200, 201), login.body[:300]
    return str(login.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(platform: RunningPlatform) -> dict[str, str]:
    # The DAG's FAB resource ("DAG:script__disk_usage") exists once the dag-processor synced it.
    platform.wait_for_dag("script__disk_usage")
    role = {
        "name": "DiskOnly",
        "actions": [
            *(
                {"action": {"name": "can_read"}, "resource": {"name": r}}
                for r in ("ylai Tasks", "ylai Presets", "ylai Reports")
            ),
            {"action": {"name": "can_read"}, "resource": {"name": "DAG:script__disk_usage"}},
            {"action": {"name": "can_read"}, "resource": {"name": "DAG Runs"}},
            {"action": {"name": "can_read"}, "resource": {"name": "Task Logs"}},
            # Log search (GET /logs/search) is behind the Monitor permission, its lines behind the DAG's.
            {"action": {"name": "can_read"}, "resource": {"name": "ylai Monitor"}},
        ],
    }
    wait_until(
        lambda: "ok" if platform.request("POST", "/auth/fab/v1/roles", role).status in (200, 409) else None,
        60,
        lambda: "could not create the DiskOnly role",
    )
    return {
        "admin": platform.token(),
        "viewer": _create_user(platform, "vera", "Viewer"),
        "user": _create_user(platform, "ursula", "User"),
        "op": _create_user(platform, "otto", "Op"),
        "diskonly": _create_user(platform, "dora", "DiskOnly"),
    }


@pytest.fixture(scope="module")
def fixtures(platform: RunningPlatform, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    """Objects the route walk can point its path parameters at."""
    platform.wait_for_dag("script__disk_usage")
    platform.wait_for_dag("script__http_check")
    platform.wait_for_dag("pipeline__generate_and_profile")
    platform.wait_for_dag("script__table_snapshot")  # its live form options (GET /forms/...)
    admin = tokens["admin"]
    # A database pipeline: its /versions routes answer 200 (a repository pipeline's answer 409).
    spec = {"name": "rbac_pipeline", "nodes": {"usage": {"script": "disk_usage", "params": {"top": 2}}}}
    pipeline = platform.request("POST", "/ylai/api/v1/pipelines", {"spec": spec}, token=admin)
    assert pipeline.status == 201, pipeline.body[:300]
    task = platform.request(
        "POST", "/ylai/api/v1/tasks", {"name": "rbac task", "script": "disk_usage", "params": {"top": 2}}, token=admin
    )
    assert task.status == 201, task.body[:300]
    other = platform.request(
        "POST",
        "/ylai/api/v1/tasks",
        {"name": "rbac other", "script": "http_check", "params": {"url": "http://127.0.0.1:1/"}},
        token=admin,
    )
    assert other.status == 201, other.body[:300]
    preset = platform.request(
        "POST",
        "/ylai/api/v1/presets",
        {"name": "rbac preset", "dag_id": "script__disk_usage", "params": {"top": 3}, "shared_with_role": "Viewer"},
        token=admin,
    )
    assert preset.status == 201, preset.body[:300]
    run = platform.request("POST", f"/ylai/api/v1/tasks/{task.json()['id']}/run", {}, token=admin)
    assert run.status == 201, run.body[:300]
    job = platform.request("POST", "/ylai/api/v1/exports/jobs", {"kind": "runs"}, token=admin)
    assert job.status == 202, job.body[:300]
    alert_rule, silence, alert_id = _alert_fixtures(platform, admin)
    # A database script: its /versions routes answer 200 (a repository script's answer 409).
    script = platform.request(
        "POST",
        "/ylai/api/v1/scripts",
        {"name": "rbac_script", "runtime": "bash", "content": "echo rbac\n", "manifest": {"params": {}}},
        token=admin,
    )
    assert script.status == 201, script.body[:300]
    approval_id = _waiting_approval(platform, admin)
    feedback = platform.request(
        "POST", "/ylai/api/v1/feedback", {"rating": 5, "comment": "", "page": "run", "app_version": "rbac"}, token=admin
    )
    assert feedback.status == 201, feedback.body[:300]
    platform.wait_for_dag("pipeline__rbac_pipeline")
    yield {
        "kind": "runs",
        "job_id": str(job.json()["id"]),
        "rule_id": alert_rule,
        "silence_id": silence,
        "alert_id": alert_id,
        "task_id": str(task.json()["id"]),
        "other_task_id": str(other.json()["id"]),
        "preset_id": str(preset.json()["id"]),
        "name": "disk_usage",
        "pipeline": "rbac_pipeline",
        "version": "1",
        "dag_id": "script__disk_usage",
        "run_id": run.json()["run_id"],
        "approval_id": approval_id,
        "role": "Viewer",
        "db_script": "rbac_script",
        "feedback_id": str(feedback.json()["id"]),
    }
    # Leave no run waiting for a decision on the shared platform: Op rejects it (the admin started it).
    rejected = platform.request(
        "POST", f"/ylai/api/v1/approvals/{approval_id}/reject", {"comment": "route walk over"}, token=tokens["op"]
    )
    assert rejected.status == 200, rejected.body[:300]


def _waiting_approval(platform: RunningPlatform, admin: str) -> str:
    """The id of a real pending approval: a run of the sensitive example ``rotate_token`` (docs/approvals.md)."""
    assert platform.request("GET", "/ylai/api/v1/approvals", token=admin).status == 200  # publishes the roles
    platform.wait_for_dag("script__rotate_token")
    started = platform.request(
        "POST", "/ylai/api/v1/scripts/rotate_token/run", {"params": {"service": "rbac"}}, token=admin
    )
    assert started.status == 201, started.body[:300]
    run_id = started.json()["run_id"]

    def pending() -> str | None:
        items = platform.request("GET", "/ylai/api/v1/approvals?view=mine", token=admin).json()["items"]
        return next((str(i["id"]) for i in items if i["run_id"] == run_id and i["state"] == "pending"), None)

    return wait_until(pending, 180, lambda: f"no pending approval for {run_id}:\n{platform.tail()}")


def _alert_fixtures(platform: RunningPlatform, admin: str) -> tuple[str, str, str]:
    """An alert rule, a silence and a real alert: a run of script__http_check marked failed.

    Marking a run failed through /api/v2 fires Airflow's on_dag_run_failed listener in the
    api-server, so the alert exists without waiting for a script to fail through its retries.
    The webhook points at a closed port: the delivery stays in the outbox, which is fine here.
    """
    dag_id = "script__http_check"
    rule = platform.request(
        "POST",
        "/ylai/api/v1/alerts/rules",
        {
            "name": "rbac rule",
            "scope": {"dag_ids": [dag_id]},
            "condition": {"type": "run_failed"},
            "channels": [{"type": "webhook", "target": "http://127.0.0.1:9/rbac"}],
        },
        token=admin,
    )
    assert rule.status == 201, rule.body[:300]
    silence = platform.request(
        "POST",
        "/ylai/api/v1/alerts/silences",
        {"scope": {"dag_ids": ["rbac_no_such_dag"]}, "ends_at": "2999-01-01T00:00:00Z", "comment": "route walk"},
        token=admin,
    )
    assert silence.status == 201, silence.body[:300]
    run_id = platform.trigger(dag_id, {"url": "http://127.0.0.1:1/"})
    quoted = urllib.parse.quote(run_id, safe="")

    def mark_failed() -> str | None:
        # On Postgres, Airflow's PATCH can lose a deadlock to the scheduler, which is scheduling
        # the same new run (they lock dag_run and task_instance rows in opposite orders):
        # Airflow answers 500 and rolls back. A user would retry; so does this fixture.
        resp = platform.request("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}", {"state": "failed"}, token=admin)
        assert resp.status in (200, 500), resp.body[:300]
        return "ok" if resp.status == 200 else None

    wait_until(mark_failed, 60, lambda: f"could not mark {run_id} failed:\n{platform.tail()}")
    events = wait_until(
        lambda: (
            platform.request("GET", f"/ylai/api/v1/alerts/events?dag_id={dag_id}", token=admin).json()["items"] or None
        ),
        120,
        lambda: f"no alert for the failed run:\n{platform.tail()}",
    )
    return str(rule.json()["id"]), str(silence.json()["id"]), str(events[0]["id"])


def _routes(platform: RunningPlatform, token: str) -> list[tuple[str, str]]:
    spec = platform.request("GET", "/ylai/api/v1/openapi.json", token=token)
    assert spec.status == 200
    routes = [(m, path) for path, ops in spec.json()["paths"].items() for m in ops]
    assert len(routes) >= 15, routes
    return routes


def _fill(path: str, values: dict[str, str]) -> str:
    if path.startswith("/api/v1/pipelines/"):  # {name} is a (database) pipeline's there, a script's elsewhere
        values = {**values, "name": values["pipeline"]}
    elif path.startswith("/api/v1/scripts/{name}/versions"):  # a database script's: a file script's history is git's
        values = {**values, "name": values["db_script"]}
    elif path.startswith("/api/v1/forms/"):  # a param with live options: the example's pools need no connection
        values = {**values, "dag_id": "script__table_snapshot", "param": "pool"}
    return "/ylai" + re.sub(r"\{(\w+)\}", lambda m: urllib.parse.quote(values[m.group(1)], safe=""), path)


def test_every_route_requires_authentication(
    platform: RunningPlatform, tokens: dict[str, str], fixtures: dict[str, str]
) -> None:
    for method, path in _routes(platform, tokens["admin"]):
        body: dict[str, Any] | None = {} if method in WRITE_METHODS else None
        resp = platform.request(method.upper(), _fill(path, fixtures), body, auth=False)
        assert resp.status == 401, (method, path, resp.status)
        assert resp.json()["error"]["code"] == "unauthenticated"
    assert platform.request("GET", "/ylai/api/v1/openapi.json", auth=False).status == 401


def test_viewer_may_read_but_every_write_is_forbidden(
    platform: RunningPlatform, tokens: dict[str, str], fixtures: dict[str, str]
) -> None:
    for method, path in _routes(platform, tokens["admin"]):
        url = _fill(path, fixtures)
        if (method, path) in ANYONE_WRITES:
            resp = platform.request(method.upper(), url, {}, token=tokens["viewer"])
            assert resp.status == 422, (method, path, resp.status, resp.body[:200])
        elif method in WRITE_METHODS:
            resp = platform.request(method.upper(), url, {}, token=tokens["viewer"])
            assert resp.status == 403, (method, path, resp.status, resp.body[:200])
            assert resp.json()["error"]["code"] == "forbidden"
        elif path.startswith("/api/v1/exports/jobs/{job_id}"):
            # Export jobs are private to whoever started them (the admin here).
            assert platform.request("GET", url, token=tokens["viewer"]).status == 404, path
        elif path in ADMIN_READS:
            resp = platform.request("GET", url, token=tokens["viewer"])
            assert resp.status == 403, (path, resp.status, resp.body[:200])
        elif not path.endswith("/stream"):
            resp = platform.request("GET", url, token=tokens["viewer"])
            assert resp.status == 200, (path, resp.status, resp.body[:200])
    shared = platform.request("GET", f"/ylai/api/v1/presets/{fixtures['preset_id']}", token=tokens["viewer"])
    assert shared.json()["editable"] is False


def test_user_and_op_run_and_manage_tasks_and_presets(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    for role in ("user", "op"):
        token = tokens[role]
        task = platform.request(
            "POST", "/ylai/api/v1/tasks", {"name": f"{role} task", "script": "disk_usage", "params": {}}, token=token
        )
        assert task.status == 201, task.body[:300]
        run = platform.request("POST", f"/ylai/api/v1/tasks/{task.json()['id']}/run", {}, token=token)
        assert run.status == 201, run.body[:300]
        preset = platform.request(
            "POST", "/ylai/api/v1/presets", {"name": f"{role} p", "dag_id": "script__disk_usage"}, token=token
        )
        assert preset.status == 201
        assert platform.request("DELETE", f"/ylai/api/v1/presets/{preset.json()['id']}", token=token).status == 204
        assert platform.request("DELETE", f"/ylai/api/v1/tasks/{task.json()['id']}", token=token).status == 204


def test_dag_level_permissions_hide_tasks_presets_and_logs(
    platform: RunningPlatform, tokens: dict[str, str], fixtures: dict[str, str]
) -> None:
    token = tokens["diskonly"]
    listed = platform.request("GET", "/ylai/api/v1/tasks", token=token).json()
    assert {t["dag_id"] for t in listed["items"]} == {"script__disk_usage"}
    other = f"/ylai/api/v1/tasks/{fixtures['other_task_id']}"
    assert platform.request("GET", other, token=tokens["admin"]).status == 200  # now cached for the admin
    assert platform.request("GET", other, token=token).status == 404
    assert platform.request("GET", f"{other}/runs", token=tokens["admin"]).status == 200
    assert platform.request("GET", f"{other}/runs", token=token).status == 404
    assert platform.request("GET", f"/ylai/api/v1/tasks/{fixtures['task_id']}", token=token).status == 200
    denied_run = platform.request("POST", f"/ylai/api/v1/tasks/{fixtures['task_id']}/run", {}, token=token)
    assert denied_run.status == 403
    logs = platform.request(
        "GET", f"/ylai/api/v1/runs/script__disk_usage/{urllib.parse.quote(fixtures['run_id'])}/logs", token=token
    )
    assert logs.status == 200
    hidden = platform.request("GET", "/ylai/api/v1/runs/script__http_check/whatever/logs", token=token)
    assert hidden.status == 404
    # A run form's live options need read access to its DAG.
    options = platform.request("GET", "/ylai/api/v1/forms/script__table_snapshot/options/pool", token=token)
    assert options.status == 403, options.body[:200]
    assert platform.request(
        "GET", "/ylai/api/v1/forms/script__table_snapshot/options/pool", token=tokens["admin"]
    ).json()["options"]


def _search_all(platform: RunningPlatform, token: str, query: str) -> list[dict[str, Any]]:
    """Every hit of a log search, following its cursor."""
    hits: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(200):
        resp = platform.request("GET", f"/ylai/api/v1/logs/search?{query}&limit=200{cursor}", token=token)
        assert resp.status == 200, resp.body[:300]
        hits += resp.json()["items"]
        if resp.json()["next_cursor"] is None:
            return hits
        cursor = "&cursor=" + urllib.parse.quote(resp.json()["next_cursor"])
    raise AssertionError("the search cursor never ended")


def test_log_search_finds_a_real_runs_line_for_the_dags_a_role_may_read(
    platform: RunningPlatform, tokens: dict[str, str], fixtures: dict[str, str]
) -> None:
    run_id = fixtures["run_id"]  # a disk_usage run of the route walk's task; it prints "bytes free"
    assert platform.wait_for_run("script__disk_usage", run_id) == "success", platform.tail()
    hits = _search_all(platform, tokens["admin"], "q=bytes%20free&script=disk_usage")
    mine = [h for h in hits if h["run_id"] == run_id]
    assert mine, hits[:3]
    assert mine[0]["task_id"] == "disk_usage"
    assert mine[0]["run_link"] == f"dags/script__disk_usage/runs/{urllib.parse.quote(run_id, safe='')}"
    assert "bytes free" in mine[0]["text"].lower()
    # The DiskOnly role reads script__disk_usage's logs only: other DAGs' lines stay hidden.
    theirs = {h["dag_id"] for h in _search_all(platform, tokens["diskonly"], "q=&level=info")}
    assert theirs == {"script__disk_usage"}
    bad = platform.request("GET", "/ylai/api/v1/logs/search?q=(a%2B)%2Bb&regex=true", token=tokens["diskonly"])
    assert bad.status == 422
    assert bad.json()["error"]["details"][0]["field"] == "query.q"


def test_exports_cover_only_the_dags_a_user_may_read(
    platform: RunningPlatform, tokens: dict[str, str], fixtures: dict[str, str]
) -> None:
    import csv
    import io

    token = tokens["diskonly"]
    resp = platform.request("GET", "/ylai/api/v1/exports/runs", token=token)
    assert resp.status == 200, resp.body[:300]
    rows = list(csv.DictReader(io.StringIO(resp.body.decode())))
    assert fixtures["run_id"] in {r["Run"] for r in rows}
    assert {r["DAG"] for r in rows} == {"script__disk_usage"}
    hidden = platform.request("GET", "/ylai/api/v1/exports/runs?dag_id=script__http_check", token=token)
    assert hidden.status == 404
    assert platform.request("POST", "/ylai/api/v1/exports/jobs", {"kind": "runs"}, token=token).status == 403
    assert platform.request("GET", "/ylai/api/v1/exports/audit", token=token).status == 403


def test_run_logs_json_and_sse_stream_with_resume(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    token = tokens["user"]
    run = platform.request(
        "POST", "/ylai/api/v1/scripts/disk_usage/run", {"params": {"path": "/tmp", "top": 2}}, token=token
    )
    assert run.status == 201, run.body[:300]
    run_id = run.json()["run_id"]
    path = f"/ylai/api/v1/runs/script__disk_usage/{urllib.parse.quote(run_id, safe='')}/logs/stream?poll=0.5"
    events = platform.sse_events(path, token)  # follows the run from queued to the end
    assert events[-1]["event"] == "end"
    assert events[-1]["data"]["state"] == "success"
    states = [e["data"]["state"] for e in events if e["event"] == "state"]
    assert "success" in states
    logs = [e for e in events if e["event"] == "log"]
    assert any("bytes free" in e["data"].get("event", "") for e in logs)
    assert len(logs) >= 3

    resumed = platform.sse_events(path, token, last_event_id=logs[1]["id"])
    resumed_logs = [e for e in resumed if e["event"] == "log"]
    assert [e["data"] for e in resumed_logs] == [e["data"] for e in logs[2:]]

    body = platform.request(
        "GET", f"/ylai/api/v1/runs/script__disk_usage/{urllib.parse.quote(run_id, safe='')}/logs", token=token
    )
    assert body.status == 200
    task = body.json()["tasks"][0]
    assert task["task_id"] == "disk_usage"
    assert any("bytes free" in line.get("event", "") for line in task["lines"])

    detail = platform.request("GET", "/ylai/api/v1/scripts/disk_usage", token=token).json()
    mine = next(r for r in detail["recent_runs"] if r["run_id"] == run_id)
    assert mine["state"] == "success"
    assert mine["exit_code"] == 0
    assert mine["peak_rss_bytes"] > 0


def test_task_shows_last_run_result_and_monitor_counts_it(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    token = tokens["op"]
    task = platform.request(
        "POST",
        "/ylai/api/v1/tasks",
        {"name": "result task", "script": "quality_gate", "params": {"rows": 4}},
        token=token,
    ).json()
    run_id = platform.request("POST", f"/ylai/api/v1/tasks/{task['id']}/run", {}, token=token).json()["run_id"]
    assert platform.wait_for_run("script__quality_gate", run_id) == "success"
    shown = platform.request("GET", f"/ylai/api/v1/tasks/{task['id']}", token=token).json()
    assert shown["last_run"]["state"] == "success"
    assert shown["last_run"]["duration_seconds"] > 0
    assert shown["last_run"]["result"]["outputs"]["verdict"] == "pass"
    monitor = platform.request("GET", "/ylai/api/v1/monitor/tasks?window_hours=1", token=token).json()
    gate = next(d for d in monitor["per_dag"] if d["dag_id"] == "script__quality_gate")
    assert gate["succeeded"] >= 1


def test_script_created_through_the_api_becomes_a_runnable_dag(
    platform: RunningPlatform, tokens: dict[str, str]
) -> None:
    content = (
        "import json, os, sys\n"
        "who = sys.argv[sys.argv.index('--who') + 1]\n"
        "print('greeting', who)\n"
        "open(os.environ['YLAI_RESULT_FILE'], 'w').write(json.dumps({'greeting': 'hi ' + who}))\n"
    )
    body = {
        "name": "api_greeter",
        "runtime": "python",
        "content": content,
        "manifest": {
            "params": {"who": {"type": "string", "default": "world"}},
            "outputs": {"greeting": {"type": "string"}},
        },
    }
    for role in ("user", "op"):  # creating scripts is Admin-only
        assert platform.request("POST", "/ylai/api/v1/scripts", body, token=tokens[role]).status == 403
    seen = platform.output().count(CATALOG_CHANGED)
    created = platform.request("POST", "/ylai/api/v1/scripts", body, token=tokens["admin"])
    assert created.status == 201, created.body[:300]
    platform.wait_for_dag("script__api_greeter", timeout=120)
    # Parsed because the dag-processor's catalog watch saw the script published, not by the timer.
    wait_until(lambda: platform.output().count(CATALOG_CHANGED) > seen or None, 60, platform.tail)
    params = platform.request("GET", "/api/v2/dags/script__api_greeter/details").json()["params"]
    assert params["who"]["value"] == "world"
    run = platform.request(
        "POST", "/ylai/api/v1/scripts/api_greeter/run", {"params": {"who": "ylai"}}, token=tokens["user"]
    )
    assert run.status == 201, run.body[:300]
    run_id = run.json()["run_id"]
    assert platform.wait_for_run("script__api_greeter", run_id) == "success", platform.tail()
    assert platform.xcom("script__api_greeter", run_id, "api_greeter")["outputs"] == {"greeting": "hi ylai"}
    # Other tests on this shared platform (the schemathesis run) create scripts too: only this one's count.
    events = platform.request("GET", "/api/v2/eventLogs?event=ylai.script.create&limit=100").json()["event_logs"]
    ours = [e for e in events if json.loads(e["extra"] or "{}").get("name") == "api_greeter"]
    assert [e["owner"] for e in ours] == [platform.username]
    extra = json.loads(ours[0]["extra"])
    assert {k: extra[k] for k in ("name", "runtime", "version", "object")} == {
        "name": "api_greeter",
        "runtime": "python",
        "version": 1,
        "object": "script:api_greeter",
    }


def test_correlation_id_is_echoed_and_logged(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    import urllib.request

    from tests.integration.running_platform import wait_until

    req = urllib.request.Request(
        platform.base_url + "/ylai/api/v1/tasks/987654321",
        headers={"Authorization": f"Bearer {tokens['admin']}", "X-Request-ID": "corr-4711-abc"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code == 404
    assert info.value.headers["X-Request-ID"] == "corr-4711-abc"
    assert json.loads(info.value.read())["error"]["code"] == "not_found"
    wait_until(
        lambda: "ok" if "corr-4711-abc" in platform.output() else None,
        20,
        lambda: "the request id never reached the api-server log",
    )
    line = next(line for line in platform.component_lines("api-server") if "corr-4711-abc" in line)
    assert "/ylai/api/v1/tasks/987654321" in line


def test_scheduled_task_runs_on_its_schedule(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    from tests.integration.running_platform import wait_until

    token = tokens["op"]
    task = platform.request(
        "POST",
        "/ylai/api/v1/tasks",
        {"name": "every minute", "script": "quality_gate", "params": {"rows": 7}, "schedule": "* * * * *"},
        token=token,
    )
    assert task.status == 201, task.body[:300]
    task_id = task.json()["id"]
    platform.wait_for_dag(f"task__{task_id}", timeout=120)

    def scheduled_run() -> str | None:
        runs = platform.request("GET", f"/ylai/api/v1/tasks/{task_id}/runs", token=token).json()["items"]
        done = [r for r in runs if r["run_id"].startswith(f"ylai-task-{task_id}-") and r["state"] == "success"]
        return done[0]["run_id"] if done else None

    run_id = wait_until(scheduled_run, 240, lambda: f"no scheduled run succeeded:\n{platform.tail()}")
    result = platform.xcom("script__quality_gate", run_id, "quality_gate")
    assert result["outputs"]["rows"] == 7
    platform.request("DELETE", f"/ylai/api/v1/tasks/{task_id}", token=token)


def test_me_reports_roles_and_permissions(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    viewer = platform.request("GET", "/ylai/api/v1/me?dag_id=script__disk_usage", token=tokens["viewer"]).json()
    assert viewer["username"] == "vera"
    assert viewer["roles"] == ["Viewer"]
    assert viewer["permissions"] == {
        "tasks": ["read"],
        "scripts": ["read"],
        "presets": ["read"],
        "monitor": ["read"],
        "alerts": ["read"],
        "reports": ["read"],
        "pipelines": ["read"],
        "approvals": ["read"],
        "feedback": [],
        "insights": [],
    }
    assert viewer["may_manage_access"] is False
    assert viewer["dags"]["script__disk_usage"] == {"read": True, "run": False, "logs": True}
    user = platform.request("GET", "/ylai/api/v1/me?dag_id=script__disk_usage", token=tokens["user"]).json()
    assert user["permissions"]["tasks"] == ["read", "create", "edit", "delete"]
    assert user["permissions"]["scripts"] == ["read"]
    assert user["permissions"]["pipelines"] == ["read", "create", "edit"]
    assert user["dags"]["script__disk_usage"]["run"] is True
    admin = platform.request("GET", "/ylai/api/v1/me", token=tokens["admin"]).json()
    assert admin["permissions"]["scripts"] == ["read", "create", "edit", "delete"]
    assert admin["permissions"]["pipelines"] == ["read", "create", "edit", "delete"]
    assert admin["permissions"]["feedback"] == admin["permissions"]["insights"] == ["read", "create", "edit", "delete"]
