"""The script service: the catalog of repository and database scripts, their form schema and run statistics.

Public entry points: :func:`all_scripts` (the catalog, by name), :func:`get`, :func:`params_schema`
(the one form schema of a script), :func:`describe`, :func:`matching`, :func:`run_stats`,
:func:`recent_runs`, :func:`trigger`, :func:`create` and :func:`add_version`. No HTTP here:
lookups raise :mod:`ylai_plugin.domain.errors` classes that the API maps to its envelope. Functions
that take a ``user`` check its DAG-level permissions (:mod:`ylai_plugin.domain.access`) themselves,
so every caller applies the same rules.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import func, select
from typing_extensions import TypedDict

from ylai_operators.catalog import DagKind, SpecError, script_dag_id
from ylai_plugin.domain import access, audit, stats
from ylai_plugin.domain.errors import Conflict, not_found, text

KIND = DagKind.SCRIPT  # the ``kind`` answered beside every script's ``dag_id``

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

    from ylai_operators.catalog import Registry, Script, ScriptManifest
    from ylai_plugin.db.models import DbScript, DbScriptVersion


class ScriptStats(TypedDict):
    """How a script's runs went: finished runs (success + failed) and the latest run."""

    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    last_run_state: str | None
    last_run_at: datetime | None


class RecentRun(TypedDict):
    """One run of a script with the resource use the ScriptOperator measured (None when unknown)."""

    run_id: str
    state: str | None
    start_date: datetime | None
    duration_seconds: float | None
    exit_code: int | None
    peak_rss_bytes: int | None
    cpu_seconds: float | None
    script_version: str | None


class _StatsByDag(BaseModel):
    """What the monitor cache stores for a page of scripts."""

    stats: dict[str, ScriptStats]


@lru_cache(maxsize=4)
def _registry_for(folder: str, stamp: float) -> Registry:
    from ylai_operators.catalog import load_registry

    return load_registry(Path(folder))


def repository() -> Registry:
    """The registry of the scripts in ``<dags_folder>/scripts``, reloaded when a file there changed."""
    from airflow.configuration import conf

    folder = Path(conf.get("core", "dags_folder")) / "scripts"
    # Reload only when a manifest or script changed: stat is cheap, parsing is not.
    stamp = max((os.stat(p).st_mtime for p in folder.rglob("*")), default=0.0) if folder.is_dir() else 0.0
    return _registry_for(str(folder), stamp)


def all_scripts(session: Session) -> dict[str, Script]:
    """Repository scripts, plus the current version of every database script, by name.

    A repository script wins over a database script of the same name, as in the DAG generator.
    """
    from ylai_operators.catalog import script_from_record
    from ylai_plugin.domain.db_scripts import current_records

    scripts = dict(repository().scripts)
    for name, record in current_records(session).items():
        loaded = script_from_record(name, record)
        if not isinstance(loaded, SpecError) and name not in scripts:
            scripts[name] = loaded
    return scripts


def get(session: Session, user: BaseUser, name: str) -> Script:
    """The script called ``name``, if ``user`` may read its DAG.

    :raises NotFound: there is no such script, or the user may not see its DAG.
    """
    script = all_scripts(session).get(name)
    if script is None:
        raise not_found("Script", name)
    access.ensure_dag_access(user, script_dag_id(name))
    return script


def params_schema(manifest: ScriptManifest) -> dict[str, Any]:
    """The form schema of a script: :func:`ylai_operators.param_schema.form_schema` of its manifest.

    The one source of truth: the API answers it, the UI renders its forms from it, and its
    properties are the JSON Schema that Airflow's trigger form and parse-time checks use.
    """
    from ylai_operators.catalog import form_schema

    return form_schema(manifest.params, sensitive=manifest.sensitive)


def describe(script: Script) -> dict[str, Any]:
    """A script's public fields: name, DAG id and kind, manifest, form schema, outputs and source."""
    from ylai_plugin.domain.dags import catalog_entry

    m = script.manifest
    return {
        **catalog_entry(KIND, m.name, title=m.display_title, description=m.description, owner=m.owner, tags=m.tags),
        "runtime": script.runtime,
        "params_schema": params_schema(m),
        "outputs": {n: {"type": o.type, "description": o.description} for n, o in m.outputs.items()},
        "timeout_seconds": m.timeout.total_seconds(),
        "retries": m.retries,
        "sensitive": m.sensitive,
        "source": "database" if script.content is not None else "repository",
        "version": script.version,
    }


