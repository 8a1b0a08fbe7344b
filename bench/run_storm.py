"""A storm of pipeline runs through ylai's API on Postgres + Redis + Celery: nothing lost, nothing stuck.

Run from the repository root (needs PostgreSQL and Redis like the integration tests:
127.0.0.1:5432 with trust auth for user ``postgres`` or ``YLAI_TEST_POSTGRES_URL``, and
127.0.0.1:6379)::

    .venv/bin/python bench/run_storm.py                  # 500 runs, 4 clients (~30-60 min on 2 cores)
    .venv/bin/python bench/run_storm.py --quick          # 50 runs (~8 min with start-up)
    .venv/bin/python bench/run_storm.py --runs 200 --clients 8 --stall-minutes 5
    .venv/bin/python bench/run_storm.py --rate-limit 100000   # raise ylai's API rate limit for the storm
    .venv/bin/python bench/run_storm.py --base-url http://127.0.0.1:28080 --username admin \\
        --password ... --dags-folder /path/to/its/dags [--platform-pid PID]   # a running platform

What it does (issue 16, "Load"):

1. unless ``--base-url`` is given, creates a fresh database ``ylai_storm_<random>`` on the
   Postgres server and starts the real platform on it (``python -m ylai_plugin.cli run`` through
   ``tests/integration/running_platform.RunningPlatform``: own ``AIRFLOW_HOME``, free ports,
   the README's Postgres + Redis + Celery mode: ``YLAI_DATABASE_URL`` and ``YLAI_BROKER_URL``
   set, so the CeleryExecutor with a local Celery worker). Redis is the shared server, but on
   its own database number (``--redis-url``, default ``redis://127.0.0.1:6379/9``) and a Celery
   queue of its own (``AIRFLOW__OPERATORS__DEFAULT_QUEUE``), so no other worker takes its tasks;
   nothing is ever flushed. The platform keeps its defaults, ylai's API rate limit (600/min
   per user, burst 120) included, unless ``--rate-limit N`` sets
   ``AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE`` (and the burst) for the bench; the header says
   which. With ``--base-url`` it uses that platform as it is;
2. writes a bench-only script ``storm_step`` (bash: ``value + 1``) and pipeline ``storm5``
   into the DAGs folder (a temporary copy of the ``dags/`` generator files, or
   ``--dags-folder`` of a running platform): 5 nodes, a diamond with a tail
   (``start`` -> ``left``, ``right`` -> ``join`` -> ``finish``), plus ylai's
   ``collect_outputs`` task: 6 task instances per run; the pipeline has a ``seq`` parameter
   so every run carries the number of the request that made it;
3. saves a ylai task for the pipeline (``POST /ylai/api/v1/tasks``), runs it once as a
   warm-up, then ``--warm-up-runs`` runs at once (default 20; none counted: caches fill with
   what concurrent runs query, so their filling is no growth), and samples the RSS of every
   component;
4. the storm: ``--clients`` threads take request numbers 1..``--runs`` from a shared queue and
   send ``POST /ylai/api/v1/tasks/{id}/run`` with ``{"params": {"seq": n}}`` back to back. A
   429 (the rate limit, or backpressure when queues are full) is waited out for its
   ``Retry-After`` and sent again, for as long as it takes; a 5xx, a timeout or a refused
   connection is retried with a growing pause for up to ``--give-up-minutes``. A request counts
   as **accepted** when it got a run id and as **lost** only if it never did. Meanwhile a
   monitor thread polls ``GET /ylai/api/v1/monitor/tasks`` every ``--monitor-interval``
   seconds, as a dashboard would;
5. waits for every accepted run to end, following them through Airflow's REST API
   (``/api/v2/dags/pipeline__storm5/dagRuns``, paged). Stall detector: if no run changes state
   and no task instance finishes for ``--stall-minutes``, the runs not finished are **stuck**
   and the wait ends (so does ``--timeout-minutes`` overall). An accepted run id missing from
   Airflow counts as lost too; a run of the pipeline no request got an id for (a request that
   timed out on the client after the server created the run) is reported as unclaimed;
6. samples the RSS again once the platform is idle, prints the figures, stops the platform
   and drops the database (also on failure or Ctrl-C; ``--keep`` keeps the folder and logs).

Figures: runs requested / accepted / succeeded / failed / lost / stuck; runs per minute (runs
ended / minutes from the first run queued to the last run ended, Airflow's timestamps); the
client-side latency p50 / p90 / p99 / max of the run requests (answers 201, and every answer)
and of the monitor GET; the answers by status (and error code of the 429s); the RSS (psutil:
the component's process and all its descendants) of each component -- api-server, scheduler,
dag-processor, triggerer, celery-worker, alerts -- after the warm-up and at the end, with the
growth in % against the issue's target (no growth over 10 %), the peak seen during the storm,
and the components whose process changed (restarted by ``ylai run``'s supervisor). RSS needs
the platform's processes on this machine: with ``--base-url`` give ``--platform-pid`` (the
``ylai run`` process), or the RSS table is skipped.

Ctrl-C or SIGTERM ends the storm early: it prints the figures so far (requests not sent and
runs not finished are counted apart, neither lost nor stuck), then stops the platform.

Exit status: 1 if a run was lost, stuck or failed, the storm was interrupted or the platform
did not come up; else 0
(the RSS target is printed, not an exit status, as in the other benchmarks). The machine is
likely shared: the header and the end print the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from _common import (  # bench/ is sys.path[0]
    GENERATOR_FILES,
    REPO_ROOT,
    bytecode_env,
    machine_note,
    platform_on_fresh_database,
    table,
    verdict,
    write_step_script,
)

POSTGRES_URL = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = "redis://127.0.0.1:6379/9"
PIPELINE = "storm5"
DAG_ID = f"pipeline__{PIPELINE}"
ADMIN_PASSWORD = "storm-admin-password"  # noqa: S105 - a throw-away platform on localhost
MONITOR_PATH = "/ylai/api/v1/monitor/tasks"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery-worker", "alerts")
# What each component's command line contains (``ylai_plugin.run_platform._components``); the
# api-server and the Celery worker rename their processes ("airflow api_server -- host:...",
# "[celeryd: celery@host:MainProcess] ... (celery worker)").
COMPONENT_MARKERS = {
    "celery-worker": ("celery worker", "celeryd"),
    "api-server": ("api-server", "api_server"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer",),
    "scheduler": ("scheduler",),
    "alerts": ("ylai_plugin.cli alerts",),
}
RSS_TARGET = 10.0  # % growth, issue 16
FINAL = ("success", "failed")
MiB = 1024 * 1024

PIPELINE_SPEC = {
    "name": PIPELINE,
    "description": "Five trivial steps, a diamond with a tail (run storm benchmark).",
    "owner": "bench",
    "tags": ["bench"],
    "schedule": None,
    "retries": 1,
    "params": {"seq": {"type": "integer", "default": 0, "minimum": 0}},
    "nodes": {
        "start": {"script": "storm_step", "params": {"value": {"param": "seq"}}},
        "left": {"script": "storm_step", "params": {"value": {"from": "start.value"}}},
        "right": {"script": "storm_step", "params": {"value": {"from": "start.value"}}},
        "join": {"script": "storm_step", "params": {"value": {"from": "left.value"}}, "depends_on": ["right"]},
        "finish": {"script": "storm_step", "params": {"value": {"from": "join.value"}}},
    },
}


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_bench_dags(dags: Path) -> list[Path]:
    """Write the storm's script and pipeline into ``dags`` (``scripts/``, ``pipelines/``); the files written."""
    written = write_step_script(dags, "storm_step", "Adds one to value (run storm benchmark).", retries=1)
    (dags / "pipelines").mkdir(parents=True, exist_ok=True)
    pipeline = dags / "pipelines" / f"{PIPELINE}.yaml"
    pipeline.write_text(yaml.safe_dump(PIPELINE_SPEC, sort_keys=False))
    return [*written, pipeline]


