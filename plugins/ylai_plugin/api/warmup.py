"""Build Airflow's Task Execution API before the api-server worker serves its first request.

Airflow mounts its Task Execution API (``/execution``, what workers call to start a task, send
heartbeats and XComs) as a Cadwyn app. Cadwyn builds its versioned routers lazily, inside the
first request it gets, synchronously on the worker's event loop. That costs 2-4 s of CPU on an
idle 2-core machine and over 30 s on a loaded one, and while it runs **every** request of that
worker waits: ylai's routes hit their request timeout and answered 503, the worker's own
"task started" call timed out and was retried (seen in CI, and reproduced with py-spy under load).

So each worker sends that first request itself, in its lifespan start-up, before uvicorn lets it
accept connections: a ``GET /health/ping`` through the ASGI interface, as a client would. The
start-up is longer by the same few seconds; no request ever waits for it.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

EXECUTION_MOUNT = "/execution"
PING_PATH = "/health/ping"


def root_app() -> Any | None:
    """The api-server's root app in this worker (``airflow.api_fastapi.main:app``), if loaded."""
    main = sys.modules.get("airflow.api_fastapi.main")
    return getattr(main, "app", None)


def execution_app(root: Any) -> Any | None:
    """The ASGI app mounted at ``/execution`` on ``root``, if there is one."""
    from starlette.routing import Mount

    for route in getattr(root, "routes", ()):
        if isinstance(route, Mount) and route.path == EXECUTION_MOUNT:
            return route.app
    return None


async def asgi_get(app: Any, path: str) -> int:
    """Send ``GET path`` to the ASGI ``app`` in process; the response's status (0 if none)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def warm_execution_api(root: Any | None = None) -> bool:
    """Have the Task Execution API build its routes now; whether there was one to warm.

    Best effort: a failure is logged and the worker starts anyway (the first task would then pay
    for the build, as it does in stock Airflow).
    """
    root = root if root is not None else root_app()
    app = execution_app(root) if root is not None else None
    if app is None:
        return False
    started = time.perf_counter()
    try:
        status = await asgi_get(app, PING_PATH)
    except Exception:
        log.warning("ylai: could not warm Airflow's Task Execution API", exc_info=True)
        return False
    log.info(
        "ylai: Airflow's Task Execution API built in %.1f s before serving (ping answered %s)",
        time.perf_counter() - started,
        status,
    )
    return True
