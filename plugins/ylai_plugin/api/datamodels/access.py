"""Request and response models of ``/access``: the matrix of roles by ylai permissions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_ROW_EXAMPLE: JsonDict = {
    "name": "Viewer",
    "user_count": 2,
    "users": ["olga", "wang"],
    "permissions": {"ylai Tasks": ["can_read"], "ylai Scripts": ["can_read"]},
}


class RoleAccessOut(BaseModel):
    """One role: its users and its actions on each ylai resource."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ROW_EXAMPLE]})

    name: str
    user_count: int = Field(description="How many users have this role.")
    users: list[str] = Field(description="Their usernames, sorted.")
    permissions: dict[str, list[str]] = Field(
        description="Every ylai resource, with the FAB actions the role has on it (possibly none)."
    )


class SecurityLinkOut(BaseModel):
    """A link to one of Airflow's own Security pages (users, roles)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Users", "href": "/auth/users/list/"}]})

    text: str
    href: str


class AccessMatrixOut(BaseModel):
    """Every role by every ylai permission, with users per role and links to Airflow's Security pages."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resources": ["ylai Tasks", "ylai Scripts"],
                    "actions": ["can_read", "can_create", "can_edit", "can_delete"],
                    "roles": [_ROW_EXAMPLE],
                    "links": [
                        {"text": "Users", "href": "/auth/users/list/"},
                        {"text": "Roles", "href": "/auth/roles/list/"},
                    ],
                }
            ]
        }
    )

    resources: list[str] = Field(description="ylai's FAB resources, the matrix's columns.")
    actions: list[str] = Field(description="The FAB actions each resource has.")
    roles: list[RoleAccessOut]
    links: list[SecurityLinkOut] = Field(description="Airflow's own pages for creating users and roles.")


class RoleAccessIn(BaseModel):
    """The ylai permissions a role should have, per resource; resources left out keep their grants."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"permissions": {"ylai Tasks": ["can_read", "can_create"], "ylai Scripts": ["can_read"]}}]
        },
    )

    permissions: dict[str, list[str]] = Field(
        description="For each ylai resource named, exactly the actions the role should have on it "
        "(an empty list revokes them all)."
    )


class RoleAccessChangeOut(BaseModel):
    """The role after the change, and what was granted and revoked (``can_read on ylai Tasks``)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": _ROW_EXAMPLE, "granted": ["can_read on ylai Scripts"], "revoked": []}]}
    )

    role: RoleAccessOut
    granted: list[str]
    revoked: list[str]
