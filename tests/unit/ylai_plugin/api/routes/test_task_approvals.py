"""A saved task that requires approval of its own: validation, its DAG, its runs, four eyes.

A task with ``approval`` runs through its own DAG, ``task__<id>`` (the approval gate, then
``trigger``, which starts the target with the run's conf). Runs here are real runs of that DAG
in the unit DB; the gate's HITL request and record are written as the gate writes them when it
starts waiting (from the parsed DAG's own gate operator).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, parse_and_sync_dags, sync_repo_dags
from ylai_plugin.api.app import create_app

BOB = headers("user", "bob")  # saves and runs the tasks
DAVE = headers("op", "dave")  # an approver (role Op)
APPROVAL = {"approvers": ["Op"], "timeout": "2h", "reason_required": True}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> TestClient:
    sync_repo_dags()
    return TestClient(create_app())


def make_task(client: TestClient, **body: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/tasks", json=body, headers=BOB)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def own_dag(task_id: int) -> Any:
    from ylai_operators.scheduled_tasks import scheduled_task_dags

    return scheduled_task_dags()[f"task__{task_id}"]


def start_waiting(dag_id: str, run_id: str) -> str:
    """Let the run's gate wait as it does when it starts: its HITL request and record; the approval id."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    from ylai_operators.catalog import APPROVAL_TASK_ID, APPROVAL_XCOM_KEY

    gate: Any = own_dag(int(dag_id.removeprefix("task__"))).get_task(APPROVAL_TASK_ID)
    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == APPROVAL_TASK_ID
            )
        ).one()
        ti.state = TaskInstanceState.AWAITING_INPUT
        session.add(HITLDetail(ti_id=ti.id, options=["Approve", "Reject"], subject=gate.subject, body="", params={}))
        record = {**gate.approval, "kind": gate.kind, "target": gate.target, "requested_by": "bob"}
        XComModel.set(
            APPROVAL_XCOM_KEY, record, dag_id=dag_id, task_id=APPROVAL_TASK_ID, run_id=run_id, session=session
        )
        return str(ti.id)


def test_a_task_keeps_its_approval_with_the_manifests_defaults(client: TestClient) -> None:
    task = make_task(client, name="gated profile", script="disk_usage", params={"path": "/var"}, approval=APPROVAL)
    assert task["approval"] == {
        "approvers": ["Op"],
        "timeout_seconds": 7200.0,
        "reason_required": True,
        "four_eyes": True,
        "notify": [],
    }
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=BOB).json()["approval"]["timeout_seconds"] == 7200.0
    plain = make_task(client, name="ungated profile", script="disk_usage")
    assert plain["approval"] is None

    changed = client.patch(f"/api/v1/tasks/{plain['id']}", json={"approval": {"approvers": ["alice"]}}, headers=BOB)
    assert changed.status_code == 200, changed.text
    assert changed.json()["approval"]["approvers"] == ["alice"]
    assert changed.json()["approval"]["timeout_seconds"] == 86400.0  # the manifest's default
    dropped = client.patch(f"/api/v1/tasks/{plain['id']}", json={"approval": None}, headers=BOB)
    assert dropped.json()["approval"] is None


