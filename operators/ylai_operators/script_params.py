"""Check the params a hand-written DAG gives a registered script against its manifest.

Two moments: when the DAG file is parsed (:func:`check_at_parse`: unknown names, missing
required params, literal values of the wrong type) and when the task runs
(:func:`check_at_run`: every value again, after Jinja templates were rendered and XCom
arguments resolved). A value that is only known at run time (a ``"{{ ... }}"`` string or an
``XComArg``) is *deferred*: parsing accepts it, the run checks what it became.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ylai_operators.manifest import ParamSpec
from ylai_operators.param_schema import json_type, validate_value

_TEMPLATE_MARKS = ("{{", "{%")


class ScriptParamsError(ValueError):
    """A script's params do not fit its manifest; the message names the DAG file, script, task and params.

    :param problems: ``(param, reason)`` pairs; ``param`` is empty for a problem of the script itself.
    """

    def __init__(self, where: str, script: str, task_id: str | None, problems: list[tuple[str, str]]) -> None:
        self.where = where
        self.script = script
        self.task_id = task_id
        self.problems = problems
        head = f"script {script!r}" + (f", task {task_id!r}" if task_id else "")
        details = "; ".join(f"param {name!r}: {reason}" if name else reason for name, reason in problems)
        super().__init__(f"{where}: {head}: {details}" if where else f"{head}: {details}")


def is_deferred(value: Any) -> bool:
    """Whether ``value`` is only known at run time: a Jinja template string or an XCom argument."""
    if isinstance(value, str):
        return any(mark in value for mark in _TEMPLATE_MARKS)
    from airflow.sdk.definitions._internal.mixins import ResolveMixin

    return isinstance(value, ResolveMixin)


def dag_file() -> str:
    """The file of the code that is defining the task: the first caller outside ylai_operators and Airflow."""
    import airflow

    skip = (str(Path(__file__).parent), str(Path(airflow.__file__).parent))
    frame = inspect.currentframe()
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(skip) and not filename.startswith("<"):
            return filename
        frame = frame.f_back
    return "<unknown DAG file>"


def _names(declared: Mapping[str, ParamSpec], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Unknown names and required params without a value."""
    unknown = f"unknown parameter (declared: {', '.join(declared) or 'none'})"
    problems = [(name, unknown) for name in values if name not in declared]
    problems += [
        (name, "required parameter is not set")
        for name, spec in declared.items()
        if spec.required and values.get(name) is None
    ]
    return problems


def check_at_parse(
    declared: Mapping[str, ParamSpec], values: Mapping[str, Any], *, complete: bool = True
) -> list[tuple[str, str]]:
    """Problems of ``values`` that can be seen before the run: names, required params, literal values.

    :param complete: ``values`` are all the task will get (else required params may come later).
    """
    problems = _names(declared, values)
    if not complete:
        problems = [(name, reason) for name, reason in problems if name not in declared]
    for name, value in values.items():
        if name in declared and value is not None and not is_deferred(value):
            problem = validate_value(declared[name], value)
            if problem is not None:
                problems.append((name, problem))
    return problems


def check_at_run(
    declared: Mapping[str, ParamSpec], values: Mapping[str, Any], rendered: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check the values a run is about to use; return them (rendered ones typed) and the problems.

    A rendered template is text: for a param that is not a string (``"{{ params.rows }}"``
    rendering ``"500"`` for an integer), text that parses as JSON and fits is used as that value.

    :param rendered: names whose value came from a template (only those may be converted).
    """
    checked = dict(values)
    problems = _names(declared, values)
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None or value is None:
            continue
        problem = validate_value(spec, value)
        if problem is not None and name in rendered and isinstance(value, str) and json_type(spec) != "string":
            import json

            try:
                converted = json.loads(value)
            except ValueError:
                pass  # not JSON: the text's own problem stands
            else:
                problem = validate_value(spec, converted)
                if problem is None:
                    checked[name] = converted
        if problem is not None:
            problems.append((name, f"{problem} (value after rendering: {value!r})" if name in rendered else problem))
    return checked, problems