def write_dags_folder(dags: Path) -> None:
    """A DAGs folder with ylai's generator files and nothing but the storm's script and pipeline."""
    dags.mkdir(parents=True)
    for name in (*GENERATOR_FILES, ".airflowignore"):
        shutil.copy(REPO_ROOT / "dags" / name, dags / name)
    write_bench_dags(dags)


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer, or a transport error (``status`` 0)."""

    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> str:
        """The ``error.code`` of ylai's error envelope, or ``?``."""
        try:
            return str(self.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return "?"


class Api:
    """A thread-safe client of one platform: Bearer token from ``POST /auth/token``, renewed on a 401."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self._token: str | None = None
        self._lock = threading.Lock()

    def _send(self, method: str, path: str, body: Any, token: str | None) -> Answer:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)  # noqa: S310
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - the platform's URL
                return Answer(resp.status, resp.read(), dict(resp.headers), time.monotonic() - started)
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.read(), dict(err.headers), time.monotonic() - started)
        except (OSError, urllib.error.URLError) as exc:  # refused, reset, timed out
            return Answer(0, b"", {}, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")

    def token(self) -> str:
        with self._lock:
            if self._token is None:
                answer = self._send("POST", "/auth/token", {"username": self.username, "password": self.password}, None)
                if answer.status not in (200, 201):
                    raise RuntimeError(f"login failed: {answer.status} {answer.error or answer.body[:300]!r}")
                self._token = str(answer.json()["access_token"])
            return self._token

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        token = self.token()
        answer = self._send(method, path, body, token)
        if answer.status == 401:  # expired token: log in again once
            with self._lock:
                if self._token == token:
                    self._token = None
            answer = self._send(method, path, body, self.token())
        return answer

    def get_json(self, path: str) -> Any:
        """A GET that must succeed (the bench's own bookkeeping; retried on errors for a minute)."""
        deadline = time.monotonic() + 60
        while True:
            answer = self.request("GET", path)
            if answer.status == 200:
                return answer.json()
            if time.monotonic() > deadline:
                raise RuntimeError(f"GET {path}: {answer.status} {answer.error or answer.body[:300]!r}")
            time.sleep(2)


def _retry_after(answer: Answer) -> float:
    try:
        return max(0.0, float(answer.headers.get("Retry-After") or answer.headers.get("retry-after") or 1))
    except ValueError:
        return 1.0


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no answers"
    ordered = sorted(values)

    def pick(q: float) -> float:
        # Nearest rank: the smallest value with at least q of the answers at or below it.
        return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))]

    return (
        f"p50 {pick(0.50) * 1000:.0f} ms, p90 {pick(0.90) * 1000:.0f} ms, p99 {pick(0.99) * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"
    )


