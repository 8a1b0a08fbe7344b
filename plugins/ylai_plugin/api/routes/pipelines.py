"""``/pipelines``: repository pipelines, one pipeline's spec and layout, the validator, YAML export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ylai_operators.catalog import pipeline_dag_id
from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.datamodels.pipelines import (
    PipelineDetail,
    PipelineOut,
    PipelineRunOut,
    ValidateIn,
    ValidateOut,
)
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, Offset, cached_read, pick_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import pipelines
from ylai_plugin.permissions import RESOURCE_PIPELINES

router = APIRouter(prefix="/pipelines", tags=["pipelines"], responses={404: {"model": ErrorResponse}})
# A run started through ylai raises the "tasks" counter (scheduled tasks run pipelines too).
GROUPS = ["tasks"]


@router.get("", response_model=Page[PipelineOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_PIPELINES))])
def list_pipelines(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=128, description="Name, title, owner or a tag contains.")] = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """Pipelines whose DAG the caller may read, by name, with their latest run.

    Cached per user for ``[ylai] list_cache_seconds``.
    """

    def page(session: Any) -> Any:
        found = pipelines.matching(user, q=q)
        shown = found[offset : offset + limit]
        last = pipelines.last_runs([pipeline_dag_id(p.name) for p in shown], session)
        items = []
        for p in shown:
            state, at = last[pipeline_dag_id(p.name)]
            items.append(PipelineOut(**pipelines.describe(p), last_run_state=state, last_run_at=at))
        return pick_fields(
            Page[PipelineOut](items=items, total=len(found), limit=limit, offset=offset), fields, PipelineOut
        )

    return cached_read(request, user, GROUPS, page)


@router.post(
    "/validate",
    response_model=ValidateOut,
    # Who may create pipelines (User, Op, Admin): validation serves the editor, which a Viewer
    # sees read-only; and every POST of the API is refused to a Viewer, one rule to audit.
    dependencies=[Depends(requires(RESOURCE_PIPELINES, "POST"))],
    responses={422: {"model": ErrorResponse}},
)
def validate_pipeline(body: ValidateIn, user: UserDep) -> ValidateOut:
    """Run the compiler that builds ``pipeline__<name>`` DAGs on a spec.

    Answers 200 whether or not the spec is valid: ``problems`` lists every problem with its node
    and field, and a valid spec gets its params schema. Only a body that is not
    ``{"spec": {...}}`` is a 422.
    """
    return ValidateOut.model_validate(pipelines.validate(body.spec))


@router.get("/{name}", response_model=PipelineDetail, dependencies=[Depends(requires(RESOURCE_PIPELINES))])
def get_pipeline(
    request: Request, name: str, user: UserDep, runs: Annotated[int, Query(ge=1, le=200)] = 20
) -> Response:
    """A pipeline's spec (as JSON), layout, params schema, DAG id and recent runs."""

    def detail(session: Any) -> PipelineDetail:
        stored = pipelines.get(user, name)
        dag_id = pipeline_dag_id(name)
        state, at = pipelines.last_runs([dag_id], session)[dag_id]
        recent = [PipelineRunOut(**r) for r in pipelines.recent_runs(session, name, runs)]
        return PipelineDetail(**pipelines.detail(stored), last_run_state=state, last_run_at=at, recent_runs=recent)

    return cached_read(request, user, GROUPS, detail)


@router.get(
    "/{name}/yaml",
    response_class=Response,
    dependencies=[Depends(requires(RESOURCE_PIPELINES))],
    responses={200: {"description": "The pipeline file", "content": {"text/yaml": {"schema": {"type": "string"}}}}},
)
def export_pipeline_yaml(name: str, user: UserDep) -> Response:
    """The pipeline as a YAML file the repository loader accepts unchanged (``layout`` included)."""
    file_name, text = pipelines.export_yaml(pipelines.get(user, name))
    return Response(
        text,
        media_type="text/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )
