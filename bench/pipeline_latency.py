"""Trigger -> success wall time of a 20-node sequential pipeline: ylai defaults vs stock Airflow.

Run from the repository root::

    .venv/bin/python bench/pipeline_latency.py                 # ylai + stock, 3 runs each, ~6 min
    .venv/bin/python bench/pipeline_latency.py --quick         # 1 run each, no warm-up, ~3 min
    .venv/bin/python bench/pipeline_latency.py --candidates    # + 7 candidate tunings, ~20 min
    .venv/bin/python bench/pipeline_latency.py --configs ylai,idle=0.1 --rounds 2 --runs 2
    .venv/bin/python bench/pipeline_latency.py --configs ylai,traced --rounds 2 --runs 2   # tracing cost
    .venv/bin/python bench/pipeline_latency.py --executor celery   # Postgres + Redis + a Celery worker

Each configuration starts the real platform -- ``python -m ylai_plugin.cli run`` through
``tests/integration/running_platform.RunningPlatform`` (own ``AIRFLOW_HOME``, free ports,
SQLite + LocalExecutor) -- with ``AIRFLOW__CORE__DAGS_FOLDER`` pointing at a temporary folder
(a caller's ``AIRFLOW__*`` wins over the platform's defaults). The folder mirrors ``dags/``:
the generator files (``ylai_scripts_<i>.py``, ``ylai_pipelines_<i>.py``, ``ylai_spec_errors.py``),
``.airflowignore``, one
bash script ``chain_step`` (``value + 1``) and the pipeline ``chain20``: 20 nodes, each node's
``value`` bound to the previous node's output (``{from: step_NN.value}``), plus ylai's final
``collect_outputs`` task: 21 task instances in a strict chain. ``--big-catalog`` adds the 200
scripts and 50 pipelines of ``bench/dag_parse_time.py`` to the folder (every task of the
pipeline then imports its ``ylai_pipelines_<i>.py`` with the larger catalog when it starts).

``--executor celery`` runs the platform in its Celery mode instead: ``YLAI_DATABASE_URL`` is a
fresh database ``ylai_bench_latency_<random>`` on the machine's Postgres server (127.0.0.1:5432,
user ``postgres``, trust auth, or ``YLAI_TEST_POSTGRES_URL``), created for the benchmark run and
dropped at its end (on an error or Ctrl-C too); ``YLAI_BROKER_URL`` is the machine's Redis,
database 7, which the tests do not use (or ``YLAI_TEST_REDIS_URL``); and
``AIRFLOW__OPERATORS__DEFAULT_QUEUE`` is a queue of the benchmark run's own, so no other Celery
worker on the machine takes its tasks. ``ylai run`` then also starts a Celery worker, whose idle
CPU (with its pool processes) is a component of its own.

Configurations (each an environment overlay on top of the platform's defaults):

* ``ylai``: the platform defaults (``platform_env.airflow_environment``).
* ``stock``: every performance setting ylai changes put back to Airflow 3.3.2's default
  (``config_templates/config.yml``): ``[scheduler] scheduler_idle_sleep_time=1``,
  ``[dag_processor] refresh_interval=300``, ``min_file_process_interval=30``,
  ``[core] parallelism=32``, ``dags_are_paused_at_creation=True`` (the DAG is then unpaused
  through the REST API). ``load_examples`` stays ``False`` in both, so both parse the same DAGs.
  With ``--executor celery`` it also puts back Airflow's Celery defaults ylai changes
  (``STOCK_CELERY``): ``[celery] worker_concurrency=16``, ``celery_config_options`` (Airflow's
  ``DEFAULT_CELERY_CONFIG``, without ylai's broker-outage retries and resource sampler) and
  ``task_publish_max_retries=3``.
* ``traced``: the platform defaults with tracing on (issue 18): ``OTEL_EXPORTER_OTLP_ENDPOINT``
  points at a real OTLP/HTTP receiver in this process (``tests/otlp_receiver.py``, decoding every
  export), so every component exports its spans (the scheduler's ``dag_run``, the execution
  API's ``task_run``, each task runner's ``worker.*`` and ScriptOperator's ``ylai.script``) and
  each task process flushes them before it exits. The ratio traced/ylai is printed (target
  <= 1.05: within 5 %) with the number of spans received.
* candidates (``--candidates``, or by name in ``--configs``): see ``CANDIDATES``.

Configurations run one after the other (never two platforms at once on 2 cores), sharing one
``AIRFLOW_HOME`` (and with Celery one Postgres database) so that only the first pays the fresh
database migration. Per configuration:
start, wait for the banner and the DAG, one warm-up run (not counted: the first task after a
start waits seconds for the cold execution API), then ``--runs`` runs; ``--rounds 2`` goes
through the configurations twice (A, B, A, B) to spread slow drifts of a shared machine.
Each run is triggered with ``POST /api/v2/dags/{id}/dagRuns`` and polled every 0.25 s; the
figures are the server's ``end_date - queued_at`` of the run (the client-side trigger -> seen
successful time is printed too) and, from the task instances, the mean task duration
(``start_date -> end_date``: task-runner start, DAG-file parse, script, state/XCom calls) and
the mean gap between a task's upstream ending and the task starting (scheduler loop, queueing,
executor hand-off, supervisor fork). After the runs it measures, over ``--idle-seconds``, the
CPU each component uses while nothing runs (a shorter scheduler sleep is not free on 2 cores):
each process ``ylai run`` started, with its live and reaped descendants (the LocalExecutor's
workers under the scheduler, the Celery worker's pool processes under the worker).
Every platform is stopped with SIGTERM and, if anything survives, killed.

Bytecode is cached in a temporary ``PYTHONPYCACHEPREFIX`` as in an installed venv, even if
``PYTHONDONTWRITEBYTECODE`` is exported (``--no-bytecode-cache`` keeps it: every task process
then compiles the modules it imports, ~0.1 s more per task).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from _common import (  # bench/ is sys.path[0]
    GENERATOR_FILES,
    REPO_ROOT,
    bytecode_env,
    bytecode_note,
    machine_note,
    median,
    ratio,
    table,
    verdict,
    write_step_script,
)

sys.path.insert(0, str(REPO_ROOT))
import tests.conftest  # imported by running_platform anyway; it makes a throw-away AIRFLOW_HOME
from tests.integration.running_platform import RunningPlatform, postgres_database

shutil.rmtree(tests.conftest._HOME, ignore_errors=True)  # not used here: each platform gets its own home

TARGET_RATIO = 4.0  # issue 21: the chain >= 4x stock Airflow's speed, on both executors
TRACED_TARGET = 1.05  # tracing on may cost at most 5 % of the run's wall time (issue 18)
IDLE_TARGET = 2.0  # issue 21: idle CPU of all components <= 2x stock's
NEW_SCRIPT_TARGET = 20.0  # issue 21: ... while a new script shows up within 20 s
FANOUT_TARGET = 1.5  # issue 21: 1 -> 16 -> 1 within 1.5x its longest branch (+ the chain's per-task cost)
BIG_CATALOG_TARGET = 1.10  # issue 21: the chain with the big catalog within 10 % of the default one
BIG = "+big"  # a configuration name suffix: the same overlay on the DAGs folder with the big catalog
DAG_ID = "pipeline__chain20"
FANOUT_DAG_ID = "pipeline__fanout16"
FANOUT_WIDTH = 16
FANOUT_SLEEP = 5  # seconds each branch sleeps: 16 of them one after the other would take 80 s
# A script that sleeps --seconds, then writes {"value": <--value> + 1}: the fan-out's branches.
SLEEP_SCRIPT = """#!/usr/bin/env bash
value=0
seconds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --value) value="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) shift ;;
  esac
