"""Turn manifest parameters into JSON Schema, Airflow ``Param``s, and validate values.

The same schema serves Airflow's trigger form (and its server-side validation of
``POST /dagRuns``), the pipeline generator's parse-time checks and ylai's API,
so a value is accepted or refused for the same reason everywhere.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Param

    from ylai_operators.manifest import ParamSpec

_SCALAR_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _enum_type(values: list[Any]) -> str | None:
    kinds = {_SCALAR_TYPES.get(type(v)) for v in values}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


def json_type(spec: ParamSpec) -> str | None:
    """The JSON Schema ``type`` of a parameter (``None`` for an enum of mixed types)."""
    if spec.type == "enum":
        return _enum_type(spec.enum or [])
    if spec.type in ("date", "date-time"):
        return "string"
    return spec.type


def to_json_schema(spec: ParamSpec, *, nullable: bool | None = None) -> dict[str, Any]:
    """Return the JSON Schema of one parameter.

    :param nullable: allow ``null``; by default, when the parameter is optional and has no default.
    """
    schema: dict[str, Any] = {}
    base = json_type(spec)
    if nullable is None:
        nullable = not spec.required and spec.default is None
    if base is not None:
        schema["type"] = [base, "null"] if nullable else base
    if spec.type in ("date", "date-time"):
        schema["format"] = spec.type
    elif spec.format:
        schema["format"] = spec.format
    if spec.enum is not None:
        schema["enum"] = [*spec.enum, None] if nullable else list(spec.enum)
    if spec.type == "integer":
        # An integer parameter with minimum 1.5 must refuse 1: round bounds inwards.
        bounds = {"minimum": spec.minimum, "maximum": spec.maximum}
        for key, bound in bounds.items():
            if bound is not None:
                schema[key] = math.ceil(bound) if key == "minimum" else math.floor(bound)
    for key, value in (
        ("minimum", spec.minimum),
        ("maximum", spec.maximum),
        ("minLength", spec.min_length),
        ("maxLength", spec.max_length),
        ("pattern", spec.pattern),
        ("minItems", spec.min_items),
        ("maxItems", spec.max_items),
    ):
        if value is not None:
            schema.setdefault(key, value)
    if spec.type == "array":
        items = dict(spec.items or {"type": "string"})
        schema["items"] = items
        if "enum" in items:
            # Airflow's form renders an array with ``examples`` as a multi-select.
            schema["examples"] = list(items["enum"])
    if spec.title:
        schema["title"] = spec.title
    if spec.description:
        schema["description"] = spec.description
    if spec.labels:
        schema["values_display"] = dict(spec.labels)
    return schema


def validate_value(spec: ParamSpec, value: Any) -> str | None:
    """Return why ``value`` does not fit ``spec``, or ``None`` when it does."""
    from jsonschema import Draft7Validator, FormatChecker

    schema = to_json_schema(spec, nullable=False)
    schema.pop("values_display", None)
    schema.pop("examples", None)
    errors = sorted(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(value), key=str)
    return errors[0].message if errors else None


def to_param(spec: ParamSpec, *, secret: bool | None = None) -> Param:
    """Build the Airflow ``Param`` shown in the trigger form.

    :param secret: mask the value (defaults to the spec's ``secret`` flag; a sensitive script masks all).
    """
    from airflow.sdk import Param

    schema = to_json_schema(spec)
    description = schema.pop("description", None)
    if spec.secret if secret is None else secret:
        description = ((description or "") + " (secret: masked in task logs)").strip()
        # Unknown keywords are ignored by JSON Schema validation; ylai's API masks these values.
        schema["x-ylai-secret"] = True
    if spec.required:
        return Param(description=description, **schema)
    return Param(spec.default, description=description, **schema)
