"""Database pipelines: ``POST /pipelines``, versions, restore, delete, runs, publishing, the DAGs built."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO_ROOT
from tests.unit.api_client import headers, parse_and_sync_dags, sync_repo_dags
from ylai_plugin.api.app import create_app

ADMIN = headers("admin", "root")
VIEWER = headers("viewer", "vera")
CYCLE = {"a": {"script": "db_echo", "depends_on": ["b"]}, "b": {"script": "db_echo", "depends_on": ["a"]}}
LAYOUT = {"usage": {"x": 0.0, "y": 0.0}, "echo": {"x": 240.0, "y": 0.0}}


def spec(name: str = "db_usage", **change: Any) -> dict[str, Any]:
    """A pipeline over a repository script (disk_usage) and a database script (db_echo)."""
    data: dict[str, Any] = {
        "name": name,
        "title": "Usage then echo",
        "owner": "studio",
        "tags": ["studio"],
        "params": {"top": {"type": "integer", "default": 3, "minimum": 1}},
        "nodes": {
            "usage": {"script": "disk_usage", "params": {"path": "/tmp", "top": {"param": "top"}}},
            "echo": {"script": "db_echo", "params": {"count": {"from": "usage.entries"}}},
        },
        "layout": LAYOUT,
    }
    data.update(change)
    return data


def audit_events(name: str) -> list[tuple[str, str, dict[str, Any]]]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.event.like("ylai.pipeline.%")).order_by(Log.id)).all()
        # A run's id is in the entry's run_id column (Airflow's audit view shows it there).
        found = [
            (r.event, str(r.owner), {**json.loads(r.extra or "{}"), **({"run_id": r.run_id} if r.run_id else {})})
            for r in rows
        ]
    mine = [e for e in found if e[2].get("name") == name]
    # Every entry names its object and says what it did (docs/audit.md); the rest is the pipeline's.
    assert all(e[2].pop("object") == f"pipeline:{name}" and e[2].pop("summary") for e in mine)
    return mine


def published() -> dict[str, Any]:
    from airflow.models.variable import Variable

    return dict(json.loads(Variable.get("ylai_db_pipelines", default_var="{}")))


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=ADMIN) as c:
        script = {
            "name": "db_echo",
            "runtime": "bash",
            "content": 'echo "count=$2"',
            "manifest": {"params": {"count": {"type": "integer", "default": 1}}},
        }
        assert c.post("/api/v1/scripts", json=script).status_code == 201
        yield c
    # Other modules parse DAGs from the same DB: leave no database pipelines or scripts behind.
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import DbPipeline, DbPipelineVersion, DbScript, DbScriptVersion

    with create_session() as session:
        for model in (DbPipelineVersion, DbPipeline, DbScriptVersion, DbScript):
            session.execute(delete(model))
    Variable.delete("ylai_db_pipelines")
    Variable.delete("ylai_db_scripts")
    parse_and_sync_dags()


@pytest.fixture
def created(client: TestClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database pipeline of this test's own (version 1), deleted afterwards."""
    name = "db_" + request.node.name.removeprefix("test_")[:40].replace("[", "_").replace("]", "").replace("-", "_")
    resp = client.post("/api/v1/pipelines", json={"spec": spec(name), "comment": "first"})
    assert resp.status_code == 201, resp.text
    yield name
    client.delete(f"/api/v1/pipelines/{name}")


