"""The pipeline service: repository and database pipelines, their detail, the validator, YAML export.

Public entry points: :func:`all_pipelines` (the repository's checked pipelines, by name),
:func:`stored_pipelines` (those and the database's), :func:`matching`, :func:`get`,
:func:`describe`, :func:`detail`, :func:`recent_runs`, :func:`validate`, :func:`export_yaml`,
:func:`trigger`; for database pipelines (versioned like database scripts, published to the
``ylai_db_pipelines`` Variable by :mod:`ylai_plugin.domain.db_pipelines`) :func:`create`,
:func:`add_version`, :func:`get_stored`, :func:`versions`, :func:`version`, :func:`restore` and
:func:`delete`. No HTTP here: lookups raise :mod:`ylai_plugin.domain.errors` classes. Functions
that take a ``user`` check its DAG-level permissions (:mod:`ylai_plugin.domain.access`)
themselves: a user sees a pipeline only if they may read its ``pipeline__<name>`` DAG.

:func:`validate` runs the compiler the DAG builder runs (``PipelineSpec`` and
``check_pipeline`` of :mod:`ylai_operators.pipeline_spec`), so what it accepts is what becomes
a DAG: against the repository's scripts by default, against the repository's and the
database's (:func:`registry`) for a database pipeline.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from typing_extensions import TypedDict

from ylai_operators.catalog import DagKind, pipeline_dag_id
from ylai_plugin.domain import access, scripts, versioning
from ylai_plugin.domain.errors import Conflict, Invalid, Text, flush_or_conflict, not_found, text

KIND = DagKind.PIPELINE  # the ``kind`` answered beside every pipeline's ``dag_id``
SOURCE_REPOSITORY = "repository"
SOURCE_DATABASE = "database"
INVALID_SPEC = text("pipeline.invalid_spec", "Invalid pipeline spec")

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

    from ylai_operators.catalog import PipelineSpec, Registry
    from ylai_plugin.db.models import DbPipeline, DbPipelineVersion


class Problem(TypedDict):
    """One reason a spec would not become a DAG: the node it belongs to (None: the pipeline) and field."""

    node: str | None
    field: str
    reason: str


class Validation(TypedDict):
    """What :func:`validate` answers: every problem, and the params schema of a valid spec."""

    valid: bool
    problems: list[Problem]
    params_schema: dict[str, Any] | None


class PipelineRun(TypedDict):
    """One run of a pipeline's DAG."""

    run_id: str
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None


@dataclass(frozen=True)
class StoredPipeline:
    """A pipeline's spec and where it came from.

    ``version``: a content hash of a repository file, the current version number of a database
    pipeline (as a string).
    """

    spec: PipelineSpec
    source: str
    version: str | None

    @property
    def name(self) -> str:
        """The pipeline's slug."""
        return self.spec.name


_loaded: dict[tuple[str, tuple[tuple[str, int, int], ...], int], dict[str, StoredPipeline]] = {}
_lock = threading.Lock()


def folder() -> Path:
    """``<dags_folder>/pipelines``: where the DAG files find their specs."""
    from airflow.configuration import conf

    from ylai_operators.catalog import PIPELINES_DIR

    return Path(conf.get("core", "dags_folder")) / PIPELINES_DIR


def load_folder(path: Path, registry: Registry) -> dict[str, StoredPipeline]:
    """The pipelines of ``path`` that check against ``registry`` (the broken ones are no DAG), by name."""
    from ylai_operators.catalog import load_pipelines

    pipelines, _errors = load_pipelines(path, registry, use_cache=False)
    return {
        name: StoredPipeline(p.spec, SOURCE_REPOSITORY, hashlib.sha256(p.path.read_bytes()).hexdigest()[:16])
        for name, p in pipelines.items()
    }


def _stat(path: Path) -> tuple[str, int, int]:
    info = os.stat(path)
    return str(path), info.st_mtime_ns, info.st_size


def all_pipelines() -> dict[str, StoredPipeline]:
    """The repository's pipelines, reloaded when a file there or the script registry changed."""
    path = folder()
    registry = scripts.repository()
    # stat is cheap, parsing is not. The file list sees a file added or deleted within one tick
    # of the clock; the registry object changes when a script file changed.
    stamp = tuple(sorted(_stat(p) for p in path.rglob("*"))) if path.is_dir() else ()
    key = (str(path), stamp, id(registry))
    with _lock:
        found = _loaded.get(key)
        if found is None:
            found = load_folder(path, registry)
            _loaded.clear()
            _loaded[key] = found
    return found


