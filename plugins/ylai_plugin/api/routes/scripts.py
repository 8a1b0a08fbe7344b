"""``/scripts``: the script registry with params schema, recent runs, success rate and resource use."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from ylai_plugin.api.errors import ApiError, ErrorResponse, not_found
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, Offset, Page, PartialPage, pick_fields
from ylai_plugin.api.routes.tasks import RunBody, RunOut, run_out
from ylai_plugin.api.security import UserDep, ensure_dag_access, readable_dag_ids, requires
from ylai_plugin.db import generations
from ylai_plugin.domain import dags as dag_service
from ylai_plugin.domain.list_cache import cached_read
from ylai_plugin.domain.scripts import all_scripts, repository
from ylai_plugin.permissions import RESOURCE_SCRIPTS

router = APIRouter(prefix="/scripts", tags=["scripts"], responses={404: {"model": ErrorResponse}})

STATS_EXAMPLE: dict[str, Any] = {
    "runs": 40,
    "succeeded": 38,
    "failed": 2,
    "success_rate": 0.95,
    "last_run_state": "success",
    "last_run_at": "2026-11-27T09:30:00Z",
}
RESOURCE_EXAMPLE: dict[str, Any] = {
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "state": "success",
    "start_date": "2026-11-27T09:30:01Z",
    "duration_seconds": 3.5,
    "exit_code": 0,
    "peak_rss_bytes": 5242880,
    "cpu_seconds": 0.4,
}
SCRIPT_EXAMPLE: dict[str, Any] = {
    "name": "disk_usage",
    "dag_id": "script__disk_usage",
    "title": "Disk usage",
    "description": "The largest directories under a path.",
    "owner": "ops",
    "tags": ["monitoring"],
    "runtime": "bash",
    "source": "repository",
    "version": None,
    "params_schema": {
        "type": "object",
        "properties": {"top": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}},
        "required": [],
        "additionalProperties": False,
    },
    "outputs": {"largest": {"type": "string", "description": "The largest directory."}},
    "timeout_seconds": 600.0,
    "retries": 1,
    "sensitive": False,
    "stats": STATS_EXAMPLE,
}
VERSION_EXAMPLE: dict[str, Any] = {
    "version": 2,
    "comment": "simpler",
    "created_by": "admin",
    "created_at": "2026-11-27T09:30:00Z",
}


class OutputOut(BaseModel):
    """A declared output."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"type": "string", "description": "The largest directory."}]}
    )

    type: str
    description: str | None = None


class RunStats(BaseModel):
    """How a script's runs went."""

    model_config = ConfigDict(json_schema_extra={"examples": [STATS_EXAMPLE]})

    runs: int = Field(description="Finished runs counted (success + failed).")
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / runs, null without finished runs.")
    last_run_state: str | None = None
    last_run_at: datetime | None = None


class ResourceUse(BaseModel):
    """Resource use of one run, measured by the ScriptOperator over the script's process tree."""

    model_config = ConfigDict(json_schema_extra={"examples": [RESOURCE_EXAMPLE]})

    run_id: str
    state: str | None
    start_date: datetime | None
    duration_seconds: float | None
    exit_code: int | None = None
    peak_rss_bytes: int | None = None
    cpu_seconds: float | None = None


class ScriptOut(BaseModel):
    """A script of the registry."""

    model_config = ConfigDict(json_schema_extra={"examples": [SCRIPT_EXAMPLE]})

    name: str
    dag_id: str
    title: str
    description: str
    owner: str
    tags: list[str]
    runtime: str
    source: Literal["repository", "database"] = "repository"
    version: int | None = Field(default=None, description="Current version, for scripts stored in the database.")
    params_schema: dict[str, Any] = Field(description="JSON Schema (object) of the script's parameters.")
    outputs: dict[str, OutputOut]
    timeout_seconds: float
    retries: int
    sensitive: bool
    stats: RunStats


