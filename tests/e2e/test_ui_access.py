"""The Access page on the real platform: a permission change takes effect on the next request and is audited.

A role and a user of its own (created through FAB's REST API, deleted afterwards), so the
default roles the other browser tests rely on are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, Session, create_user, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform

ROLE = "e2e_access"
USER = "e2e_access_user"
TASKS = "/ylai/api/v1/tasks"


@pytest.fixture(scope="module")
def custom_role(platform: RunningPlatform) -> Iterator[str]:
    """``ROLE`` (can_read on ylai Tasks and ylai Monitor) with one user, ``USER``; both removed afterwards."""
    actions = [
        {"action": {"name": "can_read"}, "resource": {"name": resource}} for resource in ("ylai Tasks", "ylai Monitor")
    ]
    created = platform.request("POST", "/auth/fab/v1/roles", {"name": ROLE, "actions": actions})
    assert created.status in (200, 201, 409), created.body[:300]
    create_user(platform, USER, ROLE)
    yield ROLE
    platform.request("DELETE", f"/auth/fab/v1/users/{USER}")
    platform.request("DELETE", f"/auth/fab/v1/roles/{ROLE}")


def user_token(p: RunningPlatform) -> str:
    resp = p.login(USER, PASSWORD)
    assert resp.status in (200, 201), resp.body[:300]
    return str(resp.json()["access_token"])


def access_entries(p: RunningPlatform) -> list[dict[str, Any]]:
    """This module's ``ylai.access.update`` entries in Airflow's own audit log, oldest first."""
    resp = p.request("GET", "/api/v2/eventLogs?event=ylai.access.update&order_by=id&limit=100")
    assert resp.status == 200, resp.body[:300]
    entries = [{**e, "extra": json.loads(e["extra"] or "{}")} for e in resp.json()["event_logs"]]
    return [e for e in entries if e["extra"].get("object") == f"role:{ROLE}"]


def not_here(error: dict[str, str]) -> bool:
    """Errors of other modules' pages (the sessions are shared): not this page's business."""
    return "ylai-access" not in error["page"]


def save_role(page: Any) -> None:
    page.click(f'[data-testid="access-save-{ROLE}"]')
    page.wait_for_selector(f'[data-testid="access-saved-{ROLE}"]')


def test_a_permission_change_takes_effect_on_the_next_request_and_is_audited(
    admin: Session, platform: RunningPlatform, custom_role: str
) -> None:
    token = user_token(platform)
    # The first request also puts the user, with their permissions, in FAB's user cache.
    assert platform.request("GET", TASKS, token=token).status == 200
    before = len(access_entries(platform))

    page = admin.page()
    admin.goto(page, "access")
    card = f'[data-testid="access-role-{ROLE}"]'
    page.wait_for_selector(card)
    wait_for_text(page, f'[data-testid="access-users-{ROLE}"]', USER)
    assert "(1)" in page.inner_text(f'[data-testid="access-users-{ROLE}"]')
    # The way to Airflow's own Security pages.
    assert (page.get_attribute('[data-testid="access-link-users"]', "href") or "").endswith("/users/list/")
    assert (page.get_attribute('[data-testid="access-link-roles"]', "href") or "").endswith("/roles/list/")
    # Admin's row cannot be changed here.
    assert page.is_disabled('[data-testid="grant-Admin-tasks-can_read"]')

    box = f'[data-testid="grant-{ROLE}-tasks-can_read"]'
    assert page.is_checked(box)
    page.uncheck(box)
    save_role(page)
    screenshot(page, "access-revoked")
    # The very next request of the role's user: no cache_ttl wait.
    denied = platform.request("GET", TASKS, token=token)
    assert denied.status == 403, denied.body[:300]
    assert "ylai Tasks" in denied.json()["error"]["message"]
    # FAB itself holds the change.
    role = platform.request("GET", f"/auth/fab/v1/roles/{ROLE}").json()
    assert {"action": {"name": "can_read"}, "resource": {"name": "ylai Tasks"}} not in role["actions"]

    page.check(box)
    save_role(page)
    assert platform.request("GET", TASKS, token=token).status == 200

    entries = access_entries(platform)[before:]
    assert [(e["owner"], e["extra"]["revoked"], e["extra"]["granted"]) for e in entries] == [
        (platform.username, ["can_read on ylai Tasks"], []),
        (platform.username, [], ["can_read on ylai Tasks"]),
    ]
    assert entries[0]["extra"]["summary"] == f"{ROLE}: revoked can_read on ylai Tasks"
    assert not admin.own_errors(not_here), admin.own_errors(not_here)


def test_a_viewer_sees_their_own_permissions_read_only(viewer: Session, platform: RunningPlatform) -> None:
    page = viewer.page()
    viewer.goto(page, "access")
    page.wait_for_selector('[data-testid="access-mine"]')
    assert page.inner_text('[data-testid="mine-tasks-read"]') == "✓"
    assert page.inner_text('[data-testid="mine-tasks-create"]') == "—"
    assert "Viewer" in page.inner_text('[data-testid="access-my-roles"]')
    assert page.query_selector('[data-testid="page-access"] input[type="checkbox"]') is None
    # The matrix itself is for admins only, whatever the page shows.
    resp = viewer.context.request.get(f"{platform.base_url}/ylai/api/v1/access")
    assert resp.status == 403
    assert not viewer.own_errors(not_here), viewer.own_errors(not_here)
