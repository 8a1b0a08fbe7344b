"""Live options of run forms: ``GET /forms/{dag_id}/options/{param}`` and the check at run time.

A script's or pipeline's param with ``options_from:`` takes its choices from a live source
(:mod:`ylai_plugin.domain.option_sources`). :func:`options` answers them for a form, cached for
``[ylai] form_options_ttl`` seconds per DAG, param and values of the params it depends on (per
user too for the ``dags`` source, whose list depends on who asks), read within
``[ylai] form_options_timeout`` seconds. :func:`check_run` refuses a run whose value of such a
param is not among the options its source gives for the run's other values, so the API cannot
be used to bypass the form.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ylai_operators.catalog import DagKind, parse_dag_id
from ylai_plugin import config
from ylai_plugin.domain import access, option_sources, pipelines, scripts, tasks
from ylai_plugin.domain.cache import TtlCache, cache_key
from ylai_plugin.domain.errors import Forbidden, Invalid, NotFound, Text, Unavailable, not_found, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

    from ylai_operators.catalog import ParamSpec

PREFIX = "ylai:options:"
# How long a DAG's param specs, and a user's right to read a DAG, are reused before they are read
# again: a cached answer then costs no query at all. FAB caches a user's permissions for 30 s anyway.
_REUSE_SECONDS = 5.0
Sessions = Callable[[], "Session"]
"""Gives the session to use, opening one only when first called (a cached answer needs none)."""
INVALID_PARAMS = text("params.invalid", "Invalid params")


class OptionOut(BaseModel):
    """One choice of a field: the value a run gets and the label a person sees."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"value": "orders", "label": "orders"}]})

    value: Any
    label: str


class OptionsAnswer(BaseModel):
    """The options of one field, as ``GET /forms/{dag_id}/options/{param}`` answers them.

    ``truncated``: the source had more than 1000 options, the first 1000 are here. ``cached``:
    the answer came from the cache (``[ylai] form_options_ttl``), not from the source just now.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "param": "table",
                    "options": [{"value": "customers", "label": "customers"}, {"value": "orders", "label": "orders"}],
                    "truncated": False,
                    "cached": True,
                }
            ]
        }
    )

    param: str
    options: list[OptionOut]
    truncated: bool
    cached: bool


_specs_lock = threading.Lock()
_specs: dict[str, tuple[float, dict[str, ParamSpec]]] = {}
_readers_of: dict[tuple[str, str, str], float] = {}  # (user type, user id, dag id) -> when read access was seen
_cache: TtlCache | None = None


def reset() -> None:
    """Forget the cached options, param specs and read rights (tests, and after ``[ylai]`` changes)."""
    global _cache
    _cache = None
    with _specs_lock:
        _specs.clear()
        _readers_of.clear()


@contextlib.contextmanager
def _lazy_session() -> Iterator[Sessions]:
    """A :data:`Sessions` that opens a session of its own on first use, closed when the block ends."""
    with contextlib.ExitStack() as stack:
        opened: list[Session] = []

        def get() -> Session:
            if not opened:
                from airflow.utils.session import create_session

                opened.append(stack.enter_context(create_session()))
            return opened[0]

        yield get


def _options_cache() -> TtlCache | None:
    global _cache
    ttl = config.FORM_OPTIONS_TTL.get()
    if ttl <= 0:
        return None
    if _cache is None or _cache.ttl != ttl:
        # No grace: an answer is never older than the TTL (a dropped table leaves the list in time).
        _cache = TtlCache(ttl, config.CACHE_URL.get() or None, grace=0.0, prefix=PREFIX)
    return _cache


def param_specs(sessions: Sessions, dag_id: str) -> dict[str, ParamSpec]:
    """The params of a script's or pipeline's DAG, by name (reused for a few seconds).

    :raises NotFound: ``dag_id`` is no script's or pipeline's DAG (only theirs have manifests).
    """
    now = time.monotonic()
    with _specs_lock:
        found = _specs.get(dag_id)
        if found is not None and now - found[0] < _REUSE_SECONDS:
            return found[1]
    session = sessions()
    parsed = parse_dag_id(dag_id)
    params: dict[str, ParamSpec] | None = None
    if parsed is not None and parsed.kind == DagKind.SCRIPT:
        script = scripts.all_scripts(session).get(parsed.name)
        params = dict(script.manifest.params) if script is not None else None
    elif parsed is not None and parsed.kind == DagKind.PIPELINE:
        stored = pipelines.stored_pipelines(session).get(parsed.name)
        params = dict(stored.spec.params) if stored is not None else None
    if params is None:
        raise not_found("DAG", dag_id)
    with _specs_lock:
        if len(_specs) > 1024:
            _specs.clear()
        _specs[dag_id] = (now, params)
    return params


def _readers(sessions: Sessions) -> dict[str, option_sources.Reader]:
    catalog = scripts.all_scripts(sessions())
    return {**option_sources.READERS, "script": option_sources.script_source(catalog.get)}


def _coerce(spec: ParamSpec | None, raw: list[str]) -> Any:
    """A query-string value as the param's type has it (``"3"`` for an integer param is 3)."""
    kind = spec.type if spec is not None else "string"
    if kind == "array":
        return raw
    value = raw[-1]
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return value.lower() in ("true", "1", "yes", "on")
        if kind == "object":
            return json.loads(value)
    except ValueError:
        return value
    return value


