from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers()) as c:
        yield c


def make_task(client: TestClient, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/tasks", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_create_get_update_delete(client: TestClient) -> None:
    task = make_task(client, name="disk report", script="disk_usage", params={"path": "/var", "top": 3})
    assert task["kind"] == "script"
    assert task["dag_id"] == "script__disk_usage"
    assert task["created_by"] == "alice"
    assert task["last_run"] is None

    got = client.get(f"/api/v1/tasks/{task['id']}").json()
    assert got["params"] == {"path": "/var", "top": 3}

    patched = client.patch(f"/api/v1/tasks/{task['id']}", json={"description": "weekly", "params": {"top": 5}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "weekly"
    assert patched.json()["params"] == {"top": 5}

    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    missing = client.get(f"/api/v1/tasks/{task['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_invalid_params_are_rejected_with_the_field(client: TestClient) -> None:
    resp = client.post("/api/v1/tasks", json={"name": "bad", "script": "disk_usage", "params": {"top": 0}})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "invalid_input"
    assert err["details"] == [{"field": "params.top", "reason": "0 is less than the minimum of 1"}]

    resp = client.post("/api/v1/tasks", json={"name": "bad", "script": "disk_usage", "params": {"nope": 1}})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"] == [{"field": "params.nope", "reason": "not a parameter of this DAG"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"script": "disk_usage"}, "body.name", id="missing-name"),
        pytest.param({"name": "x"}, "body", id="no-target"),
        pytest.param({"name": "x", "script": "a", "dag_id": "b"}, "body", id="two-targets"),
        pytest.param({"name": "x", "script": "disk_usage", "schedule": "every day"}, "body.schedule", id="cron"),
        pytest.param({"name": "x", "script": "disk_usage", "extra": 1}, "body.extra", id="unknown-field"),
        pytest.param({"name": "", "script": "disk_usage"}, "body.name", id="empty-name"),
    ],
)
def test_malformed_bodies_get_422_with_field_paths(client: TestClient, body: dict[str, Any], field: str) -> None:
    resp = client.post("/api/v1/tasks", json=body)
    assert resp.status_code == 422, resp.text
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_unknown_dag_is_404_and_duplicate_name_is_409(client: TestClient) -> None:
    resp = client.post("/api/v1/tasks", json={"name": "ghost", "script": "does_not_exist"})
    assert resp.status_code == 404
    assert "script__does_not_exist" in resp.json()["error"]["message"]
    make_task(client, name="unique one", script="quality_gate", params={"rows": 1})
    again = client.post("/api/v1/tasks", json={"name": "unique one", "script": "quality_gate", "params": {"rows": 1}})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_run_creates_a_dag_run_and_the_task_shows_it(client: TestClient) -> None:
    task = make_task(client, name="gate run", script="quality_gate", params={"rows": 10})
    run = client.post(f"/api/v1/tasks/{task['id']}/run", json={"params": {"null_cells": 2}})
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["dag_id"] == "script__quality_gate"
    assert body["state"] == "queued"
    assert body["conf"] == {"rows": 10, "null_cells": 2}
    assert body["triggered_by"] == "alice"

    shown = client.get(f"/api/v1/tasks/{task['id']}").json()
    assert shown["last_run"]["run_id"] == body["run_id"]
    assert shown["last_run"]["state"] == "queued"
    runs = client.get(f"/api/v1/tasks/{task['id']}/runs").json()
    assert runs["total"] == 1
    assert [r["run_id"] for r in runs["items"]] == [body["run_id"]]

    bad = client.post(f"/api/v1/tasks/{task['id']}/run", json={"params": {"rows": -1}})
    assert bad.status_code == 422
    assert client.get(f"/api/v1/tasks/{task['id']}/runs").json()["total"] == 1

    # No body at all (what a generated client sends without overrides): the saved params.
    plain = client.post(f"/api/v1/tasks/{task['id']}/run")
    assert plain.status_code == 201, plain.text
    assert plain.json()["conf"] == {"rows": 10}


def test_secret_params_are_masked_in_responses(client: TestClient) -> None:
    task = make_task(client, name="with secret", script="data_generator", params={"api_token": "abc-123-secret"})
    assert task["params"]["api_token"] == "***"
    run = client.post(f"/api/v1/tasks/{task['id']}/run").json()
    assert run["conf"]["api_token"] == "***"
    assert "abc-123-secret" not in client.get(f"/api/v1/tasks/{task['id']}").text


def test_list_paginates_sorts_and_filters(client: TestClient) -> None:
    for i in range(3):
        make_task(client, name=f"list-{i}", pipeline="generate_and_profile", params={"rows": i + 1})
    page = client.get("/api/v1/tasks", params={"kind": "pipeline", "order_by": "name", "limit": 2}).json()
    assert page["total"] == 3
    assert [t["name"] for t in page["items"]] == ["list-0", "list-1"]
    page2 = client.get("/api/v1/tasks", params={"kind": "pipeline", "order_by": "name", "limit": 2, "offset": 2})
    assert [t["name"] for t in page2.json()["items"]] == ["list-2"]
    past_end = client.get("/api/v1/tasks", params={"kind": "pipeline", "limit": 2, "offset": 10}).json()
    assert (past_end["items"], past_end["total"]) == ([], 3)
    nothing = client.get("/api/v1/tasks", params={"q": "no-such-task-name"}).json()
    assert (nothing["items"], nothing["total"]) == ([], 0)
    found = client.get("/api/v1/tasks", params={"q": "LIST-1"}).json()
    assert [t["name"] for t in found["items"]] == ["list-1"]
    bad = client.get("/api/v1/tasks", params={"order_by": "password"})
    assert bad.status_code == 422


def test_responses_carry_a_correlation_id(client: TestClient) -> None:
    mine = client.get("/api/v1/tasks", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/v1/tasks", headers={"X-Request-ID": "bad id\r\n"})
    assert len(generated.headers["X-Request-ID"]) == 32


def test_field_selection_on_lists(client: TestClient) -> None:
    make_task(client, name="fields-demo", script="disk_usage", params={"top": 2})
    page = client.get("/api/v1/tasks", params={"fields": "id,name", "q": "fields-demo"}).json()
    assert page["total"] == 1
    assert set(page["items"][0]) == {"id", "name"}
    scripts = client.get("/api/v1/scripts", params={"fields": "name,runtime", "runtime": "bash"}).json()
    assert scripts["items"] == [{"name": "disk_usage", "runtime": "bash"}]
    bad = client.get("/api/v1/tasks", params={"fields": "id,password"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "query.fields"
    assert "password" in bad.json()["error"]["details"][0]["reason"]


def test_scheduled_task_becomes_a_dag_that_triggers_the_target(client: TestClient) -> None:
    from airflow.models.variable import Variable

    from tests.unit.api_client import parse_and_sync_dags
    from ylai_operators.scheduled_tasks import scheduled_task_dags

    task = make_task(
        client,
        name="hourly gate",
        script="quality_gate",
        params={"rows": 3, "min_rows": 1},
        schedule="0 * * * *",
    )
    published = Variable.get("ylai_scheduled_tasks", deserialize_json=True)
    assert published[str(task["id"])]["schedule"] == "0 * * * *"
    dags = scheduled_task_dags()
    dag = dags[f"task__{task['id']}"]
    (trigger,) = dag.tasks
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    assert isinstance(trigger, TriggerDagRunOperator)
    assert trigger.trigger_dag_id == "script__quality_gate"
    assert trigger.conf == {"rows": 3, "min_rows": 1}
    assert "conf" not in trigger.template_fields  # saved params are never rendered by Jinja
    assert str(dag.schedule) == "0 * * * *"

    # A run the schedule started (run id prefix) is listed with the task's runs.
    parse_and_sync_dags()
    from airflow.utils.session import create_session

    from ylai_plugin.domain.dags import get_dag

    with create_session() as session:
        from datetime import UTC, datetime

        from airflow.utils.state import DagRunState
        from airflow.utils.types import DagRunTriggeredByType, DagRunType

        get_dag("script__quality_gate", session).create_dagrun(
            run_id=f"ylai-task-{task['id']}-20260101T000000",
            logical_date=None,
            data_interval=None,
            run_after=datetime.now(UTC),
            conf={"rows": 3},
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.QUEUED,
            session=session,
        )
    runs = client.get(f"/api/v1/tasks/{task['id']}/runs").json()
    assert runs["total"] == 1
    assert runs["items"][0]["run_id"] == f"ylai-task-{task['id']}-20260101T000000"
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["last_run"]["run_id"].startswith("ylai-task-")

    client.patch(f"/api/v1/tasks/{task['id']}", json={"schedule": None})
    assert str(task["id"]) not in Variable.get("ylai_scheduled_tasks", deserialize_json=True)
    assert f"task__{task['id']}" not in scheduled_task_dags()


def test_list_shows_each_tasks_newest_run_with_its_result(client: TestClient) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    gate = make_task(client, name="newest-gate", script="quality_gate", params={"rows": 1})
    other = make_task(client, name="newest-other", pipeline="generate_and_profile", params={"rows": 2})
    first = client.post(f"/api/v1/tasks/{gate['id']}/run").json()
    newest = client.post(f"/api/v1/tasks/{gate['id']}/run", json={"params": {"rows": 7}}).json()
    other_run = client.post(f"/api/v1/tasks/{other['id']}/run").json()
    with create_session() as session:
        # The result is the return_value XCom of the run's result task (the script's task, a
        # pipeline's collect_outputs): not that of another task, nor that of an older run.
        for dag_id, run_id, task_id, value in [
            ("script__quality_gate", newest["run_id"], "quality_gate", {"outputs": {"verdict": "pass"}}),
            ("script__quality_gate", first["run_id"], "quality_gate", {"outputs": {"verdict": "older run"}}),
            ("pipeline__generate_and_profile", other_run["run_id"], "generate", {"outputs": {"path": "/tmp/x"}}),
        ]:
            XComModel.set("return_value", value, dag_id=dag_id, task_id=task_id, run_id=run_id, session=session)

    listed = {t["name"]: t for t in client.get("/api/v1/tasks", params={"q": "newest-"}).json()["items"]}
    assert listed["newest-gate"]["last_run"]["run_id"] == newest["run_id"]
    assert listed["newest-gate"]["last_run"]["conf"] == {"rows": 7}
    assert listed["newest-gate"]["last_run"]["result"] == {"outputs": {"verdict": "pass"}}
    assert listed["newest-other"]["last_run"]["run_id"] == other_run["run_id"]
    assert listed["newest-other"]["last_run"]["result"] is None  # collect_outputs has not run yet
    assert client.get(f"/api/v1/tasks/{gate['id']}").json()["last_run"] == listed["newest-gate"]["last_run"]


@pytest.mark.parametrize(
    "dag_id",
    ["script__disk_usage", "pipeline__generate_and_profile", "ylai_example_hello", "scriptXXdisk", "pipelineX_x"],
)
def test_result_task_sql_matches_its_python_twin(airflow_db: object, dag_id: str) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import literal, select

    from ylai_plugin.domain.dags import result_task_id, result_task_id_sql

    with create_session() as session:
        assert session.scalar(select(result_task_id_sql(literal(dag_id)))) == result_task_id(dag_id)


def test_tasks_and_runs_spell_out_their_dag_so_no_client_slices_ids(client: TestClient) -> None:
    script = make_task(client, name="named script", script="quality_gate", params={"rows": 1})
    assert (script["dag_kind"], script["dag_name"]) == ("script", "quality_gate")
    assert (script["kind"], script["name"]) == ("script", "named script")  # the task's own, as before
    pipeline = make_task(client, name="named pipeline", pipeline="generate_and_profile", params={"rows": 1})
    assert (pipeline["dag_kind"], pipeline["dag_name"]) == ("pipeline", "generate_and_profile")
    other = make_task(client, name="named dag", dag_id="ylai_example_hello")
    assert (other["kind"], other["dag_kind"], other["dag_name"]) == ("dag", None, None)

    run = client.post(f"/api/v1/tasks/{script['id']}/run").json()
    assert (run["kind"], run["name"]) == ("script", "quality_gate")
    other_run = client.post(f"/api/v1/tasks/{other['id']}/run").json()
    assert (other_run["kind"], other_run["name"]) == (None, None)

    shown = client.get(f"/api/v1/tasks/{script['id']}").json()
    assert (shown["last_run"]["kind"], shown["last_run"]["name"]) == ("script", "quality_gate")
    listed = {t["name"]: t for t in client.get("/api/v1/tasks", params={"q": "named "}).json()["items"]}
    assert (listed["named pipeline"]["dag_kind"], listed["named pipeline"]["dag_name"]) == (
        "pipeline",
        "generate_and_profile",
    )
    assert listed["named dag"]["last_run"]["kind"] is None
    runs = client.get(f"/api/v1/tasks/{script['id']}/runs").json()["items"]
    assert [(r["kind"], r["name"]) for r in runs] == [("script", "quality_gate")]
    only = client.get("/api/v1/tasks", params={"q": "named script", "fields": "dag_kind,dag_name"}).json()
    assert only["items"] == [{"dag_kind": "script", "dag_name": "quality_gate"}]
