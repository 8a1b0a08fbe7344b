"""Approvals in Chromium (issue 19): a sensitive script's run waits until someone else approves it.

``rotate_token`` (dags/scripts/rotate_token.yaml) is ``sensitive: true`` with
``approval: {approvers: [Op], reason_required: true, four_eyes: true}``. User A (role User) starts it
from the Run page; the page says whom it waits for; A cannot approve it (four eyes: a disabled
button with the reason, 403 through the API), nor can a Viewer; user B (role Op) approves it from
the Approvals page with a comment and the run succeeds. A rejection ends the run as failed with its
reason in the run's note.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, Session, create_user, login, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform, wait_until

DAG = "script__rotate_token"
REQUESTER = "e2e_requester"
APPROVER = "e2e_approver"
EN = "localStorage.setItem('i18nextLng', 'en')"


def token(p: RunningPlatform, username: str) -> str:
    resp = p.login(username, PASSWORD)
    assert resp.status in (200, 201), resp.body[:300]
    return str(resp.json()["access_token"])


@pytest.fixture(scope="module")
def people(platform: RunningPlatform) -> dict[str, str]:
    """A requester (User) and an approver (Op), and the API tokens of both."""
    create_user(platform, REQUESTER, "User")
    create_user(platform, APPROVER, "Op")
    platform.wait_for_dag(DAG)
    return {REQUESTER: token(platform, REQUESTER), APPROVER: token(platform, APPROVER)}


@pytest.fixture(scope="module")
def requester(browser: Any, platform: RunningPlatform, people: dict[str, str]) -> Iterator[Session]:
    session = login(browser, platform, REQUESTER, PASSWORD, EN)
    yield session
    session.context.close()


@pytest.fixture(scope="module")
def approver(browser: Any, platform: RunningPlatform, people: dict[str, str]) -> Iterator[Session]:
    session = login(browser, platform, APPROVER, PASSWORD, EN)
    yield session
    session.context.close()


def pending_approval(p: RunningPlatform, tok: str, run_id: str) -> dict[str, Any]:
    """The run's approval once its gate task is waiting (the requester's "My requests")."""

    def found() -> dict[str, Any] | None:
        resp = p.request("GET", "/ylai/api/v1/approvals?view=mine&state=pending&limit=500", token=tok)
        assert resp.status == 200, resp.body[:300]
        return next((a for a in resp.json()["items"] if a["run_id"] == run_id), None)

    return wait_until(found, 180, lambda: f"no pending approval for {run_id}:\n{p.tail()}")


def card(page: Any, run_id: str) -> Any:
    """The Approvals page's card of ``run_id``'s approval."""
    return page.locator('[data-testid="approval"]', has=page.locator(f'[data-run-id="{run_id}"]'))


def run_of(p: RunningPlatform, run_id: str) -> dict[str, Any]:
    resp = p.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{urllib.parse.quote(run_id, safe='')}")
    assert resp.status == 200, resp.body[:300]
    body: dict[str, Any] = resp.json()
    return body


def audit_rows(admin: Session, page: Any, user: str, run_id: str) -> dict[str, str]:
    """The Audit page's entries of ``user`` about ``run_id``: action to summary."""
    admin.goto(page, "audit")
    page.fill('[data-testid="audit-user"]', user)
    page.click('[data-testid="audit-submit"]')
    page.wait_for_function(
        "([user, run]) => [...document.querySelectorAll('[data-testid=audit-entry]')].some("
        "r => r.querySelector('[data-testid=audit-entry-user]').textContent === user"
        " && r.querySelector('[data-testid=audit-entry-run]')?.textContent === run)",
        arg=[user, run_id],
        timeout=60_000,
    )
    rows: dict[str, str] = page.evaluate(
        """(run) => Object.fromEntries([...document.querySelectorAll('[data-testid=audit-entry]')]
          .filter(r => r.querySelector('[data-testid=audit-entry-run]')?.textContent === run)
          .map(r => [r.dataset.action, r.querySelector('[data-testid=audit-entry-summary]').textContent]))""",
        run_id,
    )
    return rows