done
sleep "$seconds"
printf '{"value": %d}' "$((value + 1))" > "$YLAI_RESULT_FILE"
"""
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throw-away platform on localhost

_S = "AIRFLOW__SCHEDULER__"
_DP = "AIRFLOW__DAG_PROCESSOR__"
_CORE = "AIRFLOW__CORE__"
_CELERY = "AIRFLOW__CELERY__"

POSTGRES_URL = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Database 7: the tests use 0 (YLAI_TEST_REDIS_URL's default), run_storm.py 9.
REDIS_URL = os.environ.get("YLAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
EXECUTORS = {"local": "LocalExecutor + SQLite", "celery": "CeleryExecutor + Postgres + Redis"}

STOCK = {
    f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "1",
    f"{_DP}REFRESH_INTERVAL": "300",
    f"{_DP}MIN_FILE_PROCESS_INTERVAL": "30",
    f"{_CORE}PARALLELISM": "32",
    f"{_CORE}DAGS_ARE_PAUSED_AT_CREATION": "True",
}
# With --executor celery, "stock" also gets back Airflow's defaults (the celery provider's
# config) of the [celery] settings ylai run changes (platform_env.airflow_environment). The
# broker, result backend, visibility_timeout (Airflow's own default, only said out loud) and
# ylai's monitor cache are not performance settings Airflow has a different default for.
STOCK_CELERY = {
    # ylai runs 4 pool processes on a small machine; Airflow forks 16, each idling in the worker.
    f"{_CELERY}WORKER_CONCURRENCY": "16",
    # ylai's config is Airflow's plus broker-outage retries and a resource sampler in the worker.
    f"{_CELERY}CELERY_CONFIG_OPTIONS": "airflow.providers.celery.executors.default_celery.DEFAULT_CELERY_CONFIG",
    # ylai retries a publish that timed out 300 times (riding out a broker outage); Airflow 3 times.
    f"{_CELERY}TASK_PUBLISH_MAX_RETRIES": "3",
}
CANDIDATES: dict[str, dict[str, str]] = {
    # The scheduler sleeps this long after a loop that neither queued a task nor saw one
    # finish; in a chain almost every loop is idle while a task runs.
    "idle=0.1": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.1"},
    "idle=0.12": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.12"},
    "idle=0.15": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.15"},
    "idle=0.05": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.05"},
    # Re-parsing the DAG files every 10 s costs CPU on 2 cores while tasks run.
    "min_file=30": {f"{_DP}MIN_FILE_PROCESS_INTERVAL": "30"},
    # With the catalog watch, the per-file timer is only a safety net: how long may it be?
    "min_file=300": {f"{_DP}MIN_FILE_PROCESS_INTERVAL": "300"},
    "idle=0.1+min_file=30": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.1", f"{_DP}MIN_FILE_PROCESS_INTERVAL": "30"},
    # One parsing process instead of two leaves a core for the task runner.
    "idle=0.1+parsing_processes=1": {f"{_S}SCHEDULER_IDLE_SLEEP_TIME": "0.1", f"{_DP}PARSING_PROCESSES": "1"},
    # The LocalExecutor forks [core] parallelism workers up front, all waiting on one queue;
    # these two separate its effect on the queued -> start time from the scheduler sleep's.
    "parallelism=4": {f"{_CORE}PARALLELISM": "4"},
    "stock+parallelism=8": {**STOCK, f"{_CORE}PARALLELISM": "8"},
}
# The endpoint is filled in by main() once the receiver listens.
TRACED: dict[str, str] = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
CONFIGS: dict[str, dict[str, str]] = {"ylai": {}, "stock": STOCK, "traced": TRACED, **CANDIDATES}


def configs_for(executor: str) -> dict[str, dict[str, str]]:
    """Each configuration's overlay for ``executor``: with Celery, stock also has ``STOCK_CELERY``."""
    if executor != "celery":
        return CONFIGS
    return CONFIGS | {
        "stock": STOCK | STOCK_CELERY,
        "stock+parallelism=8": CONFIGS["stock+parallelism=8"] | STOCK_CELERY,
    }