# --- the storm ---------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the clients saw, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    run_ids: dict[int, str] = field(default_factory=dict)  # request number -> run id
    lost: dict[int, str] = field(default_factory=dict)  # request number -> last error
    statuses: Counter[str] = field(default_factory=Counter)
    accepted_seconds: list[float] = field(default_factory=list)
    all_seconds: list[float] = field(default_factory=list)
    waited_seconds: float = 0.0
    unsent: int = 0  # requests not sent or answered when the storm was interrupted
    first_sent: float | None = None
    last_accepted: float | None = None

    def record(self, answer: Answer) -> None:
        with self.lock:
            key = str(answer.status) if answer.status else "transport error"
            if answer.status == 429:
                key = f"429 {answer.error_code()}"
            self.statuses[key] += 1
            self.all_seconds.append(answer.seconds)
            if answer.status == 201:
                self.accepted_seconds.append(answer.seconds)


def _client(
    api: Api, task_id: int, todo: queue.Queue[int], ledger: Ledger, give_up: float, stop: threading.Event
) -> None:
    while not stop.is_set():
        try:
            seq = todo.get_nowait()
        except queue.Empty:
            return
        failing_since: float | None = None
        pause = 1.0
        while not stop.is_set():
            with ledger.lock:
                if ledger.first_sent is None:
                    ledger.first_sent = time.monotonic()
            answer = api.request("POST", f"/ylai/api/v1/tasks/{task_id}/run", {"params": {"seq": seq}})
            ledger.record(answer)
            if answer.status == 201:
                with ledger.lock:
                    ledger.run_ids[seq] = str(answer.json()["run_id"])
                    ledger.last_accepted = time.monotonic()
                break
            if answer.status == 429:  # rate limit or backpressure: wait as told, for as long as it takes
                wait = _retry_after(answer)
                with ledger.lock:
                    ledger.waited_seconds += wait
                stop.wait(wait)
                continue
            retriable = answer.status == 0 or answer.status >= 500
            failing_since = failing_since or time.monotonic()
            reason = answer.error or f"{answer.status} {answer.body[:200]!r}"
            if not retriable or time.monotonic() - failing_since > give_up:
                with ledger.lock:
                    ledger.lost[seq] = reason
                break
            stop.wait(pause)
            pause = min(pause * 2, 30.0)


@dataclass
class Monitor:
    """``GET MONITOR_PATH`` polled during the storm."""

    seconds: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