class ScriptDetail(ScriptOut):
    """A script with its recent runs."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**SCRIPT_EXAMPLE, "recent_runs": [RESOURCE_EXAMPLE]}]})

    recent_runs: list[ResourceUse]


def params_schema(manifest: Any) -> dict[str, Any]:
    """The object schema of all parameters, as a form generator needs it."""
    from ylai_operators.param_schema import to_json_schema

    properties = {}
    for name, spec in manifest.params.items():
        prop = to_json_schema(spec)
        if spec.default is not None:
            prop["default"] = spec.default
        if spec.secret or manifest.sensitive:
            prop["x-ylai-secret"] = True
        properties[name] = prop
    required = [n for n, p in manifest.params.items() if p.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _stats(dag_ids: list[str], session: Any) -> dict[str, RunStats]:
    from airflow.models import DagRun

    counts: dict[str, dict[str, int]] = {d: {} for d in dag_ids}
    rows = session.execute(
        select(DagRun.dag_id, DagRun.state, func.count())
        .where(DagRun.dag_id.in_(dag_ids))
        .group_by(DagRun.dag_id, DagRun.state)
    )
    for dag_id, state, n in rows:
        counts[dag_id][str(state)] = n
    last = {
        r.dag_id: r
        for r in session.execute(
            select(DagRun.dag_id, DagRun.state, DagRun.run_after).where(
                DagRun.id.in_(select(func.max(DagRun.id)).where(DagRun.dag_id.in_(dag_ids)).group_by(DagRun.dag_id))
            )
        )
    }
    out = {}
    for dag_id in dag_ids:
        ok, bad = counts[dag_id].get("success", 0), counts[dag_id].get("failed", 0)
        lr = last.get(dag_id)
        out[dag_id] = RunStats(
            runs=ok + bad,
            succeeded=ok,
            failed=bad,
            success_rate=round(ok / (ok + bad), 4) if ok + bad else None,
            last_run_state=str(lr.state) if lr else None,
            last_run_at=lr.run_after if lr else None,
        )
    return out


class _StatsByDag(BaseModel):
    """What the monitor cache stores for a page of scripts."""

    stats: dict[str, RunStats]


def _cached_stats(dag_ids: list[str], session: Any) -> dict[str, RunStats]:
    """:func:`_stats` through the monitor cache (same TTL as the monitor aggregates).

    The counts scan every run of the page's DAGs; a list polled by dashboards shares one
    computation per TTL (single flight per key), like ``/monitor/*``. ``GET /scripts/{name}``
    stays uncached: it is the page a user opens to see the run they just started.
    """
    from ylai_plugin.api.routes.monitor import CACHE_TTL_SECONDS
    from ylai_plugin.domain.cache import cache_key, get_cache

    cached = get_cache(CACHE_TTL_SECONDS).get_or_compute(
        cache_key("script-stats", *dag_ids), _StatsByDag, lambda: _StatsByDag(stats=_stats(dag_ids, session))
    )
    return cached.stats


def _to_out(script: Any, stats: RunStats) -> dict[str, Any]:
    m = script.manifest
    return {
        "name": m.name,
        "dag_id": f"script__{m.name}",
        "title": m.display_title,
        "description": m.description,
        "owner": m.owner,
        "tags": list(m.tags),
        "runtime": script.runtime,
        "params_schema": params_schema(m),
        "outputs": {n: OutputOut(type=o.type, description=o.description) for n, o in m.outputs.items()},
        "timeout_seconds": m.timeout.total_seconds(),
        "retries": m.retries,
        "sensitive": m.sensitive,
        "stats": stats,
        "source": "database" if script.content is not None else "repository",
        "version": script.version,
    }


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
    return cached_read(
        request,
        user,
        ["scripts"],
        lambda session: _script_page(session, user, limit, offset, order_by, q, tag, owner, runtime, fields),
    )


def _script_page(
    session: Any,
    user: Any,
    limit: int,
    offset: int,
    order_by: str,
    q: str | None,
    tag: str | None,
    owner: str | None,
    runtime: str | None,
    fields: str | None,
) -> BaseModel:
    readable = readable_dag_ids(user)
    scripts = [s for s in all_scripts(session).values() if f"script__{s.name}" in readable]
    if q:
        needle = q.lower()
        scripts = [
            s
            for s in scripts
            if needle in s.name.lower()
            or needle in s.manifest.display_title.lower()
            or needle in s.manifest.description.lower()
        ]
    if tag:
        scripts = [s for s in scripts if tag in s.manifest.tags]
    if owner:
        scripts = [s for s in scripts if s.manifest.owner == owner]
    if runtime:
        scripts = [s for s in scripts if s.runtime == runtime]
    key = order_by.lstrip("-")
    scripts.sort(key=lambda s: (getattr(s.manifest, key), s.name), reverse=order_by.startswith("-"))
    page = scripts[offset : offset + limit]
    stats = _cached_stats([f"script__{s.name}" for s in page], session)
    items = [ScriptOut(**_to_out(s, stats[f"script__{s.name}"])) for s in page]
    return pick_fields(Page[ScriptOut](items=items, total=len(scripts), limit=limit, offset=offset), fields, ScriptOut)


def _script(name: str, user: Any, session: Any) -> Any:
    script = all_scripts(session).get(name)
    if script is None:
        raise not_found("Script", name)
    ensure_dag_access(user, f"script__{name}")
    return script


@router.get("/{name}", response_model=ScriptDetail, dependencies=[Depends(requires(RESOURCE_SCRIPTS))])
def get_script(request: Request, name: str, user: UserDep, runs: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    """A script's manifest, params schema, success rate, and resource use of its recent runs.

    Cached per user for ``[ylai] list_cache_seconds``. A run started through ylai (this API or
    a task) shows in the next answer; one started elsewhere, and state changes of runs, within
    that time.
    """
    return cached_read(request, user, ["scripts", "tasks"], lambda session: _script_detail(session, name, user, runs))


def _script_detail(session: Any, name: str, user: Any, runs: int) -> ScriptDetail:
    from airflow.models import DagRun

    script = _script(name, user, session)
    dag_id = f"script__{name}"
    recent = session.execute(
        select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.id.desc())
        .limit(runs)
    ).all()
    results = dag_service.run_results([(dag_id, r.run_id) for r in recent], session)
    recent_runs = []
    for r in recent:
        result = results.get((dag_id, r.run_id))
        meta = result if isinstance(result, dict) else {}
        duration = (r.end_date - r.start_date).total_seconds() if r.start_date and r.end_date else None
        recent_runs.append(
            ResourceUse(
                run_id=r.run_id,
                state=str(r.state) if r.state else None,
                start_date=r.start_date,
                duration_seconds=meta.get("duration_seconds", duration),
                exit_code=meta.get("exit_code"),
                peak_rss_bytes=meta.get("peak_rss_bytes"),
                cpu_seconds=meta.get("cpu_seconds"),
            )
        )
    stats = _stats([dag_id], session)[dag_id]
    return ScriptDetail(**_to_out(script, stats), recent_runs=recent_runs)


@router.post(
    "/{name}/run",
    status_code=201,
    response_model=RunOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS))],
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def run_script(name: str, user: UserDep, session: SessionDep, body: RunBody) -> RunOut:
    """Trigger ``script__<name>`` with the given params (validated against the manifest)."""
    _script(name, user, session)
    dag_id = f"script__{name}"
    ensure_dag_access(user, dag_id, "POST", "RUN")
    run = dag_service.trigger(dag_id, body.params, user, session, note=body.note)
    generations.mark_changed(session, "scripts")  # the script's cached detail shows the new run at once
    return run_out(run, None, dag_service.secret_params([dag_id], session))


class ScriptIn(BaseModel):
    """A script to store in the database: it becomes ``script__<name>`` like a repository script."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "hello_api",
                    "runtime": "python",
                    "content": "import json, os\nopen(os.environ['YLAI_RESULT_FILE'], 'w')"
                    ".write(json.dumps({'ok': True}))\n",
                    "manifest": {"title": "Hello", "params": {"who": {"type": "string", "default": "world"}},
                                 "outputs": {"ok": {"type": "boolean"}}},
                }
            ]
        },
    )  # fmt: skip

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    runtime: Literal["python", "bash", "executable"]
    content: str = Field(min_length=1, max_length=1_000_000)
    manifest: dict[str, Any] = Field(default_factory=dict, description="The YAML manifest's fields, as JSON.")
    comment: str = Field(default="", max_length=2000, description="What this version changes.")


class ScriptVersionIn(BaseModel):
    """A new version of a database script."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "print('v2')\n", "manifest": {}, "comment": "simpler"}]},
    )

    content: str = Field(min_length=1, max_length=1_000_000)
    manifest: dict[str, Any] = Field(default_factory=dict)
    comment: str = Field(default="", max_length=2000)


class VersionOut(BaseModel):
    """One stored version."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    version: int
    comment: str
    created_by: str
    created_at: datetime


class DbScriptOut(BaseModel):
    """A database script after a change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "hello_api",
                    "dag_id": "script__hello_api",
                    "runtime": "python",
                    "current_version": 2,
                    "versions": [
                        {**VERSION_EXAMPLE, "version": 1, "comment": "", "created_at": "2026-11-26T16:00:00Z"},
                        VERSION_EXAMPLE,
                    ],
                }
            ]
        }
    )

    name: str
    dag_id: str
    runtime: str
    current_version: int
    versions: list[VersionOut]


def _versions_out(session: Any, script: Any) -> DbScriptOut:
    from ylai_plugin.db.models import DbScriptVersion

    versions = session.scalars(
        select(DbScriptVersion).where(DbScriptVersion.script_id == script.id).order_by(DbScriptVersion.version)
    ).all()
    return DbScriptOut(
        name=script.name,
        dag_id=f"script__{script.name}",
        runtime=script.runtime,
        current_version=script.current_version,
        versions=[
            VersionOut(version=v.version, comment=v.comment, created_by=v.created_by, created_at=v.created_at)
            for v in versions
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=DbScriptOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_script(body: ScriptIn, user: UserDep, session: SessionDep) -> DbScriptOut:
    """Store a new script (version 1); it appears as ``script__<name>`` within about 20 s. Audited."""
    from ylai_plugin.db.models import DbScript
    from ylai_plugin.domain import db_scripts

    manifest = db_scripts.validate_manifest(body.name, body.runtime, body.manifest)
    if body.name in repository().scripts or db_scripts.get(session, body.name) is not None:
        raise ApiError(409, f"A script named {body.name!r} already exists")
    script = DbScript(name=body.name, runtime=body.runtime, current_version=0, created_by=user.get_name())
    session.add(script)
    session.flush()
    db_scripts.add_version(session, user, script, body.content, manifest, body.comment)
    db_scripts.publish(session)
    db_scripts.audit(session, user, "ylai.script.create", {"name": body.name, "version": 1, "runtime": body.runtime})
    return _versions_out(session, script)


@router.post(
    "/{name}/versions",
    status_code=201,
    response_model=DbScriptOut,
    dependencies=[Depends(requires(RESOURCE_SCRIPTS, "PATCH"))],
    responses={422: {"model": ErrorResponse}},
)
def add_script_version(name: str, body: ScriptVersionIn, user: UserDep, session: SessionDep) -> DbScriptOut:
    """Store a new version of a database script and make it current. Audited."""
    from ylai_plugin.domain import db_scripts

    script = db_scripts.get(session, name)
    if script is None:
        raise not_found("Database script", name)
    ensure_dag_access(user, f"script__{name}")
    manifest = db_scripts.validate_manifest(name, script.runtime, body.manifest)
    version = db_scripts.add_version(session, user, script, body.content, manifest, body.comment)
    db_scripts.publish(session)
    db_scripts.audit(session, user, "ylai.script.version", {"name": name, "version": version.version})
    return _versions_out(session, script)


_all_scripts = all_scripts  # until reports/datasets.py imports ylai_plugin.domain.scripts.all_scripts
