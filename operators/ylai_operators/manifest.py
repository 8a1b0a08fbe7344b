"""The script manifest: what a script is, which parameters it takes and what it returns.

A manifest is a YAML file beside the script (``disk_usage.sh`` + ``disk_usage.yaml``).
Parameters are typed as in JSON Schema, with a few shorthands users asked for:
``type: enum`` (a string from ``enum``, optionally with display ``labels``),
``type: date``/``date-time`` (strings with that format) and ``format: multiline``.

Validation uses pydantic so that every error carries the exact field path, which
the loader turns into ``<file>: params.rows.maximum: <reason>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ylai_operators.param_schema import validate_value

SLUG = r"^[a-z][a-z0-9_]{0,62}$"
ParamType = Literal["string", "integer", "number", "boolean", "enum", "array", "object", "date", "date-time"]
OutputType = Literal["string", "integer", "number", "boolean", "array", "object", "any"]
Runtime = Literal["python", "bash", "executable"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def iso_dates(value: Any) -> Any:
    """Replace YAML ``date``/``datetime`` values (also nested) with ISO 8601 strings."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [iso_dates(v) for v in value]
    if isinstance(value, dict):
        return {k: iso_dates(v) for k, v in value.items()}
    return value


def parse_duration(value: int | float | str) -> timedelta:
    """Parse ``90``, ``"90s"``, ``"15m"``, ``"2h"`` into a timedelta."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a duration such as 300, '90s', '15m' or '2h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"expected a duration such as 300, '90s', '15m' or '2h', got {value!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be positive")
    return timedelta(seconds=seconds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _OptionsSource(_Strict):
    """Where a param's live options come from (frozen and strict: a misspelt key is an error)."""


class ConnectionsOptions(_OptionsSource):
    """``{source: connections, conn_type?}``: the ids of Airflow connections (of one type)."""

    source: Literal["connections"]
    conn_type: str | None = None


class VariablesOptions(_OptionsSource):
    """``{source: variables, prefix?}``: the keys of Airflow Variables (starting with ``prefix``)."""

    source: Literal["variables"]
    prefix: str | None = None


class PoolsOptions(_OptionsSource):
    """``{source: pools}``: the names of Airflow's pools."""

    source: Literal["pools"]


class DagsOptions(_OptionsSource):
    """``{source: dags, tag?}``: the DAGs the caller may read (with ``tag``)."""

    source: Literal["dags"]
    tag: str | None = None


class SqlOptions(_OptionsSource):
    """``{source: sql, conn_id, query, database_param?}``: a read-only query through a connection.

    The first column is the value, an optional second one the label. The values of the params
    the query depends on are bound parameters (``%(name)s`` for Postgres), never text of the
    query. ``database_param`` names a param whose value replaces the connection's database
    (schema) for this query: a connection parameter, never SQL.
    """

    source: Literal["sql"]
    conn_id: str = Field(min_length=1)
    query: str = Field(min_length=1)
    database_param: str | None = None


class HttpOptions(_OptionsSource):
    """``{source: http, conn_id, endpoint, values, labels?}``: a JSON answer of an HTTP connection.

    ``values`` (and ``labels``) are dotted paths into the answer (``data.items.name``): a path
    through a list collects that key of every element. The params the source depends on go as
    query parameters.
    """

    source: Literal["http"]
    conn_id: str = Field(min_length=1)
    endpoint: str = ""
    values: str = Field(min_length=1)
    labels: str | None = None


class ScriptOptions(_OptionsSource):
    """``{source: script, script}``: a ylai script, given the params it depends on, prints the options as JSON.

    It prints a JSON list: values, or ``{"value", "label"}`` objects.
    """

    source: Literal["script"]
    script: str = Field(pattern=SLUG)


OptionsFrom = Annotated[
    ConnectionsOptions | VariablesOptions | PoolsOptions | DagsOptions | SqlOptions | HttpOptions | ScriptOptions,
    Field(discriminator="source"),
]
OPTION_SOURCES = ("connections", "variables", "pools", "dags", "sql", "http", "script")


