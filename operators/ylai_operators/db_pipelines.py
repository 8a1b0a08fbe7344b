"""Pipelines created through ylai's API, as the DAG generator and workers see them.

The API keeps every version in ylai's tables and publishes the current ones to one Airflow
Variable, ``ylai_db_pipelines`` (``{name: {"version": n, "spec": {...}}}``), as it publishes
database scripts to ``ylai_db_scripts`` (:mod:`ylai_operators.db_scripts`). The dag-processor
and the workers read it to build the same ``pipeline__<name>`` DAG. A database pipeline's nodes
may run repository and database scripts; a repository script wins over a database script of
the same name, as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ylai_operators.pipeline_spec import Pipeline
from ylai_operators.registry import Registry, SpecError

VARIABLE = "ylai_db_pipelines"


def origin(name: str) -> Path:
    """The path a database pipeline's problems and DAG docs name: ``database/<name>.yaml``."""
    return Path("database") / f"{name}.yaml"


def with_db_scripts(registry: Registry) -> tuple[Registry, list[SpecError]]:
    """``registry`` plus the current database scripts (a repository script keeps its name)."""
    from ylai_operators.db_scripts import load_db_scripts

    db_scripts, errors = load_db_scripts()
    merged = {s.name: s for s in db_scripts} | registry.scripts
    return Registry(scripts=merged, errors=list(registry.errors)), errors


def check_record(name: str, record: Any, registry: Registry) -> Pipeline | list[SpecError]:
    """Validate and check one published record against ``registry``."""
    from pydantic import ValidationError

    from ylai_operators.pipeline_spec import PipelineSpec, check_pipeline
    from ylai_operators.registry import pydantic_errors

    path = origin(name)
    spec_data = record.get("spec") if isinstance(record, dict) else None
    if not isinstance(spec_data, dict):
        return [SpecError(path, "", "a published pipeline record must hold a 'spec' mapping")]
    try:
        spec = PipelineSpec.model_validate(spec_data)
    except ValidationError as exc:
        return pydantic_errors(path, exc)
    if spec.name != name:
        return [SpecError(path, "name", f"{spec.name!r} is published as {name!r}")]
    return check_pipeline(spec, path, registry)


def load_db_pipelines(
    registry: Registry, select: Callable[[str], bool] | None = None
) -> tuple[dict[str, Pipeline], Registry, list[SpecError]]:
    """The current API-created pipelines that ``select`` accepts, checked; the registry they use; errors.

    The database scripts are read only when a selected pipeline runs a script ``registry``
    (the repository's) does not have.
    """
    from ylai_operators.db_scripts import read_json_variable

    try:
        published = read_json_variable(VARIABLE) or {}
    except Exception as exc:  # no metadata DB reachable while parsing: keep the repository pipelines
        return {}, registry, [SpecError(Path("database"), VARIABLE, f"cannot read the Variable: {exc}")]
    records = {n: r for n, r in sorted(published.items()) if select is None or select(n)}
    errors: list[SpecError] = []
    needed = {
        node.get("script")
        for record in records.values()
        if isinstance(record, dict) and isinstance(record.get("spec"), dict)
        for node in (record["spec"].get("nodes") or {}).values()
        if isinstance(node, dict)
    }
    if any(script not in registry.scripts for script in needed):
        registry, errors = with_db_scripts(registry)
    pipelines: dict[str, Pipeline] = {}
    for name, record in records.items():
        checked = check_record(name, record, registry)
        if isinstance(checked, list):
            errors.extend(checked)
        else:
            pipelines[name] = checked
    return pipelines, registry, errors