def test_create_answers_the_versions_publishes_and_audits(client: TestClient) -> None:
    resp = client.post("/api/v1/pipelines", json={"spec": spec("db_created"), "comment": "first"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["name"], body["dag_id"], body["kind"], body["current_version"]) == (
        "db_created",
        "pipeline__db_created",
        "pipeline",
        1,
    )
    assert [(v["version"], v["comment"], v["created_by"]) for v in body["versions"]] == [(1, "first", "root")]
    record = published()["db_created"]
    assert record["version"] == 1
    assert record["spec"]["layout"] == LAYOUT
    assert record["spec"]["nodes"]["echo"] == {"script": "db_echo", "params": {"count": {"from": "usage.entries"}}}
    assert audit_events("db_created") == [("ylai.pipeline.create", "root", {"name": "db_created", "version": 1})]
    client.delete("/api/v1/pipelines/db_created")


def test_a_taken_name_is_a_409(client: TestClient, created: str) -> None:
    again = client.post("/api/v1/pipelines", json={"spec": spec(created)})
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"A pipeline named {created!r} already exists"
    repository = client.post("/api/v1/pipelines", json={"spec": spec("generate_and_profile")})
    assert repository.status_code == 409  # the repository owns that name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"name": "Bad Name"}, "body.spec.name", id="name"),
        pytest.param({"schedule": "sometimes"}, "body.spec.schedule", id="schedule"),
        pytest.param({"colour": "red"}, "body.spec.colour", id="unknown-field"),
        pytest.param(
            {"nodes": {"ghost": {"script": "no_such_script"}}}, "body.spec.nodes.ghost.script", id="unknown-script"
        ),
        pytest.param(
            {"nodes": {"usage": {"script": "disk_usage", "params": {"top": "many"}}}},
            "body.spec.nodes.usage.params.top",
            id="param-type",
        ),
        pytest.param(
            {"nodes": CYCLE},
            "body.spec.nodes.a.depends_on",
            id="cycle",
        ),
        pytest.param({"nodes": {"a": {}}}, "body.spec.nodes.a.script", id="node-schema"),
        pytest.param({"alerts": {"on_failure": "carrier-pigeon:#x"}}, "body.spec.alerts", id="alerts-channel"),
        pytest.param({"alerts": {"whenever": True}}, "body.spec.alerts", id="alerts-key"),
    ],
)
def test_an_invalid_spec_is_a_422_naming_each_field(client: TestClient, change: dict[str, Any], field: str) -> None:
    resp = client.post("/api/v1/pipelines", json={"spec": {**spec("db_invalid"), **change}})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["message"] == "Invalid pipeline spec"
    assert field in [d["field"] for d in error["details"]], error
    assert all(d["reason"] for d in error["details"])
    assert "db_invalid" not in published()


def test_a_malformed_body_is_a_422(client: TestClient) -> None:
    resp = client.post("/api/v1/pipelines", json={"spec": spec(), "extra": 1})
    assert resp.status_code == 422
    assert "body.extra" in [d["field"] for d in resp.json()["error"]["details"]]


def test_new_version_and_history(client: TestClient, created: str) -> None:
    bigger = spec(created, nodes={**spec()["nodes"], "again": {"script": "db_echo", "depends_on": ["echo"]}})
    resp = client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": bigger, "comment": "one more"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["current_version"] == 2
    assert [(v["version"], v["comment"]) for v in resp.json()["versions"]] == [(1, "first"), (2, "one more")]
    assert published()[created]["version"] == 2
    assert set(published()[created]["spec"]["nodes"]) == {"usage", "echo", "again"}
    listed = client.get(f"/api/v1/pipelines/{created}/versions").json()
    assert listed == resp.json()

    first = client.get(f"/api/v1/pipelines/{created}/versions/1")
    assert first.status_code == 200
    body = first.json()
    assert (body["version"], body["comment"], body["created_by"]) == (1, "first", "root")
    assert body["layout"] == LAYOUT
    assert "layout" not in body["spec"]
    assert set(body["spec"]["nodes"]) == {"usage", "echo"}
    assert client.get(f"/api/v1/pipelines/{created}/versions/9").status_code == 404
    assert client.get(f"/api/v1/pipelines/{created}/versions/0").status_code == 422
    assert ("ylai.pipeline.version", "root", {"name": created, "version": 2}) in audit_events(created)


def test_a_version_must_keep_the_name(client: TestClient, created: str) -> None:
    resp = client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": spec("db_other")})
    assert resp.status_code == 422
    assert [d["field"] for d in resp.json()["error"]["details"]] == ["body.spec.name"]
    invalid = client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": spec(created, schedule="never")})
    assert invalid.status_code == 422
    assert "body.spec.schedule" in [d["field"] for d in invalid.json()["error"]["details"]]
    assert published()[created]["version"] == 1