def matching(
    session: Session,
    user: BaseUser,
    *,
    q: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    runtime: str | None = None,
    order_by: str = "name",
) -> list[Script]:
    """The scripts whose DAG ``user`` may read that match every filter given, sorted.

    :param q: the name, title or description contains it (case-insensitive).
    :param order_by: a manifest field (``name``, ``owner``), ``-`` first for descending.
    """
    readable = access.readable_dag_ids(user)
    scripts = [s for s in all_scripts(session).values() if script_dag_id(s.name) in readable]
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
    return scripts


def run_stats(dag_ids: Sequence[str], session: Session) -> dict[str, ScriptStats]:
    """Finished-run counts, success rate and latest run of each DAG in ``dag_ids``."""
    from airflow.models import DagRun

    counts: dict[str, dict[str, int]] = {d: {} for d in dag_ids}
    rows = session.execute(
        select(DagRun.dag_id, DagRun.state, func.count())
        .where(DagRun.dag_id.in_(dag_ids))
        .group_by(DagRun.dag_id, DagRun.state)
    )
    for dag_id, state, n in rows:
        counts[dag_id][str(state)] = n
    latest = select(func.max(DagRun.id)).where(DagRun.dag_id.in_(dag_ids)).group_by(DagRun.dag_id)
    last = {
        r.dag_id: r
        for r in session.execute(select(DagRun.dag_id, DagRun.state, DagRun.run_after).where(DagRun.id.in_(latest)))
    }
    out: dict[str, ScriptStats] = {}
    for dag_id in dag_ids:
        ok, bad = counts[dag_id].get("success", 0), counts[dag_id].get("failed", 0)
        lr = last.get(dag_id)
        out[dag_id] = ScriptStats(
            runs=ok + bad,
            succeeded=ok,
            failed=bad,
            success_rate=stats.rate(ok, bad),
            last_run_state=str(lr.state) if lr else None,
            last_run_at=lr.run_after if lr else None,
        )
    return out


def cached_run_stats(dag_ids: Sequence[str], session: Session) -> dict[str, ScriptStats]:
    """:func:`run_stats` through the process's monitor cache (the TTL of the monitor aggregates).

    The counts scan every run of the page's DAGs; a list polled by dashboards shares one
    computation per TTL (single flight per key), like ``/monitor/*``. A single script's detail
    stays uncached: it is the page a user opens to see the run they just started.
    """
    from ylai_plugin.domain.cache import cache_key, get_cache

    cached = get_cache(stats.MONITOR_CACHE_SECONDS).get_or_compute(
        cache_key("script-stats", *dag_ids), _StatsByDag, lambda: _StatsByDag(stats=run_stats(dag_ids, session))
    )
    return cached.stats


def recent_runs(session: Session, name: str, limit: int) -> list[RecentRun]:
    """The latest ``limit`` runs of script ``name``, newest first, with their measured resource use and version."""
    from airflow.models import DagRun

    from ylai_plugin.domain import dags

    dag_id = script_dag_id(name)
    recent = session.execute(
        select(DagRun.run_id, DagRun.state, DagRun.start_date, DagRun.end_date)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.id.desc())
        .limit(limit)
    ).all()
    keys = [(dag_id, r.run_id) for r in recent]
    results = dags.run_results(keys, session)
    ran = run_versions(keys, session)
    runs = []
    for r in recent:
        result = results.get((dag_id, r.run_id))
        meta = result if isinstance(result, dict) else {}
        duration = (r.end_date - r.start_date).total_seconds() if r.start_date and r.end_date else None
        runs.append(
            RecentRun(
                run_id=r.run_id,
                state=str(r.state) if r.state else None,
                start_date=r.start_date,
                duration_seconds=meta.get("duration_seconds", duration),
                exit_code=meta.get("exit_code"),
                peak_rss_bytes=meta.get("peak_rss_bytes"),
                cpu_seconds=meta.get("cpu_seconds"),
                script_version=ran.get((dag_id, r.run_id)),
            )
        )
    return runs


