# ruff: noqa: RUF001  (a Chinese reason uses full-width punctuation on purpose)
"""``/approvals``: listing, four eyes, approvers, comments, decisions that resume the gate, audit.

The runs are real runs of the repository's ``script__rotate_token`` (its manifest asks for an
approval by Op, a comment and four eyes) in the unit DB; the gate's HITL request and record
are written as the gate task writes them when it starts waiting.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

DAG = "script__rotate_token"
BASE = "/api/v1/approvals"
BOB = headers("user", "bob")  # starts the runs
CAROL = headers("user", "carol")  # a User, not an approver
DAVE = headers("op", "dave")  # an approver (role Op)
ADMIN = headers("admin", "alice")
VERA = headers("viewer", "vera")


class NoViewerEdits:
    """Airflow's simple auth manager lets every role use custom views; FAB gives Viewer can_read only."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        if getattr(user, "role", None) == "viewer" and method != "GET":
            return False
        return bool(self.real.is_authorized_custom_view(method=method, resource_name=resource_name, user=user))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture(autouse=True)
def _viewer_reads_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    manager = NoViewerEdits(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: manager)


@pytest.fixture(scope="module")
def client(airflow_db: object) -> TestClient:
    sync_repo_dags()
    return TestClient(create_app())


def waiting_run(service: str = "billing", waiting_for: float = 3600.0) -> tuple[str, str]:
    """A run of rotate_token started by bob whose gate has waited ``waiting_for`` s: its (approval id, run id)."""
    from datetime import timedelta

    from airflow._shared.timezones import timezone
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    from ylai_operators.catalog import APPROVAL_TASK_ID, APPROVAL_XCOM_KEY
    from ylai_plugin.domain import dags

    with create_session() as session:
        bob = SimpleAuthManagerUser(username="bob", role="user")
        run = dags.trigger(DAG, {"service": service, "old_token": "s3cret"}, bob, session)
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == DAG, TaskInstance.run_id == run.run_id, TaskInstance.task_id == APPROVAL_TASK_ID
            )
        ).one()
        since = timezone.utcnow() - timedelta(seconds=waiting_for)
        ti.state = TaskInstanceState.AWAITING_INPUT
        ti.next_method = "execute_complete"
        ti.updated_at = since
        session.add(
            HITLDetail(
                created_at=since,
                ti_id=ti.id,
                options=["Approve", "Reject"],
                subject="Approve the run of script rotate_token?",
                body="",
                defaults=None,
                multiple=False,
                params={},
            )
        )
        record = {
            "approvers": ["Op"],
            "timeout_seconds": 86400.0,
            "reason_required": True,
            "four_eyes": True,
            "notify": [],
            "kind": "script",
            "target": "rotate_token",
            "requested_by": "bob",
            "timeout_at": "2030-01-01T00:00:00+00:00",
        }
        XComModel.set(
            APPROVAL_XCOM_KEY, record, dag_id=DAG, task_id=APPROVAL_TASK_ID, run_id=run.run_id, session=session
        )
        return str(ti.id), run.run_id


def test_a_waiting_run_is_listed_with_its_request_and_masked_params(client: TestClient) -> None:
    approval_id, run_id = waiting_run()
    body = client.get(BASE, params={"state": "pending"}, headers=ADMIN).json()
    item = next(i for i in body["items"] if i["id"] == approval_id)
    assert body["total"] >= 1
    assert (item["dag_id"], item["run_id"], item["task_id"]) == (DAG, run_id, "approval")
    assert (item["kind"], item["target"], item["requested_by"]) == ("script", "rotate_token", "bob")
    assert item["approvers"] == ["Op"]
    assert item["reason_required"] is True
    assert item["four_eyes"] is True
    assert item["state"] == "pending"
    assert item["params"] == {"service": "***", "old_token": "***"}  # a sensitive script masks every param
    assert item["can_decide"] is True
    assert item["timeout_at"].startswith("2030-01-01")


def test_views_split_requests_by_who_may_decide_and_who_asked(client: TestClient) -> None:
    approval_id, _ = waiting_run()

    def ids(view: str, who: dict[str, Any]) -> set[str]:
        return {i["id"] for i in client.get(BASE, params={"view": view, "limit": 500}, headers=who).json()["items"]}

    assert approval_id in ids("waiting_for_me", DAVE)
    assert approval_id not in ids("waiting_for_me", BOB)  # four eyes
    assert approval_id not in ids("waiting_for_me", CAROL)  # not an approver
    assert approval_id in ids("mine", BOB)
    assert approval_id not in ids("mine", DAVE)


