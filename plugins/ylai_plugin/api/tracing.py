"""Server spans for ylai's API (only with ``[traces] otel_on``).

:func:`instrument` wraps the app in OpenTelemetry's FastAPI instrumentation: one server span
per request, named after the route template (``GET /api/v1/scripts/{name}``), with the HTTP
status; :func:`ylai_plugin.tracing.tag_user` adds the Airflow user once the auth dependency
resolved it, and the correlation id middleware (api/middleware.py), which runs inside the span,
answers its ``traceparent``. Outgoing HTTP (httpx: webhooks) and Redis calls become child spans
through their instrumentations. With tracing off nothing here is imported or installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ylai_plugin import tracing

if TYPE_CHECKING:
    from fastapi import FastAPI

# Static files and the bundle's assets: many per page, nothing to learn from a span each.
EXCLUDED_URLS = "/static/,/app/assets/"


def instrument(app: FastAPI) -> None:
    """Trace ``app``'s requests and the process's httpx and Redis calls, when tracing is on."""
    if not tracing.is_on():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    tracing.instrument_clients()
    # The receive/send sub-spans would double the spans of every request for no insight.
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])
