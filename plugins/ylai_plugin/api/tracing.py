"""Server spans for ylai's API, and the ``traceparent`` of each answer (only with ``[traces] otel_on``).

:func:`instrument` wraps the app in OpenTelemetry's FastAPI instrumentation: one server span
per request, named after the route template (``GET /api/v1/scripts/{name}``), with the HTTP
status; :func:`ylai_plugin.tracing.tag_user` adds the Airflow user once the auth dependency
resolved it. Outgoing HTTP (httpx: webhooks) and Redis calls become child spans through their
instrumentations. With tracing off nothing here is imported or installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from ylai_plugin import tracing

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Static files and the bundle's assets: many per page, nothing to learn from a span each.
EXCLUDED_URLS = "/static/,/app/assets/"


class TraceparentMiddleware:
    """Answer every request with the W3C ``traceparent`` of its server span.

    Runs inside the instrumentation's middleware, so the server span is the current one; the
    trace and span ids are also bound to the request's log lines, next to its request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traceparent = tracing.current_traceparent()
        if traceparent is None:
            await self.app(scope, receive, send)
            return
        ids = tracing.current_ids()
        if ids is not None:
            # Not reset, like the request id (middleware.py): Airflow's access log line comes after.
            structlog.contextvars.bind_contextvars(trace_id=ids[0], span_id=ids[1])

        async def send_with_traceparent(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"traceparent", traceparent.encode())]
            await send(message)

        await self.app(scope, receive, send_with_traceparent)


def instrument(app: FastAPI) -> None:
    """Trace ``app``'s requests and the process's httpx and Redis calls, when tracing is on."""
    if not tracing.is_on():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    tracing.instrument_clients()
    app.add_middleware(TraceparentMiddleware)
    # The receive/send sub-spans would double the spans of every request for no insight.
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])