def _monitor(api: Api, interval: float, stop: threading.Event, out: Monitor) -> None:
    while not stop.is_set():
        answer = api.request("GET", MONITOR_PATH)
        out.statuses[str(answer.status) if answer.status else "transport error"] += 1
        if answer.status == 200:
            out.seconds.append(answer.seconds)
        stop.wait(interval)


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def dag_runs(api: Api) -> dict[str, dict[str, Any]]:
    """Every run of the storm's DAG: run id -> the run as Airflow's REST API shows it."""
    runs: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = api.get_json(f"/api/v2/dags/{DAG_ID}/dagRuns?limit=100&offset={offset}&order_by=id")
        for run in page["dag_runs"]:
            runs[run["dag_run_id"]] = run
        offset += len(page["dag_runs"])
        if not page["dag_runs"] or offset >= page["total_entries"]:
            return runs


def finished_task_instances(api: Api) -> int:
    """Task instances of the storm's DAG that ended (success, failed, up for retry): a progress signal."""
    query = "state=success&state=failed&state=up_for_retry&limit=1"
    return int(api.get_json(f"/api/v2/dags/{DAG_ID}/dagRuns/~/taskInstances?{query}")["total_entries"])


# --- RSS -----------------------------------------------------------------------------------------


@dataclass
class Sample:
    """RSS of each component (its process and all descendants) and the component's pid."""

    rss: dict[str, int]
    pids: dict[str, int]


def sample_rss(platform_pid: int) -> Sample:
    """RSS of each of ``COMPONENTS`` under the ``ylai run`` process ``platform_pid``."""
    import psutil

    rss: dict[str, int] = {}
    pids: dict[str, int] = {}
    try:
        children = psutil.Process(platform_pid).children()
    except psutil.NoSuchProcess:
        return Sample(rss, pids)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            cmdline = " ".join(child.cmdline())
            name = next((n for n, marks in COMPONENT_MARKERS.items() if any(m in cmdline for m in marks)), None)
            if name is None:
                continue
            total = child.memory_info().rss
            for proc in child.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += proc.memory_info().rss
            rss[name] = rss.get(name, 0) + total
            pids[name] = child.pid
    return Sample(rss, pids)


def _rss_timeline(start: Sample, timeline: list[tuple[float, dict[str, int]]], columns: int = 8) -> str:
    """Each component's RSS at the start and at ``columns`` evenly spaced moments of the storm."""
    picks = sorted({round(i * (len(timeline) - 1) / max(columns - 1, 1)) for i in range(columns)})
    chosen = [timeline[i] for i in picks]
    headers = ["component", "start", *(f"{t / 60:.1f} min" for t, _ in chosen)]
    rows = [[name, _mib(start.rss.get(name)), *(_mib(rss.get(name)) for _, rss in chosen)] for name in start.rss]
    return str(table(headers, rows))


def _rss_report(start: Sample, end: Sample, peak: dict[str, int]) -> tuple[str, list[str]]:
    rows = []
    notes = []
    for name in COMPONENTS:
        a, b = start.rss.get(name), end.rss.get(name)
        if a is None or b is None:
            rows.append([name, _mib(a), _mib(b), "-", _mib(peak.get(name)), "-"])
            continue
        growth = 100.0 * (b - a) / a
        rows.append([name, _mib(a), _mib(b), f"{growth:+.1f} %", _mib(peak.get(name)), verdict(growth <= RSS_TARGET)])
        if start.pids.get(name) != end.pids.get(name):
            notes.append(f"{name} restarted during the storm (pid {start.pids.get(name)} -> {end.pids.get(name)})")
    total_a, total_b = sum(start.rss.values()), sum(end.rss.values())
    if total_a:
        growth = 100.0 * (total_b - total_a) / total_a
        total_peak = _mib(peak.get("all"))
        rows.append(
            ["all", _mib(total_a), _mib(total_b), f"{growth:+.1f} %", total_peak, verdict(growth <= RSS_TARGET)]
        )
    headers = ["component", "RSS start", "RSS end", "growth", "peak in storm", f"<= {RSS_TARGET:.0f} %"]
    return table(headers, rows), notes


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MiB:.0f} MiB"


# --- orchestration -------------------------------------------------------------------------------


@dataclass
class Platform:
    """Where the storm goes: an API client, and the ``ylai run`` pid for RSS (when local)."""

    api: Api
    pid: int | None
    tail: Callable[[], str]


