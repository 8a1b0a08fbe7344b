from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO_ROOT
from tests.unit.api_client import headers, parse_and_sync_dags, sync_repo_dags
from ylai_plugin.api.app import create_app

CONTENT = """\
import json, os, sys
from pathlib import Path
params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
print("hello", params.get("who"))
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"greeting": "hello " + params.get("who", "")}))
"""
MANIFEST: dict[str, Any] = {
    "title": "Greeter",
    "owner": "api-team",
    "tags": ["api"],
    "params": {"who": {"type": "string", "default": "world", "maxLength": 20}},
    "outputs": {"greeting": {"type": "string"}},
}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers("admin", "root")) as c:
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


def test_create_version_list_and_audit(client: TestClient) -> None:
    body = {"name": "greeter", "runtime": "python", "content": CONTENT, "manifest": MANIFEST, "comment": "first"}
    created = client.post("/api/v1/scripts", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["current_version"] == 1
    assert created.json()["dag_id"] == "script__greeter"
    assert (created.json()["kind"], created.json()["name"]) == ("script", "greeter")
    assert client.post("/api/v1/scripts", json=body).status_code == 409
    clash = client.post("/api/v1/scripts", json={**body, "name": "disk_usage"})
    assert clash.status_code == 409  # the repository owns that name

    v2 = client.post("/api/v1/scripts/greeter/versions", json={"content": CONTENT + "# v2\n", "manifest": MANIFEST})
    assert v2.status_code == 201, v2.text
    assert [v["version"] for v in v2.json()["versions"]] == [1, 2]
    assert (v2.json()["dag_id"], v2.json()["kind"], v2.json()["name"]) == ("script__greeter", "script", "greeter")

    # Listed once the dag-processor has parsed script__greeter (DAG-level permissions need the DAG).
    parse_and_sync_dags()
    listed = {s["name"]: s for s in client.get("/api/v1/scripts").json()["items"]}
    assert listed["greeter"]["source"] == "database"
    assert listed["greeter"]["version"] == 2
    assert listed["greeter"]["params_schema"]["properties"]["who"]["maxLength"] == 20
    assert listed["disk_usage"]["source"] == "repository"

    from airflow.models.log import Log
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = [(e.event, e.owner) for e in session.scalars(select(Log).where(Log.event.like("ylai.script.%")))]
    assert ("ylai.script.create", "root") in events
    assert ("ylai.script.version", "root") in events
    published = json.loads(Variable.get("ylai_db_scripts"))
    assert published["greeter"]["version"] == 2
    assert published["greeter"]["content"].endswith("# v2\n")


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        pytest.param(
            {"params": {"n": {"type": "integer", "minimum": "x"}}}, "body.manifest.params.n.minimum", id="min"
        ),
        pytest.param({"timeout": "soon"}, "body.manifest.timeout", id="timeout"),
        pytest.param({"bogus": 1}, "body.manifest.bogus", id="unknown"),
        pytest.param({"name": "other"}, "body.manifest.name", id="name-in-manifest"),
    ],
)
def test_invalid_manifest_names_the_field(client: TestClient, manifest: dict[str, Any], field: str) -> None:
    resp = client.post(
        "/api/v1/scripts", json={"name": "broken", "runtime": "python", "content": "x", "manifest": manifest}
    )
    assert resp.status_code == 422
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_creating_scripts_needs_the_dedicated_permission(airflow_db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from ylai_plugin.domain import access

    class Denied:
        def is_authorized_custom_view(self, *, method: str, resource_name: str, user: BaseUser) -> bool:
            return method == "GET"

    monkeypatch.setattr(access, "auth_manager", lambda: Denied())
    with TestClient(create_app(), headers=headers("op", "otto")) as c:
        resp = c.post("/api/v1/scripts", json={"name": "nope", "runtime": "bash", "content": "true"})
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "You may not create ylai Scripts"


def test_database_script_becomes_a_dag_that_runs_its_content(client: TestClient, tmp_path: Path) -> None:
    from ylai_operators.dag_factory import script_dags
    from ylai_operators.script_operator import ScriptOperator

    client.post(
        "/api/v1/scripts", json={"name": "greeter", "runtime": "python", "content": CONTENT, "manifest": MANIFEST}
    )
    dags = script_dags(REPO_ROOT / "dags")
    dag = dags["script__greeter"]
    assert "script__disk_usage" in dags
    assert set(dag.tags) == {"api", "script", "ylai"}
    (task,) = dag.tasks
    assert isinstance(task, ScriptOperator)
    assert task.script_content is not None
    assert task.script_content.startswith("import json")

    class TI:
        run_id, try_number = "r", 1

        def xcom_pull(self, task_ids: str) -> None:
            return None

    import os

    os.environ["YLAI_ARTIFACTS_ROOT"] = str(tmp_path)
    result = task.execute({"ti": TI(), "params": {"who": "ylai"}})  # type: ignore[typeddict-item]
    assert result["outputs"] == {"greeting": "hello ylai"}
