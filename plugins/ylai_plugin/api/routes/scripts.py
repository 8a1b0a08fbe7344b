"""``/scripts``: the script registry with params schema, recent runs, success rate and resource use."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response

from ylai_operators.catalog import script_dag_id
from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.datamodels.runs import RunBody, RunOut, run_out
from ylai_plugin.api.datamodels.scripts import (
    DbScriptOut,
    ResourceUse,
    RestoreIn,
    RunStats,
    ScriptDetail,
    ScriptIn,
    ScriptOut,
    ScriptVersionDetail,
    ScriptVersionIn,
    ScriptVersionOut,
    VersionOut,
)
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, Offset, VersionPath, cached_read, pick_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.api.usage_source import SourceDep
from ylai_plugin.domain import dags as dag_service
from ylai_plugin.domain import form_options, script_versions, scripts, usage
from ylai_plugin.permissions import RESOURCE_SCRIPTS

router = APIRouter(prefix="/scripts", tags=["scripts"], responses={404: {"model": ErrorResponse}})


def _script_out(script: Any, stats: scripts.ScriptStats) -> ScriptOut:
    return ScriptOut(**scripts.describe(script), stats=RunStats(**stats))


@router.get("", response_model=Page[ScriptOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_SCRIPTS))])
def list_scripts(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: Literal["name", "-name", "owner", "-owner"] = "name",
    q: Annotated[str | None, Query(max_length=128, description="Name, title or description contains.")] = None,
    tag: str | None = None,
    owner: str | None = None,
    runtime: Literal["python", "bash", "executable"] | None = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """Scripts whose DAG the caller may read, with their success rate.

    Answers are cached per user for ``[ylai] list_cache_seconds``; a script created or given a
    new version through ylai shows in the next answer (see ``ylai_plugin.domain.list_cache``).
    """

    def page(session: Any) -> Any:
        found = scripts.matching(session, user, q=q, tag=tag, owner=owner, runtime=runtime, order_by=order_by)
        shown = found[offset : offset + limit]
        stats = scripts.cached_run_stats([script_dag_id(s.name) for s in shown], session)
        items = [_script_out(s, stats[script_dag_id(s.name)]) for s in shown]
        return pick_fields(
            Page[ScriptOut](items=items, total=len(found), limit=limit, offset=offset), fields, ScriptOut
        )

    return cached_read(request, user, ["scripts"], page)


@router.get("/{name}", response_model=ScriptDetail, dependencies=[Depends(requires(RESOURCE_SCRIPTS))])
def get_script(request: Request, name: str, user: UserDep, runs: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    """A script's manifest, params schema, success rate, and resource use of its recent runs.

    Cached per user for ``[ylai] list_cache_seconds``. A run started through ylai (this API or
    a task) shows in the next answer; one started elsewhere, and state changes of runs, within
    that time.
    """

    def detail(session: Any) -> ScriptDetail:
        script = scripts.get(session, user, name)
        recent = [ResourceUse(**r) for r in scripts.recent_runs(session, name, runs)]
        dag_id = script_dag_id(name)
        stats = scripts.run_stats([dag_id], session)[dag_id]
        return ScriptDetail(**scripts.describe(script), stats=RunStats(**stats), recent_runs=recent)

    return cached_read(request, user, ["scripts", "tasks"], detail)


@router.post(
    "/{name}/run",
    status_code=201,
    response_model=RunOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS))],
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def run_script(name: str, user: UserDep, session: SessionDep, body: RunBody, source: SourceDep) -> RunOut:
    """Trigger ``script__<name>`` with the given params (validated against the manifest).

    A value of a param with live options (``options_from``) must be one of them (422), checked
    against its source at submit time (503 when the source is down).
    """
    form_options.check_run(session, user, script_dag_id(name), body.params)
    run = scripts.trigger(session, user, name, body.params, body.note)
    usage.record_run(session, user, run.dag_id, source, body.preset_id)
    return run_out(run, None, dag_service.secret_params([run.dag_id], session))


def _versions_out(session: Any, script: Any) -> DbScriptOut:
    return DbScriptOut(
        name=script.name,
        dag_id=script_dag_id(script.name),
        kind=scripts.KIND,
        runtime=script.runtime,
        current_version=script.current_version,
        versions=[VersionOut.model_validate(v) for v in scripts.versions(session, script)],
    )


@router.post(
    "",
    status_code=201,
    response_model=DbScriptOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_script(body: ScriptIn, user: UserDep, session: SessionDep, source: SourceDep) -> DbScriptOut:
    """Store a new script (version 1); it appears as ``script__<name>`` within about 20 s. Audited."""
    script = scripts.create(session, user, body.name, body.runtime, body.content, body.manifest, body.comment)
    usage.record_feature(session, user, "editor_save", script_dag_id(script.name), source)
    return _versions_out(session, script)


@router.post(
    "/{name}/versions",
    status_code=201,
    response_model=DbScriptOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS, "PATCH"))],
    responses={422: {"model": ErrorResponse}},
)
def add_script_version(
    name: str, body: ScriptVersionIn, user: UserDep, session: SessionDep, source: SourceDep
) -> DbScriptOut:
    """Store a new version of a database script and make it current. Audited."""
    script = scripts.get_stored(session, user, name)
    scripts.add_version(session, user, script, body.content, body.manifest, body.comment)
    usage.record_feature(session, user, "editor_save", script_dag_id(script.name), source)
    return _versions_out(session, script)


VERSIONS_ERRORS: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse}}


@router.get(
    "/{name}/versions",
    response_model=Page[ScriptVersionOut],
    dependencies=[Depends(requires(RESOURCE_SCRIPTS))],
    responses=VERSIONS_ERRORS,
)
def list_script_versions(
    name: str,
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[ScriptVersionOut]:
    """The stored versions of a database script, newest first: author, time, comment, content digest and size.

    A repository script (a file in ``dags/scripts``) has no stored versions: 409, its history is
    the repository's (git); its runs show a digest of the file they ran.
    """
    items, total = script_versions.page(session, user, name, limit, offset)
    return Page[ScriptVersionOut](items=[ScriptVersionOut(**i) for i in items], total=total, limit=limit, offset=offset)


@router.get(
    "/{name}/versions/{version}",
    response_model=ScriptVersionDetail,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS))],
    responses=VERSIONS_ERRORS,
)
def get_script_version(name: str, version: VersionPath, user: UserDep, session: SessionDep) -> ScriptVersionDetail:
    """One stored version of a database script: its content and manifest (409 for a repository script)."""
    return ScriptVersionDetail(**script_versions.version(session, user, name, version))


@router.post(
    "/{name}/versions/{version}/restore",
    status_code=201,
    response_model=DbScriptOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS, "PATCH"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def restore_script_version(
    name: str, version: VersionPath, body: RestoreIn, user: UserDep, session: SessionDep
) -> DbScriptOut:
    """Store a new version equal to version ``{version}`` and make it current (history is never rewritten).

    The new version runs from the next run on (its DAG is rebuilt within about 20 s). An empty
    comment is stored as ``Restore of version <v>``. 409 for a repository script. Audited
    (``ylai.script.restore``).
    """
    return _versions_out(session, script_versions.restore(session, user, name, version, body.comment))
