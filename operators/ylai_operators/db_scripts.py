"""Scripts created through ylai's API, as the DAG generator and workers see them.

The API keeps every version in ylai's tables and publishes the current ones to one
Airflow Variable, ``ylai_db_scripts``. Variables are readable while parsing DAGs in
the dag-processor *and* on workers (through the supervisor), so both build the same
``script__<name>`` DAG with the script's content embedded, with no shared filesystem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ylai_operators.registry import Script, SpecError

VARIABLE = "ylai_db_scripts"
SUFFIX = {"python": ".py", "bash": ".sh", "executable": ""}


def script_from_record(name: str, record: dict[str, Any]) -> Script | SpecError:
    """Rebuild a validated :class:`Script` from a published record."""
    from pydantic import ValidationError

    from ylai_operators.manifest import ScriptManifest

    origin = Path(f"database/{name}")
    try:
        manifest = ScriptManifest.model_validate(
            {**record.get("manifest", {}), "name": name, "runtime": record["runtime"]}
        )
    except (ValidationError, KeyError) as exc:
        return SpecError(origin, "manifest", str(exc).splitlines()[0])
    return Script(
        manifest=manifest,
        path=Path(name + SUFFIX.get(record["runtime"], "")),
        manifest_path=origin,
        content=str(record["content"]),
        version=int(record.get("version", 1)),
    )


def read_json_variable(key: str) -> Any:
    """A JSON Variable, read the way the current process can (``None`` when unset)."""
    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is None:
        # Parsing outside a dag-processor or worker (DagBag in tests, `airflow dags list`): the SDK
        # has no supervisor to ask for Variables, so read the metadata DB directly.
        from airflow.models.variable import Variable as CoreVariable

        return CoreVariable.get(key, default_var=None, deserialize_json=True)
    from airflow.sdk import Variable

    return Variable.get(key, default=None, deserialize_json=True)


def load_db_scripts() -> tuple[list[Script], list[SpecError]]:
    """The current API-created scripts (empty when none were ever created)."""
    try:
        published = read_json_variable(VARIABLE)
    except Exception as exc:  # no metadata DB reachable while parsing: keep the repository scripts
        return [], [SpecError(Path("database"), VARIABLE, f"cannot read the Variable: {exc}")]
    scripts: list[Script] = []
    errors: list[SpecError] = []
    for name, record in sorted((published or {}).items()):
        loaded = script_from_record(name, record)
        (errors if isinstance(loaded, SpecError) else scripts).append(loaded)  # type: ignore[arg-type]
    return scripts, errors
