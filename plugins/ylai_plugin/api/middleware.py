"""Per-request plumbing for ylai's API: correlation ids, and the trace context of the answer."""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ylai_plugin import tracing

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class CorrelationIdMiddleware:
    """Echo the caller's ``X-Request-ID`` (or a new one) and bind it to every log line of the request.

    With ``[traces] otel_on`` it runs inside the request's server span (api/tracing.py): the answer
    also carries that span's W3C ``traceparent``, and the log lines its trace and span ids.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"").decode("latin-1")
        # Only ids that cannot smuggle anything into logs or headers are reused.
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        current = tracing.current_trace()  # None with tracing off: one cached flag check
        ids = {"trace_id": current[0], "span_id": current[1]} if current else {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER.lower().encode(), request_id.encode()))
                if current:
                    headers.append((tracing.TRACEPARENT.encode(), current[2].encode()))
                message["headers"] = headers
            await send(message)

        # Bound, deliberately not reset: uvicorn runs each request in its own task (its own
        # context), so the ids also reach the access log Airflow writes after we return.
        structlog.contextvars.bind_contextvars(request_id=request_id, **ids)
        await self.app(scope, receive, send_with_id)