def chain_pipeline(nodes: int) -> dict[str, Any]:
    """The ``chain20`` pipeline spec: ``step_01`` -> ... -> ``step_<nodes>``, bound by ``value``."""
    spec: dict[str, Any] = {}
    for k in range(1, nodes + 1):
        value: Any = 0 if k == 1 else {"from": f"step_{k - 1:02d}.value"}
        spec[f"step_{k:02d}"] = {"script": "chain_step", "params": {"value": value}}
    return {
        "name": "chain20",
        "description": f"{nodes} trivial steps in a chain (pipeline latency benchmark).",
        "owner": "bench",
        "tags": ["bench"],
        "retries": 0,
        "nodes": spec,
    }


def fanout_pipeline(width: int = FANOUT_WIDTH, seconds: int = FANOUT_SLEEP) -> dict[str, Any]:
    """The ``fanout16`` pipeline: ``start`` -> ``branch_01`` .. ``branch_<width>`` (each sleeping) -> ``join``."""
    nodes: dict[str, Any] = {"start": {"script": "chain_step", "params": {"value": 0}}}
    branches = [f"branch_{k:02d}" for k in range(1, width + 1)]
    for name in branches:
        nodes[name] = {"script": "sleep_step", "params": {"value": {"from": "start.value"}, "seconds": seconds}}
    nodes["join"] = {
        "script": "chain_step",
        "params": {"value": {"from": f"{branches[0]}.value"}},
        "depends_on": branches[1:],
    }
    return {
        "name": "fanout16",
        "description": f"1 -> {width} parallel {seconds} s sleeps -> 1 (pipeline latency benchmark).",
        "owner": "bench",
        "tags": ["bench"],
        "retries": 0,
        "nodes": nodes,
    }


def write_sleep_script(dags: Path) -> None:
    """The ``sleep_step`` bash script of the fan-out's branches, with its manifest."""
    description = "Sleeps, then adds one to value (pipeline latency benchmark's fan-out)."
    seconds = {"seconds": {"type": "integer", "default": 0, "minimum": 0}}
    write_step_script(dags, "sleep_step", description, retries=0, body=SLEEP_SCRIPT, extra_params=seconds)