def database_pipelines(session: Session) -> dict[str, StoredPipeline]:
    """The current version of every database pipeline, by name."""
    from pydantic import ValidationError

    from ylai_operators.catalog import PipelineSpec
    from ylai_plugin.domain import db_pipelines

    found = {}
    for name, record in db_pipelines.current_records(session).items():
        try:
            spec = PipelineSpec.model_validate(record["spec"])
        except ValidationError:  # stored by an older ylai that accepted it: not a DAG either
            continue
        found[name] = StoredPipeline(spec, SOURCE_DATABASE, str(record["version"]))
    return found


def stored_pipelines(session: Session) -> dict[str, StoredPipeline]:
    """Repository and database pipelines, by name; a repository pipeline wins, as in the DAG generator."""
    return {**database_pipelines(session), **all_pipelines()}


def matching(session: Session, user: BaseUser, *, q: str | None = None) -> list[StoredPipeline]:
    """The pipelines whose DAG ``user`` may read, sorted by name.

    :param q: the name, title, owner or a tag contains it (case-insensitive).
    """
    readable = access.readable_dag_ids(user)
    found = [p for p in stored_pipelines(session).values() if pipeline_dag_id(p.name) in readable]
    if q:
        needle = q.lower()
        found = [
            p
            for p in found
            if needle in p.name.lower()
            or needle in (p.spec.title or "").lower()
            or needle in p.spec.owner.lower()
            or any(needle in tag.lower() for tag in p.spec.tags)
        ]
    return sorted(found, key=lambda p: p.name)


def get(session: Session, user: BaseUser, name: str) -> StoredPipeline:
    """The pipeline called ``name`` (repository or database), if ``user`` may read its DAG.

    :raises NotFound: there is no such pipeline, or the user may not see its DAG.
    """
    found = all_pipelines().get(name) or database_pipelines(session).get(name)
    if found is None:
        raise not_found("Pipeline", name)
    access.ensure_dag_access(user, pipeline_dag_id(name))
    return found


def params_schema(spec: PipelineSpec) -> dict[str, Any]:
    """The form schema of a pipeline's params: the same generator as a script's run form."""
    from ylai_operators.catalog import form_schema

    return form_schema(spec.params)


def describe(stored: StoredPipeline) -> dict[str, Any]:
    """A pipeline's list fields: name, DAG id and kind, title, owner, tags, source, version, node count."""
    from ylai_plugin.domain.dags import catalog_entry

    spec = stored.spec
    return {
        **catalog_entry(
            KIND,
            spec.name,
            title=spec.title or spec.name,
            description=spec.description,
            owner=spec.owner,
            tags=spec.tags,
        ),
        "source": stored.source,
        "version": stored.version,
        "node_count": len(spec.nodes),
    }


def spec_json(spec: PipelineSpec) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The spec as JSON, as its file holds it (without ``layout``), and the layout on its own."""
    from ylai_operators.catalog import pipeline_data

    data = to_jsonable_python(pipeline_data(spec))
    data.pop("layout", None)
    layout = {node: {"x": pos.x, "y": pos.y} for node, pos in spec.layout.items()}
    return data, layout


def detail(stored: StoredPipeline) -> dict[str, Any]:
    """:func:`describe` plus the spec, its layout and its params schema."""
    data, layout = spec_json(stored.spec)
    return {**describe(stored), "spec": data, "layout": layout, "params_schema": params_schema(stored.spec)}


def last_runs(dag_ids: list[str], session: Session) -> dict[str, tuple[str | None, datetime | None]]:
    """The state and time of the latest run of each DAG (through the monitor cache, as script lists)."""
    stats = scripts.cached_run_stats(dag_ids, session)
    return {d: (stats[d]["last_run_state"], stats[d]["last_run_at"]) for d in dag_ids}


def recent_runs(session: Session, name: str, limit: int) -> list[PipelineRun]:
    """The latest ``limit`` runs of pipeline ``name``'s DAG, newest first."""
    from airflow.models import DagRun

    rows = session.execute(
        select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date)
        .where(DagRun.dag_id == pipeline_dag_id(name))
        .order_by(DagRun.id.desc())
        .limit(limit)
    ).all()
    return [
        PipelineRun(
            run_id=r.run_id,
            state=str(r.state) if r.state else None,
            start_date=r.start_date,
            end_date=r.end_date,
            duration_seconds=(r.end_date - r.start_date).total_seconds() if r.start_date and r.end_date else None,
        )
        for r in rows
    ]