def run_versions(keys: list[tuple[str, str]], session: Session) -> dict[tuple[str, str], str]:
    """The script version each script run (dag_id, run_id) ran, for the runs whose script task started.

    The ScriptOperator leaves it (:data:`~ylai_operators.catalog.SCRIPT_VERSION_XCOM_KEY`) before
    the script starts, so a failed run has it too: a database script's number (``"3"``), or
    ``sha256:<12 hex digits>`` of a repository script's file. Other DAGs' runs are left out.
    """
    from ylai_operators.catalog import SCRIPT_VERSION_XCOM_KEY
    from ylai_plugin.domain import dags

    mine = [(d, r) for d, r in keys if dags.kind_of(d) == KIND]
    found = dags.run_results(mine, session, SCRIPT_VERSION_XCOM_KEY) if mine else {}
    return {key: str(value) for key, value in found.items() if value is not None}


def trigger(session: Session, user: BaseUser, name: str, params: dict[str, Any], note: str | None) -> Any:
    """Start a run of script ``name`` with ``params`` (validated against its manifest); the new DagRun.

    :raises NotFound: no such script, or ``user`` may not see its DAG.
    :raises Forbidden: ``user`` may see the DAG but not run it.
    :raises Invalid: a param does not fit the manifest.
    """
    from ylai_plugin.db import generations
    from ylai_plugin.domain import dags

    get(session, user, name)
    run = dags.trigger_as(session, user, script_dag_id(name), params, note)
    generations.mark_changed(session, "scripts")  # the script's cached detail shows the new run at once
    summary = f"started a run of script {name!r}"
    audit.record(
        session, user, "ylai.script.run", "script", name, summary=summary, dag_id=run.dag_id, run_id=run.run_id
    )
    return run


def create(
    session: Session, user: BaseUser, name: str, runtime: str, content: str, manifest: dict[str, Any], comment: str
) -> DbScript:
    """Store a new database script (version 1) and publish it; audited.

    :raises Invalid: the manifest is invalid (field paths under ``body.manifest``).
    :raises Conflict: a repository or database script already has this name.
    """
    from ylai_plugin.db.models import DbScript
    from ylai_plugin.domain import db_scripts

    manifest = db_scripts.validate_manifest(name, runtime, manifest)
    if name in repository().scripts or db_scripts.get(session, name) is not None:
        raise Conflict(text("script.name_taken", "A script named {name!r} already exists", name=name))
    script = DbScript(name=name, runtime=runtime, current_version=0, created_by=user.get_name())
    session.add(script)
    session.flush()
    db_scripts.add_version(session, user, script, content, manifest, comment)
    db_scripts.publish(session)
    summary = f"created script {name!r} ({runtime}), version 1"
    record_script_write(session, user, "create", name, summary=summary, version=1, runtime=runtime)
    return script


def record_script_write(session: Session, user: BaseUser, verb: str, name: str, **facts: Any) -> None:
    """The audit entry of a write to database script ``name`` (``ylai.script.<verb>``), naming its DAG."""
    audit.record(session, user, f"ylai.script.{verb}", "script", name, dag_id=script_dag_id(name), name=name, **facts)


def get_stored(session: Session, user: BaseUser, name: str) -> DbScript:
    """The database script called ``name``, if ``user`` may read its DAG.

    :raises NotFound: there is no such database script, or the user may not see its DAG.
    """
    from ylai_plugin.domain import db_scripts

    script = db_scripts.get(session, name)
    if script is None:
        raise not_found("Database script", name)
    access.ensure_dag_access(user, script_dag_id(name))
    return script


def add_version(
    session: Session, user: BaseUser, script: DbScript, content: str, manifest: dict[str, Any], comment: str
) -> DbScriptVersion:
    """Store a new version of a database script, make it current and publish it; audited.

    :raises Invalid: the manifest is invalid (field paths under ``body.manifest``).
    """
    from ylai_plugin.domain import db_scripts

    manifest = db_scripts.validate_manifest(script.name, script.runtime, manifest)
    version = db_scripts.add_version(session, user, script, content, manifest, comment)
    db_scripts.publish(session)
    summary = f"saved version {version.version} of script {script.name!r}"
    record_script_write(session, user, "version", script.name, summary=summary, version=version.version)
    return version


def versions(session: Session, script: DbScript) -> list[DbScriptVersion]:
    """Every stored version of a database script, oldest first."""
    from ylai_plugin.db.models import DbScriptVersion

    return list(
        session.scalars(
            select(DbScriptVersion).where(DbScriptVersion.script_id == script.id).order_by(DbScriptVersion.version)
        ).all()
    )