@pytest.mark.parametrize(
    ("approval", "field"),
    [
        ({"timeout": "soon"}, "body.approval.timeout"),
        ({"approvers": []}, "body.approval.approvers"),
        ({"approvers": ["no/slash"]}, "body.approval.approvers"),
        ({"four_eye": True}, "body.approval.four_eye"),
    ],
)
def test_a_bad_approval_is_422_with_the_field(client: TestClient, approval: dict[str, Any], field: str) -> None:
    resp = client.post(
        "/api/v1/tasks", json={"name": "bad gate", "script": "disk_usage", "approval": approval}, headers=BOB
    )
    assert resp.status_code == 422, resp.text
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_a_task_with_approval_gets_its_own_dag_gate_first_then_the_trigger(client: TestClient) -> None:
    from airflow.models.variable import Variable

    task = make_task(client, name="gated gen", script="data_generator", params={"rows": 2}, approval=APPROVAL)
    assert Variable.get("ylai_scheduled_tasks", deserialize_json=True)[str(task["id"])]["schedule"] is None
    dag = own_dag(task["id"])
    assert dag.schedule is None
    gate, trigger = dag.get_task("approval"), dag.get_task("trigger")
    assert gate.downstream_task_ids == {"trigger"}
    assert dag.roots == [gate]
    assert (gate.kind, gate.target, gate.approval["approvers"]) == ("task", "gated gen", ["Op"])
    assert trigger.trigger_dag_id == "script__data_generator"
    assert trigger.conf == {"rows": 2}
    assert trigger.wait_for_completion is True  # the task's run ends as the target's does
    assert trigger.trigger_run_id is None  # not listed again as a scheduled run of the target

    scheduled = make_task(client, name="gated hourly", script="disk_usage", schedule="0 * * * *", approval=APPROVAL)
    assert str(own_dag(scheduled["id"]).schedule) == "0 * * * *"
    # Without an approval a scheduled task keeps its single trigger that does not wait.
    client.patch(f"/api/v1/tasks/{scheduled['id']}", json={"approval": None}, headers=BOB)
    (only,) = own_dag(scheduled["id"]).tasks
    assert (only.task_id, only.wait_for_completion) == ("trigger", False)


def test_running_a_task_with_approval_starts_its_own_dag_and_shows_the_waiting_run(client: TestClient) -> None:
    task = make_task(
        client, name="gated secret", script="data_generator", params={"api_token": "abc-secret"}, approval=APPROVAL
    )
    not_parsed = client.post(f"/api/v1/tasks/{task['id']}/run", json={}, headers=BOB)
    assert not_parsed.status_code == 409
    assert f"task__{task['id']}" in not_parsed.json()["error"]["message"]

    parse_and_sync_dags()
    bad = client.post(f"/api/v1/tasks/{task['id']}/run", json={"params": {"rows": 0}}, headers=BOB)
    assert bad.status_code == 422  # validated against the target's params
    resp = client.post(f"/api/v1/tasks/{task['id']}/run", json={"params": {"rows": 4}}, headers=BOB)
    assert resp.status_code == 201, resp.text
    run = resp.json()
    assert run["dag_id"] == f"task__{task['id']}"
    assert run["conf"] == {"api_token": "***", "rows": 4}  # the target's secret stays masked

    approval_id = start_waiting(run["dag_id"], run["run_id"])
    runs = client.get(f"/api/v1/tasks/{task['id']}/runs", headers=BOB).json()
    assert runs["total"] == 1
    assert runs["items"][0]["run_id"] == run["run_id"]
    assert runs["items"][0]["approval"] == {"id": approval_id, "state": "pending", "approvers": ["Op"]}
    last = client.get(f"/api/v1/tasks/{task['id']}", headers=BOB).json()["last_run"]
    assert (last["run_id"], last["approval"]["state"]) == (run["run_id"], "pending")

    item = client.get(f"/api/v1/approvals/{approval_id}", headers=DAVE).json()
    assert (item["kind"], item["target"], item["requested_by"]) == ("task", "gated secret", "bob")
    assert item["params"]["api_token"] == "***"
    assert item["can_decide"] is True
    listed = client.get("/api/v1/approvals", params={"view": "waiting_for_me", "limit": 500}, headers=DAVE).json()
    assert approval_id in {i["id"] for i in listed["items"]}


def test_who_ran_the_task_cannot_approve_it(client: TestClient) -> None:
    task = make_task(client, name="gated four eyes", script="disk_usage", approval={"approvers": ["Op", "bob"]})
    parse_and_sync_dags()
    run = client.post(f"/api/v1/tasks/{task['id']}/run", json={}, headers=BOB).json()
    approval_id = start_waiting(run["dag_id"], run["run_id"])

    mine = client.get(f"/api/v1/approvals/{approval_id}", headers=BOB).json()
    assert mine["can_decide"] is False  # bob is a listed approver, but he ran it
    assert mine["cannot_decide_reason"] == "You started this run; someone else must approve it (four eyes)"
    refused = client.post(f"/api/v1/approvals/{approval_id}/approve", json={"comment": "mine"}, headers=BOB)
    assert refused.status_code == 403
    approved = client.post(f"/api/v1/approvals/{approval_id}/approve", json={"comment": "fine"}, headers=DAVE)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
