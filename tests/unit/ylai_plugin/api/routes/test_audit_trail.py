"""The audit trail: every write operation of the OpenAPI document leaves exactly one entry in Airflow's log.

The walk reads the write operations (POST, PUT, PATCH, DELETE) from the OpenAPI document and
performs each with a valid request from :data:`EXAMPLES`, keyed by operationId. A write
operation without an example fails :func:`test_every_write_operation_has_an_example`: a new
route must say here how to call it, and then it is checked like the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, parse_and_sync_dags, sync_repo_dags
from tests.unit.ylai_plugin.api.routes.test_access import fab  # noqa: F401 - the put_access example uses it
from tests.unit.ylai_plugin.api.routes.test_approvals import waiting_run
from ylai_plugin import permissions
from ylai_plugin.api.app import create_app
from ylai_plugin.cli import openapi_document

ADMIN = headers("admin", "root")
WRITES = ("post", "put", "patch", "delete")
RULE = {
    "name": "audited rule",
    "severity": "warning",
    "scope": {"tags": ["nightly"]},
    "condition": {"type": "run_failed"},
    "channels": [{"type": "slack", "target": "#data-alerts"}],
}
SCRIPT = {"name": "audited_echo", "runtime": "bash", "content": "echo hi", "manifest": {"title": "Echo"}}
#: POSTs that change nothing: no entry, and the walk checks that none appears.
READ_ONLY = {
    "validate_pipeline": "checks a pipeline spec and stores nothing",
    # The usage beacon is telemetry, not a change: page views and clicks go to ylai's usage
    # tables (bounded, expiring); an entry per batch would flood Airflow's log table.
    "record_usage_events": "usage telemetry (page views, clicks), exempt from the audit trail",
}
FEEDBACK = {"rating": 4, "comment": "audited feedback", "page": "run", "app_version": "0.9.0"}


@cache
def write_operations() -> tuple[tuple[str, str, str], ...]:
    """(operationId, method, path) of every write operation in ylai's OpenAPI document."""
    spec = json.loads(openapi_document())
    return tuple(
        (op["operationId"], method, path)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in WRITES
    )


@dataclass
class Call:
    """One request and the action its entry must carry (``None``: a read-only POST)."""

    url: str
    action: str | None
    body: dict[str, Any] | None = None
    dag_id: str | None = None
    run_id: bool = False  # the entry names the run the request started
    kind: str | None = None  # the object's kind, when it is not the action's (``ylai.<kind>.<verb>``)
    extra: dict[str, Any] = field(default_factory=dict)


def _made(resp: Any) -> Any:
    assert resp.status_code in (200, 201, 202), resp.text
    return resp.json()


def _pipeline_spec(name: str, top: int = 3) -> dict[str, Any]:
    return {
        "name": name,
        "title": "Audited",
        "owner": "audit",
        "params": {"top": {"type": "integer", "default": top, "minimum": 1}},
        "nodes": {"usage": {"script": "disk_usage", "params": {"path": "/tmp", "top": {"param": "top"}}}},
    }


def _task(c: TestClient, name: str) -> dict[str, Any]:
    body = {"name": name, "script": "disk_usage", "params": {"top": 2}}
    return dict(_made(c.post("/api/v1/tasks", json=body)))


def _preset(c: TestClient, name: str) -> dict[str, Any]:
    body = {"name": name, "dag_id": "script__disk_usage", "params": {"top": 2}}
    return dict(_made(c.post("/api/v1/presets", json=body)))


def _pipeline(c: TestClient, name: str) -> str:
    _made(c.post("/api/v1/pipelines", json={"spec": _pipeline_spec(name)}))
    return name


def _rule(c: TestClient, name: str) -> int:
    return int(_made(c.post("/api/v1/alerts/rules", json={**RULE, "name": name}))["id"])


def _ends() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def _silence(c: TestClient) -> int:
    body = {"rule_id": _rule(c, "silenced rule"), "ends_at": _ends(), "comment": "maintenance"}
    return int(_made(c.post("/api/v1/alerts/silences", json=body))["id"])


