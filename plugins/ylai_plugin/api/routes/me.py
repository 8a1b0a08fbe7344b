"""``/me``: who the caller is and what ylai lets them do, so the UI can disable controls up front."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ylai_plugin import config
from ylai_plugin.api.datamodels.me import DagRights, Me
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import access, role_access
from ylai_plugin.permissions import RESOURCES

router = APIRouter(tags=["me"])


def _key(resource: str) -> str:
    """The key of ``resource`` in ``permissions``: "ylai Tasks" is ``tasks``."""
    return resource.removeprefix("ylai ").lower().replace(" ", "_")


@router.get("/me", response_model=Me)
def me(
    user: UserDep,
    dag_id: Annotated[list[str] | None, Query(max_length=50, description="DAGs to report rights for.")] = None,
) -> Me:
    """The caller's name, roles, ylai permissions, for the DAGs asked for, read/run/log rights, and the trace link."""
    return Me(
        username=user.get_name(),
        roles=sorted(access.user_roles(user)),
        # Every resource of permissions.RESOURCES: a ylai resource added there shows up here too.
        permissions={_key(resource): access.allowed_actions(user, resource) for resource in RESOURCES},
        may_manage_access=role_access.may_manage(user, "PUT"),
        dags={d: DagRights(**access.dag_rights(user, d)) for d in dag_id or []},
        trace_url_template=config.TRACE_URL_TEMPLATE.get() or None,
    )
