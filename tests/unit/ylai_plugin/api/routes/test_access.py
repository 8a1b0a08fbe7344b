"""``/access``: the matrix of roles by ylai permissions, on a stand-in for FAB's security manager.

The unit tests run under SimpleAuthManager, which has no roles to edit; the security manager
here keeps FAB's shapes (``role.permissions`` of ``Permission(action, resource)``, ``role.user``)
and FAB's method names, and the e2e test (tests/e2e/test_ui_access.py) runs the real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin import permissions
from ylai_plugin.api.app import create_app
from ylai_plugin.domain import access, role_access

ADMINS = {"root"}


@dataclass(frozen=True)
class Perm:
    action: SimpleNamespace
    resource: SimpleNamespace


def perm(action: str, resource: str) -> Perm:
    return Perm(SimpleNamespace(name=action), SimpleNamespace(name=resource))


@dataclass
class Role:
    name: str
    permissions: list[Perm] = field(default_factory=list)
    user: list[SimpleNamespace] = field(default_factory=list)


class FakeSecurityManager:
    """FAB's security manager methods the matrix uses, over in-memory roles."""

    def __init__(self) -> None:
        self.roles = {
            "Admin": Role("Admin", [perm(a, r) for r in permissions.RESOURCES for a in permissions.ACTIONS]),
            "Viewer": Role(
                "Viewer",
                [perm("can_read", r) for r in permissions.RESOURCES] + [perm("can_read", "Plugins")],
                [SimpleNamespace(username="wang"), SimpleNamespace(username="olga")],
            ),
        }
        self.calls: list[tuple[str, str, str, str]] = []

    def get_all_roles(self) -> list[Role]:
        return list(self.roles.values())

    def find_role(self, name: str) -> Role | None:
        return self.roles.get(name)

    def get_permission(self, action: str, resource: str) -> Perm:
        return perm(action, resource)

    def create_permission(self, action: str, resource: str) -> Perm:
        return perm(action, resource)

    def add_permission_to_role(self, role: Role, permission: Perm) -> None:
        self.calls.append(("add", role.name, permission.action.name, permission.resource.name))
        role.permissions.append(permission)

    def remove_permission_from_role(self, role: Role, permission: Perm) -> None:
        self.calls.append(("remove", role.name, permission.action.name, permission.resource.name))
        role.permissions.remove(permission)


class FakeAuthManager:
    """Only ``ADMINS`` may manage FAB's roles; everyone may read ylai resources."""

    def __init__(self) -> None:
        self.cache: dict[int, object] = {1: object()}

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        if resource_name == role_access.MANAGE_RESOURCE:
            return user.get_name() in ADMINS
        return method == "GET"

    def get_extra_menu_items(self, *, user: Any) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(text="Users", href="/auth/users/list/"),
            SimpleNamespace(text="Roles", href="/auth/roles/list/"),
            SimpleNamespace(text="Actions", href="/auth/actions/list/"),
        ]


def install_fake_fab(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSecurityManager, FakeAuthManager]:
    """Put the stand-ins in place of FAB for ``/access`` and every permission check; other tests may call it."""
    sm, manager = FakeSecurityManager(), FakeAuthManager()

    @contextmanager
    def security_manager() -> Iterator[FakeSecurityManager]:
        yield sm

    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    monkeypatch.setattr(role_access, "fab_manager", lambda: manager)
    monkeypatch.setattr(role_access, "security_manager", security_manager)
    return sm, manager


@pytest.fixture
def fab(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSecurityManager, FakeAuthManager]:
    return install_fake_fab(monkeypatch)


@pytest.fixture
def admin(airflow_db: object, fab: object) -> Iterator[TestClient]:
    with TestClient(create_app(), headers=headers("admin", "root")) as c:
        yield c


def audit_entries() -> list[tuple[str | None, dict[str, Any]]]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Log).where(Log.event == "ylai.access.update").order_by(Log.id))
        return [(r.owner, json.loads(r.extra or "{}")) for r in rows]


def test_matrix_lists_roles_users_and_every_ylai_permission(admin: TestClient) -> None:
    resp = admin.get("/api/v1/access")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["resources"] == list(permissions.RESOURCES)
    assert body["actions"] == list(permissions.ACTIONS)
    roles = {r["name"]: r for r in body["roles"]}
    assert list(roles) == ["Admin", "Viewer"]
    assert roles["Viewer"]["user_count"] == 2
    assert roles["Viewer"]["users"] == ["olga", "wang"]
    # Only ylai's resources: "Plugins" is FAB's business.
    assert roles["Viewer"]["permissions"] == {r: ["can_read"] for r in permissions.RESOURCES}
    assert roles["Admin"]["permissions"] == {r: list(permissions.ACTIONS) for r in permissions.RESOURCES}
    assert [link["text"] for link in body["links"]] == ["Users", "Roles"]
    assert body["links"][0]["href"] == "/auth/users/list/"