class ParamSpec(_Strict):
    """One script parameter.

    ``options_from`` offers live choices (connections, a query's rows, ...) instead of a static
    ``enum``; ``depends_on`` names the other params of the same form whose values the source
    needs, so a form fetches the options again when they change.
    """

    type: ParamType = "string"
    title: str | None = None
    description: str | None = None
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = Field(default=None, alias="minLength", ge=0)
    max_length: int | None = Field(default=None, alias="maxLength", ge=0)
    pattern: str | None = None
    format: Literal["multiline", "date", "date-time", "time", "email", "uri"] | None = None
    enum: list[Any] | None = None
    labels: dict[str, str] | None = None
    items: dict[str, Any] | None = None
    min_items: int | None = Field(default=None, alias="minItems", ge=0)
    max_items: int | None = Field(default=None, alias="maxItems", ge=0)
    secret: bool = False
    options_from: OptionsFrom | None = None
    depends_on: list[str] = Field(default_factory=list)

    @property
    def option_dependencies(self) -> list[str]:
        """``depends_on``, and the ``database_param`` of a SQL source when it is not listed."""
        found = list(self.depends_on)
        database = getattr(self.options_from, "database_param", None)
        if database and database not in found:
            found.append(database)
        return found

    @field_validator("default", mode="before")
    @classmethod
    def _yaml_dates(cls, value: Any) -> Any:
        # YAML reads an unquoted 2024-01-01 as a date; params carry ISO strings.
        return iso_dates(value)

    @field_validator("labels", mode="before")
    @classmethod
    def _label_keys(cls, value: Any) -> Any:
        # Labels of an integer enum ({1: one}) are keyed by the value's text, as Airflow's form expects.
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("items")
    @classmethod
    def _items_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from jsonschema import Draft7Validator, FormatChecker
            from jsonschema.exceptions import SchemaError

            try:
                Draft7Validator.check_schema(value, format_checker=FormatChecker())
            except SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.options_from is not None and (self.enum is not None or self.type == "enum"):
            raise ValueError("'options_from' replaces a static 'enum': give one or the other")
        if self.depends_on and self.options_from is None:
            raise ValueError("'depends_on' only applies to a parameter with 'options_from'")
        if self.type == "enum" and not self.enum:
            raise ValueError("type 'enum' needs a non-empty 'enum' list")
        if self.labels and not self.enum:
            raise ValueError("'labels' only apply to a parameter with 'enum'")
        if self.labels and self.enum:
            unknown = sorted(set(self.labels) - {str(v) for v in self.enum})
            if unknown:
                raise ValueError(f"'labels' has keys that are not enum values: {unknown}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("'minimum' is greater than 'maximum'")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("'minLength' is greater than 'maxLength'")
        numeric_only = ("minimum", "maximum")
        if self.type not in ("integer", "number") and any(getattr(self, f) is not None for f in numeric_only):
            raise ValueError(f"'minimum'/'maximum' need type integer or number, not {self.type}")
        if self.required and self.default is not None:
            raise ValueError("a required parameter cannot have a default")
        if self.default is not None:
            error = validate_value(self, self.default)
            if error:
                raise ValueError(f"default {self.default!r} is invalid: {error}")
        return self


def check_dependencies(params: Mapping[str, ParamSpec]) -> None:
    """Check every param's ``depends_on`` (and SQL ``database_param``) against the others.

    :raises ValueError: naming the field (``params.table.depends_on``): an unknown param, the
        param itself, or a cycle (``a -> b -> a``).
    """
    for name, spec in params.items():
        database = getattr(spec.options_from, "database_param", None)
        if database is not None and database not in params:
            raise ValueError(f"params.{name}.options_from.database_param: {database!r} is not a parameter of this form")
        for other in spec.depends_on:
            if other == name:
                raise ValueError(f"params.{name}.depends_on: a parameter cannot depend on itself")
            if other not in params:
                raise ValueError(f"params.{name}.depends_on: {other!r} is not a parameter of this form")
        if database == name:
            raise ValueError(f"params.{name}.options_from.database_param: a parameter cannot depend on itself")
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in params[name].option_dependencies:
            if state.get(other) == 1:
                cycle = [*path[path.index(other) :], other] if other in path else [name, other]
                raise ValueError(f"params.{name}.depends_on: a cycle: {' -> '.join(cycle)}")
            if other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in params:
        if name not in state:
            visit(name, [name])


class OutputSpec(_Strict):
    """A value the script promises to write to its result file."""

    type: OutputType = "any"
    description: str | None = None


class ResourceHints(_Strict):
    """What the script needs; ``cpu`` becomes the task's pool slots, ``queue`` its Celery queue.

    ``memory_mb`` is a limit, in MiB, on the RSS of the script's whole process tree: the
    ``ScriptOperator`` stops a tree that goes over it and fails the task (``None``: no limit).
    """

    cpu: int = Field(default=1, ge=1, le=64)
    memory_mb: int | None = Field(default=None, ge=16)
    queue: str | None = None


# The roles that approve a sensitive script's runs when its manifest names no approvers, and
# how long an approval waits; the ``[ylai]`` options of the plugin override both (published
# to the ``ylai_approval_policy`` Variable, see :mod:`ylai_operators.approval`).
DEFAULT_APPROVERS = ("Admin", "Op")
DEFAULT_APPROVAL_TIMEOUT = timedelta(hours=24)
APPROVER_NAME = r"^[A-Za-z0-9_.@ -]{1,64}$"


class ApprovalNotify(_Strict):
    """One alert channel told of each approval request: Slack, e-mail or webhook, in ``language``."""

    # The example the API's schema shows (a saved task's ``approval.notify``).
    model_config = ConfigDict(json_schema_extra={"examples": [{"type": "slack", "target": "#approvals"}]})

    type: Literal["slack", "email", "webhook"]
    target: str = Field(min_length=1, max_length=500)
    connection_id: str | None = None
    language: Literal["en", "zh-CN"] = "en"


class ApprovalSpec(_Strict):
    """``approval:`` of a manifest or pipeline: who must approve a run before it starts.

    ``approvers`` are role names (``Op``) or usernames (``alice``); an Admin may always approve.
    ``four_eyes``: whoever started the run cannot approve it. ``reason_required``: approving
    needs a comment (rejecting always does). ``notify``: the alert channels told of each request,
    each in its own language.
    """

    approvers: list[str] = Field(default_factory=lambda: list(DEFAULT_APPROVERS), min_length=1)
    timeout: timedelta = Field(default=DEFAULT_APPROVAL_TIMEOUT)
    reason_required: bool = False
    four_eyes: bool = True
    notify: list[ApprovalNotify] = Field(default_factory=list)

    @field_validator("approvers")
    @classmethod
    def _approver_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(APPROVER_NAME, name):
                raise ValueError(f"approver {name!r} must be a role name or a username (letters, digits, _.@- )")
        return list(dict.fromkeys(value))

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)

    def as_record(self) -> dict[str, Any]:
        """The spec as JSON-ready data (``timeout`` in seconds)."""
        return {
            "approvers": list(self.approvers),
            "timeout_seconds": self.timeout.total_seconds(),
            "reason_required": self.reason_required,
            "four_eyes": self.four_eyes,
            "notify": [n.model_dump() for n in self.notify],
        }


