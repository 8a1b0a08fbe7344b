"""Load benchmark of ylai's API on Postgres holding 100,000 DAG runs and 1,000,000 task instances.

Run from the repository root (needs PostgreSQL, like the integration tests: 127.0.0.1:5432,
trust auth, user ``postgres``, or ``YLAI_TEST_POSTGRES_URL``)::

    .venv/bin/python bench/api_load.py            # 15 s per endpoint, ~10-15 min with start-up and fill
    .venv/bin/python bench/api_load.py --quick    # 5 s per endpoint
    .venv/bin/python bench/api_load.py --runs 10000 --task-instances 100000   # smaller database
    .venv/bin/python bench/api_load.py --quick --only options   # the ceiling and the rows named "...options..."
    .venv/bin/python bench/api_load.py --quick --env AIRFLOW__API__WORKERS=2

What it does, in one run:

1. creates a fresh database ``ylai_bench_<random>`` on that server;
2. starts the real platform on it (``python -m ylai_plugin.cli run`` through
   ``tests/integration/running_platform.RunningPlatform``: own ``AIRFLOW_HOME``, free port,
   Postgres + LocalExecutor, one api-server worker, Airflow's default) with ylai's rate limit
   raised to 10,000,000 requests/min and a burst of 1,000,000: the default 600/min per user
   would answer 429 to a load test. The scheduler, dag-processor and triggerer run too, as in a
   deployment; the benchmark writes only finished runs, so they stay idle;
3. waits for the example DAGs, then fills the database with ``bench/fill_postgres.py`` (COPY),
   and prints the Postgres plans (``EXPLAIN ANALYZE``) of ``/monitor/tasks``' queries, next to
   the plan of the query it used before (a filter on the unindexed ``task_instance.start_date``);
4. load-tests each endpoint in turn with wrk (``apt-get install wrk``; a C client, so the load
   generator takes little of the 2 cores the server needs): 16 keep-alive connections over 2
   threads, sending requests back to back (closed loop, no think time), 2 s of warm-up
   first (discarded), then ``--duration`` seconds measured. Every request carries the admin's
   Bearer token (from ``POST /auth/token``); latencies are wrk's client-side times (request
   sent -> response read) and its percentiles cover every measured request; a status other
   than 2xx/3xx, a socket error or a timeout (60 s) is an error. Before each
   endpoint it waits until the api-server is idle (under 15 % of a core for a second and the
   ceiling request answered within 0.5 s, three times in a row), so requests the previous
   endpoint left running in the server do not count against the next one (the wait is printed:
   a long one means the server was still busy or stuck);
5. prints a table (requests, req/s, p50/p90/p99/max, errors by kind, the api-server process's
   CPU per request and in % of one core, and how busy the whole machine was during the window)
   and the ratios the targets ask for, then stops the platform and drops the database,
   whatever happened (``--keep`` keeps the AIRFLOW_HOME folder with its logs). ``--env
   KEY=VALUE`` adds settings to the platform's environment, to compare a tuning with the defaults.

Endpoints: ylai's list, detail, monitor and health routes with their default parameters (list
pages of 50); single items (a task, its runs, a preset, the logs of a run the platform really
executed before the fill) and ``/me``; the cached routes (lists, script detail and single
items) again with a query parameter unique to each request (``?bust=<n>``, ignored by the route
but part of the list cache's key), so every request is a cache miss and computes its answer
("uncached" rows, reported without a target); the lists, a task and ``/monitor/tasks`` again
with each request sent as the next of 16 users of the Admin role in turn ("16 users" rows, with
the targets of their kind): the list cache is per user, so there every user's entry is computed
once per TTL, as when a team's dashboards poll at once; Airflow's
``GET /api/v2/monitor/health`` and ``GET /api/v2/dags/~/dagRuns?limit=50``; and the ceiling:
``GET /ylai/api/v1/ping``, ylai's authenticated no-op (authentication by Airflow's auth
manager: JWT, revoked-token check and FAB user; ylai's rate limiter; nothing else), the
minimum every ylai route pays. It is measured first and last; the ratios use the
mean of both.

Targets: p90 < 100 ms on every endpoint; the cached monitor endpoints (``/monitor/tasks``,
``/monitor/apis``, ``/monitor/system``) and the cached live options of a run form
(``/forms/{dag_id}/options/{param}``) at >= 0.7x the ceiling's req/s; the list endpoints
(``/tasks``, ``/presets``, ``/scripts``) at >= 2x Airflow's dagRuns list.

Client and server share the machine (wrk takes a few % of a core), and on 2 cores
any other activity (a test run, another benchmark) shows in the figures: the load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USERS = 16
WRK_THREADS = 2  # 8 connections per thread
WARMUP_SECONDS = 2.0
ADMIN_PASSWORD = "bench-admin-pw-1"  # noqa: S105 - a throw-away platform's admin
# Every DAG in dags/ (the fill spreads runs over the DAGs found in the database).
EXPECTED_DAGS = [
    "ylai_example_hello",
    *(f"script__{p.stem}" for p in sorted((REPO_ROOT / "dags" / "scripts").glob("*.yaml"))),
    *(f"pipeline__{p.stem}" for p in sorted((REPO_ROOT / "dags" / "pipelines").glob("*.yaml"))),
]


@dataclass(frozen=True)
class Endpoint:
    """One row of the benchmark."""

    key: str
    path: str
    expected_status: int = 200
    group: str = ""  # "list", "monitor", "ceiling", "uncached" (reported only) or "" (no target but p90)
    # Append a query parameter unique per request: every request is a list-cache miss (the
    # cache keys on the query string), so the row shows what computing the answer costs.
    bust_cache: bool = False
    # Each request as the next of USERS distinct users (Admin role, like the admin), in turn:
    # the list cache is per user, so this row pays one miss per user and TTL, as a team's
    # dashboards polling at once would, where one user's 16 connections share one entry.
    many_users: bool = False
    # "post": every request is a usage beacon batch (POST /usage/events, BEACON_BODY); "mix": the
    # ceiling's no-op, with one beacon batch per wrk thread and wall-clock second in between.
    beacon: str = ""


# A beacon batch as the UI sends it (up to 20 events per flush): page views and clicks.
BEACON_BODY = {
    "events": [
        *({"type": "page_view", "page": page} for page in ("run", "monitor", "scripts", "tasks", "logs")),
        *(
            {"type": "click", "page": "run", "region": region, "x": (n % 10) / 10 + 0.05, "y": (n % 7) / 7 + 0.05}
            for n, region in enumerate(["main"] * 9 + ["nav"] * 3 + ["header"] * 2 + ["aside"])
        ),
    ]
}
# Beacon batches per second the "mix" row sends (one per wrk thread and second): 16 users whose UI
# flushes every 10 s would send 1.6 a second, so the row is a little harsher than that.
BEACONS_PER_SECOND = WRK_THREADS


CEILING = Endpoint("ceiling: GET /ping (no-op)", "/ylai/api/v1/ping", group="ceiling")
ENDPOINTS = [
    Endpoint("ylai GET /tasks", "/ylai/api/v1/tasks", group="list"),
    Endpoint("ylai GET /presets", "/ylai/api/v1/presets", group="list"),
    Endpoint("ylai GET /scripts", "/ylai/api/v1/scripts", group="list"),
    Endpoint("ylai GET /scripts/disk_usage", "/ylai/api/v1/scripts/disk_usage"),
    Endpoint("ylai GET /tasks, uncached", "/ylai/api/v1/tasks", group="uncached", bust_cache=True),
    Endpoint("ylai GET /presets, uncached", "/ylai/api/v1/presets", group="uncached", bust_cache=True),
    Endpoint("ylai GET /scripts, uncached", "/ylai/api/v1/scripts", group="uncached", bust_cache=True),
    Endpoint(
        "ylai GET /scripts/disk_usage, uncached", "/ylai/api/v1/scripts/disk_usage", group="uncached", bust_cache=True
    ),
    # Single items (ids picked from the filled database, see _path_values) and the caller's rights.
    Endpoint("ylai GET /tasks/{id}", "/ylai/api/v1/tasks/{task_id}"),
    Endpoint("ylai GET /tasks/{id}/runs", "/ylai/api/v1/tasks/{task_id}/runs"),
    Endpoint("ylai GET /presets/{id}", "/ylai/api/v1/presets/{preset_id}"),
    Endpoint("ylai GET /runs/{dag}/{run}/logs", "/ylai/api/v1/runs/{dag_id}/{run_id}/logs"),
    Endpoint("ylai GET /tasks/{id}, uncached", "/ylai/api/v1/tasks/{task_id}", group="uncached", bust_cache=True),
    Endpoint(
        "ylai GET /tasks/{id}/runs, uncached", "/ylai/api/v1/tasks/{task_id}/runs", group="uncached", bust_cache=True
    ),
    Endpoint("ylai GET /presets/{id}, uncached", "/ylai/api/v1/presets/{preset_id}", group="uncached", bust_cache=True),
    Endpoint(
        "ylai GET /runs/{dag}/{run}/logs, uncached",
        "/ylai/api/v1/runs/{dag_id}/{run_id}/logs",
        group="uncached",
        bust_cache=True,
    ),
    Endpoint(f"ylai GET /tasks, {USERS} users", "/ylai/api/v1/tasks", group="list", many_users=True),
    Endpoint(f"ylai GET /presets, {USERS} users", "/ylai/api/v1/presets", group="list", many_users=True),
    Endpoint(f"ylai GET /scripts, {USERS} users", "/ylai/api/v1/scripts", group="list", many_users=True),
    Endpoint(f"ylai GET /tasks/{{id}}, {USERS} users", "/ylai/api/v1/tasks/{task_id}", many_users=True),
    Endpoint("ylai GET /me", "/ylai/api/v1/me"),
    Endpoint("ylai GET /monitor/tasks", "/ylai/api/v1/monitor/tasks", group="monitor"),
    Endpoint("ylai GET /monitor/apis", "/ylai/api/v1/monitor/apis", group="monitor"),
    Endpoint("ylai GET /monitor/system", "/ylai/api/v1/monitor/system", group="monitor"),
    Endpoint(f"ylai GET /monitor/tasks, {USERS} users", "/ylai/api/v1/monitor/tasks", group="monitor", many_users=True),
    Endpoint("ylai GET /health", "/ylai/api/v1/health"),
    # A run form's live options, cached ([ylai] form_options_ttl, 30 s): a metadata source and a
    # query through an Airflow connection (ylai_example_pg, pointed at the benchmark's server).
    Endpoint(
        "ylai GET /forms/.../options/pool", "/ylai/api/v1/forms/script__table_snapshot/options/pool", group="options"
    ),
    Endpoint(
        "ylai GET /forms/.../options/database",
        "/ylai/api/v1/forms/script__table_snapshot/options/database",
        group="options",
    ),
    # The page-view beacon: its own cost (every request a batch of 20 events), and what it takes
    # from the ceiling when sent at a UI's rate while the API is saturated (target: < 2 %).
    Endpoint("ylai POST /usage/events (beacon, 20 events)", "/ylai/api/v1/usage/events", 202, beacon="post"),
    Endpoint("ceiling + beacon (2 batches/s)", "/ylai/api/v1/ping", group="beacon", beacon="mix"),
    Endpoint("airflow GET /api/v2/monitor/health", "/api/v2/monitor/health"),
    Endpoint("airflow GET dags/~/dagRuns?limit=50", "/api/v2/dags/~/dagRuns?limit=50", group="airflow-list"),
]


def _say(message: str) -> None:
    print(message, flush=True)


def _load_note() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the load child (wrk) ------------------------------------------------------------------


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(p * len(ordered) + 0.999999) - 1))]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time of the api-server processes and their children (uvicorn's workers, with
    ``[api] workers`` > 1, are spawned children whose command line does not name the api-server)."""
    import psutil

    seen: set[int] = set()
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(pid)
            for proc in [parent, *parent.children(recursive=True)]:
                if proc.pid in seen:
                    continue
                seen.add(proc.pid)
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
    return total


