"""``/presets``: saved parameter sets for any DAG with params, private or shared with a role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, or_

from ylai_plugin.api.errors import ApiError, ErrorResponse, flush_or_conflict, not_found
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, Page, PartialPage, fetch_page, pick_fields
from ylai_plugin.api.security import (
    UserDep,
    ensure_dag_access,
    readable_dag_ids,
    requires,
    user_roles,
)
from ylai_plugin.db.models import Preset
from ylai_plugin.domain import dags as dag_service
from ylai_plugin.domain.list_cache import cached_read
from ylai_plugin.permissions import RESOURCE_PRESETS

router = APIRouter(prefix="/presets", tags=["presets"], responses={404: {"model": ErrorResponse}})
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,127}$"


class PresetIn(BaseModel):
    """A new preset. ``shared_with_role`` null keeps it private."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "small sample", "dag_id": "script__data_generator", "params": {"rows": 10}}]
        },
    )

    name: str = Field(pattern=NAME_PATTERN)
    dag_id: str = Field(min_length=1, max_length=250)
    description: str = Field(default="", max_length=4000)
    params: dict[str, Any] = Field(default_factory=dict)
    shared_with_role: str | None = Field(default=None, min_length=1, max_length=64)


class PresetPatch(BaseModel):
    """Fields to change."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"params": {"rows": 20}, "shared_with_role": "Op"}]}
    )

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    params: dict[str, Any] | None = None
    shared_with_role: str | None = Field(default=None, min_length=1, max_length=64)


class PresetOut(BaseModel):
    """A preset as its readers see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "name": "small sample",
                    "dag_id": "script__data_generator",
                    "description": "Ten rows, for a smoke test",
                    "params": {"rows": 10, "api_token": "***"},
                    "owner": "alice",
                    "shared_with_role": "Op",
                    "visibility": "shared",
                    "editable": True,
                    "created_at": "2026-11-20T08:00:00Z",
                    "updated_at": "2026-11-21T10:30:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    dag_id: str
    description: str
    params: dict[str, Any]
    owner: str
    shared_with_role: str | None
    visibility: Literal["private", "shared"]
    editable: bool = Field(description="Whether the caller may change or delete it (owner or Admin).")
    created_at: datetime
    updated_at: datetime


def _is_admin(user: BaseUser) -> bool:
    return "Admin" in user_roles(user) or "admin" in user_roles(user)


def _visible(user: BaseUser) -> ColumnElement[bool]:
    roles = user_roles(user)
    return or_(Preset.owner == user.get_name(), Preset.shared_with_role.in_(roles))


def _to_out(
    preset: Preset, user: BaseUser, session: Any, secret: frozenset[str] | None = None, *, editable: bool | None = None
) -> PresetOut:
    if secret is None:
        secret = dag_service.secret_params([preset.dag_id], session)[preset.dag_id]
    if editable is None:
        editable = preset.owner == user.get_name() or _is_admin(user)
    return PresetOut(
        id=preset.id,
        name=preset.name,
        dag_id=preset.dag_id,
        description=preset.description,
        params=dag_service.mask(preset.params, secret),
        owner=preset.owner,
        shared_with_role=preset.shared_with_role,
        visibility="shared" if preset.shared_with_role else "private",
        editable=editable,
        created_at=preset.created_at,
        updated_at=preset.updated_at,
    )


def _get(preset_id: int, user: BaseUser, session: Any, *, write: bool = False) -> Preset:
    preset: Preset | None = session.get(Preset, preset_id)
    roles = user_roles(user)
    if preset is None or (preset.owner != user.get_name() and preset.shared_with_role not in roles):
        raise not_found("Preset", preset_id)  # another user's private preset does not exist for you
    ensure_dag_access(user, preset.dag_id)
    if write and preset.owner != user.get_name() and not _is_admin(user):
        raise ApiError(403, "Only the owner (or an Admin) may change this preset")
    return preset