def _wait(check: Callable[[], Any], timeout: float, what: str, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _prepare(api: Api) -> int:
    """Wait for the DAG, unpause it, save the ylai task; its id."""
    _wait(lambda: api.request("GET", f"/api/v2/dags/{DAG_ID}").status == 200, 600, f"DAG {DAG_ID}")
    if api.get_json(f"/api/v2/dags/{DAG_ID}").get("is_paused"):
        answer = api.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        if answer.status != 200:
            raise RuntimeError(f"unpausing {DAG_ID}: {answer.status} {answer.body[:300]!r}")
    name = f"storm-{uuid.uuid4().hex[:8]}"
    answer = api.request("POST", "/ylai/api/v1/tasks", {"name": name, "pipeline": PIPELINE, "params": {"seq": 0}})
    if answer.status != 201:
        raise RuntimeError(f"creating the task: {answer.status} {answer.body[:300]!r}")
    return int(answer.json()["id"])


def _warm_up(api: Api, task_id: int, timeout: float) -> str:
    """One run through the same route, waited for (the first task after a start is slow); its state."""
    began = time.monotonic()
    while True:
        answer = api.request("POST", f"/ylai/api/v1/tasks/{task_id}/run", {"params": {"seq": 0}})
        if answer.status == 201:
            break
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"warm-up run request: {answer.status} {answer.error or answer.body[:300]!r}")
        time.sleep(_retry_after(answer) if answer.status == 429 else 2)
    run_id = urllib.parse.quote(str(answer.json()["run_id"]), safe="")

    def final() -> str | None:
        state = api.get_json(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").get("state")
        return str(state) if state in FINAL else None

    state = str(_wait(final, timeout, "the warm-up run"))
    _say(f"warm-up run {state} after {time.monotonic() - began:.0f} s (not counted)")
    return state


def _warm_up_batch(api: Api, task_id: int, runs: int, timeout: float) -> int:
    """``runs`` more runs sent at once and waited for (not counted); how many succeeded.

    A component's caches (SQLAlchemy's compiled statements, Airflow's DAG caches) fill with the
    query shapes that concurrent runs produce, not with those of one run: without this, their
    filling counts as growth. 429s (backpressure) are waited out as in the storm.
    """
    began = time.monotonic()
    run_ids: list[str] = []
    for _ in range(runs):
        while True:
            answer = api.request("POST", f"/ylai/api/v1/tasks/{task_id}/run", {"params": {"seq": 0}})
            if answer.status == 201:
                run_ids.append(urllib.parse.quote(str(answer.json()["run_id"]), safe=""))
                break
            if (400 <= answer.status < 500 and answer.status != 429) or time.monotonic() - began > timeout:
                raise RuntimeError(f"warm-up run request: {answer.status} {answer.error or answer.body[:300]!r}")
            time.sleep(_retry_after(answer) if answer.status == 429 else 2)

    def all_final() -> list[str] | None:
        states = [api.get_json(f"/api/v2/dags/{DAG_ID}/dagRuns/{r}").get("state") for r in run_ids]
        return [str(s) for s in states] if all(s in FINAL for s in states) else None

    states = _wait(all_final, timeout, "the warm-up runs")
    ok = sum(1 for s in states if s == "success")
    _say(f"{runs} concurrent warm-up runs ended after {time.monotonic() - began:.0f} s, {ok} succeeded (not counted)")
    return ok


@dataclass
class Outcome:
    """The storm's result, for the report."""

    requested: int
    ledger: Ledger
    monitor: Monitor
    runs: dict[str, dict[str, Any]]
    stuck: list[str]
    interrupted: list[str]  # runs not finished when the storm was interrupted (not stuck)
    storm_seconds: float
    wait_note: str


def storm(
    platform: Platform,
    task_id: int,
    args: argparse.Namespace,
    peak: dict[str, int],
    timeline: list[tuple[float, dict[str, int]]] | None = None,
) -> Outcome:
    """Fire the runs, follow them to the end (or a stall), and return what happened.

    ``peak`` gets the highest RSS of each component, ``timeline`` every RSS sample with its time.
    """
    api = platform.api
    ledger, monitor = Ledger(), Monitor()
    todo: queue.Queue[int] = queue.Queue()
    for seq in range(1, args.runs + 1):
        todo.put(seq)
    stop_clients, stop_monitor = threading.Event(), threading.Event()
    give_up = args.give_up_minutes * 60
    clients = [
        threading.Thread(target=_client, args=(api, task_id, todo, ledger, give_up, stop_clients), daemon=True)
        for _ in range(args.clients)
    ]
    poller = threading.Thread(target=_monitor, args=(api, args.monitor_interval, stop_monitor, monitor), daemon=True)
    began = time.monotonic()
    poller.start()
    for thread in clients:
        thread.start()

    last_signature: tuple[Any, ...] | None = None
    last_change = time.monotonic()
    last_print = 0.0
    runs: dict[str, dict[str, Any]] = {}
    stuck: list[str] = []
    unfinished: list[str] = []
    wait_note = ""
    deadline = began + args.timeout_minutes * 60
    try:
        while True:
            time.sleep(args.poll_interval)
            runs = dag_runs(api)
            done_tis = finished_task_instances(api)
            if platform.pid is not None:
                current = sample_rss(platform.pid)
                for name, value in current.rss.items():
                    peak[name] = max(peak.get(name, 0), value)
                peak["all"] = max(peak.get("all", 0), sum(current.rss.values()))
                if timeline is not None:
                    timeline.append((time.monotonic() - began, dict(current.rss)))
            with ledger.lock:
                accepted = dict(ledger.run_ids)
                lost = len(ledger.lost)
            clients_done = not any(t.is_alive() for t in clients)
            states = Counter(runs[r]["state"] if r in runs else "missing" for r in accepted.values())
            unfinished = [r for r in accepted.values() if r in runs and runs[r]["state"] not in FINAL]
            signature = (tuple(sorted((r, runs[r]["state"]) for r in unfinished)), done_tis, len(accepted))
            now = time.monotonic()
            if signature != last_signature:
                last_signature, last_change = signature, now
            if now - last_print >= args.progress_seconds:
                last_print = now
                _say(
                    f"{now - began:5.0f} s: accepted {len(accepted)}/{args.runs}, lost {lost}, "
                    f"runs {dict(sorted(states.items()))}, task instances ended {done_tis}, "
                    f"429 answers {sum(n for k, n in ledger.statuses.items() if k.startswith('429'))}, "
                    f"monitor GETs {sum(monitor.statuses.values())}, load {_load()}"
                )
            if clients_done and not unfinished:
                break
            if now - last_change > args.stall_minutes * 60:
                stuck = unfinished
                wait_note = f"stalled: nothing changed for {args.stall_minutes:g} min"
                _say(f"{wait_note}; {len(stuck)} run(s) not finished count as stuck")
                break
            if now > deadline:
                stuck = unfinished
                wait_note = f"timed out after {args.timeout_minutes:g} min"
                _say(f"{wait_note}; {len(stuck)} run(s) not finished count as stuck")
                break
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: report what happened so far
        wait_note = "interrupted (Ctrl-C or SIGTERM) before every run ended"
        _say(f"{wait_note}; reporting what happened so far")
    finally:
        stop_clients.set()
        stop_monitor.set()
        for thread in [*clients, poller]:
            thread.join(timeout=max(api.timeout, 10) + 5)
    interrupted = wait_note.startswith("interrupted")
    with ledger.lock:  # requests a stopped client never got a run id for
        for seq in range(1, args.runs + 1):
            if seq not in ledger.run_ids and seq not in ledger.lost:
                if interrupted:
                    ledger.unsent += 1
                else:
                    ledger.lost[seq] = "never answered with a run id before the storm ended"
    runs = dag_runs(api)
    unfinished = [r for r in unfinished if r not in stuck] if interrupted else []
    return Outcome(args.runs, ledger, monitor, runs, stuck, unfinished, time.monotonic() - began, wait_note)


def report(outcome: Outcome, warm_up_run_ids: set[str]) -> bool:
    """Print the figures; whether every request became a run that succeeded."""
    ledger, runs = outcome.ledger, outcome.runs
    accepted = set(ledger.run_ids.values())
    missing = [r for r in accepted if r not in runs]
    states = Counter(runs[r]["state"] for r in accepted if r in runs)
    stuck = set(outcome.stuck)
    unclaimed = [r for r in runs if r not in accepted and r not in warm_up_run_ids]
    lost = len(ledger.lost) + len(missing)
    succeeded, failed = states.get("success", 0), states.get("failed", 0)
    ended = [runs[r] for r in accepted if r in runs and runs[r]["state"] in FINAL]
    queued = [t for t in (_ts(r.get("queued_at")) for r in ended) if t is not None]
    ends = [t for t in (_ts(r.get("end_date")) for r in ended) if t is not None]
    span = (max(ends) - min(queued)) if queued and ends else 0.0
    per_minute = len(ended) / (span / 60) if span > 0 else float("nan")
    durations = sorted(e - q for q, e in ((_ts(r.get("queued_at")), _ts(r.get("end_date"))) for r in ended) if q and e)

    print()
    print(f"runs requested   {outcome.requested}")
    print(f"runs accepted    {len(accepted)}  (got a run id; duplicates: {len(ledger.run_ids) - len(accepted)})")
    print(f"runs succeeded   {succeeded}")
    print(f"runs failed      {failed}")
    print(f"runs lost        {lost}  (no run id: {len(ledger.lost)}; run id unknown to Airflow: {len(missing)})")
    print(f"runs stuck       {len(stuck)}" + (f"  ({outcome.wait_note})" if stuck else ""))
    if outcome.wait_note.startswith("interrupted"):
        print(
            f"interrupted      {ledger.unsent} request(s) never sent or answered, "
            f"{len(outcome.interrupted)} accepted run(s) not finished yet (neither lost nor stuck)"
        )
    print(f"runs unclaimed   {len(unclaimed)}  (runs of {DAG_ID} no request got an id for)")
    print(
        f"throughput       {per_minute:.1f} runs/min  ({len(ended)} runs ended in {span / 60:.1f} min, "
        f"first queued -> last ended; storm wall time {outcome.storm_seconds / 60:.1f} min)"
    )
    if durations:
        mid = durations[len(durations) // 2]
        print(f"run queued->end  median {mid:.0f} s, max {durations[-1]:.0f} s")
    if ledger.first_sent is not None and ledger.last_accepted is not None:
        print(f"requests         all accepted within {(ledger.last_accepted - ledger.first_sent) / 60:.1f} min")
    print(f"run requests     201 answers: {_percentiles(ledger.accepted_seconds)}")
    print(f"                 every answer: {_percentiles(ledger.all_seconds)}")
    answers = dict(sorted(ledger.statuses.items()))
    print(f"                 answers: {answers}; waited for Retry-After {ledger.waited_seconds:.0f} s in all")
    print(f"monitor GET      {MONITOR_PATH}: {_percentiles(outcome.monitor.seconds)}")
    print(f"                 answers: {dict(sorted(outcome.monitor.statuses.items()))}")
    for seq, reason in sorted(ledger.lost.items())[:10]:
        print(f"  lost request {seq}: {reason}")
    for run_id in sorted(stuck)[:10]:
        print(f"  stuck run {run_id}: {runs.get(run_id, {}).get('state')}")
    return lost == 0 and not stuck and failed == 0 and succeeded == len(accepted) == outcome.requested


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="run requests in the storm (default 500, --quick 50)")
    parser.add_argument("--quick", action="store_true", help="50 runs")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients sending run requests (default 4)")
    parser.add_argument(
        "--warm-up-runs",
        type=int,
        default=20,
        help="concurrent runs before the RSS baseline, not counted (default 20; 0: only the one warm-up run)",
    )
    parser.add_argument("--stall-minutes", type=float, default=10, help="no progress this long: the rest is stuck")
    parser.add_argument("--timeout-minutes", type=float, default=240, help="give up waiting after this long")
    parser.add_argument(
        "--give-up-minutes",
        type=float,
        default=10,
        help="a request failing with 5xx/transport errors this long is lost",
    )
    parser.add_argument("--monitor-interval", type=float, default=2.0, help=f"seconds between GETs of {MONITOR_PATH}")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between polls of the runs' states")
    parser.add_argument("--progress-seconds", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="client timeout of one request")
    parser.add_argument(
        "--rate-limit", type=int, help="set ylai's API rate limit (per minute and burst) for the bench's platform"
    )
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"broker for the bench's platform (default {REDIS_URL})")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server on which to create the database")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="more platform settings")
    parser.add_argument("--base-url", help="use this running platform instead of starting one")
    parser.add_argument("--username", default="admin", help="with --base-url")
    parser.add_argument("--password", help="with --base-url")
    parser.add_argument("--dags-folder", type=Path, help="with --base-url: write the storm's pipeline there")
    parser.add_argument("--platform-pid", type=int, help="with --base-url: the `ylai run` pid, for RSS")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args(argv)
    # SIGTERM like Ctrl-C: the storm reports what happened so far, then stops the platform.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args.runs = args.runs or (50 if args.quick else 500)
    if args.base_url and not args.password:
        parser.error("--base-url needs --password")
    extra_env = dict(item.split("=", 1) for item in args.env)
    if args.rate_limit:
        extra_env["AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE"] = str(args.rate_limit)
        extra_env["AIRFLOW__YLAI__RATE_LIMIT_BURST"] = str(args.rate_limit)
    rate_note = (
        f"ylai rate limit set for the bench: {args.rate_limit}/min, burst {args.rate_limit}"
        if args.rate_limit and not args.base_url
        else "ylai rate limit: the platform's (default 600/min per user, burst 120), 429s honoured"
    )
    _say(
        f"run storm: {args.runs} runs of {DAG_ID} (5 nodes + collect_outputs), {args.clients} clients; "
        f"{rate_note}; {machine_note()}"
    )
    if args.base_url:
        return _against_running(args)
    return _with_own_platform(args, extra_env)


