"""The script service: the catalog of repository and database scripts, their form schema and run statistics.

Public entry points: :func:`all_scripts` (the catalog, by name), :func:`repository`, :func:`params_schema`.
No HTTP here: lookups raise :mod:`ylai_plugin.domain.errors` classes that the API maps to its envelope.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ylai_operators.registry import SpecError


@lru_cache(maxsize=4)
def _registry_for(folder: str, stamp: float) -> Any:
    from ylai_operators.registry import load_registry

    return load_registry(Path(folder))


def repository() -> Any:
    """The registry of the scripts in ``<dags_folder>/scripts``, reloaded when a file there changed."""
    from airflow.configuration import conf

    folder = Path(conf.get("core", "dags_folder")) / "scripts"
    # Reload only when a manifest or script changed: stat is cheap, parsing is not.
    stamp = max((os.stat(p).st_mtime for p in folder.rglob("*")), default=0.0) if folder.is_dir() else 0.0
    return _registry_for(str(folder), stamp)


def all_scripts(session: Any) -> dict[str, Any]:
    """Repository scripts, plus the current version of every database script, by name.

    A repository script wins over a database script of the same name, as in the DAG generator.
    """
    from ylai_operators.db_scripts import script_from_record
    from ylai_plugin.domain.db_scripts import current_records

    scripts = dict(repository().scripts)
    for name, record in current_records(session).items():
        loaded = script_from_record(name, record)
        if not isinstance(loaded, SpecError) and name not in scripts:
            scripts[name] = loaded
    return scripts
