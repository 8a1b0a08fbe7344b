"""The API during an outage: a bound on every request, and a 503 from Airflow's login check too.

- :class:`RequestTimeoutMiddleware`: a request whose answer has not started after
  ``[ylai] request_timeout`` seconds (a route waiting on a database that accepts connections but
  never answers, say) gets 503 with ``Retry-After``, naming the dependency a quick check finds down,
  instead of hanging. Streamed answers (CSV downloads, live logs) are bounded only until their first
  byte: once the response has started, it runs to its end.
- :func:`guard_airflow_login`: Airflow's ``JWTRefreshMiddleware`` runs on the api-server's root app,
  before any plugin app, and reads revoked tokens and the user from the metadata database for every
  request that carries the ``_token`` cookie (the UI's). With the database down it raises, and the
  root app answers a bare 500 ``Internal Server Error``. Guarded, a request under ylai's prefix gets
  ylai's 503 envelope instead; Airflow's own routes keep Airflow's answer.

The errors a route or a dependency raises are mapped to 503 by :mod:`ylai_plugin.api.errors`, with
:mod:`ylai_plugin.domain.outages` deciding which dependency an error names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ylai_plugin.api.errors import envelope, unavailable_page, wants_html
from ylai_plugin.api.i18n import negotiate
from ylai_plugin.domain import health, outages
from ylai_plugin.domain.errors import Unavailable

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[outages.Dependency | None]]


def unavailable_response(error: Unavailable, scope: Scope) -> Response:
    """The 503 of ``error`` with its ``Retry-After``: the envelope, or a page for a browser."""
    language = negotiate(_header(scope, b"accept-language"))
    if wants_html(_header(scope, b"accept")):
        return unavailable_page(error, language)
    message = error.text if error.text is not None else error.message
    response = envelope(503, message, error.localizable_details, language=language)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class _ProbeCache:
    """Which dependency is down, checked at most every few seconds per process.

    Many requests time out together when a dependency hangs; one check answers them all.
    """

    def __init__(self, ttl: float = 5.0, timeout: float = 2.0) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._at = -float("inf")
        self._found: outages.Dependency | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> outages.Dependency | None:
        async with self._lock:
            if time.monotonic() - self._at > self.ttl:
                report = await health.check_all(self.timeout, scheduler=False)
                self._found, self._at = report.first_down(), time.monotonic()
            return self._found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _forget(task: asyncio.Future[Any]) -> None:
    # The abandoned request ends on its own (a thread blocked on a socket cannot be interrupted);
    # retrieving its outcome keeps asyncio from logging "exception was never retrieved".
    if not task.cancelled():
        task.exception()


class RequestTimeoutMiddleware:
    """Answer 503 (``Retry-After``) when a request's response has not started within ``seconds``.

    :param seconds: the bound; 0 or less turns the middleware into a pass-through.
    :param probe: finds the dependency that is down, for the message (default: the health checks,
        2 s at most, shared for 5 s).
    :param exempt: path prefixes (below the app's mount) left unbounded: routes that legitimately
        work longer before their first byte.
    """

    def __init__(
        self, app: ASGIApp, *, seconds: float, probe: Probe | None = None, exempt: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.probe = probe or _ProbeCache()
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or self.seconds <= 0 or any(_under(scope, prefix) for prefix in self.exempt):
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()
        abandoned = False

        async def guarded_send(message: Message) -> None:
            if abandoned:  # the 503 went out instead: whatever the route says now is too late
                return
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        waiter = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait({task, waiter}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if started.is_set() or task.done():
            # Answered in time (or failed): the rest of the body, however long it streams, is its own.
            await task
            return
        abandoned = True
        task.cancel()
        task.add_done_callback(_forget)
        try:
            dependency = await self.probe()
        except Exception:  # the check itself failed: the timeout is still the answer
            log.warning("ylai API: the dependency check after a timeout failed", exc_info=True)
            dependency = None
        log.warning(
            "ylai API: %s %s timed out after %g s (%s)",
            scope.get("method"),
            scope.get("path"),
            self.seconds,
            dependency or "no dependency found down",
        )
        response = unavailable_response(outages.timed_out(self.seconds, dependency), scope)
        await response(scope, receive, send)


def _under(scope: Scope, prefix: str) -> bool:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == prefix or path.startswith(prefix + "/")


def guard_airflow_login(url_prefix: str) -> None:
    """Make Airflow's cookie check answer ylai's 503 for requests under ``url_prefix`` during an outage.

    Idempotent. Patches ``JWTRefreshMiddleware.dispatch`` (Airflow 3.3), the only place the root
    app calls the database before a plugin app sees the request.
    """
    from airflow.api_fastapi.auth.middlewares.refresh_token import JWTRefreshMiddleware

    original = JWTRefreshMiddleware.dispatch
    if getattr(original, "ylai_guarded", False):
        return

    async def dispatch(self: Any, request: Any, call_next: Any) -> Any:
        try:
            return await original(self, request, call_next)
        except Exception as exc:
            dependency = outages.outage_of(exc, follow=True)
            if dependency is None or not _under(request.scope, url_prefix):
                raise
            log.warning("ylai API: login check failed, %s unavailable (%s)", dependency, type(exc).__name__)
            return unavailable_response(outages.unavailable(dependency), request.scope)

    dispatch.ylai_guarded = True  # type: ignore[attr-defined]
    with contextlib.suppress(AttributeError, TypeError):
        dispatch.__wrapped__ = original  # type: ignore[attr-defined]
    JWTRefreshMiddleware.dispatch = dispatch  # type: ignore[method-assign]