def _against_running(args: argparse.Namespace) -> int:
    written: list[Path] = []
    if args.dags_folder:
        written = write_bench_dags(args.dags_folder)
    try:
        api = Api(args.base_url, args.username, args.password, args.request_timeout)
        return _run(Platform(api, args.platform_pid, lambda: ""), args)
    finally:
        if not args.keep:
            for path in written:
                path.unlink(missing_ok=True)


def _with_own_platform(args: argparse.Namespace, extra_env: dict[str, str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="ylai-bench-storm-"))
    try:
        write_dags_folder(work / "dags")
        env = {
            **bytecode_env(work),
            "YLAI_BROKER_URL": args.redis_url,
            "YLAI_ARTIFACTS_ROOT": str(work / "artifacts"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
            # A queue of its own: no worker of another platform on this Redis takes its tasks.
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"ylai-storm-{uuid.uuid4().hex[:8]}",
            **extra_env,
        }
        with platform_on_fresh_database(
            work,
            args.postgres_url,
            db_prefix="ylai_storm",
            admin_password=ADMIN_PASSWORD,
            env=env,
            say=_say,
            stop_timeout=120,
        ) as (platform, _):
            api = Api(platform.base_url, platform.username, ADMIN_PASSWORD, args.request_timeout)
            assert platform.proc is not None
            return _run(Platform(api, platform.proc.pid, lambda: platform.tail(40)), args)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(platform: Platform, args: argparse.Namespace) -> int:
    api = platform.api
    try:
        task_id = _prepare(api)
        warm = _warm_up(api, task_id, timeout=600)
        if warm != "success":
            _say(f"the warm-up run ended {warm}; the storm goes on")
        if args.warm_up_runs > 0:
            _warm_up_batch(api, task_id, args.warm_up_runs, timeout=1800)
        warm_up_ids = set(dag_runs(api))
        time.sleep(10)  # let the warm-up's task processes exit before sampling
        start = sample_rss(platform.pid) if platform.pid is not None else None
        if start is not None:
            _say("RSS after warm-up: " + ", ".join(f"{n} {_mib(v)}" for n, v in start.rss.items()))
        peak: dict[str, int] = {}
        timeline: list[tuple[float, dict[str, int]]] = []
        outcome = storm(platform, task_id, args, peak, timeline)
        time.sleep(15)  # the last runs' task processes exit; the components settle
        end = sample_rss(platform.pid) if platform.pid is not None else None
    except Exception as exc:
        _say(f"FAILED: {type(exc).__name__}: {exc}\n{platform.tail()}")
        return 1
    ok = report(outcome, warm_up_ids)
    if start is not None and end is not None:
        rss_table, notes = _rss_report(start, end, peak)
        print("\nRSS of each component (its process and all descendants), after the warm-up and at the end:")
        print(rss_table)
        for note in notes:
            print(f"  {note}")
        if timeline:
            print("\nRSS during the storm (growth that flattens is caches filling; one that keeps its slope, a leak):")
            print(_rss_timeline(start, timeline))
    else:
        print("\nRSS: not measured (no --platform-pid)")
    if ok:
        result = "every run succeeded"
    elif outcome.wait_note.startswith("interrupted"):
        result = "interrupted before every run ended"
    else:
        result = "runs lost, stuck or failed"
    print(f"\nload average now {_load()}; verdict: {result}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
