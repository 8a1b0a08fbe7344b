"""Build ylai's DAGs from the ``scripts/`` and ``pipelines/`` folders of a DAGs folder.

Used by the small DAG files in ``dags/``. A broken spec never takes the others
down: it is left out and reported by :func:`spec_errors`, which the
``ylai_spec_errors`` DAG file raises as one import error naming every file and field.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ylai_operators.pipeline import Pipeline, build_pipeline_dag, load_pipelines
from ylai_operators.registry import Registry, SpecError, load_registry
from ylai_operators.script_dags import build_script_dag

if TYPE_CHECKING:
    from airflow.sdk import DAG

SCRIPTS_DIR = "scripts"
PIPELINES_DIR = "pipelines"


class SpecErrors(Exception):
    """Raised by the ``ylai_spec_errors`` DAG file so that broken specs show up as an import error."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{len(errors)} problem(s) in ylai script/pipeline specs:\n{lines}")


@dataclass
class Catalog:
    """Everything found in one DAGs folder."""

    registry: Registry
    pipelines: dict[str, Pipeline]
    errors: list[SpecError]


def _relative(errors: list[SpecError], root: Path) -> list[SpecError]:
    out = []
    for e in errors:
        path = e.path.relative_to(root) if e.path.is_relative_to(root) else e.path
        out.append(SpecError(path, e.where, e.reason, e.line))
    return out


def load_catalog(dags_folder: Path, *, with_pipelines: bool = True) -> Catalog:
    """Load the script registry and (optionally) the pipelines of ``dags_folder``."""
    registry = load_registry(dags_folder / SCRIPTS_DIR)
    pipelines: dict[str, Pipeline] = {}
    errors = list(registry.errors)
    if with_pipelines:
        pipelines, pipeline_errors = load_pipelines(dags_folder / PIPELINES_DIR, registry)
        errors += pipeline_errors
    return Catalog(registry, pipelines, _relative(errors, dags_folder))


def script_dags(dags_folder: Path) -> dict[str, DAG]:
    """One DAG per valid script: the repository's, then those created through the API."""
    from ylai_operators.db_scripts import load_db_scripts

    catalog = load_catalog(dags_folder, with_pipelines=False)
    db_scripts, db_errors = load_db_scripts()
    for error in db_errors:
        warnings.warn(str(error), stacklevel=1)
    # A repository script keeps its name: the API refuses such names, this guards races.
    extra = [s for s in db_scripts if s.name not in catalog.registry.scripts]
    dags = {}
    for script in [*catalog.registry.scripts.values(), *extra]:
        try:
            dag = build_script_dag(script)
        except Exception as exc:  # one bad script must not hide the others
            warnings.warn(f"{script.manifest_path}: cannot build DAG: {exc}", stacklevel=1)
            continue
        dags[dag.dag_id] = dag
    return dags


def pipeline_dags(dags_folder: Path) -> dict[str, DAG]:
    """One DAG per valid pipeline."""
    catalog = load_catalog(dags_folder)
    dags = {}
    for pipeline in catalog.pipelines.values():
        try:
            dag = build_pipeline_dag(pipeline, catalog.registry)
        except Exception as exc:  # e.g. an invalid cron expression in `schedule`
            warnings.warn(f"{pipeline.path}: cannot build DAG: {exc}", stacklevel=1)
            continue
        dags[dag.dag_id] = dag
    return dags


def spec_errors(dags_folder: Path) -> list[SpecError]:
    """Every problem in the scripts and pipelines of ``dags_folder``."""
    return load_catalog(dags_folder).errors
