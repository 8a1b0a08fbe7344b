"""The access matrix: Airflow's roles by ylai's permissions, read from and written through FAB.

Roles, their permissions and their users live in FAB's tables; ylai keeps no copy. Reads and
writes go through FAB's security manager (``find_role``, ``get_permission``,
``add_permission_to_role``, ``remove_permission_from_role``), as FAB's own role pages and REST
API do, so FAB's own views and ``GET /auth/fab/v1/roles`` show the same grants.

Only ylai's resources (:data:`ylai_plugin.permissions.RESOURCES`, read at call time so a resource
added later shows up) and :data:`ylai_plugin.permissions.ACTIONS` may be changed here: creating
users and roles, and any other permission, stays with Airflow's Security pages.

Who may use the matrix: whoever may manage FAB's roles (:data:`MANAGE_RESOURCE`), which by
default is Admin only; the same permission guards FAB's own Roles pages and role API.

A change takes effect on the caller's next request: FAB caches each user (with their
permissions) for ``[fab] cache_ttl`` seconds per api-server process, and :func:`update_role`
empties that cache in the process that made the change. Other api-server processes (more
``[api] workers``, more replicas) see it when their cache entry expires, within ``cache_ttl``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ylai_plugin import permissions
from ylai_plugin.domain import access
from ylai_plugin.domain.errors import Conflict, Invalid, not_found, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

# FAB's resource of its Roles pages and role API; who may use them may use the matrix too.
MANAGE_RESOURCE = "Roles"
# FAB re-grants Admin every non-DAG permission at each api-server start (update_admin_permission
# under [fab] update_fab_perms), so a revocation would not even last; refusing it also means the
# matrix can never leave nobody able to manage ylai.
ADMIN_ROLE = "Admin"
NO_FAB = text("access.no_fab", "The access matrix needs Airflow's FAB auth manager")


@dataclass(frozen=True)
class RoleAccess:
    """One row of the matrix: a role, its users and its ylai permissions.

    :param permissions: every ylai resource, with the actions the role has on it (possibly none).
    """

    name: str
    users: list[str]
    permissions: dict[str, list[str]]


@dataclass(frozen=True)
class SecurityLink:
    """A link to one of Airflow's own Security pages (FAB's users or roles list)."""

    text: str
    href: str


@dataclass(frozen=True)
class Matrix:
    """Every role by every ylai permission, and where to manage users and roles."""

    resources: list[str]
    actions: list[str]
    roles: list[RoleAccess]
    links: list[SecurityLink] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """What :func:`update_role` did: the role's new row and the ``action on resource`` pairs."""

    role: RoleAccess
    granted: list[str]
    revoked: list[str]

    def summary(self) -> str:
        """A short sentence for the audit trail: ``granted ...; revoked ...`` (or ``no change``)."""
        parts = [
            f"{verb} {', '.join(pairs)}"
            for verb, pairs in (("granted", self.granted), ("revoked", self.revoked))
            if pairs
        ]
        return f"{self.role.name}: {'; '.join(parts) or 'no change'}"


def pair(action: str, resource: str) -> str:
    """``can_read on ylai Tasks``: how the audit trail and the answers name one permission."""
    return f"{action} on {resource}"


def fab_manager() -> Any:
    """The api-server's FAB auth manager; :class:`Conflict` under any other auth manager."""
    manager = access.auth_manager()
    try:
        from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
    except ImportError:  # pragma: no cover - the FAB provider is a dependency of ylai
        raise Conflict(NO_FAB) from None
    if not isinstance(manager, FabAuthManager) or manager.flask_app is None:
        raise Conflict(NO_FAB)
    return manager


@contextmanager
def security_manager() -> Iterator[Any]:
    """FAB's security manager, inside the Flask app context it needs (as FAB's own routes do)."""
    manager = fab_manager()
    with manager.flask_app.app_context():
        yield manager.security_manager


def may_manage(user: BaseUser, method: str = "GET") -> bool:
    """Whether ``user`` may read (``GET``) or change (``PUT``) the matrix (never without FAB)."""
    try:
        fab_manager()
    except Conflict:
        return False
    return access.can_access_view(user, MANAGE_RESOURCE, method)


def ylai_grants(role: Any) -> dict[str, list[str]]:
    """The role's actions on each ylai resource, in :data:`permissions.ACTIONS` order."""
    held = {(p.action.name, p.resource.name) for p in role.permissions}
    return {
        resource: [action for action in permissions.ACTIONS if (action, resource) in held]
        for resource in permissions.RESOURCES
    }


def role_row(role: Any) -> RoleAccess:
    """One role as a matrix row; users by username, sorted."""
    return RoleAccess(
        name=role.name,
        users=sorted(user.username for user in getattr(role, "user", []) or []),
        permissions=ylai_grants(role),
    )


def security_links(user: BaseUser) -> list[SecurityLink]:
    """Airflow's own pages for users and roles, as its menu links them (only those ``user`` may open)."""
    items = access.auth_manager().get_extra_menu_items(user=user)
    wanted = {"Users", "Roles"}
    return [SecurityLink(text=item.text, href=item.href) for item in items if item.text in wanted]


def matrix(sm: Any, user: BaseUser) -> Matrix:
    """Every role (sorted by name) with its users and ylai permissions."""
    roles = sorted(sm.get_all_roles(), key=lambda r: r.name)
    return Matrix(
        resources=list(permissions.RESOURCES),
        actions=list(permissions.ACTIONS),
        roles=[role_row(r) for r in roles],
        links=security_links(user),
    )


def validate(wanted: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """``wanted`` as sets, or :class:`Invalid` naming each non-ylai resource and unknown action."""
    problems: list[dict[str, Any]] = []
    clean: dict[str, set[str]] = {}
    for resource, actions in wanted.items():
        where = f"body.permissions.{resource}"
        if resource not in permissions.RESOURCES:
            reason = text(
                "access.not_ylai_resource",
                "not a ylai resource; one of {resources}",
                resources=", ".join(permissions.RESOURCES),
            )
            problems.append({"field": where, "reason": reason})
            continue
        for action in actions:
            if action not in permissions.ACTIONS:
                reason = text(
                    "access.unknown_action",
                    "unknown action {action!r}; one of {actions}",
                    action=action,
                    actions=", ".join(permissions.ACTIONS),
                )
                problems.append({"field": where, "reason": reason})
        clean[resource] = set(actions)
    if problems:
        raise Invalid(problems)
    return clean


def update_role(sm: Any, role_name: str, wanted: Mapping[str, Sequence[str]]) -> Change:
    """Give ``role_name`` exactly ``wanted``'s actions on each ylai resource ``wanted`` names.

    Resources ``wanted`` leaves out keep their grants. Grants and revocations go through FAB's
    security manager; FAB's user cache is then emptied so the next request sees the change.

    :raises Invalid: a resource that is not ylai's, or an unknown action (nothing is changed).
    :raises NotFound: no such role.
    :raises Conflict: the change would take a ylai permission from :data:`ADMIN_ROLE`.
    """
    clean = validate(wanted)
    role = sm.find_role(role_name)
    if role is None:
        raise not_found("Role", role_name)
    current = ylai_grants(role)
    grant = [
        (a, r) for r, actions in clean.items() for a in permissions.ACTIONS if a in actions and a not in current[r]
    ]
    revoke = [(a, r) for r, actions in clean.items() for a in current[r] if a not in actions]
    if revoke and role.name == ADMIN_ROLE:
        raise Conflict(
            text(
                "access.admin_keeps_all",
                "The {role} role keeps every ylai permission; revoke them from other roles",
                role=role.name,
            )
        )
    for action, resource in grant:
        # ``ylai sync-perms`` creates every ylai permission; create_permission covers a resource
        # added since (it is idempotent and returns the existing pair).
        permission = sm.get_permission(action, resource) or sm.create_permission(action, resource)
        sm.add_permission_to_role(role, permission)
    for action, resource in revoke:
        sm.remove_permission_from_role(role, sm.get_permission(action, resource))
    if grant or revoke:
        forget_cached_users()
    return Change(
        role=role_row(sm.find_role(role_name)),
        granted=[pair(a, r) for a, r in grant],
        revoked=[pair(a, r) for a, r in revoke],
    )


def forget_cached_users() -> None:
    """Empty FAB's per-process user cache, so the next request reloads users and their permissions."""
    cache = getattr(access.auth_manager(), "cache", None)
    if cache is not None:
        cache.clear()
