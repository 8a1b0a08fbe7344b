"""Find one registered script by name, for a DAG someone writes by hand.

A script is looked up where ylai's own DAG files find it: the ``scripts/`` folder of the
DAGs folder (the repository's scripts), then the scripts created through ylai's API
(published to the ``ylai_db_scripts`` Variable), as ``script__<name>`` DAGs do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ylai_operators.registry import Script, load_registry

SCRIPTS_DIR = "scripts"


class UnknownScriptError(LookupError):
    """No registered script has this name."""


def scripts_folder_for(dag_file: str | os.PathLike[str] | None) -> Path:
    """The ``scripts/`` folder that serves the DAG file ``dag_file``.

    The nearest folder named ``scripts`` beside the DAG file or beside one of its parent
    folders (a DAG in ``dags/team/`` uses ``dags/scripts/``); else ``<[core] dags_folder>/scripts``.
    """
    if dag_file is not None:
        for folder in Path(dag_file).resolve().parents:
            candidate = folder / SCRIPTS_DIR
            if candidate.is_dir():
                return candidate
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder")).expanduser() / SCRIPTS_DIR


def find_script(name: str, scripts_folder: str | os.PathLike[str]) -> Script:
    """The registered script ``name``: from ``scripts_folder``, else from those created through the API.

    :raises UnknownScriptError: no such script (the message lists the known ones).
    """
    registry = load_registry(Path(scripts_folder), names=[name])  # its file only, when the cache knows it
    script = registry.scripts.get(name)
    if script is not None:
        return script
    from ylai_operators.db_scripts import load_db_scripts

    db_scripts, _ = load_db_scripts()  # unreadable Variable: only the repository's scripts are known
    for candidate in db_scripts:
        if candidate.name == name:
            return candidate
    known = sorted({*registry.scripts, *(s.name for s in db_scripts)})
    raise UnknownScriptError(f"unknown script {name!r} (known: {', '.join(known) or 'none'})")