def write_dags_folder(dags: Path, nodes: int, big_catalog: bool) -> None:
    """The benchmark's DAGs folder (see the module docstring)."""
    if big_catalog:
        from dag_parse_time import generate_dags_folder

        generate_dags_folder(dags)
    else:
        (dags / "scripts").mkdir(parents=True)
        (dags / "pipelines").mkdir()
        for name in (*GENERATOR_FILES, ".airflowignore"):
            shutil.copy(REPO_ROOT / "dags" / name, dags / name)
    write_step_script(dags, "chain_step", "Adds one to value (pipeline latency benchmark).", retries=0)
    (dags / "pipelines" / "chain20.yaml").write_text(yaml.safe_dump(chain_pipeline(nodes), sort_keys=False))
    write_sleep_script(dags)
    (dags / "pipelines" / "fanout16.yaml").write_text(yaml.safe_dump(fanout_pipeline(), sort_keys=False))


@dataclass
class RunResult:
    """One measured run."""

    server_seconds: float
    client_seconds: float
    task_count: int
    mean_task_seconds: float
    mean_gap_seconds: float
    mean_react_seconds: float  # upstream end_date -> scheduled_when: the scheduler noticing
    mean_queued_to_start: float


@dataclass
class ConfigResult:
    """All runs of one configuration."""

    name: str
    overrides: dict[str, str]
    runs: list[RunResult] = field(default_factory=list)
    idle_cpu: list[dict[str, float]] = field(default_factory=list)  # component -> % of one core
    fanout: list[FanoutResult] = field(default_factory=list)
    new_script_seconds: list[float] = field(default_factory=list)  # a new script's file -> its DAG in the API
    error: str | None = None


@dataclass
class FanoutResult:
    """One run of the fan-out pipeline."""

    server_seconds: float
    longest_branch_seconds: float  # the slowest branch's TI start -> end
    branches_at_once: int  # the most branches running at the same moment


def _ts(value: str | None) -> float:
    assert value, "missing timestamp"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _wait(check: Any, timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def _finished_run(platform: RunningPlatform, dag_id: str, timeout: float) -> tuple[dict[str, Any], list[Any], float]:
    """Trigger ``dag_id``, wait for success: the run, its task instances by start, the client's seconds."""
    started = time.monotonic()
    run_id = platform.trigger(dag_id)
    quoted = urllib.parse.quote(run_id, safe="")

    def final() -> dict[str, Any] | None:
        run: dict[str, Any] = platform.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}").json()
        return run if run.get("state") in ("success", "failed") else None

    run = _wait(final, timeout, f"run {run_id}", interval=0.25)
    client = time.monotonic() - started
    if run["state"] != "success":
        raise RuntimeError(f"run {run_id} of {dag_id} ended {run['state']} (platform log below)")
    tis = platform.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=200").json()
    return run, sorted(tis["task_instances"], key=lambda ti: _ts(ti["start_date"])), client


def _fanout_once(platform: RunningPlatform, timeout: float) -> FanoutResult:
    run, items, _ = _finished_run(platform, FANOUT_DAG_ID, timeout)
    branches = [(_ts(ti["start_date"]), _ts(ti["end_date"])) for ti in items if ti["task_id"].startswith("branch_")]
    at_once = max(sum(1 for s, e in branches if s <= start < e) for start, _ in branches)
    return FanoutResult(
        server_seconds=_ts(run["end_date"]) - _ts(run["queued_at"]),
        longest_branch_seconds=max(e - s for s, e in branches),
        branches_at_once=at_once,
    )


def _new_script_seconds(platform: RunningPlatform, dags: Path, timeout: float = 120) -> float:
    """Seconds from a new script's files in the DAGs folder to its DAG in Airflow's API (then removed)."""
    name = f"probe_{int(time.time() * 1000) % 10**9}"
    began = time.monotonic()
    files = write_step_script(dags, name, "A new script appearing (pipeline latency benchmark).", retries=0)
    try:
        _wait(lambda: platform.request("GET", f"/api/v2/dags/script__{name}").status == 200, timeout, name, 0.25)
        return time.monotonic() - began
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def _run_once(platform: RunningPlatform, timeout: float) -> RunResult:
    run, items, client = _finished_run(platform, DAG_ID, timeout)
    durations = [_ts(ti["end_date"]) - _ts(ti["start_date"]) for ti in items]
    gaps = [_ts(b["start_date"]) - _ts(a["end_date"]) for a, b in itertools.pairwise(items)]
    react = [_ts(b["scheduled_when"]) - _ts(a["end_date"]) for a, b in itertools.pairwise(items)]
    queued = [_ts(ti["start_date"]) - _ts(ti["queued_when"]) for ti in items if ti.get("queued_when")]
    return RunResult(
        server_seconds=_ts(run["end_date"]) - _ts(run["queued_at"]),
        client_seconds=client,
        task_count=len(items),
        mean_task_seconds=sum(durations) / len(durations),
        mean_gap_seconds=sum(gaps) / max(len(gaps), 1),
        mean_react_seconds=sum(react) / max(len(react), 1),
        mean_queued_to_start=sum(queued) / max(len(queued), 1),
    )


