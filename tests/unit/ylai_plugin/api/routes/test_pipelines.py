"""``/pipelines``: list, detail, validate, YAML export, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.conftest import REPO_ROOT
from tests.unit.api_client import headers, sync_repo_dags
from ylai_operators.catalog import PipelineSpec, load_pipelines, load_registry
from ylai_plugin.api.app import create_app

EXAMPLES = {"data_quality_fanout", "generate_and_profile"}
VIEWER = headers("viewer", "vera")
OP = headers("op", "piper")
READS = [
    ("get", "/api/v1/pipelines", None),
    ("get", "/api/v1/pipelines/generate_and_profile", None),
    ("get", "/api/v1/pipelines/generate_and_profile/yaml", None),
]
VALIDATE = ("post", "/api/v1/pipelines/validate", {"spec": {"name": "x"}})
ROUTES = [*READS, VALIDATE]


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=OP) as c:
        yield c


class Grants:
    """Applies ylai's FAB role grants (SimpleAuthManager lets every role use custom views), minus ``denied``.

    User "dora" may read no pipeline DAG but ``pipeline__generate_and_profile``.
    """

    def __init__(self, real: Any, denied: frozenset[str] = frozenset()) -> None:
        self.real = real
        self.denied = denied

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        from ylai_plugin.permissions import ROLE_GRANTS

        if resource_name in self.denied:
            return False
        action = {"GET": "can_read", "POST": "can_create", "PATCH": "can_edit", "DELETE": "can_delete"}[method]
        return action in ROLE_GRANTS[str(user.role).capitalize()].get(resource_name, ())

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        ids = set(self.real.get_authorized_dag_ids(user=user, method=method, **kw))
        return {i for i in ids if not i.startswith("pipeline__") or i == "pipeline__generate_and_profile"} if (
            user.get_name() == "dora"
        ) else ids  # fmt: skip

    def is_authorized_dag(self, *, method: str, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == "dora" and details is not None and details.id == "pipeline__data_quality_fanout":
            return False
        return bool(self.real.is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def grants(monkeypatch: pytest.MonkeyPatch) -> Grants:
    from ylai_plugin.domain import access

    applied = Grants(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: applied)
    return applied


def test_list_pipelines_with_search_and_paging(client: TestClient) -> None:
    page = client.get("/api/v1/pipelines").json()
    assert {p["name"] for p in page["items"]} >= EXAMPLES
    assert [p["name"] for p in page["items"]] == sorted(p["name"] for p in page["items"])
    fanout = next(p for p in page["items"] if p["name"] == "data_quality_fanout")
    assert fanout["dag_id"] == "pipeline__data_quality_fanout"
    assert fanout["kind"] == "pipeline"
    assert (fanout["source"], fanout["node_count"], fanout["owner"]) == ("repository", 4, "data-platform")
    assert fanout["title"] == "Data quality (fan-out / fan-in)"
    assert len(fanout["version"]) == 16
    assert {"last_run_state", "last_run_at"} <= fanout.keys()

    def names(**params: Any) -> list[str]:
        return [p["name"] for p in client.get("/api/v1/pipelines", params=params).json()["items"]]

    assert names(q="QUALITY") == ["data_quality_fanout"]  # a tag and the title, any case
    assert names(q="fan-in") == ["data_quality_fanout"]  # the title
    assert set(names(q="data-platform")) == EXAMPLES  # the owner
    assert names(q="profile") == ["generate_and_profile"]  # the name
    assert names(q="nothing like it") == []
    second = client.get("/api/v1/pipelines", params={"limit": 1, "offset": 1}).json()
    assert (second["limit"], second["offset"], len(second["items"])) == (1, 1, 1)
    assert second["total"] == page["total"]
    partial = client.get("/api/v1/pipelines", params={"fields": "name,node_count"}).json()
    assert set(partial["items"][0]) == {"name", "node_count"}
    assert client.get("/api/v1/pipelines", params={"fields": "colour"}).status_code == 422


def test_detail_has_spec_layout_schema_and_recent_runs(client: TestClient) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.session import create_session

    from ylai_plugin.domain import dags

    with create_session() as session:
        run = dags.trigger(
            "pipeline__generate_and_profile", {"rows": 3}, SimpleAuthManagerUser(username="piper", role="op"), session
        )
        run_id = run.run_id
    detail = client.get("/api/v1/pipelines/generate_and_profile").json()
    assert (detail["name"], detail["dag_id"], detail["kind"]) == (
        "generate_and_profile",
        "pipeline__generate_and_profile",
        "pipeline",
    )
    assert detail["spec"]["nodes"]["profile"] == {
        "script": "csv_profiler",
        "params": {"path": {"from": "generate.path"}},
    }
    assert detail["layout"] == {}
    assert detail["params_schema"]["properties"]["rows"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000000,
        "default": 5000,
    }
    assert run_id in [r["run_id"] for r in detail["recent_runs"]]
    assert detail["last_run_state"] == "queued"
    assert detail["last_run_at"] is not None
    # The JSON spec is a valid spec: a client can send it back to the validator as it is.
    checked = client.post("/api/v1/pipelines/validate", json={"spec": detail["spec"]}).json()
    assert checked == {"valid": True, "problems": [], "params_schema": detail["params_schema"]}
    missing = client.get("/api/v1/pipelines/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Pipeline 'nope' not found"
    chinese = client.get("/api/v1/pipelines/nope", headers={**OP, "Accept-Language": "zh-CN"})
    assert chinese.json()["error"]["message"].startswith("流水线 'nope'")


def test_validate_answers_every_problem_with_node_and_field(client: TestClient) -> None:
    spec = {
        "name": "broken",
        "schedule": "sometimes",
        "nodes": {
            "generate": {"script": "data_generator"},
            "profile": {"script": "csv_profiler", "params": {"path": {"from": "generate.rows"}}},
            "gate": {"script": "quality_gate"},
            "ghost": {"script": "no_such_script"},
        },
    }
    resp = client.post("/api/v1/pipelines/validate", json={"spec": spec})
    assert resp.status_code == 200
    body = resp.json()
    assert body["valid"] is False
    assert body["params_schema"] is None
    assert [(p["node"], p["field"]) for p in body["problems"]] == [
        (None, "schedule"),
        ("profile", "params.path"),
        ("gate", "params.rows"),
        ("ghost", "script"),
    ]
    schema_error = client.post("/api/v1/pipelines/validate", json={"spec": {"name": "x", "nodes": {"a": {}}}})
    assert schema_error.status_code == 200
    assert schema_error.json()["problems"] == [{"node": "a", "field": "script", "reason": "Field required"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body.spec", id="no-spec"),
        pytest.param({"spec": []}, "body.spec", id="spec-not-an-object"),
        pytest.param({"spec": {}, "extra": 1}, "body.extra", id="unknown-field"),
    ],
)
def test_a_malformed_validate_body_is_a_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    resp = client.post("/api/v1/pipelines/validate", json=body)
    assert resp.status_code == 422
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_yaml_export_is_a_file_the_loader_accepts(client: TestClient, name: str, tmp_path: Path) -> None:
    resp = client.get(f"/api/v1/pipelines/{name}/yaml")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/yaml")
    assert resp.headers["content-disposition"] == f'attachment; filename="{name}.yaml"'
    original = PipelineSpec.model_validate(
        yaml.safe_load((REPO_ROOT / "dags" / "pipelines" / f"{name}.yaml").read_text())
    )
    assert PipelineSpec.model_validate(yaml.safe_load(resp.text)) == original
    (tmp_path / f"{name}.yaml").write_text(resp.text)
    loaded, errors = load_pipelines(tmp_path, load_registry(REPO_ROOT / "dags" / "scripts"), use_cache=False)
    assert (list(loaded), errors) == ([name], [])
    assert client.get("/api/v1/pipelines/nope/yaml").status_code == 404


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str, body: Any) -> None:
    resp = getattr(client, method)(path, headers={"Authorization": ""}, **({"json": body} if body else {}))
    assert resp.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_role_without_the_resource_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: Any
) -> None:
    from ylai_plugin.domain import access

    denied = Grants(access.auth_manager(), frozenset({"ylai Pipelines"}))
    monkeypatch.setattr(access, "auth_manager", lambda: denied)
    resp = getattr(client, method)(path, **({"json": body} if body else {}))
    assert resp.status_code == 403
    verb = "create" if method == "post" else "read"
    assert resp.json()["error"]["message"] == f"You may not {verb} ylai Pipelines"


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_a_viewer_may_read(client: TestClient, grants: Grants, method: str, path: str, body: Any) -> None:
    resp = getattr(client, method)(path, headers=VIEWER, **({"json": body} if body else {}))
    assert resp.status_code == 200, resp.text


def test_a_viewer_may_not_validate_which_serves_editing(client: TestClient, grants: Grants) -> None:
    method, path, body = VALIDATE
    resp = getattr(client, method)(path, headers=VIEWER, json=body)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"


def test_role_grants_of_the_pipelines_resource() -> None:
    from ylai_plugin.permissions import RESOURCE_PIPELINES, RESOURCES, ROLE_GRANTS

    assert RESOURCE_PIPELINES == "ylai Pipelines"
    assert RESOURCE_PIPELINES in RESOURCES
    assert ROLE_GRANTS["Viewer"][RESOURCE_PIPELINES] == ("can_read",)
    for role in ("User", "Op"):
        assert ROLE_GRANTS[role][RESOURCE_PIPELINES] == ("can_read", "can_create", "can_edit")
    assert ROLE_GRANTS["Admin"][RESOURCE_PIPELINES] == ("can_read", "can_create", "can_edit", "can_delete")


def test_me_reports_the_pipelines_permissions(client: TestClient, grants: Grants) -> None:
    assert client.get("/api/v1/me", headers=VIEWER).json()["permissions"]["pipelines"] == ["read"]
    assert client.get("/api/v1/me").json()["permissions"]["pipelines"] == ["read", "create", "edit"]


def test_a_user_sees_only_pipelines_whose_dag_they_may_read(client: TestClient, grants: Grants) -> None:
    dora = headers("op", "dora")
    names = [p["name"] for p in client.get("/api/v1/pipelines", headers=dora).json()["items"]]
    assert names == ["generate_and_profile"]
    assert client.get("/api/v1/pipelines/data_quality_fanout", headers=dora).status_code == 404
    assert client.get("/api/v1/pipelines/data_quality_fanout/yaml", headers=dora).status_code == 404
    assert client.get("/api/v1/pipelines/generate_and_profile", headers=dora).status_code == 200
