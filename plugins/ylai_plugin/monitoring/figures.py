"""The figures of ``/monitor/apis``, ``/monitor/system`` and the broker's part of ``/monitor/queues``.

API requests per route, hosts, caches, and the Celery queue lengths the scheduler samples.

Each function returns plain data in the shape of the API's response model; the route validates
it into that model (and the monitor cache keeps it as JSON).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ylai_plugin.domain.timeline import Window, resolution_seconds


def api_figures(session: Any, window_minutes: int) -> dict[str, Any]:
    """Sum the ``ylai_api_stat`` rows of the window (``ApiMonitor``, without the live cache counters)."""
    from ylai_plugin.db.models import ApiStat
    from ylai_plugin.monitoring.api_stats import summarize

    # No synchronous flush here: a write on the request path would queue behind SQLite's
    # single writer; the flusher thread lands every worker's figures within a few seconds.
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=window_minutes)).replace(second=0, microsecond=0)
    rows = session.scalars(select(ApiStat).where(ApiStat.minute >= since)).all()
    routes = summarize(list(rows))
    total = sum(r["requests"] for r in routes)
    errors = sum(r["error_rate"] * r["requests"] for r in routes)
    return {
        "window_minutes": window_minutes,
        "generated_at": now,
        "workers": len({r.worker for r in rows}),
        "total_requests": total,
        "error_rate": round(errors / total, 4) if total else 0.0,
        "routes": routes,
    }


def cache_figures(cache: Any) -> dict[str, Any]:
    """Backend, hits, misses, hit rate and TTL of a cache (``TtlCache``: the monitor cache or the list cache)."""
    hits, misses = cache.counters()
    return {
        "backend": cache.backend,
        "hits": hits,
        "misses": misses,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
        "ttl_seconds": cache.ttl,
        "degraded": bool(getattr(cache, "degraded", False)),
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sample(row: Any) -> dict[str, Any]:
    return {
        "ts": row.ts,
        "cpu_percent": row.cpu_percent,
        "mem_percent": row.mem_percent,
        "disk_percent": row.disk_percent,
        "load1": row.load1,
        "running_tasks": row.running_tasks,
    }


def system_figures(session: Any, window_minutes: int) -> dict[str, Any]:
    """Samples grouped per host, downsampled so a chart gets at most ~360 points per host (``SystemMonitor``)."""
    from ylai_plugin.db.models import WorkerSample
    from ylai_plugin.monitoring.sampler import INTERVAL_SECONDS

    now = datetime.now(UTC)
    since = now - timedelta(minutes=window_minutes)
    rows = session.scalars(
        select(WorkerSample).where(WorkerSample.ts >= since).order_by(WorkerSample.host, WorkerSample.ts)
    ).all()
    resolution = resolution_seconds(window_minutes, floor=int(INTERVAL_SECONDS))
    per_host: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        per_host[row.host].append(row)
    hosts = []
    for host, samples in sorted(per_host.items()):
        buckets: dict[int, Any] = {}
        for s in samples:
            buckets[int(_aware(s.ts).timestamp()) // resolution] = s  # the last sample of each bucket
        last = samples[-1]
        last_ts = _aware(last.ts)
        hosts.append(
            {
                "host": host,
                "kinds": sorted({s.kind for s in samples}),
                "last_heartbeat": last_ts,
                "alive": (now - last_ts).total_seconds() <= 3 * INTERVAL_SECONDS,
                "cpu_count": last.cpu_count,
                "mem_total_bytes": last.mem_total_bytes,
                "disk_free_bytes": last.disk_free_bytes,
                "latest": _sample(last),
                "history": [_sample(s) for _, s in sorted(buckets.items())],
            }
        )
    return {
        "window_minutes": window_minutes,
        "resolution_seconds": resolution,
        "generated_at": now,
        "workers_alive": sum(1 for h in hosts if h["alive"]),
        "hosts": hosts,
    }


def celery_queue_figures(session: Any, window: Window, executor: str) -> dict[str, Any]:
    """The broker's queue lengths over ``window`` (``CeleryQueues``), one value per point.

    A point takes the highest length sampled in it; a point without a length (the broker did
    not answer, or nothing sampled it) is null, a gap in the chart. ``status`` tells the
    latest sample: ``ok``, ``unreachable`` (``detail``: the error's type), ``no_samples``
    (none within 3 sampling intervals: the scheduler is down or does not sample), or
    ``not_configured`` (the executor is not Celery).
    """
    from ylai_plugin.db.models import QueueSample
    from ylai_plugin.monitoring.queue_sampler import celery_configured
    from ylai_plugin.monitoring.sampler import INTERVAL_SECONDS

    if not celery_configured(executor):
        return {"status": "not_configured", "detail": f"executor is {executor}", "last_sample": None, "queues": []}
    rows = session.execute(
        select(QueueSample.ts, QueueSample.queue, QueueSample.length, QueueSample.error)
        .where(QueueSample.ts >= window.begin, QueueSample.ts <= window.until)
        .order_by(QueueSample.ts)
    ).all()
    starts = window.starts()
    per_queue: dict[str, list[int | None]] = defaultdict(lambda: [None] * len(starts))
    latest: dict[str, int | None] = {}
    for ts, queue, length, _ in rows:
        values = per_queue[queue]
        if length is not None and (i := window.index(_aware(ts))) is not None:
            values[i] = max(values[i] or 0, length)
        latest[queue] = length
    last = _aware(rows[-1].ts) if rows else None
    errors = sorted({r.error for r in rows if r.error and _aware(r.ts) == last})
    stale_after = 3 * INTERVAL_SECONDS
    if last is None or (window.until - last).total_seconds() > stale_after:
        status, detail = "no_samples", f"no broker sample in the last {stale_after:.0f} s: is the scheduler running?"
    elif errors:
        status, detail = "unreachable", ", ".join(errors)
    else:
        status, detail = "ok", None
    return {
        "status": status,
        "detail": detail,
        "last_sample": last,
        "queues": [
            {
                "queue": queue,
                "latest": latest[queue] if status == "ok" else None,
                "points": [{"ts": ts, "length": n} for ts, n in zip(starts, values, strict=True)],
            }
            for queue, values in sorted(per_queue.items())
        ],
    }
