"""``/pipelines``: repository and database pipelines, the validator, YAML export, versions, runs."""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response

from ylai_operators.catalog import pipeline_dag_id
from ylai_plugin.alerts.shorthand import rules_from_shorthand
from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.datamodels.pipelines import (
    DbPipelineOut,
    PipelineDetail,
    PipelineIn,
    PipelineOut,
    PipelineRunOut,
    PipelineVersionOut,
    ValidateIn,
    ValidateOut,
)
from ylai_plugin.api.datamodels.runs import RunBody, RunOut, run_out
from ylai_plugin.api.datamodels.scripts import RestoreIn, VersionOut
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, Offset, VersionPath, cached_read, pick_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.api.usage_source import SourceDep
from ylai_plugin.domain import approvals, form_options, pipelines, usage
from ylai_plugin.domain import dags as dag_service
from ylai_plugin.domain.errors import Invalid
from ylai_plugin.permissions import RESOURCE_PIPELINES

router = APIRouter(prefix="/pipelines", tags=["pipelines"], responses={404: {"model": ErrorResponse}})
# Database pipelines raise the "pipelines" counter, and so does a run started here; a run started
# through ylai elsewhere raises the "tasks" counter (scheduled tasks run pipelines too).
GROUPS = ["tasks", "pipelines"]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}


@router.get("", response_model=Page[PipelineOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_PIPELINES))])
def list_pipelines(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=128, description="Name, title, owner or a tag contains.")] = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """Pipelines whose DAG the caller may read, repository and database ones, by name, with their latest run.

    Cached per user for ``[ylai] list_cache_seconds``; a database pipeline created, changed or
    deleted through ylai shows in the next answer (once the dag-processor has parsed its DAG).
    """

    def page(session: Any) -> Any:
        found = pipelines.matching(session, user, q=q)
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
def validate_pipeline(body: ValidateIn, user: UserDep, session: SessionDep) -> ValidateOut:
    """Run the compiler that builds ``pipeline__<name>`` DAGs on a spec.

    Answers 200 whether or not the spec is valid: ``problems`` lists every problem with its node
    and field, and a valid spec gets its params schema. Only a body that is not
    ``{"spec": {...}}`` is a 422. Nodes may run repository and database scripts, as a database
    pipeline's may (a repository pipeline file may only use repository scripts).
    """
    result: dict[str, Any] = dict(pipelines.validate(body.spec, pipelines.registry(session)))
    if problems := _alerts_problems(body.spec):
        result |= {"valid": False, "problems": [*result["problems"], *problems], "params_schema": None}
    return ValidateOut.model_validate(result)


def _alerts_problems(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Why the ``alerts:`` section would not become alert rules (the alert evaluator's shorthand).

    Checked here, not by the compiler: the alerts package builds on the pipelines domain module.
    """
    section = spec.get("alerts")
    if not isinstance(section, dict) or not section:
        return []  # absent, or not a mapping: the compiler says so
    try:
        rules_from_shorthand("pipeline", str(spec.get("name", "")), section)
    except ValueError as exc:
        return [{"node": None, "field": "alerts", "reason": str(exc)}]
    return []


def _check_alerts(spec: dict[str, Any]) -> None:
    """Refuse (422) a spec whose ``alerts:`` section would only be logged and ignored by the evaluator."""
    if problems := _alerts_problems(spec):
        raise Invalid(
            [{"field": f"body.spec.{p['field']}", "reason": p["reason"]} for p in problems], pipelines.INVALID_SPEC
        )


@router.get("/{name}", response_model=PipelineDetail, dependencies=[Depends(requires(RESOURCE_PIPELINES))])
def get_pipeline(
    request: Request, name: str, user: UserDep, runs: Annotated[int, Query(ge=1, le=200)] = 20
) -> Response:
    """A pipeline's spec (as JSON), layout, params schema, DAG id and recent runs."""

    def detail(session: Any) -> PipelineDetail:
        stored = pipelines.get(session, user, name)
        dag_id = pipeline_dag_id(name)
        state, at = pipelines.last_runs([dag_id], session)[dag_id]
        found = pipelines.recent_runs(session, name, runs)
        gates = approvals.for_runs(session, [(dag_id, r["run_id"]) for r in found])
        recent = [PipelineRunOut.model_validate({**r, "approval": gates.get((dag_id, r["run_id"]))}) for r in found]
        return PipelineDetail(**pipelines.detail(stored), last_run_state=state, last_run_at=at, recent_runs=recent)

    return cached_read(request, user, GROUPS, detail)


@router.get(
    "/{name}/yaml",
    response_class=Response,
    dependencies=[Depends(requires(RESOURCE_PIPELINES))],
    responses={200: {"description": "The pipeline file", "content": {"text/yaml": {"schema": {"type": "string"}}}}},
)
def export_pipeline_yaml(name: str, user: UserDep, session: SessionDep) -> Response:
    """The pipeline as a YAML file the repository loader accepts unchanged (``layout`` included)."""
    file_name, text = pipelines.export_yaml(pipelines.get(session, user, name))
    return Response(
        text,
        media_type="text/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


def _versions_out(session: Any, pipeline: Any) -> DbPipelineOut:
    return DbPipelineOut(
        name=pipeline.name,
        dag_id=pipeline_dag_id(pipeline.name),
        kind=pipelines.KIND,
        current_version=pipeline.current_version,
        versions=[VersionOut.model_validate(v) for v in pipelines.versions(session, pipeline)],
    )


@router.post(
    "",
    status_code=201,
    response_model=DbPipelineOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES, "POST"))],
    responses=WRITE_ERRORS,
)
def create_pipeline(body: PipelineIn, user: UserDep, session: SessionDep, source: SourceDep) -> DbPipelineOut:
    """Store a new database pipeline (version 1); it appears as ``pipeline__<name>`` within about 20 s.

    The spec is compiled as ``POST /pipelines/validate`` does; every problem is a detail of the
    422, its field ``body.spec.<field>`` (a node's: ``body.spec.nodes.<node>.<field>``). 409 when a
    repository or database pipeline has the name. Audited.
    """
    _check_alerts(body.spec)
    stored = _versions_out(session, pipelines.create(session, user, body.spec, body.comment))
    usage.record_feature(session, user, "editor_save", stored.dag_id, source)
    return stored


