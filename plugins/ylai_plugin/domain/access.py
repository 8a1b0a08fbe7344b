"""Who may do what: Airflow's auth manager, ylai's custom resources and DAG-level permissions.

Resources are checked with the auth manager's ``is_authorized_custom_view``: under FAB that
means ``can_read``/``can_create``/``can_edit``/``can_delete`` on "ylai Tasks" etc. (created
by :mod:`ylai_plugin.permissions`). DAG-level checks go through ``is_authorized_dag``, as
Airflow's own API does.

Every check calls :func:`auth_manager` through this module, so a test that replaces it
(``monkeypatch.setattr(access, "auth_manager", ...)``) changes every check at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ylai_plugin.domain.errors import Forbidden, Term, Text, not_found, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

# The verb of each method in "You may not <verb> <resource>".
_VERBS = {"GET": "read", "POST": "create", "PATCH": "edit", "PUT": "edit", "DELETE": "delete"}
Action = Literal["read", "create", "edit", "delete"]
# The actions a client may ask about, and the method each is checked with.
ACTIONS: dict[Action, str] = {"read": "GET", "create": "POST", "edit": "PATCH", "delete": "DELETE"}


def auth_manager() -> Any:
    """The api-server's auth manager (FAB, Simple, or whatever Airflow is configured with)."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


def can_access_view(user: BaseUser, resource: str, method: str = "GET") -> bool:
    """Whether ``user`` may ``method`` ylai's custom ``resource`` (``"ylai Tasks"``, ...)."""
    return bool(auth_manager().is_authorized_custom_view(method=method, resource_name=resource, user=user))


def ensure_view_access(user: BaseUser, resource: str, method: str = "GET") -> None:
    """Raise :class:`Forbidden` ("You may not create ylai Tasks") unless :func:`can_access_view`."""
    if not can_access_view(user, resource, method):
        raise Forbidden(may_not(method, resource))


def may_not(method: str, resource: str) -> Text:
    """The reason of a 403 ("You may not create ylai Tasks"): ``method`` as a verb, ``resource`` as it is."""
    return text(
        "access.view", "You may not {verb} {resource}", verb=Term(_VERBS.get(method, method)), resource=resource
    )


def allowed_actions(user: BaseUser, resource: str) -> list[Action]:
    """The :data:`ACTIONS` (``read``, ``create``, ...) ``user`` may perform on ``resource``, in that order."""
    manager = auth_manager()
    return [
        action
        for action, method in ACTIONS.items()
        if manager.is_authorized_custom_view(method=method, resource_name=resource, user=user)
    ]


def dag_rights(user: BaseUser, dag_id: str) -> dict[str, bool]:
    """Whether ``user`` may ``read`` the DAG, ``run`` it and read its task ``logs``."""
    return {
        "read": can_access_dag(user, dag_id),
        "run": can_access_dag(user, dag_id, "POST", "RUN"),
        "logs": can_access_dag(user, dag_id, "GET", "TASK_LOGS"),
    }


def can_access_dag(user: BaseUser, dag_id: str, method: str = "GET", entity: str | None = None) -> bool:
    """Whether ``user`` may ``method`` the DAG (or one of its entities such as RUN or TASK_LOGS)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    access_entity = DagAccessEntity[entity] if entity else None
    return bool(
        auth_manager().is_authorized_dag(
            method=method, access_entity=access_entity, details=DagDetails(id=dag_id), user=user
        )
    )


def ensure_dag_access(user: BaseUser, dag_id: str, method: str = "GET", entity: str | None = None) -> None:
    """Raise NotFound when the user may not even see the DAG, Forbidden when they may see but not ``method`` it."""
    if not can_access_dag(user, dag_id, "GET"):
        # Do not reveal that a DAG the user cannot see exists.
        raise not_found("DAG", dag_id)
    if (method, entity) != ("GET", None) and not can_access_dag(user, dag_id, method, entity):
        raise Forbidden(
            text(
                "access.dag",
                "You may not {method} {entity} of {dag_id!r}",
                method=method,
                entity=entity or "DAG",
                dag_id=dag_id,
            )
        )


def readable_dag_ids(user: BaseUser) -> set[str]:
    """DAG ids the user may read."""
    return set(auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def user_roles(user: BaseUser) -> set[str]:
    """Role names of the user, for FAB users and SimpleAuthManager users alike."""
    roles = getattr(user, "roles", None)
    if roles is not None:
        return {getattr(r, "name", str(r)) for r in roles}
    role = getattr(user, "role", None)
    return {str(role)} if role else set()
