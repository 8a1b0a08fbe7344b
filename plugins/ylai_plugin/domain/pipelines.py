"""The pipeline service: repository pipelines, their detail, the validator an editor calls, YAML export.

Public entry points: :func:`all_pipelines` (the repository's checked pipelines, by name),
:func:`matching`, :func:`get`, :func:`describe`, :func:`detail`, :func:`recent_runs`,
:func:`validate` and :func:`export_yaml`. No HTTP here: lookups raise
:mod:`ylai_plugin.domain.errors` classes. Functions that take a ``user`` check its DAG-level
permissions (:mod:`ylai_plugin.domain.access`) themselves: a user sees a pipeline only if they
may read its ``pipeline__<name>`` DAG.

:func:`validate` runs the compiler the DAG builder runs (``PipelineSpec`` and
``check_pipeline`` of :mod:`ylai_operators.pipeline_spec`, against the repository's script
registry), so what it accepts is what becomes a DAG.
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
from ylai_plugin.domain import access, scripts
from ylai_plugin.domain.errors import not_found

KIND = DagKind.PIPELINE  # the ``kind`` answered beside every pipeline's ``dag_id``
SOURCE_REPOSITORY = "repository"

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

    from ylai_operators.catalog import Pipeline, PipelineSpec, Registry


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
    """A checked pipeline and where it came from (``version``: a content hash of its file)."""

    pipeline: Pipeline
    source: str
    version: str | None

    @property
    def spec(self) -> PipelineSpec:
        """The pipeline's validated spec."""
        return self.pipeline.spec

    @property
    def name(self) -> str:
        """The pipeline's slug."""
        return self.pipeline.name


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
        name: StoredPipeline(p, SOURCE_REPOSITORY, hashlib.sha256(p.path.read_bytes()).hexdigest()[:16])
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


def matching(user: BaseUser, *, q: str | None = None) -> list[StoredPipeline]:
    """The pipelines whose DAG ``user`` may read, sorted by name.

    :param q: the name, title, owner or a tag contains it (case-insensitive).
    """
    readable = access.readable_dag_ids(user)
    found = [p for p in all_pipelines().values() if pipeline_dag_id(p.name) in readable]
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


def get(user: BaseUser, name: str) -> StoredPipeline:
    """The pipeline called ``name``, if ``user`` may read its DAG.

    :raises NotFound: there is no such pipeline, or the user may not see its DAG.
    """
    found = all_pipelines().get(name)
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
    spec = stored.spec
    return {
        "name": spec.name,
        "dag_id": pipeline_dag_id(spec.name),
        "kind": KIND,
        "title": spec.title or spec.name,
        "description": spec.description,
        "owner": spec.owner,
        "tags": list(spec.tags),
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
