"""``GET /audit``: ylai's entries of Airflow's audit log, filtered, paged, newest first, for audit-log readers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

ADMIN = headers("admin", "audrey")
OTHER = headers("admin", "oscar")


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=ADMIN) as c:
        yield c
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import Task

    with create_session() as session:
        session.execute(delete(Task).where(Task.name.startswith("listed")))


@pytest.fixture(scope="module")
def task_id(client: TestClient) -> int:
    """A task made by audrey then edited by oscar: three entries (create, update, update)."""
    made = client.post("/api/v1/tasks", json={"name": "listed task", "script": "disk_usage", "params": {"top": 2}})
    assert made.status_code == 201, made.text
    ident = int(made.json()["id"])
    assert client.patch(f"/api/v1/tasks/{ident}", json={"description": "x"}, headers=OTHER).status_code == 200
    assert client.patch(f"/api/v1/tasks/{ident}", json={"schedule": None}, headers=OTHER).status_code == 200
    return ident


def _airflow_event() -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(Log(event="trigger_dag_run", owner="audrey", extra=json.dumps({"note": "airflow's own"})))


def test_lists_newest_first_with_object_and_summary(client: TestClient, task_id: int) -> None:
    page = client.get("/api/v1/audit", params={"object": f"task:{task_id}"}).json()
    assert page["total"] == 3
    assert [e["action"] for e in page["items"]] == ["ylai.task.update", "ylai.task.update", "ylai.task.create"]
    newest = page["items"][0]
    assert (newest["user"], newest["object_kind"], newest["object_id"]) == ("oscar", "task", str(task_id))
    assert newest["extra"]["changed"] == ["schedule"]
    assert newest["summary"] == "changed schedule of task 'listed task'"
    assert newest["dag_id"] == "script__disk_usage"
    whens = [e["when"] for e in page["items"]]
    assert whens == sorted(whens, reverse=True)


def test_filters_by_user_action_prefix_kind_and_time(client: TestClient, task_id: int) -> None:
    def actions(**params: Any) -> list[str]:
        resp = client.get("/api/v1/audit", params={"object": f"task:{task_id}", **params})
        assert resp.status_code == 200, resp.text
        return [e["action"] for e in resp.json()["items"]]

    assert actions(user="audrey") == ["ylai.task.create"]
    assert actions(action="ylai.task.upd") == ["ylai.task.update", "ylai.task.update"]
    assert actions(action="ylai.preset") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert actions(since=future) == []
    assert len(actions(until=future)) == 3
    kinds = {e["object_kind"] for e in client.get("/api/v1/audit", params={"object": "task"}).json()["items"]}
    assert kinds == {"task"}


def test_pages(client: TestClient, task_id: int) -> None:
    first = client.get("/api/v1/audit", params={"object": f"task:{task_id}", "limit": 2}).json()
    second = client.get("/api/v1/audit", params={"object": f"task:{task_id}", "limit": 2, "offset": 2}).json()
    assert (len(first["items"]), len(second["items"]), first["total"], second["total"]) == (2, 1, 3, 3)
    assert {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])


def test_airflow_events_only_on_request(client: TestClient) -> None:
    _airflow_event()
    ylai_only = client.get("/api/v1/audit", params={"user": "audrey", "limit": 500}).json()["items"]
    assert all(e["action"].startswith("ylai.") for e in ylai_only)
    everything = client.get("/api/v1/audit", params={"user": "audrey", "all_events": True}).json()["items"]
    own = [e for e in everything if e["action"] == "trigger_dag_run"]
    assert own
    assert own[0]["extra"] == {"note": "airflow's own"}
    assert own[0]["object_kind"] is None


def test_bad_input_is_422_with_the_field(client: TestClient) -> None:
    now = datetime.now(UTC)
    resp = client.get(
        "/api/v1/audit", params={"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "query.since"
    assert client.get("/api/v1/audit", params={"limit": 0}).status_code == 422


def test_readers_need_airflows_audit_log_permission(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()

    class NoAuditLog:
        def is_authorized_dag(self, *, method: str, access_entity: Any = None, details: Any = None, user: Any) -> bool:
            return access_entity is None and bool(real.is_authorized_dag(method=method, details=details, user=user))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(access, "auth_manager", lambda: NoAuditLog())
    resp = client.get("/api/v1/audit")
    assert resp.status_code == 403
    assert "audit log" in resp.json()["error"]["message"]


def test_entries_about_dags_the_reader_cannot_see_are_hidden(
    client: TestClient, task_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import access

    monkeypatch.setattr(access, "readable_dag_ids", lambda user: {"script__http_check"})
    assert client.get("/api/v1/audit", params={"object": f"task:{task_id}"}).json()["total"] == 0


def test_the_export_takes_the_pages_filters(client: TestClient, task_id: int) -> None:
    import csv
    import io

    resp = client.get(
        "/api/v1/exports/audit", params={"format": "csv", "action": "ylai.task.", "object": f"task:{task_id}"}
    )
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert sorted(r[1] for r in rows[1:]) == ["ylai.task.create", "ylai.task.update", "ylai.task.update"]
    updates = client.get("/api/v1/exports/audit", params={"action": "ylai.task.update", "object": f"task:{task_id}"})
    assert len(list(csv.reader(io.StringIO(updates.content.decode("utf-8-sig"))))) == 1 + 2
    downloads = client.get("/api/v1/audit", params={"action": "ylai.export.download", "user": "audrey"}).json()
    assert downloads["total"] == 2  # each direct download is one entry
    assert downloads["items"][0]["summary"] == "downloaded the audit export as csv"
    assert downloads["items"][0]["extra"]["filters"] == ["action", "object"]
    wrong = client.get("/api/v1/exports/runs", params={"action": "ylai."})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "query.action"