def _spec_problems(exc: Any) -> list[Problem]:
    """A pydantic ``ValidationError`` of ``PipelineSpec`` as problems: ``nodes.<id>.<field>`` names the node."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
        reason = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        if len(loc) >= 2 and loc[0] == "nodes":
            problems.append(Problem(node=loc[1], field=".".join(loc[2:]), reason=reason))
        else:
            problems.append(Problem(node=None, field=".".join(loc), reason=reason))
    return problems


def validate(data: dict[str, Any], registry: Registry | None = None) -> Validation:
    """Run the DAG builder's compiler on ``data`` (a spec as JSON); every problem with its node and field.

    :param registry: the scripts to check against; the repository's, as the DAG files use, by default.
    """
    from pydantic import ValidationError

    from ylai_operators.catalog import PipelineSpec, check_pipeline, locate_problem

    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        return Validation(valid=False, problems=_spec_problems(exc), params_schema=None)
    checked = check_pipeline(spec, Path(f"{spec.name}.yaml"), registry or scripts.repository())
    if isinstance(checked, list):
        problems = []
        for error in checked:
            node, field = locate_problem(error)
            problems.append(Problem(node=node, field=field, reason=error.reason))
        return Validation(valid=False, problems=problems, params_schema=None)
    return Validation(valid=True, problems=[], params_schema=params_schema(spec))


def export_yaml(stored: StoredPipeline) -> tuple[str, str]:
    """A pipeline as a file the repository loader accepts unchanged: its file name and text."""
    from ylai_operators.catalog import pipeline_yaml

    return f"{stored.name}.yaml", pipeline_yaml(stored.spec)


# -- database pipelines ---------------------------------------------------------------------------


def registry(session: Session) -> Registry:
    """The scripts a database pipeline may run: the repository's, and the database's current versions."""
    from ylai_operators.catalog import Registry as RegistryClass

    return RegistryClass(scripts=scripts.all_scripts(session))


def _problem_field(problem: Problem) -> str:
    """A problem's place in a request body: ``body.spec.<field>``, ``body.spec.nodes.<node>.<field>``."""
    parts = ["body", "spec"]
    if problem["node"] is not None:
        parts += ["nodes", problem["node"]]
    if problem["field"]:
        parts.append(problem["field"])
    return ".".join(parts)