def test_the_requester_cannot_approve_their_own_run(client: TestClient) -> None:
    approval_id, _ = waiting_run()
    mine = client.get(f"{BASE}/{approval_id}", headers=BOB).json()
    assert mine["can_decide"] is False
    assert mine["cannot_decide_reason"] == "You started this run; someone else must approve it (four eyes)"
    chinese = client.get(f"{BASE}/{approval_id}", headers={**BOB, "Accept-Language": "zh-CN"}).json()
    assert chinese["cannot_decide_reason"] == "这次运行是你发起的；须由其他人审批（四眼原则）"
    resp = client.post(f"{BASE}/{approval_id}/approve", json={"comment": "looks fine"}, headers=BOB)
    assert resp.status_code == 403
    assert "four eyes" in resp.json()["error"]["message"]


def test_only_listed_approvers_or_admins_decide(client: TestClient) -> None:
    approval_id, _ = waiting_run()
    resp = client.post(f"{BASE}/{approval_id}/approve", json={"comment": "ok"}, headers=CAROL)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "Only Op (or an Admin) may decide on this run"
    assert client.get(f"{BASE}/{approval_id}", headers=CAROL).json()["can_decide"] is False
    assert client.post(f"{BASE}/{approval_id}/approve", json={"comment": "ok"}, headers=VERA).status_code == 403
    assert client.get(f"{BASE}/{approval_id}", headers=VERA).json()["can_decide"] is False
    assert client.get(f"{BASE}/{approval_id}", headers=ADMIN).json()["can_decide"] is True


def test_approving_needs_the_required_comment_then_resumes_the_gate_and_is_audited(client: TestClient) -> None:
    from airflow.models.log import Log
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    approval_id, run_id = waiting_run()
    missing = client.post(f"{BASE}/{approval_id}/approve", json={}, headers=DAVE)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "body.comment"

    resp = client.post(f"{BASE}/{approval_id}/approve", json={"comment": "change ticket 42"}, headers=DAVE)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["state"], body["decided_by"], body["comment"]) == ("approved", "dave", "change ticket 42")
    assert body["decided_at"] is not None
    assert body["can_decide"] is False
    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.run_id == run_id, TaskInstance.task_id == "approval")
        ).one()
        assert str(ti.state) == "scheduled"  # resumed: the scheduler runs execute_complete next
        assert (ti.next_kwargs or {})["event"]["chosen_options"] == ["Approve"]
        entries = session.scalars(select(Log).where(Log.event == "ylai.approval.approve", Log.run_id == run_id)).all()
        assert len(entries) == 1
        assert entries[0].owner == "dave"
    again = client.post(f"{BASE}/{approval_id}/approve", json={"comment": "again"}, headers=ADMIN)
    assert again.status_code == 409


def gate_state(run_id: str) -> str:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.run_id == run_id, TaskInstance.task_id == "approval")
        ).one()
        return str(ti.state)


