"""The ``ScriptOperator`` arguments that run a registered script: from its manifest, and with checked params.

Shared by the DAGs ylai builds (``script__<name>``, pipeline nodes) and by the tasks people
write (:meth:`ScriptOperator.for_script`, ``@task.ylai_script``), so a script runs with the
same timeout, retries, owner, pool slots, queue and memory limit whichever DAG it is in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ylai_operators.registry import Script
from ylai_operators.script_lookup import UnknownScriptError, find_script, scripts_folder_for
from ylai_operators.script_params import ScriptParamsError, check_at_parse, dag_file, is_deferred


def script_operator_kwargs(script: Script) -> dict[str, Any]:
    """Keyword arguments of the ScriptOperator that runs ``script`` (without params)."""
    m = script.manifest
    kwargs: dict[str, Any] = {
        "script_path": str(script.path),
        "script_content": script.content,
        "runtime": script.runtime,
        "script_name": m.name,
        "script_version": script.version,
        "secret_params": m.secret_params,
        "outputs": {name: o.type for name, o in m.outputs.items()},
        "execution_timeout": m.timeout,
        "retries": m.retries,
        "owner": m.owner,
        "pool_slots": m.resources.cpu,
        "memory_limit_mb": m.resources.memory_mb,
    }
    if m.resources.queue:
        kwargs["queue"] = m.resources.queue
    return kwargs


def operator_arguments(
    script: str,
    *,
    params: Mapping[str, Any] | None = None,
    task_id: str | None = None,
    scripts_folder: str | os.PathLike[str] | None = None,
    complete: bool = True,
) -> dict[str, Any]:
    """The ``ScriptOperator`` arguments that run registered script ``script`` with ``params``.

    What :meth:`ScriptOperator.for_script` and ``@task.ylai_script`` build on: the script is
    looked up, ``params`` checked (:func:`check_at_parse`), omitted params take their manifest
    defaults, deferred values go to the templated ``param_templates``, and the manifest's
    timeout, retries, owner, pool slots, queue and memory limit come along.

    :param complete: see :func:`check_at_parse`.
    :raises ScriptParamsError: naming the DAG file (:func:`dag_file`), the script, the task and the params.
    """
    given = dict(params or {})
    where = dag_file()
    try:
        found = find_script(script, scripts_folder or scripts_folder_for(where))
    except UnknownScriptError as exc:
        raise ScriptParamsError(where, script, task_id, [("", str(exc))]) from None
    declared = found.manifest.params
    problems = check_at_parse(declared, given, complete=complete)
    if problems:
        raise ScriptParamsError(where, script, task_id or found.name, problems)
    values = {name: spec.default for name, spec in declared.items() if spec.default is not None} | given
    templates = {name: value for name, value in values.items() if is_deferred(value)}
    return script_operator_kwargs(found) | {
        "task_id": task_id or found.name,
        "param_values": {name: value for name, value in values.items() if name not in templates},
        "param_templates": templates,
        "param_specs": declared,
        "push_outputs": True,
    }