# wrk prints one JSON line at the end: its percentiles are over every request it sent.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# A request counter n per wrk thread, and the thread's number as tid, for the scripts below.
WRK_NUMBERED = """
local n = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
"""

# Each request a new URL (path?bust=<n>, n counting per wrk thread, threads apart by id).
WRK_BUST_CACHE = (
    WRK_NUMBERED
    + """
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "?bust=" .. tostring(tid or 0) .. "-" .. n)
end
"""
)


# Each request as the next user of TOKENS (a Lua list the script is prefixed with), in turn.
WRK_MANY_USERS = (
    WRK_NUMBERED
    + """
request = function()
  n = n + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Authorization"] = "Bearer " .. TOKENS[(n + (tid or 0)) % #TOKENS + 1]
  return wrk.format(nil, nil, headers)
end
"""
)


# Every request a beacon batch (BODY, a Lua string the script is prefixed with).
WRK_BEACON_POST = """
request = function()
  return wrk.format("POST", nil, json_headers(), BODY)
end
"""

# The ceiling's GET, and once per thread and wall-clock second a beacon batch to /usage/events.
WRK_BEACON_MIX = """
local last = 0
request = function()
  local now = os.time()
  if now ~= last then
    last = now
    return wrk.format("POST", "/ylai/api/v1/usage/events", json_headers(), BODY)
  end
  return wrk.format(nil, wrk.path)
end
"""