def test_an_answer_right_after_the_gate_starts_waiting_resumes_it_once_the_wait_has_settled(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resumed at once, the new try could be failed by the report of the waiting process's exit."""
    import time

    monkeypatch.setenv("AIRFLOW__YLAI__APPROVAL_RESUME_SETTLE_SECONDS", "3")
    approval_id, run_id = waiting_run(waiting_for=0.0)
    started = time.monotonic()
    resp = client.post(f"{BASE}/{approval_id}/approve", json={"comment": "quick"}, headers=DAVE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "approved"
    assert gate_state(run_id) == "awaiting_input"  # recorded, not resumed yet
    while gate_state(run_id) == "awaiting_input" and time.monotonic() - started < 30:
        time.sleep(0.2)
    assert gate_state(run_id) == "scheduled"
    assert time.monotonic() - started >= 2.5


def test_a_settling_resume_leaves_a_gate_that_no_longer_waits_alone(client: TestClient) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    from ylai_plugin.domain import approvals

    approval_id, run_id = waiting_run()
    with create_session() as session:
        session.execute(update(TaskInstance).where(TaskInstance.run_id == run_id).values(state="failed"))
    assert approvals.resume_when_settled(approval_id, 0.0, patience=0.0) is False
    assert gate_state(run_id) == "failed"
    # Waiting, but the answer never reached the database (its request was rolled back): not resumed.
    approval_id, run_id = waiting_run()
    assert approvals.resume_when_settled(approval_id, 0.0, patience=0.0) is False
    assert gate_state(run_id) == "awaiting_input"


def test_a_rejection_needs_a_reason_and_writes_it_to_the_run_note(client: TestClient) -> None:
    from airflow.models import DagRun
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    approval_id, run_id = waiting_run()
    assert client.post(f"{BASE}/{approval_id}/reject", json={"comment": "  "}, headers=ADMIN).status_code == 422
    resp = client.post(f"{BASE}/{approval_id}/reject", json={"comment": "not during the freeze"}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "rejected"
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG, DagRun.run_id == run_id)).one()
        assert run.note == "Rejected by alice: not during the freeze"
        assert session.scalars(select(Log).where(Log.event == "ylai.approval.reject", Log.run_id == run_id)).all()
    rejected = client.get(BASE, params={"state": "rejected", "limit": 500}, headers=ADMIN).json()["items"]
    assert approval_id in {i["id"] for i in rejected}


def test_the_run_view_names_the_approval_it_waits_for(client: TestClient) -> None:
    approval_id, run_id = waiting_run()
    run = client.get(f"/api/v1/runs/{DAG}/{run_id}", headers=ADMIN).json()
    assert run["approval"] == {"id": approval_id, "state": "pending", "approvers": ["Op"]}


def test_unknown_approvals_are_404(client: TestClient) -> None:
    assert client.get(f"{BASE}/00000000-0000-0000-0000-000000000000", headers=ADMIN).status_code == 404
    assert client.get(f"{BASE}/not-a-uuid", headers=ADMIN).status_code == 404
    assert client.post(f"{BASE}/not-a-uuid/approve", json={"comment": "x"}, headers=ADMIN).status_code == 404


def test_bad_filters_are_422(client: TestClient) -> None:
    assert client.get(BASE, params={"view": "everyone"}, headers=ADMIN).status_code == 422
    assert client.get(BASE, params={"state": "maybe"}, headers=ADMIN).status_code == 422


def _finish_gate(run_id: str, *, rejected_by: str | None) -> None:
    """The gate failed: rejected through Airflow's own HITL API by ``rejected_by``, or timed out (None)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.run_id == run_id, TaskInstance.task_id == "approval")
        ).one()
        ti.state = "failed"
        if rejected_by is not None:
            detail = session.get(HITLDetail, ti.id)
            assert detail is not None
            detail.responded_by = {"id": "9", "name": rejected_by}
            detail.responded_at = ti.queued_dttm or detail.created_at
            detail.chosen_options = ["Reject"]
            detail.params_input = {"approval_comment": "wrong service"}


def _note(run_id: str) -> str | None:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        note = session.scalars(select(DagRun).where(DagRun.dag_id == DAG, DagRun.run_id == run_id)).one().note
        return None if note is None else str(note)


def test_a_run_failed_by_its_approval_elsewhere_gets_the_reason_as_its_note(client: TestClient) -> None:
    from ylai_plugin.domain.approvals import note_failed_approval

    _, rejected = waiting_run()
    _finish_gate(rejected, rejected_by="erin")
    note_failed_approval(DAG, rejected)
    assert _note(rejected) == "Rejected by erin: wrong service"

    _, expired = waiting_run()
    _finish_gate(expired, rejected_by=None)
    note_failed_approval(DAG, expired)
    assert _note(expired) == "Approval timed out: nobody approved the run in time"
    item = client.get(BASE, params={"state": "timed_out", "limit": 500}, headers=ADMIN).json()["items"]
    assert expired in {i["run_id"] for i in item}


def test_the_sensitive_script_policy_is_published_for_the_dag_files(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from airflow.models import Variable

    from ylai_operators.catalog import APPROVAL_POLICY_VARIABLE

    monkeypatch.setenv("AIRFLOW__YLAI__SENSITIVE_APPROVERS", "Security, carol")
    monkeypatch.setenv("AIRFLOW__YLAI__SENSITIVE_REQUIRES_APPROVAL", "False")
    assert client.get(BASE, headers=ADMIN).status_code == 200
    published = json.loads(Variable.get(APPROVAL_POLICY_VARIABLE))
    assert published == {"sensitive_requires_approval": False, "approvers": ["Security", "carol"]}
    monkeypatch.delenv("AIRFLOW__YLAI__SENSITIVE_APPROVERS")
    monkeypatch.delenv("AIRFLOW__YLAI__SENSITIVE_REQUIRES_APPROVAL")
    assert client.get(BASE, headers=ADMIN).status_code == 200
    assert json.loads(Variable.get(APPROVAL_POLICY_VARIABLE)) == {
        "sensitive_requires_approval": True,
        "approvers": ["Admin", "Op"],
    }