def test_repository_pipelines_are_read_only(client: TestClient) -> None:
    name = "generate_and_profile"
    for method, path, body in [
        ("post", f"/api/v1/pipelines/{name}/versions", {"spec": spec(name)}),
        ("get", f"/api/v1/pipelines/{name}/versions", None),
        ("get", f"/api/v1/pipelines/{name}/versions/1", None),
        ("post", f"/api/v1/pipelines/{name}/versions/1/restore", {}),
        ("delete", f"/api/v1/pipelines/{name}", None),
    ]:
        resp = getattr(client, method)(path, **({"json": body} if body is not None else {}))
        assert resp.status_code == 409, (method, path, resp.text)
        assert "read-only" in resp.json()["error"]["message"]
        assert "save a copy" in resp.json()["error"]["message"]
    zh = client.delete(f"/api/v1/pipelines/{name}", headers={**ADMIN, "Accept-Language": "zh-CN"})
    assert "只读" in zh.json()["error"]["message"]


def test_unknown_pipelines_are_a_404(client: TestClient) -> None:
    for method, path, body in [
        ("post", "/api/v1/pipelines/nope/versions", {"spec": spec("nope")}),
        ("get", "/api/v1/pipelines/nope/versions", None),
        ("get", "/api/v1/pipelines/nope/versions/1", None),
        ("post", "/api/v1/pipelines/nope/versions/1/restore", {}),
        ("delete", "/api/v1/pipelines/nope", None),
        ("post", "/api/v1/pipelines/nope/run", {}),
    ]:
        resp = getattr(client, method)(path, **({"json": body} if body is not None else {}))
        assert resp.status_code == 404, (method, path, resp.text)


def test_restore_makes_a_new_version_equal_to_the_old_one(client: TestClient, created: str) -> None:
    bigger = spec(created, nodes={**spec()["nodes"], "again": {"script": "db_echo"}}, layout={})
    assert client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": bigger}).status_code == 201
    resp = client.post(f"/api/v1/pipelines/{created}/versions/1/restore", json={})
    assert resp.status_code == 201, resp.text
    assert resp.json()["current_version"] == 3
    assert resp.json()["versions"][-1]["comment"] == "Restore of version 1"
    v1 = client.get(f"/api/v1/pipelines/{created}/versions/1").json()
    v3 = client.get(f"/api/v1/pipelines/{created}/versions/3").json()
    assert (v3["spec"], v3["layout"]) == (v1["spec"], v1["layout"])
    assert published()[created]["spec"] == {**v1["spec"], "layout": v1["layout"]}
    again = client.post(f"/api/v1/pipelines/{created}/versions/2/restore", json={"comment": "bigger again"})
    assert again.json()["versions"][-1]["comment"] == "bigger again"
    assert client.post(f"/api/v1/pipelines/{created}/versions/7/restore", json={}).status_code == 404
    assert ("ylai.pipeline.restore", "root", {"name": created, "version": 3, "restored": 1}) in audit_events(created)


def test_delete_removes_the_pipeline_and_unpublishes_it(client: TestClient) -> None:
    assert client.post("/api/v1/pipelines", json={"spec": spec("db_deleted")}).status_code == 201
    assert client.post("/api/v1/pipelines/db_deleted/versions", json={"spec": spec("db_deleted")}).status_code == 201
    resp = client.delete("/api/v1/pipelines/db_deleted")
    assert resp.status_code == 204
    assert "db_deleted" not in published()
    assert client.get("/api/v1/pipelines/db_deleted/versions").status_code == 404
    assert client.delete("/api/v1/pipelines/db_deleted").status_code == 404
    assert audit_events("db_deleted")[-1] == ("ylai.pipeline.delete", "root", {"name": "db_deleted", "version": 2})
    # The name is free again.
    assert client.post("/api/v1/pipelines", json={"spec": spec("db_deleted")}).status_code == 201
    assert client.delete("/api/v1/pipelines/db_deleted").status_code == 204