def _db_script(c: TestClient, versions: int = 1) -> str:
    """The database script the script examples write to, with at least ``versions`` versions."""
    found = c.get(f"/api/v1/scripts/{SCRIPT['name']}")
    if found.status_code == 404:
        _made(c.post("/api/v1/scripts", json=SCRIPT))
        parse_and_sync_dags()  # DAG-level permissions need the script's DAG
        have = 1
    else:
        have = int(_made(found)["version"])
    for n in range(have, versions):
        _made(c.post(f"/api/v1/scripts/{SCRIPT['name']}/versions", json={**SCRIPT, "content": f"echo {n + 1}"}))
    return str(SCRIPT["name"])


def _fab(request: pytest.FixtureRequest) -> str:
    """FAB's roles stand-in of test_access (the unit tests run SimpleAuthManager); the role to change."""
    request.getfixturevalue("fab")
    return "Viewer"


#: How to call each write operation: a function that prepares what the call needs (through the API)
#: and returns the call. A new write route adds its line here.
EXAMPLES: dict[str, Callable[[TestClient, pytest.FixtureRequest], Call]] = {
    "create_task": lambda c, rq: Call(
        "/api/v1/tasks",
        "ylai.task.create",
        {"name": "audited create", "script": "disk_usage", "params": {"top": 2}},
        dag_id="script__disk_usage",
    ),
    "update_task": lambda c, rq: Call(
        f"/api/v1/tasks/{_task(c, 'audited update')['id']}",
        "ylai.task.update",
        {"description": "weekly", "params": {"top": 4}},
        dag_id="script__disk_usage",
        extra={"changed": ["description", "params"]},
    ),
    "delete_task": lambda c, rq: Call(f"/api/v1/tasks/{_task(c, 'audited delete')['id']}", "ylai.task.delete"),
    "run_task": lambda c, rq: Call(
        f"/api/v1/tasks/{_task(c, 'audited run')['id']}/run",
        "ylai.task.run",
        {"params": {"top": 1}},
        dag_id="script__disk_usage",
        run_id=True,
    ),
    "create_preset": lambda c, rq: Call(
        "/api/v1/presets",
        "ylai.preset.create",
        {"name": "audited preset", "dag_id": "script__disk_usage", "params": {"top": 2}},
        dag_id="script__disk_usage",
    ),
    "update_preset": lambda c, rq: Call(
        f"/api/v1/presets/{_preset(c, 'audited preset update')['id']}",
        "ylai.preset.update",
        {"name": "audited preset renamed"},
        extra={"changed": ["name"]},
    ),
    "delete_preset": lambda c, rq: Call(
        f"/api/v1/presets/{_preset(c, 'audited preset delete')['id']}", "ylai.preset.delete"
    ),
    "create_script": lambda c, rq: Call("/api/v1/scripts", "ylai.script.create", SCRIPT, dag_id="script__audited_echo"),
    "add_script_version": lambda c, rq: Call(
        f"/api/v1/scripts/{_db_script(c)}/versions",
        "ylai.script.version",
        {"content": "echo v2", "manifest": SCRIPT["manifest"], "comment": "second"},
        dag_id="script__audited_echo",
    ),
    "restore_script_version": lambda c, rq: Call(
        f"/api/v1/scripts/{_db_script(c, versions=2)}/versions/1/restore",
        "ylai.script.restore",
        {"comment": "back to the first"},
        dag_id="script__audited_echo",
    ),
    "run_script": lambda c, rq: Call(
        "/api/v1/scripts/disk_usage/run",
        "ylai.script.run",
        {"params": {"top": 1}},
        dag_id="script__disk_usage",
        run_id=True,
    ),
    "create_pipeline": lambda c, rq: Call(
        "/api/v1/pipelines", "ylai.pipeline.create", {"spec": _pipeline_spec("audited_new")}, "pipeline__audited_new"
    ),
    "validate_pipeline": lambda c, rq: Call("/api/v1/pipelines/validate", None, {"spec": _pipeline_spec("checked")}),
    "add_pipeline_version": lambda c, rq: Call(
        f"/api/v1/pipelines/{_pipeline(c, 'audited_versioned')}/versions",
        "ylai.pipeline.version",
        {"spec": _pipeline_spec("audited_versioned", top=4)},
    ),
    "restore_pipeline_version": lambda c, rq: Call(
        f"/api/v1/pipelines/{_pipeline(c, 'audited_restored')}/versions/1/restore", "ylai.pipeline.restore", {}
    ),
    "delete_pipeline": lambda c, rq: Call(
        f"/api/v1/pipelines/{_pipeline(c, 'audited_deleted')}", "ylai.pipeline.delete"
    ),
    "run_pipeline": lambda c, rq: Call(
        "/api/v1/pipelines/generate_and_profile/run",
        "ylai.pipeline.run",
        {"params": {"rows": 3}},
        dag_id="pipeline__generate_and_profile",
        run_id=True,
    ),
    "create_rule": lambda c, rq: Call(
        "/api/v1/alerts/rules", "ylai.alert_rule.create", {**RULE, "name": "audited new"}
    ),
    "replace_rule": lambda c, rq: Call(
        f"/api/v1/alerts/rules/{_rule(c, 'audited replace')}",
        "ylai.alert_rule.replace",
        {**RULE, "name": "audited replaced", "severity": "critical"},
    ),
    "update_rule": lambda c, rq: Call(
        f"/api/v1/alerts/rules/{_rule(c, 'audited patch')}",
        "ylai.alert_rule.update",
        {"enabled": False},
        extra={"changed": ["enabled"]},
    ),
    "delete_rule": lambda c, rq: Call(f"/api/v1/alerts/rules/{_rule(c, 'audited delete')}", "ylai.alert_rule.delete"),
    "create_silence": lambda c, rq: Call(
        "/api/v1/alerts/silences",
        "ylai.silence.create",
        {"rule_id": _rule(c, "audited silence"), "ends_at": _ends(), "comment": "deploy"},
    ),
    "delete_silence": lambda c, rq: Call(f"/api/v1/alerts/silences/{_silence(c)}", "ylai.silence.delete"),
    "put_access": lambda c, rq: Call(
        f"/api/v1/access/{_fab(rq)}",
        "ylai.access.update",
        {"permissions": {permissions.RESOURCE_TASKS: ["can_read", "can_create"]}},
        kind="role",
    ),
    "approve": lambda c, rq: Call(
        f"/api/v1/approvals/{waiting_run()[0]}/approve", "ylai.approval.approve", {"comment": "change ticket 7"}
    ),
    "reject": lambda c, rq: Call(
        f"/api/v1/approvals/{waiting_run()[0]}/reject", "ylai.approval.reject", {"comment": "not during the freeze"}
    ),
    "create_export_job": lambda c, rq: Call(
        "/api/v1/exports/jobs", "ylai.export.create", {"kind": "audit", "format": "csv", "filters": {}}
    ),
    "create_feedback": lambda c, rq: Call("/api/v1/feedback", "ylai.feedback.create", FEEDBACK),
    "update_feedback": lambda c, rq: Call(
        f"/api/v1/feedback/{_made(c.post('/api/v1/feedback', json=FEEDBACK))['id']}",
        "ylai.feedback.update",
        {"handled": True, "reply_note": "thanks"},
        extra={"changed": ["handled", "reply_note"]},
    ),
    "record_usage_events": lambda c, rq: Call(
        "/api/v1/usage/events",
        None,
        {
            "events": [
                {"type": "page_view", "page": "run"},
                {"type": "click", "page": "run", "region": "main", "x": 0.5, "y": 0.5},
            ]
        },
    ),
}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=ADMIN) as c:
        yield c
    # Other modules parse DAGs from the same DB: leave no database scripts or pipelines behind.
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete, or_, select

    from ylai_plugin.db.alert_models import AlertRule, AlertSilence
    from ylai_plugin.db.models import DbPipeline, DbPipelineVersion, DbScript, DbScriptVersion, Preset, Task, TaskRun

    with create_session() as session:
        for model in (DbPipelineVersion, DbPipeline, DbScriptVersion, DbScript):
            session.execute(delete(model))
        mine = (Task.name.startswith("audited"),)
        session.execute(delete(TaskRun).where(TaskRun.task_id.in_(select(Task.id).where(*mine))))
        session.execute(delete(Task).where(*mine))
        session.execute(delete(Preset).where(Preset.name.startswith("audited")))
        rules = or_(AlertRule.name.startswith("audited"), AlertRule.name == "silenced rule")
        session.execute(delete(AlertSilence).where(AlertSilence.rule_id.in_(select(AlertRule.id).where(rules))))
        session.execute(delete(AlertRule).where(rules))
    Variable.delete("ylai_db_pipelines")
    Variable.delete("ylai_db_scripts")
    parse_and_sync_dags()


