"""The live options of a form field (``options_from:`` of a param): one reader per source.

Each reader takes the source's spec (:mod:`ylai_operators.manifest`'s ``*Options`` models), the
values of the params it depends on and the caller, and returns the options found, at most
:data:`MAX_OPTIONS` + 1 of them (so the caller can tell that the list was cut). :func:`read`
runs a reader in a thread of its own with a time limit: a source that does not answer in time is
abandoned (the query cancelled, the script's process tree stopped) and reported as
:class:`SourceFailed` with a reason a person can read and that holds no secret (no URL, no
password, no query text).

Values from the caller never become text of a query or a command: they are bound parameters of
the SQL query, query parameters of the HTTP request, ``--name value`` arguments of the script.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ylai_plugin.domain import access

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from ylai_operators.catalog import Script

log = logging.getLogger(__name__)

MAX_OPTIONS = 1000
"""Options answered at most; a longer list is cut and answered with ``truncated``."""
_SCRIPT_OUTPUT_MAX = 4 * 1024 * 1024  # bytes of a script's stdout read as its options


@dataclass(frozen=True)
class Option:
    """One choice: the value submitted, and what a person sees."""

    value: Any
    label: str


class SourceFailed(Exception):  # a reason for the form, not a bug: the API answers 503 with it
    """A source did not give options: down, refused, too slow or answered nonsense.

    :param reason: one sentence for the form, with no secret in it (``timed out after 2 s``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Cancel:
    """What stops a reader's work in flight when its time is up (a query's cancel, a process's stop)."""

    def __init__(self) -> None:
        self._hooks: list[Callable[[], Any]] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def on_cancel(self, hook: Callable[[], Any]) -> None:
        with self._lock:
            if not self.cancelled:
                self._hooks.append(hook)
                return
        hook()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.debug("cancelling an options source failed", exc_info=True)


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: numbers, strings and booleans as they are, anything else as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def _option(value: Any, label: Any = None) -> Option:
    value = json_value(value)
    return Option(value, str(value if label is None else label))


def _metadata_rows(query: Any) -> list[Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return list(session.execute(query.limit(MAX_OPTIONS + 1)).all())


def _connections(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.models.connection import Connection
    from sqlalchemy import select

    query = select(Connection.conn_id).order_by(Connection.conn_id)
    if spec.conn_type:
        query = query.where(Connection.conn_type == spec.conn_type)
    return [_option(conn_id) for (conn_id,) in _metadata_rows(query)]


def _variables(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.models.variable import Variable
    from sqlalchemy import select

    query = select(Variable.key).order_by(Variable.key)
    if spec.prefix:
        query = query.where(Variable.key.startswith(spec.prefix, autoescape=True))
    return [_option(key) for (key,) in _metadata_rows(query)]


def _pools(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.models.pool import Pool
    from sqlalchemy import select

    return [_option(name) for (name,) in _metadata_rows(select(Pool.pool).order_by(Pool.pool))]


def _dags(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.models.dag import DagModel, DagTag
    from sqlalchemy import select

    readable = access.readable_dag_ids(user)
    query = select(DagModel.dag_id).where(~DagModel.is_stale, DagModel.dag_id.in_(readable)).order_by(DagModel.dag_id)
    if spec.tag:
        query = query.where(DagModel.dag_id.in_(select(DagTag.dag_id).where(DagTag.name == spec.tag)))
    return [_option(dag_id) for (dag_id,) in _metadata_rows(query)]


def _sql(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.models.connection import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get_connection_from_secrets(spec.conn_id)
    except AirflowNotFoundException:
        raise SourceFailed(f"connection {spec.conn_id!r} does not exist") from None
    postgres = conn.conn_type in ("postgres", "postgresql")
    hook_params: dict[str, Any] = {}
    if spec.database_param:
        # The chosen database is a connection parameter (libpq's dbname), never text of the query.
        database = values.get(spec.database_param)
        hook_params["database" if postgres else "schema"] = str(database)
    hook = conn.get_hook(hook_params=hook_params)  # type: ignore[no-untyped-call]
    bound = dict(values)
    db = hook.get_conn()
    cancel.on_cancel(getattr(db, "cancel", db.close))
    try:
        if postgres:
            # A connection whose extra asks for autocommit would make SET TRANSACTION a no-op.
            db.autocommit = False
        cursor = db.cursor()
        try:
            if postgres:
                # Read-only, and bounded on the server too: an abandoned query stops by itself.
                cursor.execute("SET TRANSACTION READ ONLY")
                # An int, so no bound parameter needed (SET takes none under server-side binding).
                cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            cursor.execute(spec.query, bound) if bound else cursor.execute(spec.query)
            rows = cursor.fetchmany(MAX_OPTIONS + 1)
        finally:
            cursor.close()
        db.rollback()
    finally:
        db.close()
    return [_option(row[0], row[1] if len(row) > 1 else None) for row in rows if row]


def path_values(data: Any, path: str) -> list[Any]:
    """The values at a dotted ``path`` of a JSON document; a list on the way collects each element's."""
    found = [data]
    for key in [k for k in path.split(".") if k]:
        step: list[Any] = []
        for item in found:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and key in element:
                    step.append(element[key])
        found = step
    flat: list[Any] = []
    for item in found:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def _http(spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float) -> list[Option]:
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    hook = HttpHook(method="GET", http_conn_id=spec.conn_id)
    query = {name: json.dumps(v) if isinstance(v, list | dict) else v for name, v in values.items()}
    try:
        response = hook.run(spec.endpoint, data=query, extra_options={"timeout": timeout, "check_response": False})
    except AirflowNotFoundException:
        raise SourceFailed(f"connection {spec.conn_id!r} does not exist") from None
    if response.status_code >= 400:
        raise SourceFailed(f"the endpoint answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise SourceFailed("the endpoint did not answer JSON") from None
    found = path_values(document, spec.values)
    labels = path_values(document, spec.labels) if spec.labels else []
    if labels and len(labels) != len(found):
        raise SourceFailed(f"'{spec.labels}' gives {len(labels)} labels for {len(found)} values")
    return [_option(v, labels[i] if labels else None) for i, v in enumerate(found[: MAX_OPTIONS + 1])]


class _Collect:
    """A :class:`~ylai_operators.process_runner.Log` keeping stdout and the last stderr lines."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.size = 0

    def info(self, msg: str, /, *args: Any) -> None:
        line = msg % args if args else msg
        if self.size < _SCRIPT_OUTPUT_MAX:
            self.out.append(line)
            self.size += len(line)

    def warning(self, msg: str, /, *args: Any) -> None:
        log.debug(msg, *args)


def parse_script_options(lines: Iterable[str]) -> list[Option]:
    """The options a script printed: a JSON list of values or ``{"value", "label"}`` objects.

    :raises SourceFailed: the output is not such a list.
    """
    text = "\n".join(lines).strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise SourceFailed("the script did not print a JSON list") from None
    if not isinstance(data, list):
        raise SourceFailed("the script did not print a JSON list")
    options = []
    for item in data[: MAX_OPTIONS + 1]:
        if isinstance(item, dict):
            if "value" not in item:
                raise SourceFailed("an option the script printed has no 'value'")
            options.append(_option(item["value"], item.get("label")))
        else:
            options.append(_option(item))
    return options


def script_source(resolve: Callable[[str], Script | None]) -> Reader:
    """The reader of ``{source: script}``: ``resolve`` finds a script by name (None: no such script)."""

    def read_script(
        spec: Any, values: Mapping[str, Any], user: BaseUser, cancel: _Cancel, timeout: float
    ) -> list[Option]:
        from ylai_operators.catalog import ProcessRunner, build_command

        script = resolve(spec.script)
        if script is None:
            raise SourceFailed(f"script {spec.script!r} does not exist")
        with tempfile.TemporaryDirectory(prefix="ylai-options-") as workdir:
            path = script.path
            if script.content is not None:  # a database script: its content, as its task writes it
                path = Path(workdir) / f"{script.name}{script.path.suffix}"
                path.write_text(script.content, encoding="utf-8")
                path.chmod(0o700)
            params_file = Path(workdir) / "params.json"
            params_file.write_text(json.dumps(dict(values)), encoding="utf-8")
            env = _script_env(script.name, params_file, workdir)
            collected = _Collect()
            runner = ProcessRunner(script.name, collected, kill_grace_seconds=1.0)
            cancel.on_cancel(runner.stop)
            run = runner.run(build_command(script.runtime, str(path), values), env, workdir)
        if cancel.cancelled:
            raise SourceFailed("stopped")
        if run["exit_code"] != 0:
            raise SourceFailed(f"the script exited with code {run['exit_code']}")
        return parse_script_options(collected.out)

    return read_script


def _script_env(name: str, params_file: Path, workdir: str) -> dict[str, str]:
    # What a script's task gets, less Airflow's own settings (no metadata DB URL for an options script).
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TZ", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "YLAI_PARAMS_FILE": str(params_file),
            "YLAI_RESULT_FILE": str(Path(workdir) / "result.json"),
            "YLAI_ARTIFACTS_DIR": workdir,
            "YLAI_SCRIPT": name,
            "YLAI_OPTIONS": "1",
        }
    )
    return env


Reader = Callable[[Any, Mapping[str, Any], "BaseUser", _Cancel, float], list[Option]]
READERS: dict[str, Reader] = {
    "connections": _connections,
    "variables": _variables,
    "pools": _pools,
    "dags": _dags,
    "sql": _sql,
    "http": _http,
}


def describe_failure(exc: BaseException) -> str:
    """A reason for the form from an error of a driver or a library: its kind, without secrets.

    Driver messages can quote a DSN or a password; only a few well-known words are kept.
    """
    message = str(exc).lower()
    for words, reason in (
        (("connection refused", "could not connect", "connecterror", "max retries exceeded"), "connection refused"),
        (("timeout", "timed out", "statement timeout", "canceling statement"), "timed out"),
        (("password authentication failed", "authentication"), "authentication failed"),
        (("does not exist", "not found", "unknown database"), "not found"),
        (("syntax error",), "the query has a syntax error"),
        (("permission denied", "read-only transaction"), "refused by the database (read-only)"),
    ):
        if any(w in message for w in words):
            return f"{reason} ({type(exc).__name__})"
    return f"the source failed ({type(exc).__name__})"


def read(
    spec: Any, values: Mapping[str, Any], user: BaseUser, timeout: float, readers: Mapping[str, Reader]
) -> list[Option]:
    """The options of ``spec``, read in a thread of its own within ``timeout`` seconds.

    :param readers: the reader of each source (:data:`READERS` and the script reader).
    :raises SourceFailed: the source failed, or did not answer in time (it is then cancelled
        and its thread abandoned; a query also stops by its own statement timeout).
    """
    reader = readers[spec.source]
    cancel = _Cancel()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["options"] = reader(spec, values, user, cancel, timeout)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=work, name=f"ylai-options-{spec.source}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        cancel.cancel()
        raise SourceFailed(f"timed out after {timeout:g} s")
    error = outcome.get("error")
    if isinstance(error, SourceFailed):
        raise error
    if error is not None:
        # The kind only: a driver's message may quote a DSN with its password.
        log.warning("options source %s failed: %s", spec.source, type(error).__name__)
        raise SourceFailed(describe_failure(error)) from None
    found: list[Option] = outcome["options"]
    return found