def test_the_dag_files_build_database_pipelines_from_the_variable(client: TestClient, created: str) -> None:
    from ylai_operators.dag_factory import PIPELINE_SHARDS, pipeline_dags, shard_of
    from ylai_operators.script_operator import ScriptOperator

    folder = REPO_ROOT / "dags"
    dag_id = f"pipeline__{created}"
    dags = pipeline_dags(folder, shard=(shard_of(created, PIPELINE_SHARDS), PIPELINE_SHARDS))
    dag = dags[dag_id]
    assert {t.task_id for t in dag.tasks} == {"usage", "echo", "collect_outputs"}
    echo = dag.get_task("echo")
    assert isinstance(echo, ScriptOperator)
    assert echo.script_content == 'echo "count=$2"'  # the database script's content, embedded
    assert set(dag.tags) == {"ylai", "pipeline", "studio"}
    others = [i for i in range(PIPELINE_SHARDS) if i != shard_of(created, PIPELINE_SHARDS)]
    assert all(dag_id not in pipeline_dags(folder, shard=(i, PIPELINE_SHARDS)) for i in others)

    bigger = spec(created, nodes={**spec()["nodes"], "again": {"script": "db_echo", "depends_on": ["echo"]}})
    client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": bigger})
    rebuilt = pipeline_dags(folder)[dag_id]
    assert {t.task_id for t in rebuilt.tasks} == {"usage", "echo", "again", "collect_outputs"}
    assert "pipeline__generate_and_profile" in pipeline_dags(folder)


