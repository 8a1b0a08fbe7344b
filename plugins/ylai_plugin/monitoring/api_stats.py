"""Count requests to Airflow's ``/api/v2`` and ylai's routes, across every api-server worker.

``ApiStatsMiddleware`` is a ``fastapi_root_middlewares`` entry: it sees every request of
the api-server. Each worker process aggregates in memory per minute, route template
and method, and a background thread adds its figures to its *own* rows of
``ylai_api_stat`` every few seconds, so workers never contend for a row and
``/monitor/apis`` sums all of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ylai_plugin.monitoring.histogram import bucket_of

# The ASGI types, spelled out: a feature module does not import the web framework (Starlette's are the same).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)
TRACKED_PREFIXES = ("/api/v2", "/ylai/api")
FLUSH_SECONDS = 5.0


@dataclass
class _Cell:
    count: int = 0
    server_errors: int = 0
    client_errors: int = 0
    total_ms: float = 0.0
    histogram: dict[str, int] = field(default_factory=dict)


class ApiStatsRecorder:
    """Per-process aggregation, flushed to the DB by a daemon thread."""

    def __init__(self, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.flush_seconds = flush_seconds
        self._cells: dict[tuple[datetime, str, str], _Cell] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, method: str, route: str, status: int, ms: float, now: float | None = None) -> None:
        """Add one request."""
        minute = datetime.fromtimestamp((now or time.time()) // 60 * 60, tz=UTC)
        with self._lock:
            cell = self._cells.setdefault((minute, method, route), _Cell())
            cell.count += 1
            cell.server_errors += status >= 500
            cell.client_errors += 400 <= status < 500
            cell.total_ms += ms
            key = str(bucket_of(ms))
            cell.histogram[key] = cell.histogram.get(key, 0) + 1
        self._ensure_flusher()

    def _ensure_flusher(self) -> None:
        if self._thread is None or (not self._thread.is_alive() and self._thread.ident != threading.get_ident()):
            self._thread = threading.Thread(target=self._loop, name="ylai-api-stats", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            try:
                self.flush()
            except Exception:  # a DB hiccup must never take the api-server down
                log.warning("ylai: could not store API statistics", exc_info=True)

    def flush(self) -> int:
        """Write the pending figures; return how many rows were touched."""
        with self._lock:
            cells, self._cells = self._cells, {}
        if not cells:
            return 0
        from airflow.utils.session import create_session
        from sqlalchemy import select

        from ylai_plugin.db.models import ApiStat

        try:
            with create_session() as session:
                for (minute, method, route), cell in cells.items():
                    row = session.scalar(
                        select(ApiStat).where(
                            ApiStat.worker == self.worker,
                            ApiStat.minute == minute,
                            ApiStat.method == method,
                            ApiStat.route == route,
                        )
                    )
                    if row is None:
                        row = ApiStat(worker=self.worker, minute=minute, method=method, route=route[:250])
                        row.count = row.server_errors = row.client_errors = 0
                        row.total_ms = 0.0
                        row.histogram = {}
                        session.add(row)
                    row.count += cell.count
                    row.server_errors += cell.server_errors
                    row.client_errors += cell.client_errors
                    row.total_ms += cell.total_ms
                    merged = dict(row.histogram or {})
                    for key, n in cell.histogram.items():
                        merged[key] = merged.get(key, 0) + n
                    row.histogram = merged
        except Exception:
            with self._lock:  # keep the figures for the next attempt
                for cell_key, cell in cells.items():
                    mine = self._cells.setdefault(cell_key, _Cell())
                    mine.count += cell.count
                    mine.server_errors += cell.server_errors
                    mine.client_errors += cell.client_errors
                    mine.total_ms += cell.total_ms
                    for k, n in cell.histogram.items():
                        mine.histogram[k] = mine.histogram.get(k, 0) + n
            raise
        return len(cells)


recorder = ApiStatsRecorder()


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v2/dags/{dag_id}``), never the raw path with ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return "<unmatched>"
    root = str(scope.get("root_path", "") or "")
    return path if path.startswith(root) else root + path


class ApiStatsMiddleware:
    """Time requests under the tracked prefixes and hand them to the recorder."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = TRACKED_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            ms = (time.perf_counter() - started) * 1000
            try:
                recorder.record(scope.get("method", "GET"), route_template(scope), status, ms)
            except Exception:  # statistics are best effort
                log.debug("ylai: dropped one API statistic", exc_info=True)


def summarize(rows: list[Any]) -> list[dict[str, Any]]:
    """Sum rows of all workers per (method, route) and compute rates and percentiles."""
    from ylai_plugin.monitoring.histogram import merge, percentile

    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.method, row.route), []).append(row)
    out = []
    for (method, route), items in groups.items():
        count = sum(r.count for r in items)
        hist = merge(r.histogram or {} for r in items)
        out.append(
            {
                "method": method,
                "route": route,
                "requests": count,
                "error_rate": round(sum(r.server_errors for r in items) / count, 4) if count else 0.0,
                "client_error_rate": round(sum(r.client_errors for r in items) / count, 4) if count else 0.0,
                "mean_ms": round(sum(r.total_ms for r in items) / count, 2) if count else None,
                "p50_ms": percentile(hist, 0.50),
                "p95_ms": percentile(hist, 0.95),
                "p99_ms": percentile(hist, 0.99),
            }
        )
    return sorted(out, key=lambda r: (-r["requests"], r["route"], r["method"]))