def _lua_body() -> str:
    # wrk.format's headers replace wrk.headers (the Bearer token): copy them, then add the JSON type.
    return (
        "BODY = "
        + json.dumps(json.dumps(BEACON_BODY))
        + "\n"
        + """
json_headers = function()
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return headers
end
"""
    )


def _lua_tokens(tokens: list[str]) -> str:
    return "TOKENS = {" + ", ".join(json.dumps(t) for t in tokens) + "}\n"


def _wrk(url: str, token: str, seconds: float, script: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            f"--threads={WRK_THREADS}",
            f"--connections={USERS}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=60s",
            f"--script={script}",
            "--header=Accept: application/json",
            f"--header=Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _measure(
    base_url: str,
    token: str,
    endpoint: dict[str, Any],
    duration: float,
    warmup: float,
    server_pids: list[int],
    user_tokens: list[str],
) -> dict[str, Any]:
    import psutil

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_REPORT + (WRK_BUST_CACHE if endpoint.get("bust_cache") else ""))
        if endpoint.get("many_users"):
            f.write(_lua_tokens(user_tokens) + WRK_MANY_USERS)
        if endpoint.get("beacon"):
            f.write(_lua_body() + (WRK_BEACON_POST if endpoint["beacon"] == "post" else WRK_BEACON_MIX))
    script = Path(f.name)
    try:
        url = base_url + endpoint["path"]
        _wrk(url, token, warmup, script)  # warm-up: connections open, caches filled
        server_cpu = _cpu_seconds(server_pids)
        psutil.cpu_percent(None)
        r = _wrk(url, token, duration, script)
        machine_busy = psutil.cpu_percent(None)
        server_cpu = _cpu_seconds(server_pids) - server_cpu
    finally:
        script.unlink()
    seconds = r["duration_us"] / 1e6
    kinds = {k: r[k] for k in ("connect", "read", "write", "timeout") if r[k]}
    if r["status"]:
        kinds[f"status other than {endpoint['expected_status']}"] = r["status"]
    n = r["requests"]
    return {
        "requests": n,
        "rps": n / seconds,
        "p50": r["p50"],
        "p90": r["p90"],
        "p99": r["p99"],
        "max": r["max"],
        "errors": sum(kinds.values()),
        "error_kinds": kinds,
        # The api-server process's CPU over the window: per request, and as % of one core.
        "server_cpu_ms": server_cpu * 1000 / n if n else float("nan"),
        "server_cpu_pct": server_cpu * 100 / seconds,
        "machine_busy_pct": machine_busy,
    }