def test_a_sensitive_run_waits_until_someone_else_approves_it(
    requester: Session,
    approver: Session,
    viewer: Session,
    admin: Session,
    platform: RunningPlatform,
    people: dict[str, str],
) -> None:
    # A starts the sensitive script from the Run page; the page says whom the run waits for.
    page = requester.page()
    requester.goto(page, "run", f"?dag_id={DAG}")
    page.wait_for_selector('[data-testid="field-service"]')
    page.fill('[data-testid="field-service"]', "billing")
    page.click('[data-testid="run-button"]')
    page.wait_for_selector('[data-testid="followed-run"]')
    run_id = page.inner_text('[data-testid="followed-run"]')
    wait_for_text(page, '[data-testid="run-approval"]', "Waiting for approval by Op", timeout=180_000)
    screenshot(page, "approvals-run-waiting")
    approval = pending_approval(platform, people[REQUESTER], run_id)
    assert approval["requested_by"] == REQUESTER
    # sensitive: true masks every value, in the approval too
    assert approval["params"]["service"] == "***"
    assert run_of(platform, run_id)["state"] == "running"  # the script itself has not started

    # A cannot approve their own run: a disabled button with the reason, and 403 from the API.
    page.click('[data-testid="run-approval-link"]')
    page.wait_for_selector('[data-testid="page-approvals"] [data-testid="approval"]')
    assert page.is_disabled('[data-testid="approval-approve"]')
    assert page.is_disabled('[data-testid="approval-reject"]')
    reason = page.inner_text('[data-testid="approval-cannot-decide"]')
    assert "four eyes" in reason, reason
    assert page.get_attribute('[data-testid="approval-approve"]', "title") == reason
    refused = platform.request(
        "POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "me"}, token=people[REQUESTER]
    )
    assert refused.status == 403, refused.body[:300]
    assert "four eyes" in refused.json()["error"]["message"]
    page.close()

    # A Viewer can see it but not decide: a disabled button with the reason, and 403.
    vpage = viewer.page()
    viewer.goto(vpage, "approvals", f"?id={approval['id']}")
    vpage.wait_for_selector('[data-testid="approval-cannot-decide"]')
    assert vpage.is_disabled('[data-testid="approval-approve"]')
    assert "may not decide" in vpage.inner_text('[data-testid="approval-cannot-decide"]')
    screenshot(vpage, "approvals-viewer")
    vpage.close()
    viewer_token = token(platform, "e2e_viewer")
    forbidden = platform.request(
        "POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"}, token=viewer_token
    )
    assert forbidden.status == 403, forbidden.body[:300]
    assert run_of(platform, run_id)["state"] == "running"

    # B (Op) finds it under "Waiting for me" and approves it with a comment: the run succeeds.
    bpage = approver.page()
    approver.goto(bpage, "approvals")
    mine = card(bpage, run_id)
    mine.wait_for(timeout=60_000)
    assert "rotate_token" in mine.locator('[data-testid="approval-target"]').inner_text()
    assert REQUESTER in mine.locator('[data-testid="approval-requested-by"]').inner_text()
    assert mine.locator('[data-testid="approval-approvers"]').inner_text() == "Op"
    # reason_required: approving without a comment is refused before anything is sent
    mine.locator('[data-testid="approval-approve"]').click()
    assert "needs a comment" in mine.locator('[data-testid="approval-comment-error"]').inner_text()
    mine.locator('[data-testid="approval-comment-input"]').fill("checked with the billing team")
    mine.locator('[data-testid="approval-approve"]').click()
    wait_for_text(bpage, '[data-testid="approval-done"]', "Approved rotate_token")
    screenshot(bpage, "approvals-approved")
    assert platform.wait_for_run(DAG, run_id) == "success", platform.tail()
    decided = platform.request("GET", f"/ylai/api/v1/approvals/{approval['id']}", token=people[APPROVER]).json()
    assert (decided["state"], decided["decided_by"], decided["comment"]) == (
        "approved",
        APPROVER,
        "checked with the billing team",
    )
    # History shows the decision.
    approver.goto(bpage, "approvals", "?tab=history")
    done = card(bpage, run_id)
    done.wait_for(timeout=60_000)
    assert done.locator('[data-testid="approval-state"]').inner_text() == "Approved"
    assert done.locator('[data-testid="approval-comment"]').inner_text() == "checked with the billing team"
    again = platform.request(
        "POST", f"/ylai/api/v1/approvals/{approval['id']}/approve", {"comment": "again"}, token=people[APPROVER]
    )
    assert again.status == 409, again.body[:300]
    bpage.close()

    # The Audit page shows the request (the run A started), the approval and the run they belong to.
    apage = admin.page()
    requested = audit_rows(admin, apage, REQUESTER, run_id)
    assert "ylai.script.run" in requested, requested
    approved = audit_rows(admin, apage, APPROVER, run_id)
    assert "checked with the billing team" in approved.get("ylai.approval.approve", ""), approved
    screenshot(apage, "approvals-audit")
    apage.close()

    for session in (requester, approver, viewer, admin):
        errors = session.own_errors(ignore=lambda e: "403" in e["text"] or e["url"].endswith("/ylai/api/v1/me"))
        session.errors.clear()
        assert not errors, f"console errors on ylai's pages: {errors}"


def test_a_rejection_ends_the_run_as_failed_with_its_reason(
    approver: Session, platform: RunningPlatform, people: dict[str, str]
) -> None:
    started = platform.request(
        "POST", "/ylai/api/v1/scripts/rotate_token/run", {"params": {"service": "search"}}, token=people[REQUESTER]
    )
    assert started.status == 201, started.body[:300]
    run_id = started.json()["run_id"]
    approval = pending_approval(platform, people[REQUESTER], run_id)

    page = approver.page()
    approver.goto(page, "approvals", f"?id={approval['id']}")
    mine = card(page, run_id)
    mine.wait_for(timeout=60_000)
    # a rejection always needs its reason
    mine.locator('[data-testid="approval-reject"]').click()
    assert "rejection needs a comment" in mine.locator('[data-testid="approval-comment-error"]').inner_text()
    mine.locator('[data-testid="approval-comment-input"]').fill("wrong service: search has no token")
    mine.locator('[data-testid="approval-reject"]').click()
    wait_for_text(page, '[data-testid="approval-done"]', "Rejected rotate_token")
    wait_for_text(page, '[data-testid="approval-state"]', "Rejected")
    assert platform.wait_for_run(DAG, run_id) == "failed", platform.tail()
    note = run_of(platform, run_id).get("note") or ""
    assert "wrong service: search has no token" in note, note
    screenshot(page, "approvals-rejected")
    page.close()
    errors = approver.own_errors(ignore=lambda e: e["url"].endswith("/ylai/api/v1/me"))
    approver.errors.clear()
    assert not errors, f"console errors on ylai's pages: {errors}"
