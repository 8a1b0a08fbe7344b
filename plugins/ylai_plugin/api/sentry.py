"""Unhandled errors of ylai's API reported to Sentry, tagged with the request id and the trace id (docs/sentry.md).

On when Airflow's ``[sentry] sentry_on`` is (``ylai run`` sets it when ``SENTRY_DSN`` is set), with
the DSN of ``[sentry] sentry_dsn`` or else ``SENTRY_DSN``: the same switch and DSN as Airflow's
integration for tasks. Airflow's api-server itself never initialises Sentry (only the Task SDK's
task runner does), so :func:`init_sentry` does, once per process, in each api-server worker's
lifespan (after the fork: a client made before it would have lost its sending thread). If some
other code of the process already initialised it, ylai reports through that client instead.

Sentry's default integrations stay off: they would patch every Starlette app of the process
(Airflow's own API too) and turn every error log line of the api-server into an event; ylai
reports exactly the errors its 500 handler answers (:func:`report_unhandled`), once each.

Secrets never reach Sentry: no PII (``send_default_pii`` off, so no user, no IP), no local
variables of the frames, no query string, and the credential headers are dropped here and
scrubbed again by Sentry's event scrubber.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

log = logging.getLogger(__name__)

# Dropped from the request headers sent with an event (Sentry's scrubber also removes them by default).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# The [sentry] options the API's client takes over from Airflow's section, converted like Airflow does.
_FLOAT_OPTIONS = ("sample_rate",)
_TEXT_OPTIONS = ("environment", "release", "server_name")

_lock = threading.Lock()
_initialised = False
_own_client = False


def sentry_options() -> dict[str, Any] | None:
    """The ``sentry_sdk.init`` options for the API from Airflow's ``[sentry]`` section; ``None`` when off."""
    from airflow.configuration import conf

    if not conf.getboolean("sentry", "sentry_on", fallback=False):
        return None
    dsn = (
        conf.get("sentry", "sentry_dsn", fallback="")
        or conf.get("sentry", "dsn", fallback="")
        or os.environ.get("SENTRY_DSN", "")
    ).strip()
    if not dsn:
        return None
    options: dict[str, Any] = {
        "dsn": dsn,
        "send_default_pii": False,
        "include_local_variables": False,
        "default_integrations": False,
        "auto_enabling_integrations": False,
    }
    for key in _FLOAT_OPTIONS:
        if conf.has_option("sentry", key):
            options[key] = conf.getfloat("sentry", key)
    for key in _TEXT_OPTIONS:
        if value := conf.get("sentry", key, fallback=""):
            options[key] = value
    return options


def init_sentry() -> bool:
    """Start Sentry in this process if it is configured and nobody did; return whether errors are reported."""
    global _initialised, _own_client
    with _lock:
        if _initialised:
            return _active()
        _initialised = True
        options = sentry_options()
        if options is None:
            return False
        import sentry_sdk

        if sentry_sdk.get_client().is_active():
            # Initialised already (a second app in this process, another plugin): reuse it, never re-init.
            return True
        sentry_sdk.init(**options)
        _own_client = True
        # No DSN, no key: the log line says where errors go without handing out the project key.
        log.info("ylai API reports unhandled errors to Sentry (sample rate %s)", options.get("sample_rate", 1.0))
        return True


def close() -> None:
    """Flush and close the client :func:`init_sentry` started (tests; a process that stops)."""
    global _initialised, _own_client
    with _lock:
        if _own_client:
            import sentry_sdk

            sentry_sdk.get_client().close(timeout=5)
            sentry_sdk.get_global_scope().set_client(None)
        _initialised = False
        _own_client = False


def _active() -> bool:
    if not _initialised:
        return False
    import sentry_sdk

    return sentry_sdk.get_client().is_active()


def current_trace_id() -> str | None:
    """The current OpenTelemetry span's trace id in hex (the request's server span), if tracing made one."""
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - an Airflow dependency
        return None
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def _request_data(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in CREDENTIAL_HEADERS}
    data: dict[str, Any] = {
        "method": request.method,
        # Without the query string: a value there may be a token.
        "url": str(request.url.replace(query="", fragment="")),
        "headers": headers,
    }
    if route is not None and hasattr(route, "path"):
        data["env"] = {"route": route.path}
    return data


def report_unhandled(request: Request, exc: BaseException) -> None:
    """Send ``exc``, an error the API answered with its 500, to Sentry (nothing when Sentry is off)."""
    if not _active():
        return
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    client = sentry_sdk.get_client()
    event, hint = event_from_exception(
        exc, client_options=client.options, mechanism={"type": "ylai_api", "handled": False}
    )
    event["request"] = _request_data(request)
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("component", "ylai-api")
        scope.set_tag("request_id", getattr(request.state, "request_id", "-"))
        if trace_id := current_trace_id():
            scope.set_tag("trace_id", trace_id)
        route = request.scope.get("route")
        if route is not None and hasattr(route, "path"):
            scope.set_tag("route", f"{request.method} {route.path}")
        sentry_sdk.capture_event(event, hint=hint)