def _settle(base_url: str, token: str, server_pids: list[int], timeout: float = 240.0) -> float:
    """Wait until the api-server is idle: requests the previous endpoint left running (the
    client gave up on them, the server did not) must not count against the next endpoint.

    Idle means, three times in a row, a second in which the api-server process used < 15 % of a
    core and then answered the ceiling request (authentication included) within 0.5 s. Returns
    the seconds waited.
    """
    import urllib.request

    started = time.monotonic()
    calm = 0
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(base_url + CEILING.path, headers=headers)  # noqa: S310 - http URL
    while calm < 3 and time.monotonic() - started < timeout:
        cpu = _cpu_seconds(server_pids)
        time.sleep(1.0)
        idle = _cpu_seconds(server_pids) - cpu < 0.15
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60):  # noqa: S310 - the platform's http URL
                pass
        except OSError:
            idle = False
        calm = calm + 1 if idle and time.monotonic() - t0 < 0.5 else 0
    return time.monotonic() - started


def load_child() -> int:
    """Read the plan from stdin, measure each endpoint, print one JSON line per endpoint."""
    plan = json.loads(sys.stdin.read())
    for endpoint in plan["endpoints"]:
        settled = _settle(plan["base_url"], plan["token"], plan["server_pids"])
        result = _measure(
            plan["base_url"],
            plan["token"],
            endpoint,
            plan["duration"],
            plan["warmup"],
            plan["server_pids"],
            plan["user_tokens"],
        )
        print(json.dumps({"key": endpoint["key"], "settle_s": round(settled, 1), **result}), flush=True)
    return 0