def test_a_task_runner_builds_only_its_database_pipeline(
    client: TestClient, created: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_operators import dag_factory

    monkeypatch.setattr(dag_factory, "_parsing_for", lambda: f"pipeline__{created}")
    dags = dag_factory.pipeline_dags(REPO_ROOT / "dags")
    assert list(dags) == [f"pipeline__{created}"]
    monkeypatch.setattr(dag_factory, "_parsing_for", lambda: "pipeline__generate_and_profile")
    assert list(dag_factory.pipeline_dags(REPO_ROOT / "dags")) == ["pipeline__generate_and_profile"]


def test_a_broken_record_is_left_out_with_a_warning(client: TestClient, created: str) -> None:
    from airflow.models.variable import Variable

    from ylai_operators.dag_factory import pipeline_dags

    records = published()
    Variable.set(
        "ylai_db_pipelines",
        json.dumps({**records, "db_broken": {"version": 1, "spec": {"name": "db_broken", "nodes": {"a": {}}}}}),
    )
    try:
        with pytest.warns(UserWarning, match="db_broken"):
            dags = pipeline_dags(REPO_ROOT / "dags")
    finally:
        Variable.set("ylai_db_pipelines", json.dumps(records))
    assert f"pipeline__{created}" in dags
    assert "pipeline__db_broken" not in dags


def test_lists_and_detail_show_database_pipelines(client: TestClient, created: str) -> None:
    parse_and_sync_dags()  # DAG-level permissions need the DAG
    listed = {p["name"]: p for p in client.get("/api/v1/pipelines").json()["items"]}
    assert (listed[created]["source"], listed[created]["version"], listed[created]["node_count"]) == (
        "database",
        "1",
        2,
    )
    assert listed["generate_and_profile"]["source"] == "repository"
    # A new version shows in the next (cached) answer.
    client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": spec(created, title="Renamed")})
    listed = {p["name"]: p for p in client.get("/api/v1/pipelines").json()["items"]}
    assert (listed[created]["version"], listed[created]["title"]) == ("2", "Renamed")
    detail = client.get(f"/api/v1/pipelines/{created}").json()
    assert (detail["source"], detail["version"], detail["dag_id"]) == ("database", "2", f"pipeline__{created}")
    assert detail["layout"] == LAYOUT
    assert detail["params_schema"]["properties"]["top"]["default"] == 3
    exported = client.get(f"/api/v1/pipelines/{created}/yaml")
    assert exported.status_code == 200
    assert "layout:" in exported.text
    client.delete(f"/api/v1/pipelines/{created}")
    assert created not in [p["name"] for p in client.get("/api/v1/pipelines").json()["items"]]
    assert client.get(f"/api/v1/pipelines/{created}").status_code == 404


def test_validate_knows_database_scripts(client: TestClient) -> None:
    resp = client.post("/api/v1/pipelines/validate", json={"spec": spec("db_checked")})
    assert resp.json()["valid"] is True, resp.json()


def test_run_validates_params_triggers_and_audits(client: TestClient, created: str) -> None:
    parse_and_sync_dags()
    bad = client.post(f"/api/v1/pipelines/{created}/run", json={"params": {"top": 0}})
    assert bad.status_code == 422, bad.text
    resp = client.post(f"/api/v1/pipelines/{created}/run", json={"params": {"top": 2}, "note": "from the studio"})
    assert resp.status_code == 201, resp.text
    run = resp.json()
    assert (run["dag_id"], run["kind"], run["name"], run["conf"]) == (
        f"pipeline__{created}",
        "pipeline",
        created,
        {"top": 2},
    )
    assert (
        "ylai.pipeline.run",
        "root",
        {"name": created, "run_id": run["run_id"]},
    ) in audit_events(created)
    detail = client.get(f"/api/v1/pipelines/{created}").json()
    assert run["run_id"] in [r["run_id"] for r in detail["recent_runs"]]
    repository = client.post("/api/v1/pipelines/generate_and_profile/run", json={"params": {"rows": 3}})
    assert repository.status_code == 201, repository.text


def test_running_needs_the_dag_run_permission(
    client: TestClient, created: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()

    class NoRuns:
        def is_authorized_dag(self, *, method: str, **kw: Any) -> bool:
            return method == "GET"

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(access, "auth_manager", lambda: NoRuns())
    resp = client.post(f"/api/v1/pipelines/{created}/run", json={})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body", "verb"),
    [
        ("post", "/api/v1/pipelines", {"spec": {}}, "create"),
        ("post", "/api/v1/pipelines/x/versions", {"spec": {}}, "edit"),
        ("post", "/api/v1/pipelines/x/versions/1/restore", {}, "edit"),
        ("delete", "/api/v1/pipelines/x", None, "delete"),
        ("post", "/api/v1/pipelines/x/run", {}, "read"),
        ("get", "/api/v1/pipelines/x/versions", None, "read"),
    ],
)
def test_each_write_needs_its_permission_on_the_resource(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: Any, verb: str
) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()
    wanted = {"create": "POST", "edit": "PATCH", "delete": "DELETE", "read": "GET"}[verb]

    class Refuses:
        def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
            return not (resource_name == "ylai Pipelines" and method == wanted)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(access, "auth_manager", lambda: Refuses())
    resp = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["message"] == f"You may not {verb} ylai Pipelines"


def test_a_viewer_reads_versions_but_may_not_write(client: TestClient, created: str) -> None:
    from ylai_plugin.permissions import RESOURCE_PIPELINES, ROLE_GRANTS

    assert "can_create" not in ROLE_GRANTS["Viewer"][RESOURCE_PIPELINES]
    assert "can_delete" not in ROLE_GRANTS["Op"][RESOURCE_PIPELINES]  # deleting is for Admins
    assert client.get(f"/api/v1/pipelines/{created}/versions", headers=VIEWER).status_code == 200


def test_a_bad_alerts_section_is_refused_on_a_new_version_and_shown_by_validate(
    client: TestClient, created: str
) -> None:
    bad = {**spec(created), "alerts": {"on_failure": "carrier-pigeon:#x"}}
    resp = client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": bad})
    assert resp.status_code == 422, resp.text
    (detail,) = resp.json()["error"]["details"]
    assert detail["field"] == "body.spec.alerts"
    assert detail["reason"].startswith("alerts.on_failure: ")
    assert client.get(f"/api/v1/pipelines/{created}/versions").json()["current_version"] == 1
    checked = client.post("/api/v1/pipelines/validate", json={"spec": bad}).json()
    assert checked["valid"] is False
    assert [(p["node"], p["field"]) for p in checked["problems"]] == [(None, "alerts")]
    good = {**spec(created), "alerts": {"on_failure": "slack:#data"}}
    assert client.post("/api/v1/pipelines/validate", json={"spec": good}).json()["valid"] is True
    assert client.post(f"/api/v1/pipelines/{created}/versions", json={"spec": good}).status_code == 201