def _stop(platform: RunningPlatform) -> str:
    try:
        rc, survivors = platform.stop(signal.SIGTERM, timeout=90)
    finally:
        platform.kill()
    return "" if rc == 0 and not survivors else f" (stop: exit {rc}, {len(survivors)} survivors killed)"


COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# How each component's process shows in ps. The api-server retitles itself
# "airflow api_server -- host:... port:..." (its uvicorn workers are its children), the Celery
# worker (``airflow celery worker``) "[celeryd: ...] (celery worker)" (its prefork pool too).
CELERY_WORKER = "celery-worker"
_MARKERS = {
    **{c: (c,) for c in COMPONENTS},
    "api-server": ("api-server", "api_server"),
    CELERY_WORKER: ("celery worker", "celeryd"),
}


def components_for(executor: str) -> tuple[str, ...]:
    """The components whose idle CPU is measured: with Celery, the worker too."""
    return (*COMPONENTS, CELERY_WORKER) if executor == "celery" else COMPONENTS


def _component_name(cmdline: str, components: tuple[str, ...]) -> str | None:
    return next((c for c in components if any(m in cmdline for m in _MARKERS[c])), None)


def _component_cpu(platform: RunningPlatform, components: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds used so far by each component, including its live and reaped descendants."""
    import psutil

    assert platform.proc is not None
    totals = dict.fromkeys(components, 0.0)
    try:
        children = psutil.Process(platform.proc.pid).children()
    except psutil.NoSuchProcess:
        return totals
    for comp in children:
        try:
            name = _component_name(" ".join(comp.cmdline()), components)
            if name is None:
                continue
            t = comp.cpu_times()
            seconds = t.user + t.system + t.children_user + t.children_system
            for child in comp.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    ct = child.cpu_times()
                    seconds += ct.user + ct.system
            totals[name] += seconds
        except psutil.NoSuchProcess:
            continue
    return totals


def _idle_cpu(platform: RunningPlatform, seconds: float, components: tuple[str, ...]) -> dict[str, float]:
    """Percent of one core each component uses while nothing runs, over ``seconds``."""
    before, started = _component_cpu(platform, components), time.monotonic()
    time.sleep(seconds)
    after, elapsed = _component_cpu(platform, components), time.monotonic() - started
    usage = {name: 100 * max(0.0, after[name] - before[name]) / elapsed for name in components}
    usage["all"] = sum(usage.values())
    return usage


@dataclass(frozen=True)
class Setup:
    """What every configuration of one benchmark run shares."""

    home: Path
    dags: Path
    runs: int
    warmup: bool
    timeout: float
    bytecode_cache: bool
    idle_seconds: float
    components: tuple[str, ...]
    executor_env: dict[str, str]  # Celery: the database, broker and queue; empty for LocalExecutor
    fanout_runs: int = 1
    big_dags: Path | None = None  # the DAGs folder with the big catalog, for configurations named "...+big"


def _measure_config(result: ConfigResult, setup: Setup) -> None:
    name, overrides = result.name, result.overrides
    home, runs, timeout, idle_seconds = setup.home, setup.runs, setup.timeout, setup.idle_seconds
    dags = setup.big_dags if name.endswith(BIG) and setup.big_dags is not None else setup.dags
    env = {
        **bytecode_env(home.parent, setup.bytecode_cache),
        **setup.executor_env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "YLAI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "YLAI_ARTIFACTS_ROOT": str(home.parent / "artifacts"),
        **overrides,
    }
    platform = RunningPlatform(home, env)
    began = time.monotonic()
    platform.start()
    note = ""
    try:
        platform.wait_ready(timeout=300)
        for dag_id in (DAG_ID, FANOUT_DAG_ID) if setup.fanout_runs else (DAG_ID,):
            _wait(lambda d=dag_id: platform.request("GET", f"/api/v2/dags/{d}").status == 200, 300, f"DAG {dag_id}")
            if platform.request("GET", f"/api/v2/dags/{dag_id}").json().get("is_paused"):
                resp = platform.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
                assert resp.status == 200, resp.body[:300]
        print(f"  [{name}] platform up and DAG parsed after {time.monotonic() - began:.0f} s", flush=True)
        for attempt in range(2 if setup.warmup else 0):
            try:
                first = _run_once(platform, timeout)
            except RuntimeError as exc:  # on a busy machine the cold first task can time out
                print(f"  [{name}] warm-up run {attempt + 1} failed ({exc}); trying again", flush=True)
                continue
            print(f"  [{name}] warm-up run: {first.server_seconds:.1f} s (not counted)", flush=True)
            break
        for i in range(runs):
            run = _run_once(platform, timeout)
            result.runs.append(run)
            print(
                f"  [{name}] run {i + 1}/{runs}: {run.server_seconds:.1f} s "
                f"({run.task_count} tasks, mean task {run.mean_task_seconds:.2f} s, "
                f"mean gap {run.mean_gap_seconds:.2f} s)",
                flush=True,
            )
        for i in range(setup.fanout_runs):
            fan = _fanout_once(platform, timeout)
            result.fanout.append(fan)
            print(
                f"  [{name}] fan-out run {i + 1}/{setup.fanout_runs}: {fan.server_seconds:.1f} s "
                f"(longest branch {fan.longest_branch_seconds:.1f} s, {fan.branches_at_once} branches at once)",
                flush=True,
            )
        if idle_seconds > 0:
            time.sleep(2)  # let the last run's processes exit
            usage = _idle_cpu(platform, idle_seconds, setup.components)
            result.idle_cpu.append(usage)
            print(f"  [{name}] idle CPU over {idle_seconds:.0f} s: {_fmt_cpu(usage)}", flush=True)
        if name.startswith("ylai"):  # after the idle figure: the new script has its DAG files parsed
            seconds = _new_script_seconds(platform, dags)
            result.new_script_seconds.append(seconds)
            print(f"  [{name}] a new script's DAG showed up after {seconds:.1f} s", flush=True)
    except Exception as exc:  # report and go on with the next configuration
        result.error = f"{type(exc).__name__}: {exc}"
        print(f"  [{name}] FAILED: {result.error}\n{platform.tail(30)}", flush=True)
    finally:
        note = _stop(platform)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  [{name}] platform stopped{note}; load average {load}", flush=True)


def _fmt_cpu(usage: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.0f}%" for name, value in usage.items())


def _idle(r: ConfigResult, component: str) -> str:
    return f"{median([u[component] for u in r.idle_cpu]):.0f}%" if r.idle_cpu else "-"


def _report(results: list[ConfigResult], nodes: int, executor: str) -> None:
    celery = executor == "celery"
    headers = [
        f"config ({'CeleryExecutor' if celery else 'LocalExecutor'})",
        "runs",
        "median total",
        "client",
        "per task",
        "task run",
        "gap",
        "of which react",
        "queued->start",
        "idle CPU sched",
        *(["idle CPU worker"] if celery else []),
        "idle CPU all",
        "fan-out",
        "longest branch",
        "new script",
    ]
    rows = []
    for r in results:
        if not r.runs:
            rows.append([r.name, "0", "failed", *[""] * (len(headers) - 3)])
            continue
        seconds = median([x.server_seconds for x in r.runs])
        tasks = r.runs[0].task_count
        rows.append(
            [
                r.name,
                str(len(r.runs)),
                f"{seconds:.1f} s",
                f"{median([x.client_seconds for x in r.runs]):.1f} s",
                f"{seconds / tasks:.2f} s",
                f"{median([x.mean_task_seconds for x in r.runs]):.2f} s",
                f"{median([x.mean_gap_seconds for x in r.runs]):.2f} s",
                f"{median([x.mean_react_seconds for x in r.runs]):.2f} s",
                f"{median([x.mean_queued_to_start for x in r.runs]):.2f} s",
                _idle(r, "scheduler"),
                *([_idle(r, CELERY_WORKER)] if celery else []),
                _idle(r, "all"),
                f"{median([f.server_seconds for f in r.fanout]):.1f} s" if r.fanout else "-",
                f"{median([f.longest_branch_seconds for f in r.fanout]):.1f} s" if r.fanout else "-",
                f"{median(r.new_script_seconds):.1f} s" if r.new_script_seconds else "-",
            ]
        )
    print(
        f"\n{nodes}-node chain + collect_outputs on {EXECUTORS[executor]}, trigger -> success "
        "(server: run end_date - queued_at):"
    )
    print(table(headers, rows))
    print(
        "(per task = total / task instances; task run = mean TI start->end; gap = mean upstream end -> "
        "TI start; react = mean upstream end -> TI scheduled_when, the scheduler noticing (what "
        "scheduler_idle_sleep_time drives); queued->start = mean TI queued_when -> start_date;\nidle CPU = % of "
        f"one core used by the scheduler / {'the Celery worker with its pool / ' if celery else ''}all "
        "components while no DAG runs; fan-out = trigger -> success of start -> 16 branches sleeping "
        f"{FANOUT_SLEEP} s -> join; longest branch = its slowest branch's TI start -> end; new script = "
        "a new script's files written -> its DAG in the API)"
    )
    for r in results:
        print(f"  {r.name}: {', '.join(f'{k}={v}' for k, v in r.overrides.items()) or 'platform defaults'}")
    by_name = {r.name: r for r in results if r.runs}

    def total(name: str) -> float:
        return median([x.server_seconds for x in by_name[name].runs])

    if "ylai" in by_name and "stock" in by_name:
        stock_ratio = ratio(total("stock"), total("ylai"))
        print(
            f"ratio stock/ylai: {stock_ratio:.2f}  target >= {TARGET_RATIO:.1f}: {verdict(stock_ratio >= TARGET_RATIO)}"
        )
    _issue_21_verdicts(by_name, total)
    if "ylai" in by_name and "traced" in by_name:
        cost = ratio(total("traced"), total("ylai"))
        print(
            f"ratio traced/ylai: {cost:.3f} ({total('traced'):.1f} s vs {total('ylai'):.1f} s)  "
            f"target <= {TRACED_TARGET:.2f}: {verdict(cost <= TRACED_TARGET)}"
        )
    if "ylai" in by_name:
        ylai = total("ylai")
        for r in results:
            if r.name not in ("ylai", "stock", "traced") and r.runs:
                other = median([x.server_seconds for x in r.runs])
                speed = ratio(ylai, other)
                print(f"  {r.name}: {speed:.2f}x the speed of ylai defaults ({other:.1f} s vs {ylai:.1f} s)")


def _issue_21_verdicts(by_name: dict[str, ConfigResult], total: Any) -> None:
    """Issue 21's targets 2-4, for the configurations measured (target 1 is the stock/ylai ratio)."""

    def idle_all(name: str) -> float | None:
        r = by_name.get(name)
        return median([u["all"] for u in r.idle_cpu]) if r is not None and r.idle_cpu else None

    for suffix in ("", BIG):
        ylai, stock = idle_all("ylai" + suffix), idle_all("stock" + suffix)
        if ylai is not None and stock is not None:
            share = ratio(ylai, stock)
            print(
                f"idle CPU ylai{suffix}/stock{suffix}: {share:.2f} ({ylai:.1f} % vs {stock:.1f} % of a core)  "
                f"target <= {IDLE_TARGET:.1f}: {verdict(share <= IDLE_TARGET)}"
            )
    for name, r in by_name.items():
        if r.new_script_seconds:
            seconds = max(r.new_script_seconds)
            print(
                f"{name}: a new script showed up after {seconds:.1f} s  "
                f"target <= {NEW_SCRIPT_TARGET:.0f} s: {verdict(seconds <= NEW_SCRIPT_TARGET)}"
            )
        if r.fanout and r.runs:
            per_task = median([x.server_seconds / x.task_count for x in r.runs])
            fan = median([f.server_seconds for f in r.fanout])
            branch = median([f.longest_branch_seconds for f in r.fanout])
            # start, join and collect_outputs run one after the other around the branches
            limit = FANOUT_TARGET * branch + 3 * per_task
            at_once = min(f.branches_at_once for f in r.fanout)
            print(
                f"{name}: fan-out {fan:.1f} s, limit {FANOUT_TARGET} x {branch:.1f} s (longest branch) + 3 x "
                f"{per_task:.2f} s (chain per task) = {limit:.1f} s, {at_once} of {FANOUT_WIDTH} branches at once  "
                f"target: {verdict(fan <= limit and at_once == FANOUT_WIDTH)}"
            )
    for name in [n for n in by_name if n.endswith(BIG)]:
        base = name.removesuffix(BIG)
        if base in by_name:
            slower = ratio(total(name), total(base))
            print(
                f"{name}/{base}: {slower:.3f} ({total(name):.1f} s vs {total(base):.1f} s)  "
                f"target <= {BIG_CATALOG_TARGET:.2f}: {verdict(slower <= BIG_CATALOG_TARGET)}"
            )


@contextlib.contextmanager
def celery_environment() -> Iterator[dict[str, str]]:
    """The Celery mode's platform environment: a fresh database, the machine's Redis, a queue of its own.

    One database for the whole benchmark run, shared by its configurations as the ``AIRFLOW_HOME``
    (and its SQLite file) is with LocalExecutor: only the first start pays the migration, and
    both executors compare configurations under the same conditions. The few dozen runs the
    configurations leave behind are too few rows to slow the ones after them, and ``--rounds 2``
    (A, B, A, B) spreads what they do. One queue for the whole run too: each task's queue is
    stored in the serialized DAG, which the next configuration reads until it re-parses the file.
    The database is dropped on the way out, whatever happened (an error, Ctrl-C).
    """
    queue = f"ylai-bench-latency-{uuid.uuid4().hex[:8]}"
    with postgres_database(POSTGRES_URL, "ylai_bench_latency") as db_url:
        name = urllib.parse.urlsplit(db_url).path[1:]
        print(f"Celery mode: database {name}, broker {REDIS_URL}, queue {queue}", flush=True)
        try:
            yield {
                "YLAI_DATABASE_URL": db_url,
                "YLAI_BROKER_URL": REDIS_URL,
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            }
        finally:
            _forget_queue(queue)
    print(f"dropped database {name}", flush=True)


def _forget_queue(queue: str) -> None:
    """Remove what kombu keeps in Redis for ``queue`` (its list and binding), best effort."""
    import redis

    with contextlib.suppress(redis.RedisError), redis.Redis.from_url(REDIS_URL) as client:
        client.delete(queue, f"_kombu.binding.{queue}")


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SystemExit unwinds like Ctrl-C: every platform is stopped and the database dropped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 run per configuration and no warm-up run")
    parser.add_argument("--runs", type=int, help="measured runs per platform start (default 3, --quick 1)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="go through the configurations this many times (A, B, A, B...)"
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the uncounted first run")
    parser.add_argument("--configs", default="ylai,stock", help=f"comma-separated, from: {', '.join(CONFIGS)}")
    parser.add_argument(
        "--executor",
        choices=sorted(EXECUTORS),
        default="local",
        help="local: SQLite + LocalExecutor; celery: a fresh Postgres database, Redis and a Celery worker",
    )
    parser.add_argument("--candidates", action="store_true", help="also run every candidate tuning")
    parser.add_argument("--nodes", type=int, default=20, help="pipeline length (default 20)")
    parser.add_argument("--big-catalog", action="store_true", help="add 200 scripts + 50 pipelines to the folder")
    parser.add_argument(
        "--fanout-runs", type=int, default=1, help="runs of the 1 -> 16 -> 1 fan-out per start (0: skip)"
    )
    parser.add_argument("--run-timeout", type=float, default=600, help="seconds to wait for one run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, SQLite DB)")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="keep the caller's PYTHONDONTWRITEBYTECODE")
    parser.add_argument(
        "--idle-seconds", type=float, default=20, help="measure idle CPU this long after the runs (0: skip)"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    if args.candidates:
        names += [n for n in CANDIDATES if n not in names]
    unknown = [n for n in names if n.removesuffix(BIG) not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    work = Path(tempfile.mkdtemp(prefix="ylai-bench-latency-"))
    dags = work / "dags"
    write_dags_folder(dags, args.nodes, args.big_catalog)
    print(
        f"{args.nodes}-node pipeline on {EXECUTORS[args.executor]}, configs {names} x {args.rounds} round(s), "
        f"{runs} run(s) per start"
        f"{'' if args.quick or args.no_warmup else ' after a warm-up run'}; "
        f"{machine_note()}; "
        f"{bytecode_note(not args.no_bytecode_cache)}; tmp: {work}",
        flush=True,
    )
    receiver = None
    if "traced" in names:
        from tests.otlp_receiver import OtlpReceiver

        receiver = OtlpReceiver().start()
        TRACED["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    overlays = configs_for(args.executor)
    results = {name: ConfigResult(name, overlays[name.removesuffix(BIG)]) for name in names}
    big_dags = None
    if any(name.endswith(BIG) for name in names):
        big_dags = work / "dags-big"
        write_dags_folder(big_dags, args.nodes, big_catalog=True)
    began = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            executor_env = stack.enter_context(celery_environment()) if args.executor == "celery" else {}
            setup = Setup(
                home=work / "home",
                dags=dags,
                runs=runs,
                warmup=not (args.quick or args.no_warmup),
                timeout=args.run_timeout,
                bytecode_cache=not args.no_bytecode_cache,
                idle_seconds=args.idle_seconds,
                components=components_for(args.executor),
                executor_env=executor_env,
                fanout_runs=args.fanout_runs,
                big_dags=big_dags,
            )
            for _ in range(args.rounds):
                for name in names:
                    _measure_config(results[name], setup)
        _report(list(results.values()), args.nodes, args.executor)
        print(
            f"total wall time {time.monotonic() - began:.0f} s; load average now "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        if receiver is not None:
            print(f"spans received from the traced platform: {len(receiver.all_spans())} ({receiver.requests} exports)")
    finally:
        if receiver is not None:
            receiver.stop()
        if args.keep:
            print(f"kept {work} (platform log: {work / 'home-ylai-run.log'})")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.error is None for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
