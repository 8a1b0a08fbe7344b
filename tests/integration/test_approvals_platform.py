"""Approvals end to end through the HTTP APIs, on the shared SQLite platform (no browser; the
Approvals page's Chromium test is tests/e2e's).

A User starts the sensitive example ``rotate_token``: the run waits in its ``approval`` task
(an Airflow human-in-the-loop request, visible through ``/api/v2``), the script does not start,
the requester cannot approve it (ylai's API and Airflow's own), an Op approves it and it
succeeds; a rejection fails the run with the reason in its note and in the approval task's log.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.running_platform import RunningPlatform, wait_until

DAG = "script__rotate_token"
REQUESTER, APPROVER = "appr_api_bob", "appr_api_dave"
PASSWORD = "Approvals-test-pw-1"


@pytest.fixture(scope="module")
def platform(sqlite_platform: RunningPlatform) -> RunningPlatform:
    return sqlite_platform


@pytest.fixture(scope="module")
def tokens(platform: RunningPlatform) -> dict[str, str]:
    platform.create_user(REQUESTER, "User", PASSWORD)
    platform.create_user(APPROVER, "Op", PASSWORD)
    found = {}
    for name in (REQUESTER, APPROVER):
        resp = platform.login(name, PASSWORD)
        assert resp.status in (200, 201), resp.body[:300]
        found[name] = str(resp.json()["access_token"])
    # Listing approvals publishes who holds which role, which the approval task resolves approvers with.
    assert platform.request("GET", "/ylai/api/v1/approvals").status == 200
    platform.wait_for_dag(DAG)
    return found


def start(platform: RunningPlatform, token: str, service: str) -> str:
    body = {"params": {"service": service, "old_token": "t0p-s3cret"}}
    resp = platform.request("POST", "/ylai/api/v1/scripts/rotate_token/run", body, token=token)
    assert resp.status == 201, resp.body[:500]
    return str(resp.json()["run_id"])


def pending(platform: RunningPlatform, token: str, run_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        items = platform.request("GET", "/ylai/api/v1/approvals?view=mine&state=pending", token=token).json()["items"]
        return next((i for i in items if i["run_id"] == run_id), None)

    return wait_until(found, 180, lambda: f"no pending approval for {run_id}\n{platform.tail()}")


def test_a_run_waits_for_a_second_persons_approval_then_succeeds(
    platform: RunningPlatform, tokens: dict[str, str]
) -> None:
    bob, dave = tokens[REQUESTER], tokens[APPROVER]
    run_id = start(platform, bob, "billing")
    approval = pending(platform, bob, run_id)
    assert (approval["target"], approval["requested_by"], approval["approvers"]) == ("rotate_token", REQUESTER, ["Op"])
    assert approval["params"] == {"service": "***", "old_token": "***"}
    assert approval["can_decide"] is False
    assert "four eyes" in approval["cannot_decide_reason"]

    # Airflow's own REST API shows the same request as a HITL detail, limited to the approvers.
    hitl_path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/approval/-1/hitlDetails"
    # The request exists a moment before the task has deferred into awaiting_input: wait for that state.
    hitl = wait_until(
        lambda: (
            h
            if (h := platform.request("GET", hitl_path).json())["task_instance"]["state"] == "awaiting_input"
            else None
        ),
        120,
        lambda: f"the approval task never reached awaiting_input:\n{platform.tail()}",
    )
    assert hitl["options"] == ["Approve", "Reject"]
    assert hitl["response_received"] is False
    assert hitl["task_instance"]["state"] == "awaiting_input"
    assignees = {u["name"] for u in hitl["assigned_users"]}
    assert APPROVER in assignees
    assert REQUESTER not in assignees
    listed = platform.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/hitlDetails").json()
    assert [d["task_instance"]["task_id"] for d in listed["hitl_details"]] == ["approval"]
    script = platform.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/rotate_token").json()
    assert script["state"] in (None, "scheduled")  # the script has not started
    run_view = platform.request("GET", f"/ylai/api/v1/runs/{DAG}/{run_id}", token=bob).json()
    assert run_view["approval"] == {"id": approval["id"], "state": "pending", "approvers": ["Op"]}

    # Four eyes: the requester can approve neither through ylai nor through Airflow's HITL API.
    own = platform.request("POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "mine"}, token=bob)
    assert own.status == 403
    assert "four eyes" in own.json()["error"]["message"]
    patch = platform.request("PATCH", hitl_path, {"chosen_options": ["Approve"], "params_input": {}}, token=bob)
    assert patch.status == 403, patch.body[:300]

    no_comment = platform.request("POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {}, token=dave)
    assert no_comment.status == 422  # rotate_token requires a reason
    ok = platform.request(
        "POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "ticket SEC-7"}, token=dave
    )
    assert ok.status == 200, ok.body[:500]
    assert (ok.json()["state"], ok.json()["decided_by"]) == ("approved", APPROVER)
    assert platform.wait_for_run(DAG, run_id) == "success", platform.tail()
    assert platform.xcom(DAG, run_id, "rotate_token")["outputs"]["service"] == "billing"
    assert f"Approved by {APPROVER}: ticket SEC-7" in platform.task_log(DAG, run_id, "approval")
    hitl = platform.request("GET", hitl_path).json()
    assert (hitl["chosen_options"], hitl["responded_by_user"]["name"]) == (["Approve"], APPROVER)


def test_a_rejection_fails_the_run_with_its_reason(platform: RunningPlatform, tokens: dict[str, str]) -> None:
    bob, dave = tokens[REQUESTER], tokens[APPROVER]
    run_id = start(platform, bob, "payments")
    approval = pending(platform, bob, run_id)
    path = f"/ylai/api/v1/approvals/{approval['id']}/reject"
    assert platform.request("POST", path, {"comment": ""}, token=dave).status == 422
    resp = platform.request("POST", path, {"comment": "not during the freeze"}, token=dave)
    assert resp.status == 200, resp.body[:500]
    assert resp.json()["state"] == "rejected"
    assert platform.wait_for_run(DAG, run_id) == "failed", platform.tail()
    run = platform.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}").json()
    assert run["note"] == f"Rejected by {APPROVER}: not during the freeze"
    # The try's log is complete a moment after the run is marked failed: wait for the line.
    wait_until(
        lambda: (
            "ok"
            if f"Rejected by {APPROVER}: not during the freeze" in platform.task_log(DAG, run_id, "approval")
            else None
        ),
        60,
        lambda: platform.task_log(DAG, run_id, "approval")[-2000:],
    )
    script = platform.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/rotate_token").json()
    assert script["state"] == "upstream_failed"  # never started
    again = platform.request("POST", path, {"comment": "twice"}, token=dave)
    assert again.status == 409


def test_a_saved_task_with_its_own_approval_waits_then_runs_its_script(
    platform: RunningPlatform, tokens: dict[str, str]
) -> None:
    import uuid

    bob, dave = tokens[REQUESTER], tokens[APPROVER]
    name = f"gated disk {uuid.uuid4().hex[:8]}"
    body = {"name": name, "script": "disk_usage", "params": {"top": 3}, "approval": {"approvers": ["Op"]}}
    created = platform.request("POST", "/ylai/api/v1/tasks", body, token=bob)
    assert created.status == 201, created.body[:500]
    task = created.json()
    own = f"task__{task['id']}"
    platform.wait_for_dag(own)

    def started() -> str | None:
        resp = platform.request("POST", f"/ylai/api/v1/tasks/{task['id']}/run", {"params": {"path": "/tmp"}}, token=bob)
        assert resp.status in (201, 409), resp.body[:500]  # 409: the API's DAG bag has not seen it yet
        return str(resp.json()["run_id"]) if resp.status == 201 else None

    run_id = wait_until(started, 120, lambda: f"{own} never ran\n{platform.tail()}")
    approval = pending(platform, bob, run_id)
    assert (approval["dag_id"], approval["kind"], approval["target"]) == (own, "task", name)
    assert approval["can_decide"] is False  # four eyes: bob ran the task
    refused = platform.request("POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "x"}, token=bob)
    assert refused.status == 403
    runs = platform.request("GET", f"/ylai/api/v1/tasks/{task['id']}/runs", token=bob).json()
    assert runs["items"][0]["approval"]["state"] == "pending"

    ok = platform.request("POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {}, token=dave)
    assert ok.status == 200, ok.body[:500]
    # The task's run waits for the script's run it triggered: its success is the script's.
    assert platform.wait_for_run(own, run_id) == "success", platform.tail()
    last = platform.request("GET", f"/ylai/api/v1/tasks/{task['id']}", token=bob).json()["last_run"]
    assert (last["run_id"], last["approval"]["state"]) == (run_id, "approved")
