"""Turn manifest parameters into JSON Schema, Airflow ``Param``s, and validate values.

The same schema serves Airflow's trigger form (and its server-side validation of
``POST /dagRuns``), the pipeline generator's parse-time checks and ylai's API,
so a value is accepted or refused for the same reason everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow.sdk import Param

SECRET_KEYWORD = "x-ylai-secret"  # noqa: S105 - a JSON Schema keyword, not a secret
"""Marks a secret value in a schema; JSON Schema validation ignores unknown keywords."""
OPTIONS_KEYWORD = "x-ylai-options"
"""``{"source", "depends_on"}`` of a param with live options (never the query, URL or script)."""
LIVE_OPTIONS_NOTE = "ylai's Run page offers the live choices for this field."


class ParamLike(Protocol):
    """What this module reads of a parameter: :class:`ylai_operators.manifest.ParamSpec` fits.

    A protocol rather than the manifest's model, so that this module depends on nothing and
    the manifest can validate its defaults with :func:`validate_value` (no import cycle).
    """

    @property
    def type(self) -> str: ...  # noqa: D102 - the manifest documents each field
    @property
    def title(self) -> str | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def description(self) -> str | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def default(self) -> Any: ...  # noqa: D102 - the manifest documents each field
    @property
    def required(self) -> bool: ...  # noqa: D102 - the manifest documents each field
    @property
    def minimum(self) -> float | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def maximum(self) -> float | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def min_length(self) -> int | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def max_length(self) -> int | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def pattern(self) -> str | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def format(self) -> str | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def enum(self) -> list[Any] | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def labels(self) -> dict[str, str] | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def items(self) -> dict[str, Any] | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def min_items(self) -> int | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def max_items(self) -> int | None: ...  # noqa: D102 - the manifest documents each field
    @property
    def secret(self) -> bool: ...  # noqa: D102 - the manifest documents each field


_SCALAR_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _enum_type(values: list[Any]) -> str | None:
    kinds = {_SCALAR_TYPES.get(type(v)) for v in values}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


def json_type(spec: ParamLike) -> str | None:
    """The JSON Schema ``type`` of a parameter (``None`` for an enum of mixed types)."""
    if spec.type == "enum":
        return _enum_type(spec.enum or [])
    if spec.type in ("date", "date-time"):
        return "string"
    return spec.type


def to_json_schema(spec: ParamLike, *, nullable: bool | None = None) -> dict[str, Any]:
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
    live = options_of(spec)
    if live is not None:
        schema[OPTIONS_KEYWORD] = live
    return schema


def options_of(spec: ParamLike) -> dict[str, Any] | None:
    """The ``x-ylai-options`` of a param with ``options_from``: its source and what it depends on.

    Only these two: the schema is shown by Airflow's UI and API, so a query, an endpoint or a
    connection id stays in the manifest. Read with ``getattr``: a :class:`ParamLike` of an
    older shape has no live options.
    """
    source = getattr(spec, "options_from", None)
    if source is None:
        return None
    depends = getattr(spec, "option_dependencies", None) or getattr(spec, "depends_on", None) or []
    return {"source": source.source, "depends_on": list(depends)}


def validate_value(spec: ParamLike, value: Any) -> str | None:
    """Return why ``value`` does not fit ``spec``, or ``None`` when it does."""
    from jsonschema import Draft7Validator, FormatChecker

    schema = to_json_schema(spec, nullable=False)
    schema.pop("values_display", None)
    schema.pop("examples", None)
    errors = sorted(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(value), key=str)
    return errors[0].message if errors else None


def to_param(spec: ParamLike, *, secret: bool | None = None) -> Param:
    """Build the Airflow ``Param`` shown in the trigger form.

    :param secret: mask the value (defaults to the spec's ``secret`` flag; a sensitive script masks all).
    """
    from airflow.sdk import Param

    schema = to_json_schema(spec)
    description = schema.pop("description", None)
    if OPTIONS_KEYWORD in schema:
        # Airflow's trigger form shows a plain field: say where the choices are.
        description = f"{description or ''} ({LIVE_OPTIONS_NOTE})".strip()
    if spec.secret if secret is None else secret:
        description = ((description or "") + " (secret: masked in task logs)").strip()
        # Unknown keywords are ignored by JSON Schema validation; ylai's API masks these values.
        schema[SECRET_KEYWORD] = True
    if spec.required:
        return Param(description=description, **schema)
    return Param(spec.default, description=description, **schema)


def form_schema(params: Mapping[str, ParamLike], *, sensitive: bool = False) -> dict[str, Any]:
    """The object schema of all of a script's parameters, as a form generator needs it.

    :param sensitive: every value is secret (a sensitive script), not only the ``secret`` ones.
    """
    properties = {}
    for name, spec in params.items():
        prop = to_json_schema(spec)
        if spec.default is not None:
            prop["default"] = spec.default
        if spec.secret or sensitive:
            prop[SECRET_KEYWORD] = True
        properties[name] = prop
    required = [n for n, p in params.items() if p.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
