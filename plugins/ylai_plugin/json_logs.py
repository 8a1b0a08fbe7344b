"""JSON service logs (docs/logging.md): one JSON object per line, the same keys for every component.

``YLAI_LOG_FORMAT=json`` switches them on. Airflow's components then log JSON themselves
(``[logging] json_logs``, through structlog); ``ylai run`` turns each line a component writes into
ylai's shape (:func:`to_json_line`): Airflow's ``timestamp``/``event`` become ``time``/``message``,
the component's name is added, and a line that is not JSON (a gunicorn or Celery banner, a
traceback's line) is kept as the ``message`` of an object of its own rather than lost.

This module must stay free of Airflow imports: the supervisor uses it before Airflow is configured.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "YLAI_LOG_FORMAT"

#: The keys every line has.
REQUIRED_KEYS = ("time", "level", "logger", "component", "message")

#: What JSON mode sets for Airflow's components (unless the environment sets them): Airflow's
#: structlog renders every line as JSON (the Celery worker's too), and nothing is coloured.
AIRFLOW_JSON_SETTINGS: Mapping[str, str] = {
    "AIRFLOW__LOGGING__JSON_LOGS": "True",
    "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
}

# Other names for the same thing, as Airflow, structlog, Celery or ylai write them: renamed to the key.
_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "asctime", "@timestamp"),
    "message": ("event", "msg"),
    "level": ("levelname", "log_level"),
    "logger": ("logger_name",),
    "request_id": ("correlation_id", "x_request_id"),
    "trace_id": ("otel_trace_id", "traceId"),
    "span_id": ("otel_span_id", "spanId"),
    "user": ("username", "user_name"),
    "try_number": ("try", "try_num"),
}

_LEVEL_IN_TEXT = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b")

# Airflow's executors log the task instance they hand over as a repr inside the message (the Celery
# worker's "Executing workload in Celery: ... ti=TaskInstanceDTO(task_id='say', dag_id=..., run_id=...,
# try_number=1, ..., context_carrier={'traceparent': '00-<trace>-<span>-01'})"): lifted into keys so
# that such a line can be found by dag_id, run_id, task_id, try number and trace id like any other.
_TI_FIELD_IN_TEXT = re.compile(r"\b(dag_id|run_id|task_id)='([^']+)'|\btry_number=(\d+)")
_TRACEPARENT_IN_TEXT = re.compile(r"'traceparent': '00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}'")


def json_mode(env: Mapping[str, str]) -> bool:
    """Return whether ``env`` asks for JSON logs (``YLAI_LOG_FORMAT=json``, any case)."""
    return env.get(LOG_FORMAT_ENV, "").strip().lower() == "json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _level_of(text: str) -> str:
    found = _LEVEL_IN_TEXT.search(text[:200])
    if found is None:
        return "info"
    level = found.group(1).lower()
    return {"warn": "warning", "fatal": "critical"}.get(level, level)


def normalize(record: Mapping[str, Any], component: str) -> dict[str, Any]:
    """Return ``record`` with ylai's key names, ``component`` set and every required key present.

    Keys ylai does not know are kept as they are; ``time``, ``level``, ``logger``, ``component``
    and ``message`` come first.
    """
    rest = dict(record)
    out: dict[str, Any] = {}
    for key, aliases in _ALIASES.items():
        for name in (key, *aliases):
            if name in rest:
                value = rest.pop(name)
                out.setdefault(key, value)
    message = out.get("message")
    head = {
        "time": out.pop("time", None) or _now(),
        "level": str(out.pop("level", None) or _level_of(str(message or ""))).lower(),
        "logger": out.pop("logger", None) or component,
        "component": component,
        "message": "" if message is None else message if isinstance(message, str) else str(message),
    }
    out.pop("message", None)
    rest.pop("component", None)
    context = {k: v for k, v in _context_in_text(head["message"]).items() if k not in out and k not in rest}
    return {**head, **out, **context, **rest}


def _context_in_text(message: str) -> dict[str, Any]:
    """Return the task instance and trace ids a message names in Airflow's repr form (first of each)."""
    if "_id=" not in message and "traceparent" not in message:  # the common case, without a regex
        return {}
    found: dict[str, Any] = {}
    for match in _TI_FIELD_IN_TEXT.finditer(message):
        if match.group(3) is not None:
            found.setdefault("try_number", int(match.group(3)))
        else:
            found.setdefault(match.group(1), match.group(2))
    parent = _TRACEPARENT_IN_TEXT.search(message)
    if parent is not None:
        found["trace_id"], found["span_id"] = parent.group(1), parent.group(2)
    return found


def decode_line(raw: bytes) -> str:
    """Return one line a component wrote (bytes, as read from its pipe) as text, without the newline.

    Bytes that are not UTF-8 are replaced, never fatal: a component's output is never lost.
    """
    return raw.decode("utf-8", errors="replace").rstrip("\n")


def to_json_line(component: str, line: str) -> str:
    """Return one line of ``component``'s output as one JSON object (without the newline).

    A JSON object is normalised (:func:`normalize`); anything else becomes the ``message`` of an
    object with the current time and the level its text names (``info`` if none).
    """
    stripped = line.strip()
    record: Any = None
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            record = json.loads(stripped)
        except ValueError:
            record = None
    if not isinstance(record, dict):
        record = {"message": line.rstrip("\r")}
    return json.dumps(normalize(record, component), ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """A stdlib formatter writing ylai's JSON lines (for ylai's own processes, e.g. ``ylai alerts``)."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one JSON object, with its exception (if any) under ``exception``."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "trace_id", "span_id", "user", "dag_id", "run_id", "task_id", "try_number"):
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(normalize(data, self.component), ensure_ascii=False, default=str)


def configure_stdlib(component: str, env: Mapping[str, str], *, level: int = logging.INFO) -> None:
    """Set up the root logger of a ylai process: JSON lines in JSON mode, readable text otherwise.

    In JSON mode the root logger's handlers (Airflow's, if it configured logging on import) are
    replaced by one writing :class:`JsonFormatter` lines to stderr; otherwise this is
    :func:`logging.basicConfig` with a readable format (a no-op when logging is configured).
    """
    if not json_mode(env):
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
