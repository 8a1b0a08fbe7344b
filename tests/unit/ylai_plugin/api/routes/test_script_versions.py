"""Script versions (issue 19): list, read, restore, and which version a run ran."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

ADMIN = headers("admin", "root")
VIEWER = headers("viewer", "vera")
V1 = "echo one\n"
V2 = "echo two\necho more\n"
MANIFEST: dict[str, Any] = {"title": "Versioned", "params": {"n": {"type": "integer", "default": 1}}}


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=ADMIN) as c:
        body = {"name": "versioned", "runtime": "bash", "content": V1, "manifest": MANIFEST, "comment": "first"}
        assert c.post("/api/v1/scripts", json=body).status_code == 201
        v2 = {"content": V2, "manifest": {**MANIFEST, "title": "Versioned v2"}, "comment": "second"}
        assert c.post("/api/v1/scripts/versioned/versions", json=v2).status_code == 201
        yield c
    # Other modules parse DAGs from the same DB: leave no database scripts behind.
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import DbScript, DbScriptVersion

    with create_session() as session:
        session.execute(delete(DbScriptVersion))
        session.execute(delete(DbScript))
    Variable.delete("ylai_db_scripts")


def restore_events() -> list[dict[str, Any]]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.event == "ylai.script.restore").order_by(Log.id)).all()
        return [{"owner": r.owner, **json.loads(r.extra or "{}")} for r in rows]


def test_the_list_is_newest_first_with_digest_size_and_author(client: TestClient) -> None:
    page = client.get("/api/v1/scripts/versioned/versions").json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    first, second = page["items"][1], page["items"][0]
    assert (second["version"], second["comment"], second["current"]) == (2, "second", True)
    assert second["created_by"] == "root"
    assert (first["version"], first["comment"], first["current"]) == (1, "first", False)
    assert (first["digest"], first["size_bytes"]) == (digest(V1), len(V1))
    assert second["digest"] == digest(V2)
    assert first["created_at"] <= second["created_at"]
    paged = client.get("/api/v1/scripts/versioned/versions", params={"limit": 1, "offset": 1}).json()
    assert ([v["version"] for v in paged["items"]], paged["total"]) == ([1], 2)
    assert client.get("/api/v1/scripts/versioned/versions", params={"limit": 0}).status_code == 422


def test_a_version_has_its_content_and_manifest(client: TestClient) -> None:
    v1 = client.get("/api/v1/scripts/versioned/versions/1").json()
    assert (v1["content"], v1["manifest"], v1["runtime"], v1["version"]) == (V1, MANIFEST, "bash", 1)
    v2 = client.get("/api/v1/scripts/versioned/versions/2").json()
    assert (v2["content"], v2["manifest"]["title"], v2["current"]) == (V2, "Versioned v2", True)


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("get", "/api/v1/scripts/nope/versions", "Database script 'nope' not found"),
        ("get", "/api/v1/scripts/nope/versions/1", "Database script 'nope' not found"),
        ("post", "/api/v1/scripts/nope/versions/1/restore", "Database script 'nope' not found"),
        ("get", "/api/v1/scripts/versioned/versions/9", "Script version 'versioned v9' not found"),
        ("post", "/api/v1/scripts/versioned/versions/9/restore", "Script version 'versioned v9' not found"),
    ],
)
def test_unknown_scripts_and_versions_are_a_404_saying_which(
    client: TestClient, method: str, path: str, message: str
) -> None:
    resp = getattr(client, method)(path, **({"json": {}} if method == "post" else {}))
    assert resp.status_code == 404, resp.text
    assert resp.json()["error"]["message"] == message


def test_a_repository_script_has_no_stored_versions_409_says_why(client: TestClient) -> None:
    for method, path in [
        ("get", "/api/v1/scripts/disk_usage/versions"),
        ("get", "/api/v1/scripts/disk_usage/versions/1"),
        ("post", "/api/v1/scripts/disk_usage/versions/1/restore"),
    ]:
        resp = getattr(client, method)(path, **({"json": {}} if method == "post" else {}))
        assert resp.status_code == 409, (path, resp.text)
        assert "file in dags/scripts" in resp.json()["error"]["message"]
        assert "git" in resp.json()["error"]["message"]
    zh = client.get("/api/v1/scripts/disk_usage/versions", headers={**ADMIN, "Accept-Language": "zh-CN"})
    assert "代码仓库" in zh.json()["error"]["message"]


def test_restore_makes_a_new_current_version_equal_to_the_old_one_published_and_audited(client: TestClient) -> None:
    from airflow.models.variable import Variable

    resp = client.post("/api/v1/scripts/versioned/versions/1/restore", json={})
    assert resp.status_code == 201, resp.text
    assert resp.json()["current_version"] == 3
    assert resp.json()["versions"][-1]["comment"] == "Restore of version 1"
    v1 = client.get("/api/v1/scripts/versioned/versions/1").json()
    v3 = client.get("/api/v1/scripts/versioned/versions/3").json()
    assert (v3["content"], v3["manifest"], v3["digest"], v3["current"]) == (V1, MANIFEST, v1["digest"], True)
    published = json.loads(Variable.get("ylai_db_scripts"))["versioned"]
    assert (published["version"], published["content"], published["manifest"]) == (3, V1, MANIFEST)
    assert any(
        (e["owner"], e["name"], e["version"], e["restored"]) == ("root", "versioned", 3, 1) for e in restore_events()
    )
    again = client.post("/api/v1/scripts/versioned/versions/2/restore", json={"comment": "two again"})
    assert (again.json()["current_version"], again.json()["versions"][-1]["comment"]) == (4, "two again")
    assert client.get("/api/v1/scripts/versioned/versions/4").json()["content"] == V2
    too_long = client.post("/api/v1/scripts/versioned/versions/1/restore", json={"comment": "x" * 2001})
    assert too_long.status_code == 422
    assert client.post("/api/v1/scripts/versioned/versions/0/restore", json={}).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("get", "/api/v1/scripts/versioned/versions", "read"),
        ("get", "/api/v1/scripts/versioned/versions/1", "read"),
        ("post", "/api/v1/scripts/versioned/versions/1/restore", "edit"),
    ],
)
def test_each_route_needs_its_permission_on_ylai_scripts(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, verb: str
) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()
    wanted = {"edit": "PATCH", "read": "GET"}[verb]

    class Refuses:
        def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
            return not (resource_name == "ylai Scripts" and method == wanted)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(access, "auth_manager", lambda: Refuses())
    resp = getattr(client, method)(path, **({"json": {}} if method == "post" else {}))
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["message"] == f"You may not {verb} ylai Scripts"


def test_dag_level_access_hides_the_versions(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()

    class NoDag:
        def is_authorized_dag(self, *, method: str, user: Any, details: Any = None, access_entity: Any = None) -> bool:
            return False

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(access, "auth_manager", lambda: NoDag())
    assert client.get("/api/v1/scripts/versioned/versions").status_code == 404


def test_every_run_shows_the_script_version_it_ran(client: TestClient) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from ylai_operators.catalog import SCRIPT_VERSION_XCOM_KEY

    started = client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 2}})
    assert started.status_code == 201, started.text
    run_id = started.json()["run_id"]
    assert started.json()["script_version"] is None  # not started yet: nothing ran
    quoted = urllib.parse.quote(run_id, safe="")
    assert client.get(f"/api/v1/runs/script__disk_usage/{quoted}").json()["script_version"] is None
    with create_session() as session:  # what the ScriptOperator leaves before it starts the script
        XComModel.set(
            key=SCRIPT_VERSION_XCOM_KEY,
            value="sha256:0123456789ab",
            task_id="disk_usage",
            dag_id="script__disk_usage",
            run_id=run_id,
            session=session,
        )
    assert client.get(f"/api/v1/runs/script__disk_usage/{quoted}").json()["script_version"] == "sha256:0123456789ab"
    recent = {r["run_id"]: r for r in client.get("/api/v1/scripts/disk_usage").json()["recent_runs"]}
    assert recent[run_id]["script_version"] == "sha256:0123456789ab"
    assert client.get("/api/v1/scripts/disk_usage", headers=VIEWER).status_code == 200


def test_a_tasks_last_run_shows_the_script_version_it_ran(client: TestClient) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from ylai_operators.catalog import SCRIPT_VERSION_XCOM_KEY

    created = client.post("/api/v1/tasks", json={"name": "versions e2e task", "script": "disk_usage", "params": {}})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    try:
        started = client.post(f"/api/v1/tasks/{task_id}/run", json={})
        assert started.status_code == 201, started.text
        with create_session() as session:
            XComModel.set(
                key=SCRIPT_VERSION_XCOM_KEY,
                value="sha256:ba9876543210",
                task_id="disk_usage",
                dag_id="script__disk_usage",
                run_id=started.json()["run_id"],
                session=session,
            )
        last = client.get(f"/api/v1/tasks/{task_id}").json()["last_run"]
        assert (last["run_id"], last["script_version"]) == (started.json()["run_id"], "sha256:ba9876543210")
    finally:
        client.delete(f"/api/v1/tasks/{task_id}")
