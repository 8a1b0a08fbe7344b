"""``/presets``: saved parameter sets for any DAG with params, private or shared with a role."""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.datamodels.presets import PresetIn, PresetOut, PresetPatch, PresetSort, Visibility
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, cached_read, pick_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import presets
from ylai_plugin.domain.paging import PageQuery
from ylai_plugin.permissions import RESOURCE_PRESETS

router = APIRouter(prefix="/presets", tags=["presets"], responses={404: {"model": ErrorResponse}})


@router.post(
    "",
    status_code=201,
    response_model=PresetOut,
    dependencies=[Depends(requires(RESOURCE_PRESETS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_preset(body: PresetIn, user: UserDep, session: SessionDep) -> PresetOut:
    """Save a parameter set; values are validated against the DAG's params."""
    return PresetOut(**presets.create(session, user, body.model_dump()))


@router.get("", response_model=Page[PresetOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_PRESETS))])
def list_presets(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: PresetSort = "name",
    dag_id: str | None = None,
    visibility: Visibility | None = None,
    q: Annotated[str | None, Query(max_length=128)] = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """Your presets and those shared with one of your roles, for DAGs you may read.

    Answers are cached per user for ``[ylai] list_cache_seconds``; a preset created, edited or
    deleted through ylai shows in the next answer (see ``ylai_plugin.domain.list_cache``).
    """

    def compute(session: Any) -> BaseModel:
        paging = PageQuery(limit, offset, order_by)
        found, total = presets.page(session, user, paging, dag_id=dag_id, visibility=visibility, q=q)
        items = [PresetOut(**p) for p in found]
        return pick_fields(Page[PresetOut](items=items, total=total, limit=limit, offset=offset), fields, PresetOut)

    return cached_read(request, user, ["presets"], compute)


@router.get("/{preset_id}", response_model=PresetOut, dependencies=[Depends(requires(RESOURCE_PRESETS))])
def get_preset(request: Request, preset_id: IdPath, user: UserDep) -> Response:
    """One preset, cached per user like the list: an edit through ylai shows in the next answer."""
    return cached_read(request, user, ["presets"], lambda session: PresetOut(**presets.read(session, user, preset_id)))


@router.patch(
    "/{preset_id}",
    response_model=PresetOut,
    dependencies=[Depends(requires(RESOURCE_PRESETS, "PATCH"))],
    responses={403: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def update_preset(preset_id: IdPath, body: PresetPatch, user: UserDep, session: SessionDep) -> PresetOut:
    """Change a preset you own."""
    return PresetOut(**presets.update(session, user, preset_id, body.model_dump(exclude_unset=True)))


@router.delete("/{preset_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_PRESETS, "DELETE"))])
def delete_preset(preset_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """Delete a preset you own."""
    presets.delete(session, user, preset_id)
    return Response(status_code=204)
