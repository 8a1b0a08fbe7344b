"""Build ylai's DAGs from the ``scripts/`` and ``pipelines/`` folders of a DAGs folder.

Used by the small DAG files in ``dags/``. A broken spec never takes the others
down: it is left out and reported by :func:`spec_errors`, which the
``ylai_spec_errors`` DAG file raises as one import error naming every file and field
(``database/<name>`` for scripts and pipelines created through the API).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ylai_operators.pipeline_dags import PIPELINE_DAG_PREFIX, build_pipeline_dag
from ylai_operators.pipeline_spec import Pipeline, check_pipeline, find_spec, load_pipelines
from ylai_operators.registry import Registry, SpecError, load_registry
from ylai_operators.script_dags import SCRIPT_DAG_PREFIX, build_script_dag, script_dag_id

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


# Airflow parses each DAG file in one process and serializes every DAG it defines, at a cost
# proportional to the number of DAGs (~5-10 ms each). With hundreds of scripts one file would
# take seconds per parse, and the task runner re-imports the task's DAG file at the start of
# every task. So the DAGs are spread over several small files, dags/ylai_scripts_<i>.py and
# dags/ylai_pipelines_<i>.py, by a stable hash of the name: a DAG keeps its file as others
# come and go. Changing a count means adding or removing those files (a unit test checks).
SCRIPT_SHARDS = 8
PIPELINE_SHARDS = 4


def shard_of(name: str, count: int) -> int:
    """The file (0 .. count-1) that builds the DAG of script or pipeline ``name``."""
    return zlib.crc32(name.encode()) % count


def _parsing_for() -> str | None:
    """The DAG id a task runner (or ``airflow tasks test``) is parsing the file for, if any.

    Airflow sets it while it imports a task's DAG file to run that one task; the file then only
    needs to build that DAG (Airflow's documented dynamic-DAG optimisation).
    """
    from airflow.sdk import get_parsing_context

    return get_parsing_context().dag_id


def _in_shard(dag_id: str, prefix: str, shard: tuple[int, int]) -> bool:
    return dag_id.startswith(prefix) and shard_of(dag_id[len(prefix) :], shard[1]) == shard[0]


def script_dags(dags_folder: Path, shard: tuple[int, int] = (0, 1)) -> dict[str, DAG]:
    """One DAG per valid script of file ``shard = (index, count)``: the repository's, then the API's.

    When Airflow parses the file to run a task of one DAG, only that DAG is built.
    """
    from ylai_operators.db_scripts import load_db_scripts

    index, count = shard
    wanted = _parsing_for()
    if wanted is not None and not _in_shard(wanted, SCRIPT_DAG_PREFIX, shard):
        return {}  # another file's DAG

    def mine(name: str) -> bool:
        if wanted is not None:
            return script_dag_id(name) == wanted
        return shard_of(name, count) == index

    # A task runner needs one script: the spec cache knows its file (see load_registry's `names`).
    only = None if wanted is None else [wanted[len(SCRIPT_DAG_PREFIX) :]]
    registry = load_registry(dags_folder / SCRIPTS_DIR, names=only)
    scripts = [s for s in registry.scripts.values() if mine(s.name)]
    if wanted is None or not scripts:  # API-created scripts (a repository script keeps its name)
        db_scripts, db_errors = load_db_scripts()
        for error in db_errors:
            # Reported once: by the file whose DAG it is, a failed read by the first file.
            name = error.path.name if error.path.parent.name == "database" else ""
            if (name and mine(name)) or (not name and (wanted is not None or index == 0)):
                warnings.warn(str(error), stacklevel=1)
        scripts += [s for s in db_scripts if s.name not in registry.scripts and mine(s.name)]
    dags = {}
    for script in scripts:
        try:
            dag = build_script_dag(script)
        except Exception as exc:  # one bad script must not hide the others
            warnings.warn(f"{script.manifest_path}: cannot build DAG: {exc}", stacklevel=1)
            continue
        dags[dag.dag_id] = dag
    return dags


def _one_pipeline(dags_folder: Path, name: str) -> tuple[Pipeline, Registry] | None:
    """Pipeline ``name`` checked against only its own scripts, read from the files the spec cache knows.

    A task runner builds one pipeline's DAG at the start of every task: reading one spec and
    the manifests of its scripts instead of the whole catalog keeps a large catalog from
    slowing every task (issue 21). ``None`` (not cached, or not valid): load the folders.
    """
    found = find_spec(dags_folder / PIPELINES_DIR, name)
    if found is None:
        return None
    path, spec = found
    registry = load_registry(dags_folder / SCRIPTS_DIR, names={node.script for node in spec.nodes.values()})
    checked = check_pipeline(spec, path, registry)
    return None if isinstance(checked, list) else (checked, registry)


def pipeline_dags(dags_folder: Path, shard: tuple[int, int] = (0, 1)) -> dict[str, DAG]:
    """One DAG per valid pipeline of file ``shard = (index, count)``: the repository's, then the API's.

    When Airflow parses the file to run a task of one DAG, only that DAG is built. A database
    pipeline (:mod:`ylai_operators.db_pipelines`) may run repository and database scripts.
    """
    from ylai_operators.db_pipelines import load_db_pipelines

    index, count = shard
    wanted = _parsing_for()
    if wanted is not None and not _in_shard(wanted, PIPELINE_DAG_PREFIX, shard):
        return {}  # another file's DAG

    def mine(name: str) -> bool:
        if wanted is not None:
            return PIPELINE_DAG_PREFIX + name == wanted
        return shard_of(name, count) == index

    one = _one_pipeline(dags_folder, wanted[len(PIPELINE_DAG_PREFIX) :]) if wanted is not None else None
    if one is not None:
        pipelines, registry = {one[0].name: one[0]}, one[1]
    else:
        registry = load_registry(dags_folder / SCRIPTS_DIR)
        pipelines, _ = load_pipelines(dags_folder / PIPELINES_DIR, registry, select=mine)
    built = [(p, registry) for p in pipelines.values()]
    if wanted is None or not pipelines:  # API-created pipelines (a repository pipeline keeps its name)
        db_pipelines, db_registry, db_errors = load_db_pipelines(
            registry, select=lambda name: mine(name) and name not in pipelines
        )
        for error in db_errors:
            # Reported once: by the file whose DAG it is, a failed read (or script) by the first file.
            name = error.path.stem if error.path.parent.name == "database" else ""
            if (name and mine(name)) or (not name and (wanted is not None or index == 0)):
                warnings.warn(str(error), stacklevel=1)
        built += [(p, db_registry) for p in db_pipelines.values()]
    dags = {}
    for pipeline, used in built:
        try:
            dag = build_pipeline_dag(pipeline, used)
        except Exception as exc:  # e.g. an invalid cron expression in `schedule`
            warnings.warn(f"{pipeline.path}: cannot build DAG: {exc}", stacklevel=1)
            continue
        dags[dag.dag_id] = dag
    return dags


def database_errors(catalog: Catalog) -> list[SpecError]:
    """Every problem of the database's current scripts and pipelines (``database/<name>...``), once each.

    A database pipeline is checked as :func:`pipeline_dags` builds it: against the repository's
    and the database's scripts, unless a repository pipeline of ``catalog`` has its name (the file
    wins). A Variable that cannot be read is left out: that is an outage, not a spec problem (the
    DAG files warn about it), and every database spec is reported again once it can be read.
    """
    from ylai_operators.db_pipelines import load_db_pipelines, with_db_scripts

    registry, script_errors = with_db_scripts(catalog.registry)
    _pipelines, _registry, pipeline_errors = load_db_pipelines(registry, select=lambda n: n not in catalog.pipelines)
    found: dict[str, SpecError] = {}
    for error in script_errors + pipeline_errors:
        if error.path != Path("database"):
            found.setdefault(str(error), error)
    return list(found.values())


def spec_errors(dags_folder: Path) -> list[SpecError]:
    """Every problem in the scripts and pipelines of ``dags_folder``, then in those of the database."""
    catalog = load_catalog(dags_folder)
    return catalog.errors + database_errors(catalog)
