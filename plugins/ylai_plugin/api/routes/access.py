"""``/access``: the matrix of Airflow's roles by ylai's permissions, and changing one role's row.

Both need the permission to manage FAB's roles (Admin by default); everyone else reads their
own permissions from ``/me``. The logic lives in :mod:`ylai_plugin.domain.role_access`.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Path

from ylai_plugin.api.datamodels.access import (
    AccessMatrixOut,
    RoleAccessChangeOut,
    RoleAccessIn,
    RoleAccessOut,
    SecurityLinkOut,
)
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import audit, role_access

# 409: the auth manager is not FAB's (no roles to show or change).
router = APIRouter(prefix="/access", tags=["access"], responses={409: {"model": ErrorResponse}})


def _row(row: role_access.RoleAccess) -> RoleAccessOut:
    return RoleAccessOut(name=row.name, user_count=len(row.users), users=row.users, permissions=row.permissions)


@router.get("", response_model=AccessMatrixOut, dependencies=[Depends(requires(role_access.MANAGE_RESOURCE, "GET"))])
def get_access(user: UserDep) -> AccessMatrixOut:
    """Every role with its users and its ylai permissions, and links to Airflow's Security pages."""
    with role_access.security_manager() as sm:
        found = role_access.matrix(sm, user)
    return AccessMatrixOut(
        resources=found.resources,
        actions=found.actions,
        roles=[_row(r) for r in found.roles],
        links=[SecurityLinkOut(text=link.text, href=link.href) for link in found.links],
    )


@router.put(
    "/{role}",
    response_model=RoleAccessChangeOut,
    dependencies=[Depends(requires(role_access.MANAGE_RESOURCE, "PUT"))],
    responses={
        404: {"model": ErrorResponse, "description": "No such role."},
        409: {"model": ErrorResponse, "description": "A revocation from Admin, or an auth manager other than FAB's."},
        422: {"model": ErrorResponse},
    },
)
def put_access(
    role: Annotated[str, Path(min_length=1, max_length=64)], body: RoleAccessIn, user: UserDep, session: SessionDep
) -> RoleAccessChangeOut:
    """Set the role's actions on the ylai resources named; audited as ``ylai.access.update``."""
    with role_access.security_manager() as sm:
        change = role_access.update_role(sm, role, body.permissions)
    audit.record(
        session,
        user,
        "ylai.access.update",
        "role",
        change.role.name,
        summary=change.summary(),
        granted=change.granted,
        revoked=change.revoked,
    )
    return RoleAccessChangeOut(role=_row(change.role), granted=change.granted, revoked=change.revoked)
