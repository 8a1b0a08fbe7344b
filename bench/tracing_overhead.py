"""What tracing on costs ylai's API: req/s of the cached routes with tracing off vs on, side by side.

Run from the repository root (needs PostgreSQL like the integration tests, and wrk)::

    .venv/bin/python bench/tracing_overhead.py              # off, on: 10 s per route, ~8 min
    .venv/bin/python bench/tracing_overhead.py --rounds 2   # off, on, off, on (slow drifts spread)
    .venv/bin/python bench/tracing_overhead.py --duration 5

For each mode it starts the real platform (``ylai run`` on a fresh Postgres database, one
api-server worker, ylai's rate limit raised as in ``bench/api_load.py``), waits for the
``script__disk_usage`` DAG, then load-tests each route with ``bench/api_load.py``'s wrk
measurement (16 keep-alive connections, 2 s warm-up, the api-server idle before each route).
"on" is the same platform with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a real OTLP/HTTP
receiver in this process (``tests/otlp_receiver.py``, which decodes every export): every request
gets a server span (FastAPI instrumentation), a ``traceparent`` answer header, and Redis child
spans where the route reads the cache, batched by the SDK and exported over HTTP. The receiver's
decoding takes CPU of the same 2 cores, as a collector beside the platform would.

Routes: ``bench/api_load.py``'s cached ones (``/tasks``, ``/presets``, ``/scripts``,
``/scripts/disk_usage``, ``/monitor/tasks``) and its ceiling ``/ping``. The database holds only
what the platform creates (no fill): cached routes answer from the cache either way, and the
question is the per-request cost of tracing. Target (issue 18): on >= 0.9x off for the cached
routes. Pipeline latency with tracing on is ``bench/pipeline_latency.py --configs ylai,traced``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_note, platform_on_fresh_database, ratio, table, verdict  # bench/ is sys.path[0]
from api_load import ADMIN_PASSWORD, CEILING, POSTGRES_URL, Endpoint, _is_api_server, run_load

sys.path.insert(0, str(REPO_ROOT))

TARGET = 0.9
ROUTES = [
    CEILING,
    Endpoint("GET /tasks", "/ylai/api/v1/tasks", group="list"),
    Endpoint("GET /presets", "/ylai/api/v1/presets", group="list"),
    Endpoint("GET /scripts", "/ylai/api/v1/scripts", group="list"),
    Endpoint("GET /scripts/disk_usage", "/ylai/api/v1/scripts/disk_usage", group="list"),
    Endpoint("GET /monitor/tasks", "/ylai/api/v1/monitor/tasks", group="monitor"),
]
BASE_ENV = {
    "AIRFLOW__API__WORKERS": "1",
    "AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE": "10000000",
    "AIRFLOW__YLAI__RATE_LIMIT_BURST": "1000000",
}


def _say(message: str) -> None:
    print(message, flush=True)


def measure(mode: str, work: Path, duration: float, endpoint: str | None) -> dict[str, dict[str, Any]]:
    """Start the platform with tracing ``mode`` ("off"/"on"), load-test every route, stop it."""
    env = dict(BASE_ENV)
    if endpoint:
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with platform_on_fresh_database(
        work, POSTGRES_URL, db_prefix="ylai_trace_bench", admin_password=ADMIN_PASSWORD, env=env, say=_say
    ) as (platform, _db_url):
        platform.wait_for_dag("script__disk_usage", timeout=300)
        token = platform.token()
        for route in ROUTES:
            resp = platform.request("GET", route.path, token=token)
            assert resp.status == route.expected_status, (route.path, resp.status, resp.body[:300])
            traced = any(k.lower() == "traceparent" for k in resp.headers)
            assert traced == bool(endpoint), f"tracing {mode}, but traceparent {'missing' if endpoint else 'sent'}"
        server_pids = [p.pid for p in platform.descendants() if _is_api_server(p)]
        _say(f"[tracing {mode}] load test ({machine_note()}):")
        return run_load(platform.base_url, token, ROUTES, duration, server_pids, [token])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per route (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="off, on this many times (A, B, A, B...)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu)", file=sys.stderr)
        return 2
    from tests.otlp_receiver import OtlpReceiver

    _say(f"tracing off vs on, {args.rounds} round(s), {args.duration:.0f} s per route; {machine_note()}")
    receiver = OtlpReceiver().start()
    work = Path(tempfile.mkdtemp(prefix="ylai-trace-bench-"))
    results: dict[str, list[dict[str, dict[str, Any]]]] = {"off": [], "on": []}
    began = time.monotonic()
    try:
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                before = len(receiver.all_spans())
                endpoint = receiver.endpoint if mode == "on" else None
                results[mode].append(measure(mode, work / mode, args.duration, endpoint))
                _say(f"[tracing {mode}] spans received: {len(receiver.all_spans()) - before}")
    finally:
        receiver.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows, met = [], True
    for route in ROUTES:

        def mean(mode: str, figure: str, key: str = route.key) -> float:
            figures = [r[k][figure] for r in results[mode] for k in r if k.split(" #")[0] == key]
            return sum(figures) / len(figures)

        off, on = mean("off", "rps"), mean("on", "rps")
        share = ratio(on, off)
        cached = route.group != "ceiling"
        met = met and (share >= TARGET or not cached)
        rows.append(
            [
                route.key,
                f"{off:.0f}",
                f"{on:.0f}",
                f"{share:.2f}x",
                f"{mean('off', 'p90'):.1f} / {mean('on', 'p90'):.1f} ms",
                # The api-server's CPU per request: less sensitive than req/s to what else runs.
                f"{mean('off', 'server_cpu_ms'):.2f} / {mean('on', 'server_cpu_ms'):.2f} ms",
                verdict(share >= TARGET) if cached else "(ceiling)",
            ]
        )
    headers = ["route", "off req/s", "on req/s", "on/off", "p90 off / on", "CPU/request off / on", f">= {TARGET}x"]
    _say("\n" + table(headers, rows))
    _say(f"target: cached routes with tracing on >= {TARGET}x their req/s with tracing off: {verdict(met)}")
    _say(f"total wall time {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
