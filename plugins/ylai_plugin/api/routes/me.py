"""``/me``: who the caller is and what ylai lets them do, so the UI can disable controls up front."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ylai_plugin import config
from ylai_plugin.api.datamodels.me import DagRights, Me
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import access
from ylai_plugin.permissions import (
    RESOURCE_ALERTS,
    RESOURCE_MONITOR,
    RESOURCE_PIPELINES,
    RESOURCE_PRESETS,
    RESOURCE_REPORTS,
    RESOURCE_SCRIPTS,
    RESOURCE_TASKS,
)

router = APIRouter(tags=["me"])
# The keys of ``permissions`` in the answer, and the ylai resource each stands for.
_RESOURCES = {
    "tasks": RESOURCE_TASKS,
    "scripts": RESOURCE_SCRIPTS,
    "pipelines": RESOURCE_PIPELINES,
    "presets": RESOURCE_PRESETS,
    "monitor": RESOURCE_MONITOR,
    "alerts": RESOURCE_ALERTS,
    "reports": RESOURCE_REPORTS,
}


@router.get("/me", response_model=Me)
def me(
    user: UserDep,
    dag_id: Annotated[list[str] | None, Query(max_length=50, description="DAGs to report rights for.")] = None,
) -> Me:
    """The caller's name, roles, ylai permissions, for the DAGs asked for, read/run/log rights, and the trace link."""
    return Me(
        username=user.get_name(),
        roles=sorted(access.user_roles(user)),
        permissions={key: access.allowed_actions(user, resource) for key, resource in _RESOURCES.items()},
        dags={d: DagRights(**access.dag_rights(user, d)) for d in dag_id or []},
        trace_url_template=config.TRACE_URL_TEMPLATE.get() or None,
    )
