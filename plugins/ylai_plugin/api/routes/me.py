"""``/me``: who the caller is and what ylai lets them do, so the UI can disable controls up front."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ylai_plugin.api.security import UserDep
from ylai_plugin.domain.access import auth_manager, can_access_dag, user_roles
from ylai_plugin.permissions import (
    RESOURCE_ALERTS,
    RESOURCE_MONITOR,
    RESOURCE_PRESETS,
    RESOURCE_REPORTS,
    RESOURCE_SCRIPTS,
    RESOURCE_TASKS,
)

router = APIRouter(tags=["me"])
Action = Literal["read", "create", "edit", "delete"]
_METHODS: dict[Action, str] = {"read": "GET", "create": "POST", "edit": "PATCH", "delete": "DELETE"}
_RESOURCES = {
    "tasks": RESOURCE_TASKS,
    "scripts": RESOURCE_SCRIPTS,
    "presets": RESOURCE_PRESETS,
    "monitor": RESOURCE_MONITOR,
    "alerts": RESOURCE_ALERTS,
    "reports": RESOURCE_REPORTS,
}


class DagRights(BaseModel):
    """What the caller may do with one DAG."""

    model_config = {"json_schema_extra": {"examples": [{"read": True, "run": False, "logs": True}]}}

    read: bool
    run: bool
    logs: bool


class Me(BaseModel):
    """The caller and their permissions."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "username": "vera",
                    "roles": ["Viewer"],
                    "permissions": {
                        "tasks": ["read"],
                        "scripts": ["read"],
                        "presets": ["read"],
                        "monitor": ["read"],
                        "alerts": ["read"],
                        "reports": ["read"],
                    },
                    "dags": {"script__disk_usage": {"read": True, "run": False, "logs": True}},
                }
            ]
        }
    }

    username: str
    roles: list[str]
    permissions: dict[str, list[Action]] = Field(description="Allowed actions per ylai resource.")
    dags: dict[str, DagRights] = Field(default_factory=dict, description="For each `dag_id` asked for.")


@router.get("/me", response_model=Me)
def me(
    user: UserDep,
    dag_id: Annotated[list[str] | None, Query(max_length=50, description="DAGs to report rights for.")] = None,
) -> Me:
    """The caller's name, roles, ylai permissions and, for the DAGs asked for, read/run/log rights."""
    am = auth_manager()
    permissions = {
        key: [
            a
            for a, method in _METHODS.items()
            if am.is_authorized_custom_view(method=method, resource_name=res, user=user)
        ]
        for key, res in _RESOURCES.items()
    }
    dags = {
        d: DagRights(
            read=can_access_dag(user, d),
            run=can_access_dag(user, d, "POST", "RUN"),
            logs=can_access_dag(user, d, "GET", "TASK_LOGS"),
        )
        for d in dag_id or []
    }
    return Me(username=user.get_name(), roles=sorted(user_roles(user)), permissions=permissions, dags=dags)
