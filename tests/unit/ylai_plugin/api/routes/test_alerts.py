"""/alerts API: rules CRUD, validation (422 with field paths), silences, history, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin.api.app import create_app

OP = headers("op", "olga")
VIEWER = headers("viewer", "vic")

RULE = {
    "name": "nightly pipelines failing",
    "severity": "critical",
    "scope": {"tags": ["nightly"]},
    "condition": {"type": "run_failed"},
    "channels": [{"type": "slack", "target": "#data-alerts"}],
}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_rule_crud_happy_path(client: TestClient) -> None:
    created = client.post("/api/v1/alerts/rules", json=RULE, headers=OP)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["source"] == "api"
    assert rule["created_by"] == "olga"
    assert rule["channels"] == [{"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}]
    assert rule["firing"] == 0

    listed = client.get("/api/v1/alerts/rules", params={"condition_type": "run_failed", "q": "nightly"}, headers=OP)
    assert listed.status_code == 200
    assert rule["id"] in [r["id"] for r in listed.json()["items"]]

    slow = dict(RULE, name="nightly slow", condition={"type": "duration", "p95_factor": 2})
    replaced = client.put(f"/api/v1/alerts/rules/{rule['id']}", json=slow, headers=OP)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["condition"]["p95_factor"] == 2

    patched = client.patch(f"/api/v1/alerts/rules/{rule['id']}", json={"enabled": False}, headers=OP)
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["name"] == "nightly slow"

    assert client.get(f"/api/v1/alerts/rules/{rule['id']}", headers=VIEWER).status_code == 200
    assert client.delete(f"/api/v1/alerts/rules/{rule['id']}", headers=OP).status_code == 204
    assert client.get(f"/api/v1/alerts/rules/{rule['id']}", headers=OP).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RULE, "severity": "loud"}, "body.severity"),
        ({**RULE, "channels": []}, "body.channels"),
        ({**RULE, "channels": [{"type": "email", "target": "not-an-address"}]}, "body.channels.0"),
        ({**RULE, "channels": [{"type": "pager", "target": "x"}]}, "body.channels.0.type"),
        ({**RULE, "condition": {"type": "duration"}}, "body.condition.duration"),
        ({**RULE, "condition": {"type": "failure_rate", "threshold_percent": 150}}, "body.condition.failure_rate"),
        ({**RULE, "condition": {"type": "deadline", "time": "25:00"}}, "body.condition.deadline.time"),
        ({**RULE, "condition": {"type": "sometimes"}}, "body.condition"),
        ({**RULE, "rate_limit": {"max_alerts": 0, "per_minutes": 60}}, "body.rate_limit.max_alerts"),
        ({**RULE, "surprise": 1}, "body.surprise"),
    ],
)  # fmt: skip
def test_bad_rules_are_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    resp = client.post("/api/v1/alerts/rules", json=body, headers=OP)
    assert resp.status_code == 422, resp.text
    fields = [d["field"] for d in resp.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


def test_patch_validates_the_merged_rule_and_duplicate_names_conflict(client: TestClient) -> None:
    rule = client.post("/api/v1/alerts/rules", json=dict(RULE, name="patch me"), headers=OP).json()
    bad = client.patch(f"/api/v1/alerts/rules/{rule['id']}", json={"condition": {"type": "queue_wait"}}, headers=OP)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"].startswith("body.condition")
    client.post("/api/v1/alerts/rules", json=dict(RULE, name="taken"), headers=OP)
    dup = client.patch(f"/api/v1/alerts/rules/{rule['id']}", json={"name": "taken"}, headers=OP)
    assert dup.status_code == 409


def test_anonymous_is_401_and_viewers_read(client: TestClient) -> None:
    # Viewer 403 on writes needs FAB's roles (SimpleAuthManager lets any role use custom views):
    # tests/integration/test_alerts_platform.py checks it on a real platform.
    assert client.get("/api/v1/alerts/rules").status_code == 401
    assert client.post("/api/v1/alerts/rules", json=RULE).status_code == 401
    assert client.get("/api/v1/alerts/events").status_code == 401
    assert client.get("/api/v1/alerts/rules", headers=VIEWER).status_code == 200
    assert client.get("/api/v1/alerts/events", headers=VIEWER).status_code == 200


def test_silences_create_list_and_delete(client: TestClient) -> None:
    rule = client.post("/api/v1/alerts/rules", json=dict(RULE, name="to silence"), headers=OP).json()
    ends = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    created = client.post(
        "/api/v1/alerts/silences", json={"rule_id": rule["id"], "ends_at": ends, "comment": "deploy"}, headers=OP
    )
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["active"] is True
    active = client.get("/api/v1/alerts/silences", params={"active": "true"}, headers=OP).json()["items"]
    assert silence["id"] in [s["id"] for s in active]
    past = client.post(
        "/api/v1/alerts/silences", json={"rule_id": rule["id"], "ends_at": "2020-01-01T00:00:00Z"}, headers=OP
    )
    assert past.status_code == 422
    assert past.json()["error"]["details"][0]["field"] == "body.ends_at"
    nothing = client.post("/api/v1/alerts/silences", json={"ends_at": ends}, headers=OP)
    assert nothing.status_code == 422
    assert nothing.json()["error"]["details"][0]["field"] == "body.rule_id"
    assert client.delete(f"/api/v1/alerts/silences/{silence['id']}", headers=OP).status_code == 204
    assert client.get(f"/api/v1/alerts/silences/{silence['id']}", headers=OP).status_code == 404


def test_events_filters_validate(client: TestClient) -> None:
    resp = client.get("/api/v1/alerts/events", params={"state": "exploded"}, headers=OP)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "query.state"
    naive = client.get("/api/v1/alerts/events", params={"since": "2026-01-01T00:00:00"}, headers=OP)
    assert naive.status_code == 422
    assert client.get("/api/v1/alerts/events/999999", headers=OP).status_code == 404


def test_nul_characters_are_invalid_input(client: TestClient) -> None:
    bad = client.post("/api/v1/alerts/rules", json={**RULE, "name": "a\x00b"}, headers=OP)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "body.name"
    scoped = client.post("/api/v1/alerts/rules", json={**RULE, "scope": {"tags": ["x\x00"]}}, headers=OP)
    assert scoped.status_code == 422
    assert scoped.json()["error"]["details"][0]["field"].startswith("body.scope.tags")
    query = client.get("/api/v1/alerts/events", params={"dag_id": "a\x00"}, headers=OP)
    assert query.status_code == 422


def test_out_of_range_dates_are_invalid_input(client: TestClient) -> None:
    rule = client.post("/api/v1/alerts/rules", json=dict(RULE, name="dates"), headers=OP).json()
    ancient = client.post(
        "/api/v1/alerts/silences",
        json={"rule_id": rule["id"], "starts_at": "0001-01-01T00:00:00+01:00", "ends_at": "2999-01-01T00:00:00Z"},
        headers=OP,
    )
    assert ancient.status_code == 422
    assert ancient.json()["error"]["details"][0]["field"] == "body.starts_at"
    far = client.get("/api/v1/alerts/events", params={"until": "9999-12-31T23:00:00-05:00"}, headers=OP)
    assert far.status_code == 422
    assert far.json()["error"]["details"][0]["field"] == "query.until"


def test_the_openapi_document_carries_the_condition_registry(client: TestClient) -> None:
    """The UI builds its condition choices and forms from these: the enum, one params schema per type, label keys."""
    from ylai_plugin.alerts.conditions import REGISTRY

    schemas = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    enum = schemas["AlertConditionType"]
    assert enum["enum"] == list(REGISTRY)
    assert enum["x-enum-descriptions"] == [c.title for c in REGISTRY.values()]
    union = schemas["RuleBody"]["properties"]["condition"]
    mapping = union["discriminator"]["mapping"]
    assert list(mapping) == sorted(REGISTRY)
    for name, condition in REGISTRY.items():
        params = schemas[mapping[name].rsplit("/", 1)[-1]]
        assert params["title"] == condition.title
        assert params["description"]
        assert params["properties"]["type"]["const"] == name
        assert params["x-ylai-labels"] == {
            "label": f"alerts.cond.{name}",
            "help": f"alerts.condHelp.{name}",
            "summary": f"alerts.desc.{name}",
        }
        for field, prop in params["properties"].items():
            assert field == "type" or prop.get("description"), f"{name}.{field} has no description"
    listed = client.get("/api/v1/alerts/rules", params={"condition_type": "deadline"}, headers=OP)
    assert listed.status_code == 200
    unknown = client.get("/api/v1/alerts/rules", params={"condition_type": "cpu_hot"}, headers=OP)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "query.condition_type"


def test_every_registered_example_makes_a_rule(client: TestClient) -> None:
    from ylai_plugin.alerts.conditions import REGISTRY

    for name, condition in REGISTRY.items():
        example = condition.params.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
        body = dict(RULE, name=f"example {name}", condition=example)
        created = client.post("/api/v1/alerts/rules", json=body, headers=OP)
        assert created.status_code == 201, created.text
        assert created.json()["condition"]["type"] == name
        assert client.delete(f"/api/v1/alerts/rules/{created.json()['id']}", headers=OP).status_code == 204