def _entries_after(last_id: int) -> list[Any]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.id > last_id).order_by(Log.id)).all()
        session.expunge_all()
    return list(rows)


def _last_id() -> int:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return int(session.scalar(select(func.max(Log.id))) or 0)


def test_every_write_operation_has_an_example() -> None:
    missing = sorted(op for op, _, _ in write_operations() if op not in EXAMPLES)
    assert not missing, f"write operations without an example in EXAMPLES (so unchecked for audit): {missing}"
    stale = sorted(set(EXAMPLES) - {op for op, _, _ in write_operations()})
    assert not stale, f"EXAMPLES for operations the API no longer has: {stale}"


def test_no_route_edits_or_deletes_audit_entries() -> None:
    spec = json.loads(openapi_document())
    audit_paths = {path: set(ops) for path, ops in spec["paths"].items() if "/audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}


@pytest.mark.parametrize(("operation", "method", "path"), write_operations(), ids=[o[0] for o in write_operations()])
def test_each_write_leaves_exactly_one_entry(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Any,
    operation: str,
    method: str,
    path: str,
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path / "exports"))
    example = EXAMPLES.get(operation)
    assert example is not None, f"{operation} ({method.upper()} {path}) has no example in EXAMPLES"
    call = example(client, request)
    before = _last_id()
    resp = client.request(method.upper(), call.url, json=call.body)
    assert resp.status_code < 300, f"{method.upper()} {call.url}: {resp.status_code} {resp.text}"
    entries = _entries_after(before)
    if call.action is None:
        assert entries == [], f"{operation} is read-only ({READ_ONLY[operation]}) but wrote {entries}"
        return
    assert [e.event for e in entries] == [call.action], f"{operation}: {[(e.event, e.extra) for e in entries]}"
    entry = entries[0]
    assert entry.owner == "root"
    extra = json.loads(entry.extra)
    kind = call.kind or call.action.split(".")[1]
    assert extra["object"].startswith(f"{kind}:")
    assert len(extra["object"]) > len(kind) + 1
    assert extra["summary"]
    if call.dag_id:
        assert entry.dag_id == call.dag_id
    if call.run_id:
        assert entry.run_id
        assert entry.run_id == resp.json()["run_id"]
    for key, value in call.extra.items():
        assert extra[key] == value


def test_secret_param_values_never_reach_the_log(client: TestClient) -> None:
    secret = "s3cr3t-value-for-audit"
    task = _task(client, "audited secret")
    before = _last_id()
    assert client.patch(f"/api/v1/tasks/{task['id']}", json={"params": {"top": 3, "path": secret}}).status_code == 200
    entries = _entries_after(before)
    assert [e.event for e in entries] == ["ylai.task.update"]
    assert secret not in (entries[0].extra or "")
    assert json.loads(entries[0].extra)["changed"] == ["params"]


def test_refused_writes_leave_no_entry(client: TestClient) -> None:
    before = _last_id()
    bad = {"name": "bad", "script": "disk_usage", "params": {"top": 0}}
    assert client.post("/api/v1/tasks", json=bad).status_code == 422
    assert client.post("/api/v1/tasks", json={**bad, "script": "does_not_exist"}).status_code == 404
    assert client.delete("/api/v1/tasks/999999").status_code == 404
    assert _entries_after(before) == []