class ScriptManifest(_Strict):
    """A validated script manifest."""

    name: str = Field(pattern=SLUG)
    title: str | None = None
    description: str = ""
    owner: str = "ylai"
    tags: list[str] = Field(default_factory=list)
    runtime: Runtime | None = None  # inferred from the script's suffix when omitted
    entrypoint: str | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)
    timeout: timedelta = Field(default=timedelta(hours=1))
    retries: int = Field(default=1, ge=0, le=20)
    sensitive: bool = False
    # None: approval only if the script is sensitive (and the policy asks for it); ``approval: false``
    # in the file: never (see :attr:`approval_off`).
    approval: ApprovalSpec | None = None
    _approval_off: bool = PrivateAttr(default=False)
    resources: ResourceHints = Field(default_factory=ResourceHints)
    alerts: dict[str, Any] | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        return parse_duration(value)

    @field_validator("params", "outputs")
    @classmethod
    def _slug_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", key):
                raise ValueError(f"name {key!r} must be letters, digits and underscores")
        return value

    @field_validator("params")
    @classmethod
    def _dependencies(cls, value: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        check_dependencies(value)
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _explicit_no_approval(cls, data: Any, handler: Any) -> Any:
        # ``approval: false`` opts a sensitive script out; kept out of the union so that the
        # errors of a real ``approval:`` mapping name its fields (approval.timeout), not a Literal.
        off = isinstance(data, dict) and data.get("approval") is False
        model = handler({k: v for k, v in data.items() if k != "approval"} if off else data)
        if off:
            model.__pydantic_private__["_approval_off"] = True
        return model

    @property
    def approval_off(self) -> bool:
        """Whether the manifest says ``approval: false`` (no approval, even when sensitive)."""
        return bool(self._approval_off)

    @property
    def display_title(self) -> str:
        """The title, or the name when no title is set."""
        return self.title or self.name.replace("_", " ").capitalize()

    @property
    def secret_params(self) -> list[str]:
        """Names of parameters whose values must be masked (all of them for a sensitive script)."""
        return [n for n, p in self.params.items() if p.secret or self.sensitive]