def checked_spec(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` compiled against :func:`registry`, as it is stored: the spec's written fields, as JSON.

    :raises Invalid: every problem, its field named ``body.spec.<field>`` (a node's:
        ``body.spec.nodes.<node>.<field>``).
    """
    from ylai_operators.catalog import PipelineSpec, pipeline_data

    result = validate(data, registry(session))
    if not result["valid"]:
        details: list[dict[str, str | Text]] = [
            {"field": _problem_field(p), "reason": p["reason"]} for p in result["problems"]
        ]
        raise Invalid(details, INVALID_SPEC)
    stored: dict[str, Any] = to_jsonable_python(pipeline_data(PipelineSpec.model_validate(data)))
    return stored


SUMMARIES = {
    "create": "created pipeline {name!r}, version 1",
    "version": "saved version {version} of pipeline {name!r}",
    "restore": "restored version {restored} of pipeline {name!r} as version {version}",
    "delete": "deleted pipeline {name!r}",
    "run": "started a run of pipeline {name!r}",
}


def _audit(session: Session, user: BaseUser, event: str, **extra: Any) -> None:
    from ylai_plugin.domain import audit

    name = extra["name"]
    summary = SUMMARIES[event].format(**extra)
    audit.record(
        session,
        user,
        f"ylai.pipeline.{event}",
        "pipeline",
        name,
        summary=summary,
        dag_id=pipeline_dag_id(name),
        **extra,
    )


def _refuse_repository(name: str) -> None:
    if name in all_pipelines():
        raise Conflict(
            text(
                "pipeline.read_only",
                "Pipeline {name!r} is a repository pipeline and read-only: save a copy under another name",
                name=name,
            )
        )


def create(session: Session, user: BaseUser, data: dict[str, Any], comment: str) -> DbPipeline:
    """Store a new database pipeline (version 1) and publish it; audited.

    :raises Invalid: the spec does not compile (field paths under ``body.spec``).
    :raises Conflict: a repository or database pipeline already has this name.
    """
    from ylai_plugin.db.models import DbPipeline
    from ylai_plugin.domain import db_pipelines

    spec = checked_spec(session, data)
    name = spec["name"]
    taken = text("pipeline.name_taken", "A pipeline named {name!r} already exists", name=name)
    if name in all_pipelines() or db_pipelines.get(session, name) is not None:
        raise Conflict(taken)
    pipeline = DbPipeline(name=name, current_version=0, created_by=user.get_name())
    session.add(pipeline)
    flush_or_conflict(session, taken)
    db_pipelines.add_version(session, user, pipeline, spec, comment)
    db_pipelines.publish(session)
    _audit(session, user, "create", name=name, version=1)
    return pipeline


def get_stored(session: Session, user: BaseUser, name: str) -> DbPipeline:
    """The database pipeline called ``name``, if ``user`` may read its DAG.

    :raises Conflict: ``name`` is a repository pipeline (read-only).
    :raises NotFound: there is no such database pipeline, or the user may not see its DAG.
    """
    from ylai_plugin.domain import db_pipelines

    _refuse_repository(name)
    pipeline = db_pipelines.get(session, name)
    if pipeline is None:
        raise not_found("Database pipeline", name)
    access.ensure_dag_access(user, pipeline_dag_id(name))
    return pipeline


def add_version(session: Session, user: BaseUser, name: str, data: dict[str, Any], comment: str) -> DbPipeline:
    """Store a new version of database pipeline ``name``, make it current and publish it; audited.

    :raises Conflict: ``name`` is a repository pipeline.
    :raises NotFound: no such database pipeline.
    :raises Invalid: ``spec.name`` is not ``name``, or the spec does not compile.
    """
    from ylai_plugin.domain import db_pipelines

    pipeline = get_stored(session, user, name)
    if data.get("name") != name:
        reason = text("pipeline.name_differs", "must be {name!r}, the name of the pipeline", name=name)
        raise Invalid([{"field": "body.spec.name", "reason": reason}], INVALID_SPEC)
    version_row = db_pipelines.add_version(session, user, pipeline, checked_spec(session, data), comment)
    db_pipelines.publish(session)
    _audit(session, user, "version", name=name, version=version_row.version)
    return pipeline


def versions(session: Session, pipeline: DbPipeline) -> list[DbPipelineVersion]:
    """Every stored version of a database pipeline, oldest first."""
    from ylai_plugin.domain import db_pipelines

    return db_pipelines.versions(session, pipeline)


def version(session: Session, user: BaseUser, name: str, number: int) -> DbPipelineVersion:
    """Version ``number`` of database pipeline ``name``.

    :raises Conflict: ``name`` is a repository pipeline.
    :raises NotFound: no such database pipeline or version.
    """
    from ylai_plugin.domain import db_pipelines

    found = db_pipelines.version(session, get_stored(session, user, name), number)
    return versioning.require(found, lambda: not_found("Pipeline version", f"{name} v{number}"))


def version_detail(row: DbPipelineVersion) -> dict[str, Any]:
    """A stored version: its fields, its spec without ``layout`` and the layout on its own."""
    spec = dict(row.spec)
    layout = spec.pop("layout", None) or {}
    return {
        "version": row.version,
        "comment": row.comment,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "spec": spec,
        "layout": layout,
    }


def restore(session: Session, user: BaseUser, name: str, number: int, comment: str) -> DbPipeline:
    """A new version of database pipeline ``name`` equal to version ``number``; published and audited.

    The spec is compiled again (the scripts it runs may have changed since). An empty
    ``comment`` is stored as ``Restore of version <number>``.

    :raises NotFound: no such database pipeline or version.
    :raises Invalid: the old spec no longer compiles.
    """
    from ylai_plugin.domain import db_pipelines

    pipeline = get_stored(session, user, name)
    found = db_pipelines.version(session, pipeline, number)
    old = versioning.require(found, lambda: not_found("Pipeline version", f"{name} v{number}"))
    spec = checked_spec(session, dict(old.spec))
    new = db_pipelines.add_version(session, user, pipeline, spec, versioning.restore_comment(number, comment))
    db_pipelines.publish(session)
    _audit(session, user, "restore", name=name, version=new.version, restored=number)
    return pipeline


def delete(session: Session, user: BaseUser, name: str) -> None:
    """Delete database pipeline ``name`` with its versions, and publish; audited. Its DAG goes away.

    :raises Conflict: ``name`` is a repository pipeline.
    :raises NotFound: no such database pipeline.
    """
    from ylai_plugin.domain import db_pipelines

    pipeline = get_stored(session, user, name)
    last = pipeline.current_version
    db_pipelines.remove(session, pipeline)
    db_pipelines.publish(session)
    _audit(session, user, "delete", name=name, version=last)


def trigger(session: Session, user: BaseUser, name: str, params: dict[str, Any], note: str | None) -> Any:
    """Start a run of pipeline ``name`` with ``params`` (validated against its params); the new DagRun. Audited.

    :raises NotFound: no such pipeline (or its DAG is not parsed yet), or ``user`` may not see its DAG.
    :raises Forbidden: ``user`` may see the DAG but not run it.
    :raises Invalid: a param does not fit the pipeline's params.
    """
    from ylai_plugin.db import generations
    from ylai_plugin.domain import dags

    get(session, user, name)
    run = dags.trigger_as(session, user, pipeline_dag_id(name), params, note)
    generations.mark_changed(session, "pipelines")  # the pipeline's cached detail shows the new run at once
    _audit(session, user, "run", name=name, run_id=run.run_id)
    return run