# --- query plans ---------------------------------------------------------------------------

# What /monitor/tasks counted before it went through dag_run (kept to show the difference).
OLD_TASK_STATES_SQL = """
SELECT state, count(*) FROM task_instance
WHERE dag_id IN ({dag_ids}) AND (start_date >= '{since}' OR state IN ('running', 'queued', 'scheduled',
      'deferred', 'up_for_retry'))
GROUP BY state
"""


def explain_child() -> int:
    """Print the Postgres plans (EXPLAIN ANALYZE) of ``/monitor/tasks``' queries on the filled database.

    Runs with the platform's AIRFLOW_HOME (importing ylai's API imports Airflow); the statements
    are ylai's own (``task_monitor_queries``), compiled for Postgres with the default 24 h window.
    """
    from datetime import UTC, datetime, timedelta

    import psycopg2
    from sqlalchemy.dialects import postgresql

    from ylai_plugin.domain.stats import task_monitor_queries

    db_url = json.loads(sys.stdin.read())["db_url"]
    since = datetime.now(UTC) - timedelta(hours=24)
    with contextlib.closing(psycopg2.connect(db_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT dag_id FROM dag WHERE NOT is_stale")
        dag_ids = frozenset(row[0] for row in cur.fetchall())
        statements = {
            name: str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            for name, stmt in task_monitor_queries(dag_ids, since).items()
        }
        quoted = ", ".join("'" + d.replace("'", "''") + "'" for d in sorted(dag_ids)) or "NULL"
        statements["task_states, before (filter on task_instance.start_date)"] = OLD_TASK_STATES_SQL.format(
            dag_ids=quoted, since=since.isoformat()
        )
        for name, sql in statements.items():
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            print(f"-- /monitor/tasks query {name}:")
            for (line,) in cur.fetchall():
                print("   " + line)
    return 0


def explain(platform: Any, db_url: str) -> None:
    """Run :func:`explain_child` in a child process with the platform's environment."""
    env = {**platform.env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url}
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--explain-child"],
            input=json.dumps({"db_url": db_url}),
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:  # the plans are information, not the benchmark
        _say("EXPLAIN: no answer within 300 s")
        return
    _say(out.stdout.rstrip() if out.returncode == 0 else f"EXPLAIN failed ({out.returncode}): {out.stderr[-2000:]}")


# --- the orchestrating parent --------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for n, row in enumerate([headers, *rows]):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _errors(r: dict[str, Any]) -> str:
    if not r["errors"]:
        return "0"
    kinds = ", ".join(f"{kind} x{n}" for kind, n in sorted(r["error_kinds"].items(), key=lambda kv: -kv[1]))
    return f"{r['errors']} ({kinds})"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def report(results: dict[str, dict[str, Any]]) -> str:
    """The table and the target verdicts."""
    rows = [
        [
            key,
            f"{r['requests']:,}",
            f"{r['rps']:.0f}",
            *(_ms(r[p]) for p in ("p50", "p90", "p99", "max")),
            _errors(r),
            _ms(r["server_cpu_ms"]),
            f"{r['server_cpu_pct']:.0f}",
            f"{r['machine_busy_pct']:.0f}",
        ]
        for key, r in results.items()
    ]
    headers = ["endpoint", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"]
    out = [
        _table([*headers, "srv CPU ms/req", "srv CPU %", "machine busy %"], rows),
        "(srv CPU: the api-server and its worker processes, % of one core; machine busy: all cores, any process)",
        "",
    ]
    ceilings = [r["rps"] for k, r in results.items() if _endpoint(k).group == "ceiling"]
    ceiling = sum(ceilings) / len(ceilings)
    dagruns = next((r["rps"] for k, r in results.items() if _endpoint(k).group == "airflow-list"), float("nan"))
    out.append(
        f"ceiling (mean of {len(ceilings)} measurements: "
        f"{', '.join(f'{c:.0f}' for c in ceilings)}): {ceiling:.0f} req/s; Airflow dagRuns list: {dagruns:.0f} req/s"
    )
    out.append("")
    width = max(len(k) for k in results)
    for key, r in results.items():
        group = _endpoint(key).group
        line = f"{key:<{width}}  p90 {r['p90']:8.1f} ms < 100: {'yes' if r['p90'] < 100 else 'NO '}"
        if group == "uncached":  # every request a cache miss: what the cache saves, no target
            ratio = _ratio(r["rps"], dagruns)
            out.append(
                f"{key:<{width}}  p90 {r['p90']:8.1f} ms (every request a cache miss;"
                f" req/s / dagRuns list = {ratio:5.2f})"
            )
            continue
        if group == "beacon":
            # The row's requests minus its beacon batches: what the API still served of the no-op.
            served = r["rps"] - BEACONS_PER_SECOND
            cost = 1 - _ratio(served, ceiling)
            line += (
                f"   ceiling req/s lost    = {cost * 100:5.2f} % with {BEACONS_PER_SECOND} beacon batches/s"
                f" (< 2 %: {'yes' if cost < 0.02 else 'NO'})"
            )
            # The same from CPU time, which a busy machine disturbs far less than req/s: under load
            # the one api-server worker is CPU-bound on its core, so the beacon batches take
            # (batches/s x CPU ms per batch) of its 1000 ms a second, and that share of its req/s.
            post = next((p for k, p in results.items() if _endpoint(k).beacon == "post"), None)
            if post is not None:
                share = BEACONS_PER_SECOND * post["server_cpu_ms"] / 1000
                line += f"; by CPU {share * 100:5.2f} % of the worker's core (< 2 %: {'yes' if share < 0.02 else 'NO'})"
        elif group in ("monitor", "options"):
            ratio = _ratio(r["rps"], ceiling)
            line += f"   req/s / ceiling       = {ratio:5.2f} (>= 0.7: {'yes' if ratio >= 0.7 else 'NO'})"
        elif group == "list":
            ratio = _ratio(r["rps"], dagruns)
            line += f"   req/s / dagRuns list  = {ratio:5.2f} (>= 2:   {'yes' if ratio >= 2 else 'NO'})"
        out.append(line.rstrip())
    return "\n".join(out)


def _endpoint(key: str) -> Endpoint:
    base = key.split(" #")[0]
    return next(e for e in [CEILING, *ENDPOINTS] if e.key == base)


def run_load(
    base_url: str,
    token: str,
    endpoints: list[Endpoint],
    duration: float,
    server_pids: list[int],
    user_tokens: list[str],
) -> dict[str, dict[str, Any]]:
    plan = {
        "server_pids": server_pids,
        "base_url": base_url,
        "token": token,
        "user_tokens": user_tokens,
        "duration": duration,
        "warmup": WARMUP_SECONDS,
        "endpoints": [e.__dict__ for e in endpoints],
    }
    proc = subprocess.Popen(
        [sys.executable, __file__, "--load-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(json.dumps(plan))
    proc.stdin.close()
    results: dict[str, dict[str, Any]] = {}
    try:
        for line in proc.stdout:
            row = json.loads(line)
            key = row.pop("key")
            if key in results:
                key = f"{key} #2"
            results[key] = row
            _say(
                f"  {key:<38} {row['rps']:6.0f} req/s  p50 {row['p50']:7.1f}  p90 {row['p90']:7.1f}  "
                f"p99 {row['p99']:7.1f}  max {row['max']:7.1f} ms  errors {_errors(row)}  "
                f"api-server CPU {row['server_cpu_pct']:.0f} %  "
                f"(waited {row['settle_s']:.0f} s for the server to settle)"
            )
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        raise RuntimeError(f"the load child exited with {rc}")
    return results


def _checkpoint(url: str) -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as conn, contextlib.suppress(psycopg2.Error):
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")  # superuser (or pg_checkpoint) only: skipped otherwise


def _is_api_server(proc: Any) -> bool:
    try:
        command = " ".join(proc.cmdline())
    except Exception:  # gone, or not ours to read
        return False
    return "api_server" in command or "api-server" in command


def _path_values(url: str, logged_run: tuple[str, str]) -> dict[str, str]:
    """Ids for the single-item endpoints: the admin's newest task (with runs) and preset from
    the fill, and ``logged_run``, a run the platform really executed: the fill writes no log
    files, so its runs would measure the log reader's search for logs that do not exist."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT t.id FROM ylai_task t WHERE t.created_by = 'admin' "
            "AND EXISTS (SELECT 1 FROM ylai_task_run r WHERE r.task_id = t.id) ORDER BY t.id DESC LIMIT 1"
        )
        (task_id,) = cur.fetchone()
        cur.execute("SELECT id FROM ylai_preset WHERE owner = 'admin' ORDER BY id DESC LIMIT 1")
        (preset_id,) = cur.fetchone()
    return {
        "task_id": str(task_id),
        "preset_id": str(preset_id),
        "dag_id": logged_run[0],
        "run_id": urllib.parse.quote(logged_run[1], safe=""),
    }


def example_connection(platform: Any, db_url: str) -> None:
    """``ylai_example_pg``, the connection of the example form's SQL options, at the benchmark's server."""
    resp = platform.create_postgres_connection("ylai_example_pg", db_url)
    assert resp.status in (201, 409), resp.body[:300]


def bench_users(platform: Any, count: int) -> list[str]:
    """Tokens of ``count`` new users with the Admin role (FAB's REST API, then ``/auth/token``)."""
    tokens = []
    for i in range(1, count + 1):
        username = f"bench{i:02d}"
        resp = platform.request(
            "POST",
            "/auth/fab/v1/users",
            {
                "username": username,
                "password": ADMIN_PASSWORD,
                "first_name": username,
                "last_name": "bench",
                "email": f"{username}@example.com",
                "roles": [{"name": "Admin"}],
            },
        )
        assert resp.status == 200, (username, resp.status, resp.body[:300])
        login = platform.login(username, ADMIN_PASSWORD)
        assert login.status in (200, 201), (username, login.status, login.body[:300])
        tokens.append(str(login.json()["access_token"]))
    return tokens


def _row_counts(url: str) -> str:
    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        counts = []
        for table in ("dag", "dag_run", "task_instance", "ylai_task", "ylai_task_run", "ylai_preset"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts.append(f"{table} {cur.fetchone()[0]:,}")
    return ", ".join(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per endpoint instead of 15 s")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per endpoint")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--task-instances", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the AIRFLOW_HOME folder (logs)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="measure only the endpoints whose row name contains TEXT (repeatable; the ceiling always)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the platform, e.g. AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW=10 (default 60)",
    )
    parser.add_argument("--load-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--explain-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_child:
        return load_child()
    if args.explain_child:
        return explain_child()
    if shutil.which("wrk") is None:
        print("wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu)", file=sys.stderr)
        return 2
    duration = args.duration or (5.0 if args.quick else 15.0)
    extra_env = dict(item.split("=", 1) for item in args.env)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import platform_on_fresh_database, source_revision
    from fill_postgres import fill

    work = Path(tempfile.mkdtemp(prefix="ylai-api-load-"))
    _say(
        f"conditions: {os.cpu_count()} cores, api-server workers=1, {USERS} connections (wrk, keep-alive, "
        f"no think time) per endpoint, {WARMUP_SECONDS:.0f} s warm-up + {duration:.0f} s measured per endpoint, "
        f"one endpoint at a time; {_load_note()}; code {source_revision()}"
    )
    _say(
        "rate limit raised for the benchmark: AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE=10000000, "
        "AIRFLOW__YLAI__RATE_LIMIT_BURST=1000000 (default 600/min, burst 120)"
        + (f"; extra environment: {extra_env}" if extra_env else "; everything else: platform defaults")
    )
    try:
        with platform_on_fresh_database(
            work,
            POSTGRES_URL,
            db_prefix="ylai_bench",
            admin_password=ADMIN_PASSWORD,
            env={
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE": "10000000",
                "AIRFLOW__YLAI__RATE_LIMIT_BURST": "1000000",
                # The beacon's own bucket and daily cap too: every batch is recorded, none refused.
                "AIRFLOW__YLAI__USAGE_RATE_PER_MINUTE": "10000000",
                "AIRFLOW__YLAI__USAGE_BURST": "1000000",
                "AIRFLOW__YLAI__USAGE_MAX_EVENTS_PER_USER_DAY": "1000000000",
                **extra_env,
            },
            say=_say,
        ) as (platform, db_url):
            t0 = time.monotonic()
            for dag_id in EXPECTED_DAGS:
                platform.wait_for_dag(dag_id, timeout=300)
            _say(f"{len(EXPECTED_DAGS)} DAGs parsed in {time.monotonic() - t0:.0f} s more")
            logged_run = ("script__disk_usage", platform.trigger("script__disk_usage", {"top": 3}))
            state = platform.wait_for_run(*logged_run)
            assert state == "success", f"the run for the logs endpoint ended {state}"
            result = fill(db_url, runs=args.runs, task_instances=args.task_instances, log=_say)
            _say(f"filled in {result.seconds:.0f} s: {_row_counts(db_url)}")
            _checkpoint(db_url)  # write the fill's dirty pages now, not during the first endpoint
            explain(platform, db_url)
            token = platform.token()
            user_tokens = bench_users(platform, USERS)
            _say(f"{len(user_tokens)} users of the Admin role created, for the '{USERS} users' rows")
            values = _path_values(db_url, logged_run)
            chosen = [e for e in ENDPOINTS if not args.only or any(text in e.key for text in args.only)]
            endpoints = [CEILING, *(replace(e, path=e.path.format(**values)) for e in chosen), CEILING]
            example_connection(platform, db_url)
            for e in endpoints:  # every endpoint answers as expected before any figure is taken
                for t in user_tokens if e.many_users else [token]:
                    if e.beacon == "post":
                        resp = platform.request("POST", e.path, BEACON_BODY, token=t)
                        assert resp.json()["accepted"] == len(BEACON_BODY["events"]), resp.body[:300]
                    else:
                        resp = platform.request("GET", e.path, token=t)
                    assert resp.status == e.expected_status, (e.path, resp.status, resp.body[:300])
            _say(f"load test ({_load_note()}):")
            server_pids = [p.pid for p in platform.descendants() if _is_api_server(p)]
            results = run_load(platform.base_url, token, endpoints, duration, server_pids, user_tokens)
            _say(f"done ({_load_note()})\n")
            _say(report(results))
    finally:
        if args.keep:
            _say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