def query_values(specs: Mapping[str, ParamSpec], query: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The values of other params given as query parameters, typed as their params are."""
    given: dict[str, list[str]] = {}
    for key, value in query:
        given.setdefault(key, []).append(value)
    return {key: _coerce(specs.get(key), raw) for key, raw in given.items()}


def _needed(param: str, spec: ParamSpec, values: Mapping[str, Any], field: str) -> dict[str, Any]:
    """The values of the params ``spec`` depends on; 422 naming the first one missing."""
    found = {}
    for other in spec.option_dependencies:
        value = values.get(other)
        if value is None or value == "" or value == []:
            reason = text("form_options.needs_value", "needs a value for {other}", other=other)
            raise Invalid.at(field, reason, INVALID_PARAMS)
        found[other] = value
    return found


def _unavailable(param: str, source: str, reason: str) -> Unavailable:
    message = text(
        "form_options.unavailable", "The options of {field} are unavailable: {reason}", field=param, reason=reason
    )
    details = {"field": param, "source": source, "reason": reason}
    return Unavailable(
        message, dependency=f"options source {source}", retry_after=config.RETRY_AFTER_SECONDS.get(), details=details
    )


def _compute(
    sessions: Sessions, user: BaseUser, param: str, spec: ParamSpec, values: dict[str, Any], field: str
) -> OptionsAnswer:
    source = spec.options_from
    assert source is not None
    try:
        found = option_sources.read(source, values, user, config.FORM_OPTIONS_TIMEOUT.get(), _readers(sessions))
    except option_sources.SourceFailed as exc:
        raise _unavailable(field, source.source, exc.reason) from None
    shown = found[: option_sources.MAX_OPTIONS]
    return OptionsAnswer(
        param=param,
        options=[OptionOut(value=o.value, label=o.label) for o in shown],
        truncated=len(found) > option_sources.MAX_OPTIONS,
        cached=True,  # how the stored copy is answered; the computing caller answers False
    )


def live_options(
    session: Session, user: BaseUser, dag_id: str, param: str, values: Mapping[str, Any], field: str | None = None
) -> tuple[bytes, bool]:
    """The JSON of :class:`OptionsAnswer` for ``param`` of ``dag_id`` given the other ``values``, and whether cached.

    :param field: how errors name the param (``params.table`` at run time; the param by default).
    :raises Forbidden: ``user`` may not read the DAG.
    :raises NotFound: no such DAG (of a script or a pipeline), or the param has no ``options_from``.
    :raises Invalid: a param it depends on has no value.
    :raises Unavailable: the source failed or timed out (``details``: field, source, reason).
    """
    _ensure_readable(user, dag_id)
    return _live(lambda: session, user, dag_id, param, values, field)


def _ensure_readable(user: BaseUser, dag_id: str) -> None:
    """Forbidden unless ``user`` may read ``dag_id``; a grant is remembered for a few seconds, a refusal never."""
    key = (type(user).__name__, str(user.get_id()), dag_id)
    now = time.monotonic()
    with _specs_lock:
        seen = _readers_of.get(key)
    if seen is not None and now - seen < _REUSE_SECONDS:
        return
    if not access.can_access_dag(user, dag_id):
        raise Forbidden(text("access.dag_read", "You may not read DAG {dag_id!r}", dag_id=dag_id))
    with _specs_lock:
        if len(_readers_of) > 4096:
            _readers_of.clear()
        _readers_of[key] = now


def _live(
    sessions: Sessions, user: BaseUser, dag_id: str, param: str, values: Mapping[str, Any], field: str | None
) -> tuple[bytes, bool]:
    specs = param_specs(sessions, dag_id)
    spec = specs.get(param)
    if spec is None or spec.options_from is None:
        raise NotFound(
            text(
                "form_options.no_options",
                "{dag_id!r} has no parameter {param!r} with options_from",
                dag_id=dag_id,
                param=param,
            )
        )
    needed = _needed(param, spec, values, field or param)
    cache = _options_cache()
    if cache is None:
        _check_database(sessions, user, dag_id, spec, specs, values, field or param)
        return _compute(sessions, user, param, spec, needed, field or param).model_copy(
            update={"cached": False}
        ).model_dump_json().encode(), False
    who = (type(user).__name__, user.get_id()) if spec.options_from.source == "dags" else ()
    key = cache_key(dag_id, param, json.dumps(needed, sort_keys=True, default=str), *who)
    computed: list[OptionsAnswer] = []

    def compute() -> OptionsAnswer:
        # Only on a miss: an answer is stored only for a database that was offered.
        _check_database(sessions, user, dag_id, spec, specs, values, field or param)
        answer = _compute(sessions, user, param, spec, needed, field or param)
        computed.append(answer)
        return answer

    raw = cache.get_or_compute_json(key, compute)
    if computed:
        return computed[0].model_copy(update={"cached": False}).model_dump_json().encode(), False
    return raw, True


def _offers(raw: bytes, value: Any) -> bool:
    """Whether the options answer ``raw`` (JSON of :class:`OptionsAnswer`) offers ``value``."""
    offered = {json.dumps(o["value"], sort_keys=True) for o in json.loads(raw)["options"]}
    return json.dumps(option_sources.json_value(value), sort_keys=True) in offered


def _not_live(value: Any) -> Text:
    return text("form_options.not_live", "{value!r} is not one of the live options", value=value)


def _check_database(
    sessions: Sessions,
    user: BaseUser,
    dag_id: str,
    spec: ParamSpec,
    specs: Mapping[str, ParamSpec],
    values: Mapping[str, Any],
    field: str,
) -> None:
    """Refuse a SQL source's ``database_param`` value that its own param does not offer.

    The value becomes the connection's database: unlike a bound value, it decides where the
    query runs, so when that param has live options (the usual "a database, then its tables")
    only one of them is used; a free-text param's value is used as given (the author's choice).
    """
    name = getattr(spec.options_from, "database_param", None)
    if name is None or specs[name].options_from is None:
        return
    parent_field = f"params.{name}" if field.startswith("params.") else name
    raw, _ = _live(sessions, user, dag_id, name, values, parent_field)
    if not _offers(raw, values[name]):
        raise Invalid.at(parent_field, _not_live(values[name]), INVALID_PARAMS)


def options(user: BaseUser, dag_id: str, param: str, query: Iterable[tuple[str, str]]) -> tuple[bytes, bool]:
    """:func:`live_options` with the other params' values from a query string (typed by their params).

    Opens a session only when the answer is not cached: a cached answer costs no query.
    """
    _ensure_readable(user, dag_id)
    with _lazy_session() as sessions:
        specs = param_specs(sessions, dag_id)
        return _live(sessions, user, dag_id, param, query_values(specs, query), None)


def check_run(session: Session, user: BaseUser, dag_id: str, params: Mapping[str, Any]) -> None:
    """Refuse ``params`` of a run of ``dag_id`` when a value of an ``options_from`` param is not a live option.

    Only values given (a param left out keeps its default, the manifest's choice) are checked;
    the options are computed with the run's other values (given ones over the defaults).

    :raises Invalid: ``params.<name>``: ``'x' is not one of the live options``, or a value it
        depends on is missing.
    :raises Unavailable: the source failed at submit time: a value is never accepted unchecked.
    """
    parsed = parse_dag_id(dag_id)
    if parsed is None or parsed.kind not in (DagKind.SCRIPT, DagKind.PIPELINE):
        return
    try:
        specs = param_specs(lambda: session, dag_id)
    except NotFound:
        return  # not a catalog DAG: the run's own checks answer
    live = [name for name, spec in specs.items() if spec.options_from is not None and params.get(name) is not None]
    if not live or not access.can_access_dag(user, dag_id, "POST", "RUN"):
        return  # nothing to check, or the run is refused anyway (404/403 by the trigger's own checks)
    merged = {name: spec.default for name, spec in specs.items() if spec.default is not None}
    merged.update({k: v for k, v in params.items() if v is not None})
    problems: list[dict[str, str | Text]] = []
    for name in live:
        raw, _ = _live(lambda: session, user, dag_id, name, merged, f"params.{name}")
        value = params[name]
        refused = [item for item in (value if isinstance(value, list) else [value]) if not _offers(raw, item)]
        if refused:
            problems.append({"field": f"params.{name}", "reason": _not_live(refused[0])})
    if problems:
        raise Invalid(problems, INVALID_PARAMS)


def check_task_run(session: Session, user: BaseUser, task_id: int, params: Mapping[str, Any]) -> None:
    """:func:`check_run` for a run of a saved task: its params with ``params`` over them, on its target DAG."""
    task = tasks.get(session, user, task_id)
    check_run(session, user, task.dag_id, {**task.params, **params})
