from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

ALICE = headers("op", "alice")
BOB = headers("op", "bob")
CAROL = headers("user", "carol")
ADMIN = headers("admin", "root")


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app()) as c:
        yield c


def test_private_preset_is_visible_to_its_owner_only(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/presets",
        json={"name": "tiny", "dag_id": "script__data_generator", "params": {"rows": 5, "api_token": "t0k3n"}},
        headers=ALICE,
    )
    assert resp.status_code == 201, resp.text
    preset = resp.json()
    assert preset["visibility"] == "private"
    assert preset["owner"] == "alice"
    assert preset["params"] == {"rows": 5, "api_token": "***"}
    assert preset["editable"] is True

    assert client.get(f"/api/v1/presets/{preset['id']}", headers=BOB).status_code == 404
    assert preset["id"] not in [p["id"] for p in client.get("/api/v1/presets", headers=BOB).json()["items"]]
    assert client.delete(f"/api/v1/presets/{preset['id']}", headers=BOB).status_code == 404


def test_shared_preset_is_readable_by_the_role_but_only_the_owner_edits(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/presets",
        json={"name": "team default", "dag_id": "script__csv_profiler", "params": {"delimiter": ";"},
              "shared_with_role": "op"},
        headers=ALICE,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    preset_id = resp.json()["id"]
    seen = client.get(f"/api/v1/presets/{preset_id}", headers=BOB)
    assert seen.status_code == 200
    assert seen.json()["editable"] is False
    assert client.get(f"/api/v1/presets/{preset_id}", headers=CAROL).status_code == 404  # other role

    denied = client.patch(f"/api/v1/presets/{preset_id}", json={"description": "x"}, headers=BOB)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    ok = client.patch(f"/api/v1/presets/{preset_id}", json={"description": "by admin"}, headers=ADMIN)
    assert ok.status_code == 404  # admin is not in role "op": the preset is not shared with them
    mine = client.patch(f"/api/v1/presets/{preset_id}", json={"params": {"delimiter": "|"}}, headers=ALICE)
    assert mine.status_code == 200
    assert mine.json()["params"] == {"delimiter": "|"}


def test_partial_params_are_validated_and_unknown_ones_refused(client: TestClient) -> None:
    ok = client.post(
        "/api/v1/presets",
        json={"name": "only delimiter", "dag_id": "script__csv_profiler", "params": {"delimiter": "\t"}},
        headers=CAROL,
    )
    assert ok.status_code == 201, ok.text  # the required 'path' is left to the run
    bad = client.post(
        "/api/v1/presets",
        json={"name": "bad", "dag_id": "script__csv_profiler", "params": {"delimiter": "x"}},
        headers=CAROL,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "params.delimiter"
    unknown = client.post(
        "/api/v1/presets", json={"name": "bad", "dag_id": "script__csv_profiler", "params": {"x": 1}}, headers=CAROL
    )
    assert unknown.status_code == 422


def test_duplicate_name_per_owner_and_dag_is_409_and_share_needs_own_role(client: TestClient) -> None:
    body = {"name": "dup", "dag_id": "script__disk_usage", "params": {"top": 2}}
    assert client.post("/api/v1/presets", json=body, headers=CAROL).status_code == 201
    assert client.post("/api/v1/presets", json=body, headers=CAROL).status_code == 409
    assert client.post("/api/v1/presets", json=body, headers=BOB).status_code == 201  # another owner
    shared = client.post("/api/v1/presets", json={**body, "name": "x", "shared_with_role": "op"}, headers=CAROL)
    assert shared.status_code == 422
    assert shared.json()["error"]["details"][0]["field"] == "body.shared_with_role"


def test_list_filters(client: TestClient) -> None:
    client.post("/api/v1/presets", json={"name": "f1", "dag_id": "script__http_check", "params": {}}, headers=CAROL)
    page = client.get("/api/v1/presets", params={"dag_id": "script__http_check"}, headers=CAROL).json()
    assert [p["name"] for p in page["items"]] == ["f1"]
    assert page["total"] == 1
    private = client.get("/api/v1/presets", params={"visibility": "shared"}, headers=CAROL).json()
    assert private["total"] == 0


def test_presets_spell_out_their_dag_so_no_client_slices_ids(client: TestClient) -> None:
    made = client.post(
        "/api/v1/presets",
        json={"name": "kind and name", "dag_id": "pipeline__generate_and_profile", "params": {"rows": 3}},
        headers=ALICE,
    )
    assert made.status_code == 201, made.text
    preset = made.json()
    assert (preset["dag_kind"], preset["dag_name"], preset["name"]) == (
        "pipeline",
        "generate_and_profile",
        "kind and name",
    )
    other = client.post(
        "/api/v1/presets", json={"name": "plain dag", "dag_id": "ylai_example_hello", "params": {}}, headers=ALICE
    ).json()
    assert (other["dag_kind"], other["dag_name"]) == (None, None)
    got = client.get(f"/api/v1/presets/{preset['id']}", headers=ALICE).json()
    assert (got["dag_kind"], got["dag_name"]) == ("pipeline", "generate_and_profile")
    listed = client.get("/api/v1/presets", params={"q": "kind and name"}, headers=ALICE).json()["items"]
    assert [(p["dag_kind"], p["dag_name"]) for p in listed] == [("pipeline", "generate_and_profile")]