@router.post(
    "",
    status_code=201,
    response_model=PresetOut,
    dependencies=[Depends(requires(RESOURCE_PRESETS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_preset(body: PresetIn, user: UserDep, session: SessionDep) -> PresetOut:
    """Save a parameter set; values are validated against the DAG's params."""
    ensure_dag_access(user, body.dag_id)
    dag_service.validate_params(dag_service.get_dag(body.dag_id, session), body.params, partial=True)
    if body.shared_with_role and body.shared_with_role not in user_roles(user) and not _is_admin(user):
        raise ApiError(
            422, "Invalid input", [{"field": "body.shared_with_role", "reason": "you can only share with your roles"}]
        )
    preset = Preset(**body.model_dump(), owner=user.get_name())
    session.add(preset)
    flush_or_conflict(session, f"You already have a preset named {body.name!r} for this DAG")
    return _to_out(preset, user, session)


@router.get("", response_model=Page[PresetOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_PRESETS))])
def list_presets(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: Literal["name", "-name", "updated_at", "-updated_at", "id", "-id"] = "name",
    dag_id: str | None = None,
    visibility: Literal["private", "shared"] | None = None,
    q: Annotated[str | None, Query(max_length=128)] = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """Your presets and those shared with one of your roles, for DAGs you may read.

    Answers are cached per user for ``[ylai] list_cache_seconds``; a preset created, edited or
    deleted through ylai shows in the next answer (see ``ylai_plugin.domain.list_cache``).
    """

    def compute(session: Any) -> BaseModel:
        where = [_visible(user), Preset.dag_id.in_(readable_dag_ids(user))]
        if dag_id:
            where.append(Preset.dag_id == dag_id)
        if visibility == "private":
            where.append(Preset.shared_with_role.is_(None))
        elif visibility == "shared":
            where.append(Preset.shared_with_role.is_not(None))
        if q:
            where.append(func.lower(Preset.name).contains(q.lower(), autoescape=True))
        rows, total = fetch_page(session, Preset, where, order_by, limit, offset)
        secrets = dag_service.secret_params({p.dag_id for p in rows}, session)  # once per DAG, not per row
        name, admin = user.get_name(), _is_admin(user)  # once per request, not per row
        items = [_to_out(p, user, session, secrets[p.dag_id], editable=p.owner == name or admin) for p in rows]
        page = Page[PresetOut](items=items, total=total, limit=limit, offset=offset)
        return pick_fields(page, fields, PresetOut)

    return cached_read(request, user, ["presets"], compute)


@router.get("/{preset_id}", response_model=PresetOut, dependencies=[Depends(requires(RESOURCE_PRESETS))])
def get_preset(request: Request, preset_id: IdPath, user: UserDep) -> Response:
    """One preset, cached per user like the list: an edit through ylai shows in the next answer."""
    return cached_read(
        request, user, ["presets"], lambda session: _to_out(_get(preset_id, user, session), user, session)
    )


@router.patch(
    "/{preset_id}",
    response_model=PresetOut,
    dependencies=[Depends(requires(RESOURCE_PRESETS, "PATCH"))],
    responses={403: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def update_preset(preset_id: IdPath, body: PresetPatch, user: UserDep, session: SessionDep) -> PresetOut:
    """Change a preset you own."""
    preset = _get(preset_id, user, session, write=True)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "params"):
        if key in changes and changes[key] is None:
            raise ApiError(422, "Invalid input", [{"field": f"body.{key}", "reason": "cannot be null"}])
    if "params" in changes:
        dag_service.validate_params(dag_service.get_dag(preset.dag_id, session), changes["params"], partial=True)
    for key, value in changes.items():
        setattr(preset, key, "" if key == "description" and value is None else value)
    flush_or_conflict(session, f"You already have a preset named {preset.name!r} for this DAG")
    return _to_out(preset, user, session)


@router.delete("/{preset_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_PRESETS, "DELETE"))])
def delete_preset(preset_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """Delete a preset you own."""
    session.delete(_get(preset_id, user, session, write=True))
    return Response(status_code=204)
