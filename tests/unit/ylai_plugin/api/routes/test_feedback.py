"""``/feedback``: anyone signed in gives feedback; only Admins (``ylai Feedback``) list and handle it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from tests.unit.ylai_plugin.api.routes.test_pipelines import Grants
from ylai_plugin.api.app import create_app

ADMIN = headers("admin", "root")
VIEWER = headers("viewer", "vera")
OP = headers("op", "otto")
BODY = {"rating": 4, "comment": "The run form is great", "page": "run", "app_version": "0.9.0"}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(autouse=True)
def grants(monkeypatch: pytest.MonkeyPatch) -> Grants:
    """ylai's FAB grants: only Admin has ``ylai Feedback``."""
    from ylai_plugin.domain import access

    applied = Grants(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: applied)
    return applied


def audit_entries(action: str) -> list[tuple[str | None, dict[str, Any]]]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.event == action).order_by(Log.id))
        return [(r.owner, json.loads(r.extra or "{}")) for r in rows]


def test_feedback_round_trip(client: TestClient) -> None:
    given = client.post("/api/v1/feedback", json={**BODY, "last_error": "HTTP 503 from /monitor"}, headers=VIEWER)
    assert given.status_code == 201, given.text
    stored = given.json()
    assert stored["user"] == "vera"
    assert (stored["rating"], stored["page"], stored["handled"]) == (4, "run", False)
    assert stored["last_error"] == "HTTP 503 from /monitor"

    listed = client.get("/api/v1/feedback", params={"handled": "false", "page": "run"}, headers=ADMIN).json()
    assert stored["id"] in [f["id"] for f in listed["items"]]
    assert {"items", "total", "limit", "offset"} <= listed.keys()

    patched = client.patch(
        f"/api/v1/feedback/{stored['id']}", json={"handled": True, "reply_note": "fixed in 0.9.1"}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["handled"] is True
    assert patched.json()["handled_by"] == "root"
    assert patched.json()["reply_note"] == "fixed in 0.9.1"
    handled = client.get("/api/v1/feedback", params={"handled": "true"}, headers=ADMIN).json()
    assert stored["id"] in [f["id"] for f in handled["items"]]
    unhandled = client.get("/api/v1/feedback", params={"handled": "false"}, headers=ADMIN).json()
    assert stored["id"] not in [f["id"] for f in unhandled["items"]]

    created = [e for owner, e in audit_entries("ylai.feedback.create") if e["object"] == f"feedback:{stored['id']}"]
    assert created
    assert "great" not in created[0]["summary"]  # the comment stays out of the audit log
    updated = [e for owner, e in audit_entries("ylai.feedback.update") if e["object"] == f"feedback:{stored['id']}"]
    assert updated[0]["changed"] == ["handled", "reply_note"]


def test_filters_by_rating_and_sorts(client: TestClient) -> None:
    for rating in (1, 5):
        assert client.post("/api/v1/feedback", json={**BODY, "rating": rating}, headers=OP).status_code == 201
    low = client.get("/api/v1/feedback", params={"rating": 1}, headers=ADMIN).json()
    assert low["items"]
    assert {f["rating"] for f in low["items"]} == {1}
    best = client.get("/api/v1/feedback", params={"order_by": "-rating", "limit": 1}, headers=ADMIN).json()
    assert best["items"][0]["rating"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "rating": 0},
        {**BODY, "rating": 6},
        {**BODY, "comment": "x" * 2001},
        {**BODY, "last_error": "e" * 501},
        {**BODY, "email": "someone@example.com"},
        {key: value for key, value in BODY.items() if key != "page"},
    ],
)
def test_bad_feedback_is_422_with_the_field(client: TestClient, body: dict[str, Any]) -> None:
    resp = client.post("/api/v1/feedback", json=body, headers=VIEWER)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"].startswith("body")


@pytest.mark.parametrize("who", [VIEWER, OP, headers("user", "uma")])
def test_only_admins_read_and_handle_feedback(client: TestClient, who: dict[str, Any]) -> None:
    stored = client.post("/api/v1/feedback", json=BODY, headers=who).json()
    listed = client.get("/api/v1/feedback", headers=who)
    assert listed.status_code == 403
    assert listed.json()["error"]["message"] == "You may not read ylai Feedback"
    assert client.patch(f"/api/v1/feedback/{stored['id']}", json={"handled": True}, headers=who).status_code == 403


def test_unknown_feedback_is_404(client: TestClient) -> None:
    assert client.patch("/api/v1/feedback/999999", json={"handled": True}, headers=ADMIN).status_code == 404


def test_new_feedback_is_forwarded_to_slack(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.alerts import channels, feedback_notices

    sent: list[tuple[str, str, Any]] = []
    monkeypatch.setenv("AIRFLOW__YLAI__FEEDBACK_SLACK_CHANNEL", "#ylai-feedback")
    monkeypatch.setattr(channels, "send_slack", lambda target, conn, message: sent.append(("slack", target, message)))
    threads: list[Any] = []
    real = feedback_notices.forward_in_background
    monkeypatch.setattr(feedback_notices, "forward_in_background", lambda f: threads.append(real(f)))
    assert client.post("/api/v1/feedback", json={**BODY, "rating": 2}, headers=OP).status_code == 201
    for thread in threads:
        thread.join(10)
    assert [(kind, target) for kind, target, _ in sent] == [("slack", "#ylai-feedback")]
    message = sent[0][2]
    assert "★★☆☆☆" in message.title
    assert "otto" in message.title
    assert "The run form is great" in message.text


def test_feedback_exports_through_the_exporters(client: TestClient) -> None:
    body = {**BODY, "comment": "exported comment", "rating": 3}
    assert client.post("/api/v1/feedback", json=body, headers=headers("user", "exporter_ed")).status_code == 201
    csv = client.get("/api/v1/exports/feedback", params={"format": "csv", "user": "exporter_ed"}, headers=ADMIN)
    assert csv.status_code == 200, csv.text
    lines = csv.text.strip().splitlines()
    assert len(lines) == 2
    assert "exported comment" in lines[1]
    assert "exporter_ed" in lines[1]
    summary = client.get("/api/v1/exports/feedback/summary", params={"state": "open"}, headers=ADMIN)
    assert summary.status_code == 200, summary.text
    bad = client.get("/api/v1/exports/feedback", params={"state": "firing"}, headers=ADMIN)
    assert bad.status_code == 422
    # "ylai Feedback" is needed on top of "ylai Reports": an Op may export runs, not feedback.
    denied = client.get("/api/v1/exports/feedback", params={"format": "csv"}, headers=OP)
    assert denied.status_code == 403