@router.post(
    "/{name}/versions",
    status_code=201,
    response_model=DbPipelineOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES, "PATCH"))],
    responses=WRITE_ERRORS,
)
def add_pipeline_version(
    name: str, body: PipelineIn, user: UserDep, session: SessionDep, source: SourceDep
) -> DbPipelineOut:
    """Store a new version of a database pipeline and make it current; ``spec.name`` must be ``{name}``.

    A repository pipeline is read-only (409): save a copy under another name. Audited.
    """
    _check_alerts(body.spec)
    stored = _versions_out(session, pipelines.add_version(session, user, name, body.spec, body.comment))
    usage.record_feature(session, user, "editor_save", stored.dag_id, source)
    return stored


@router.get(
    "/{name}/versions",
    response_model=DbPipelineOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES))],
    responses={409: {"model": ErrorResponse}},
)
def list_pipeline_versions(name: str, user: UserDep, session: SessionDep) -> DbPipelineOut:
    """Every stored version of a database pipeline (409 for a repository pipeline, which has none)."""
    return _versions_out(session, pipelines.get_stored(session, user, name))


@router.get(
    "/{name}/versions/{version}",
    response_model=PipelineVersionOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES))],
    responses={409: {"model": ErrorResponse}},
)
def get_pipeline_version(name: str, version: VersionPath, user: UserDep, session: SessionDep) -> PipelineVersionOut:
    """One stored version of a database pipeline: its spec (without ``layout``) and its layout."""
    row = pipelines.version(session, user, name, version)
    return PipelineVersionOut.model_validate(pipelines.version_detail(row))


@router.post(
    "/{name}/versions/{version}/restore",
    status_code=201,
    response_model=DbPipelineOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES, "PATCH"))],
    responses=WRITE_ERRORS,
)
def restore_pipeline_version(
    name: str, version: VersionPath, body: RestoreIn, user: UserDep, session: SessionDep
) -> DbPipelineOut:
    """Store a new version equal to version ``{version}`` and make it current (history is never rewritten).

    The spec is compiled again: a 422 names what no longer fits (a script it runs changed). Audited.
    """
    return _versions_out(session, pipelines.restore(session, user, name, version, body.comment))


@router.delete(
    "/{name}",
    status_code=204,
    dependencies=[Depends(requires(RESOURCE_PIPELINES, "DELETE"))],
    responses={409: {"model": ErrorResponse}},
)
def delete_pipeline(name: str, user: UserDep, session: SessionDep) -> Response:
    """Delete a database pipeline with its versions; its DAG goes away. Repository pipelines: 409. Audited."""
    pipelines.delete(session, user, name)
    return Response(status_code=204)


@router.post(
    "/{name}/run",
    status_code=201,
    response_model=RunOut,
    dependencies=[Depends(requires(RESOURCE_PIPELINES))],
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def run_pipeline(name: str, user: UserDep, session: SessionDep, body: RunBody, source: SourceDep) -> RunOut:
    """Trigger ``pipeline__<name>`` with the given params (validated against the pipeline's params). Audited.

    Needs the right to run the DAG (DAG-level permissions), as a script's run does. A value of a
    param with live options (``options_from``) must be one of them (422), checked against its
    source at submit time (503 when the source is down).
    """
    form_options.check_run(session, user, pipeline_dag_id(name), body.params)
    run = pipelines.trigger(session, user, name, body.params, body.note)
    usage.record_run(session, user, run.dag_id, source, body.preset_id)
    return run_out(run, None, dag_service.secret_params([run.dag_id], session))