def test_grant_and_revoke_go_through_fab_are_audited_and_clear_the_user_cache(
    admin: TestClient, fab: tuple[FakeSecurityManager, FakeAuthManager]
) -> None:
    sm, manager = fab
    before = len(audit_entries())
    tasks, scripts = permissions.RESOURCE_TASKS, permissions.RESOURCE_SCRIPTS
    resp = admin.put("/api/v1/access/Viewer", json={"permissions": {tasks: ["can_read", "can_create"], scripts: []}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["granted"] == [f"can_create on {tasks}"]
    assert body["revoked"] == [f"can_read on {scripts}"]
    assert body["role"]["permissions"][tasks] == ["can_read", "can_create"]
    assert body["role"]["permissions"][scripts] == []
    # Resources the body leaves out keep their grants.
    assert body["role"]["permissions"][permissions.RESOURCE_MONITOR] == ["can_read"]
    assert sm.calls == [("add", "Viewer", "can_create", tasks), ("remove", "Viewer", "can_read", scripts)]
    assert manager.cache == {}, "FAB's user cache must be emptied so the next request sees the change"

    entries = audit_entries()[before:]
    assert len(entries) == 1
    owner, extra = entries[0]
    assert owner == "root"
    assert extra["object"] == "role:Viewer"
    assert extra["granted"] == [f"can_create on {tasks}"]
    assert extra["revoked"] == [f"can_read on {scripts}"]
    assert extra["summary"] == f"Viewer: granted can_create on {tasks}; revoked can_read on {scripts}"

    # The matrix reads the new state.
    viewer = {r["name"]: r for r in admin.get("/api/v1/access").json()["roles"]}["Viewer"]
    assert viewer["permissions"][scripts] == []


def test_a_put_that_changes_nothing_is_still_one_audit_entry(
    admin: TestClient, fab: tuple[FakeSecurityManager, FakeAuthManager]
) -> None:
    sm, manager = fab
    before = len(audit_entries())
    resp = admin.put("/api/v1/access/Viewer", json={"permissions": {permissions.RESOURCE_TASKS: ["can_read"]}})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["granted"], resp.json()["revoked"]) == ([], [])
    assert sm.calls == []
    assert manager.cache, "nothing changed: the cache stays"
    entries = audit_entries()[before:]
    assert [e[1]["summary"] for e in entries] == ["Viewer: no change"]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        pytest.param(
            {"permissions": {"Connections": ["can_read"]}},
            "body.permissions.Connections",
            "not a ylai",
            id="fab-resource",
        ),
        pytest.param(
            {"permissions": {permissions.RESOURCE_TASKS: ["can_fly"]}},
            f"body.permissions.{permissions.RESOURCE_TASKS}",
            "unknown action 'can_fly'",
            id="unknown-action",
        ),
    ],
)
def test_only_ylai_resources_and_known_actions(
    admin: TestClient, fab: tuple[FakeSecurityManager, FakeAuthManager], body: dict[str, Any], field: str, reason: str
) -> None:
    sm, _ = fab
    before = len(audit_entries())
    resp = admin.put("/api/v1/access/Viewer", json=body)
    assert resp.status_code == 422, resp.text
    details = resp.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    assert reason in details[0]["reason"]
    assert sm.calls == []
    assert len(audit_entries()) == before


def test_unknown_role_is_404(admin: TestClient) -> None:
    resp = admin.put("/api/v1/access/Nobody", json={"permissions": {permissions.RESOURCE_TASKS: []}})
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == "Role 'Nobody' not found"


def test_admin_keeps_every_ylai_permission(admin: TestClient, fab: tuple[FakeSecurityManager, FakeAuthManager]) -> None:
    sm, _ = fab
    resp = admin.put("/api/v1/access/Admin", json={"permissions": {permissions.RESOURCE_TASKS: ["can_read"]}})
    assert resp.status_code == 409
    assert "keeps every ylai permission" in resp.json()["error"]["message"]
    assert sm.calls == []


def test_non_admins_get_403_and_read_their_own_permissions_from_me(airflow_db: object, fab: object) -> None:
    with TestClient(create_app(), headers=headers("viewer", "wang")) as c:
        assert c.get("/api/v1/access").status_code == 403
        put = c.put("/api/v1/access/Viewer", json={"permissions": {permissions.RESOURCE_TASKS: ["can_create"]}})
        assert put.status_code == 403
        me = c.get("/api/v1/me").json()
    assert me["may_manage_access"] is False
    # Every ylai resource, keyed by its short name.
    assert set(me["permissions"]) == {r.removeprefix("ylai ").lower().replace(" ", "_") for r in permissions.RESOURCES}
    assert me["permissions"]["tasks"] == ["read"]


def test_me_tells_admins_they_may_manage_access(admin: TestClient) -> None:
    assert admin.get("/api/v1/me").json()["may_manage_access"] is True


def test_without_fab_the_matrix_is_a_409_and_me_says_no(airflow_db: object) -> None:
    # The unit tests' own SimpleAuthManager: no FAB roles to show.
    with TestClient(create_app(), headers=headers("admin", "root")) as c:
        resp = c.get("/api/v1/access")
        assert resp.status_code == 409
        assert resp.json()["error"]["message"] == "The access matrix needs Airflow's FAB auth manager"
        assert c.get("/api/v1/me").json()["may_manage_access"] is False
