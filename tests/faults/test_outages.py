"""The three faults of issue 16's table, injected into one ``ylai run`` (Postgres + Redis + Celery).

In order, on one platform (starting one costs a minute and a half): the Celery worker's whole
process tree SIGKILLed mid-task, the broker (Redis) killed and restarted with runs in flight,
and the metadata database (Postgres) stopped for 60 s with runs in flight. After each, every
run ends in success and every component of ``ylai run`` runs, without anyone acting.

The platform runs with ``ylai run``'s defaults; the only bounds asserted on time are the issue's
acceptance criteria (a lost task retried within 60 s, no API call hanging), and the measured
figures are in the assertion messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psutil
import pytest

from tests.faults.platform_checks import (
    Answer,
    celery_worker_tree,
    missing_components,
    probe,
    run_states,
    task_state,
    timestamp,
    tries,
    wait_all_components,
)
from tests.faults.services import DedicatedPostgres, DedicatedRedis, wait_port_closed
from tests.integration.running_platform import RunningPlatform, wait_until
from ylai_plugin.config import REQUEST_TIMEOUT

# One platform for the three faults: its start (and the sleeper's DAG) may take minutes on a busy machine.
pytestmark = pytest.mark.timeout(1200)

SLEEPER = "fault_sleeper"
SLEEPER_DAG = f"script__{SLEEPER}"
# Two tasks in a row: the second is queued while the first one's fault happens. A plain DAG file, quick
# to parse even on a busy machine (a pipeline's file has been seen to exceed the parsing timeout there).
TWO_STEP_DAG = "ylai_example_hello"
# The bound: a task whose worker died is failed and retried within 60 s of the loss.
LOST_TASK_RETRIED_WITHIN = 60.0
# No API call may hang during an outage (issue 16, "The API during an outage"): ylai answers 503 once a
# request has waited [ylai] request_timeout; the margin is for a busy machine.
ANSWER_WITHIN = REQUEST_TIMEOUT.default + 15
# Generous bounds on waiting for runs: they say "stuck", not "slow".
RUNS_FINISH_WITHIN = 420.0
POSTGRES_OUTAGE = 60.0
REDIS_OUTAGE = 15.0

SLEEPER_SCRIPT = """\
# Sleeps --seconds, so that a fault can hit it while it runs (tests/faults).
set -euo pipefail
seconds=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "sleeping ${seconds}s"
sleep "$seconds"
echo "slept ${seconds}s"
"""


@pytest.fixture(scope="module")
def sleeper(fault_platform: RunningPlatform) -> str:
    """A bash script, created through ylai's API, whose run sleeps as long as it is told."""
    body = {
        "name": SLEEPER,
        "runtime": "bash",
        "content": SLEEPER_SCRIPT,
        "manifest": {"params": {"seconds": {"type": "integer", "default": 10, "minimum": 1, "maximum": 600}}},
    }
    started = time.monotonic()
    created = fault_platform.request("POST", "/ylai/api/v1/scripts", body)
    assert created.status in (201, 409), created.body[:300]
    fault_platform.wait_for_dag(SLEEPER_DAG, timeout=180)
    fault_platform.wait_for_dag(TWO_STEP_DAG, timeout=180)
    print(f"\n[faults] {SLEEPER_DAG} parsed {time.monotonic() - started:.0f}s after its creation")
    return SLEEPER_DAG


def start_sleeper(platform: RunningPlatform, seconds: int) -> tuple[str, str]:
    resp = platform.request("POST", f"/ylai/api/v1/scripts/{SLEEPER}/run", {"params": {"seconds": seconds}})
    assert resp.status == 201, resp.body[:300]
    return SLEEPER_DAG, str(resp.json()["run_id"])


def start_two_steps(platform: RunningPlatform) -> tuple[str, str]:
    """A run of a two-task DAG: its second task is queued while the fault happens."""
    return TWO_STEP_DAG, platform.trigger(TWO_STEP_DAG, {"greeting": "through a fault"})


def sleep_processes(platform: RunningPlatform) -> list[psutil.Process]:
    procs = []
    for proc in celery_worker_tree(platform)[1:]:
        try:
            if proc.name() == "sleep":
                procs.append(proc)
        except psutil.NoSuchProcess:
            continue
    return procs


def wait_sleepers_running(platform: RunningPlatform, runs: list[tuple[str, str]], *, timeout: float = 180) -> None:
    """Wait until each sleeper run's script has run on the Celery worker and one still runs (a ``sleep``
    in the worker's process tree): the fault then hits work in flight.

    Not "all at once": on a busy machine a short one may end before a later one starts, or a try
    may fail on its own and wait for its retry.
    """
    sleepers = [run_id for dag_id, run_id in runs if dag_id == SLEEPER_DAG]
    seen: set[str] = set()

    def running() -> bool | None:
        for run_id in sleepers:
            if task_state(platform, SLEEPER_DAG, run_id, SLEEPER)["state"] in ("running", "success"):
                seen.add(run_id)
        return True if len(seen) == len(sleepers) and sleep_processes(platform) else None

    wait_until(running, timeout, lambda: f"sleeper scripts never ran (seen: {seen}):\n{platform.tail(40)}")


def outage_with_runs_in_flight(
    platform: RunningPlatform, sleeps: list[int], *, stop: Callable[[], None], port: int
) -> tuple[list[tuple[str, str]], str, float]:
    """Start the runs an outage hits, then the outage: ``stop`` a service and wait until its ``port`` is closed.

    The runs: sleeper runs of ``sleeps`` seconds, waited for until their scripts run, then a two-task
    run (its second task waits while the first runs).

    :return: the runs, an API token taken before the outage, and when it began (``time.monotonic()``).
    """
    runs = [start_sleeper(platform, seconds=seconds) for seconds in sleeps]
    wait_sleepers_running(platform, runs)
    runs.append(start_two_steps(platform))
    token = platform.token()
    since = time.monotonic()
    stop()
    wait_port_closed(port)
    return runs, token, since


def assert_runs_succeed(platform: RunningPlatform, runs: list[tuple[str, str]], *, since: float, fault: str) -> None:
    """Every run ends in success after the fault; how long after ``since`` (the fault) is printed."""
    states = run_states(platform, runs, timeout=RUNS_FINISH_WITHIN)
    print(f"[faults] {fault}: runs finished {time.monotonic() - since:.0f}s after it: {states}")
    assert set(states.values()) == {"success"}, f"{states}\n{platform.tail(60)}"


def probe_for(
    platform: RunningPlatform,
    *,
    seconds: float,
    paths: list[str],
    since: float,
    token: str,
    also: Callable[[float], None] | None = None,
) -> list[Answer]:
    """Call each path in turn, one call every 0.5 s, for ``seconds``; every answer is kept."""
    answers: list[Answer] = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        tick = time.monotonic()
        answers.append(probe(platform, paths[i % len(paths)], token=token, since=since, timeout=ANSWER_WITHIN))
        if also is not None:
            also(time.monotonic() - since)
        i += 1
        time.sleep(max(0.0, 0.5 - (time.monotonic() - tick)))
    return answers


def answer_problems(answers: list[Answer]) -> list[str]:
    """What the issue forbids during an outage: no answer (refused, hung), a 5xx other than 503, a 503
    without ``Retry-After`` or without the error envelope."""
    problems = []
    for a in answers:
        if a.status is None:
            problems.append(f"no answer: {a}")
        elif a.status >= 500 and a.status != 503:
            problems.append(f"server error: {a}")
        elif a.status == 503:
            if not (a.retry_after or "").strip().isdigit() or int(a.retry_after or 0) < 1:
                problems.append(f"503 without a Retry-After in seconds: {a}")
            if a.envelope().get("code") != "unavailable":
                problems.append(f"503 without the error envelope: {a}")
    return problems


def database_reported_down(answer: Answer) -> bool:
    """``/health`` during a database outage: it answers, and says the metadata database is not healthy."""
    if answer.status == 503:
        return True
    if answer.status != 200:
        return False
    return bool(json.loads(answer.body)["metadata_db"]["status"] != "healthy")


def summary(answers: list[Answer]) -> str:
    counts: dict[str, int] = {}
    for a in answers:
        key = f"{a.path} {a.status if a.status is not None else 'no answer'}"
        counts[key] = counts.get(key, 0) + 1
    slowest = max((a.took for a in answers), default=0.0)
    return f"{len(answers)} calls: {counts}; slowest {slowest:.1f}s"


def assert_platform_whole(platform: RunningPlatform, *, within: float = 180) -> None:
    """``ylai run`` never gave up, and all of its components run again."""
    assert platform.proc is not None
    assert platform.proc.poll() is None, f"ylai run exited ({platform.proc.returncode}):\n{platform.tail(60)}"
    wait_all_components(platform, timeout=within)
    assert "too many crashes" not in platform.output(), platform.tail(60)


def test_a_celery_worker_tree_killed_mid_task_is_retried_within_60s(platform: RunningPlatform, sleeper: str) -> None:
    run = start_sleeper(platform, seconds=20)
    wait_sleepers_running(platform, [run])
    tree = celery_worker_tree(platform)
    killed_at = datetime.now(UTC)
    for proc in tree:  # the main process first: it must not fork replacements for its pool
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(tree, timeout=10)

    def after_kill(value: str | None) -> datetime | None:
        # Until the second try runs, the task instance still shows the first try's start_date.
        moment = timestamp(value)
        return moment if moment is not None and moment > killed_at else None

    def retried() -> dict[str, Any] | None:
        later = [t for t in tries(platform, *run, SLEEPER) if int(t["try_number"]) >= 2]
        return later[0] if later and after_kill(later[0].get("queued_when")) else None

    # Waited for somewhat longer than the bound, so a miss reports how late the retry came.
    wait_until(
        retried,
        LOST_TASK_RETRIED_WITHIN + 90,
        lambda: (
            f"no retry within {LOST_TASK_RETRIED_WITHIN + 90:.0f}s of the kill: "
            f"{[(t['try_number'], t['state']) for t in tries(platform, *run, SLEEPER)]}\n{platform.tail(60)}"
        ),
    )
    final = run_states(platform, [run], timeout=RUNS_FINISH_WITHIN)
    run_done = (datetime.now(UTC) - killed_at).total_seconds()
    first, second = tries(platform, *run, SLEEPER)[:2]

    def since_kill(value: str | None) -> str:
        moment = after_kill(value)
        return "-" if moment is None else f"{(moment - killed_at).total_seconds():.1f}s"

    retried_at = after_kill(second.get("queued_when"))
    assert retried_at is not None
    recovered = (retried_at - killed_at).total_seconds()
    measured = (
        f"killed {len(tree)} processes; try 1 failed {since_kill(first.get('end_date'))} after the kill, "
        f"try 2 queued {recovered:.1f}s and running {since_kill(second.get('start_date'))} after it "
        f"(on the restarted worker), run finished by {run_done:.0f}s"
    )
    print(f"\n[faults] lost worker: {measured}")
    assert final[run[1]] == "success", f"{measured}\n{platform.tail(60)}"
    # "Failed and retried within 60 s": the retry is queued by then; when it starts running also
    # depends on how fast the killed worker restarts on this machine (in the message above).
    assert recovered <= LOST_TASK_RETRIED_WITHIN, f"retried too late: {measured}"
    assert_platform_whole(platform)


def test_redis_killed_and_restarted_mid_run_loses_no_run_and_the_api_answers(
    platform: RunningPlatform, sleeper: str, dedicated_redis: DedicatedRedis
) -> None:
    runs, token, since = outage_with_runs_in_flight(
        platform, [15, 25], stop=dedicated_redis.kill, port=dedicated_redis.port
    )
    paths = [
        "/ylai/api/v1/tasks",
        "/ylai/api/v1/monitor/tasks?window_hours=1",
        "/ylai/api/v1/scripts",
        "/ylai/api/v1/health",
    ]
    during: list[Answer] = []

    def request_a_run(at: float) -> None:
        # One run asked for during the outage: accepted (and then it must succeed) or refused with a 503.
        if during or at < REDIS_OUTAGE / 2:
            return
        answer = probe(
            platform,
            f"/ylai/api/v1/scripts/{SLEEPER}/run",
            token=token,
            since=since,
            timeout=ANSWER_WITHIN,
            method="POST",
            body={"params": {"seconds": 5}},
        )
        during.append(answer)
        if answer.status == 201:
            runs.append((SLEEPER_DAG, str(json.loads(answer.body)["run_id"])))

    answers = probe_for(platform, seconds=REDIS_OUTAGE, paths=paths, since=since, token=token, also=request_a_run)
    dedicated_redis.start()
    answers += probe_for(platform, seconds=10, paths=paths, since=since, token=token)
    all_answers = answers + during
    print(f"\n[faults] redis outage of {REDIS_OUTAGE:.0f}s: {summary(all_answers)}")
    problems = answer_problems(all_answers)
    assert not problems, "\n".join(problems[:20]) + "\n" + summary(all_answers)
    assert not [a for a in during if a.status not in (201, 503)], [str(a) for a in during]

    assert_runs_succeed(platform, runs, since=since, fault="redis killed")
    assert_platform_whole(platform)


def test_postgres_stopped_for_60s_mid_run_loses_no_run_and_routes_answer_503(
    platform: RunningPlatform, sleeper: str, dedicated_postgres: DedicatedPostgres
) -> None:
    # One run ends during the outage, one outlasts it, a two-task run has its second task waiting.
    runs, token, since = outage_with_runs_in_flight(
        platform, [20, 75], stop=lambda: dedicated_postgres.stop(mode="immediate"), port=dedicated_postgres.port
    )
    exited_during: list[float] = []

    def watch_platform(at: float) -> None:
        assert platform.proc is not None
        if platform.proc.poll() is not None and not exited_during:
            exited_during.append(at)

    paths = ["/ylai/api/v1/tasks", "/ylai/api/v1/scripts", "/ylai/api/v1/health"]
    answers = probe_for(platform, seconds=POSTGRES_OUTAGE, paths=paths, since=since, token=token, also=watch_platform)
    dedicated_postgres.start()
    back_at = time.monotonic() - since
    print(f"\n[faults] postgres outage of {back_at:.0f}s: {summary(answers)}")

    assert not exited_during, f"ylai run stopped {exited_during[0]:.0f}s into the outage:\n{platform.tail(60)}"
    problems = answer_problems(answers)
    assert not problems, "\n".join(problems[:20]) + "\n" + summary(answers)
    # After the first seconds (pooled connections notice the loss), a route that needs the database says
    # so; an answer a cache still holds may come as 200 (answer_problems allowed nothing else).
    settled = [a for a in answers if a.at > 10 and a.path != "/ylai/api/v1/health"]
    refused = [a for a in settled if a.status == 503]
    assert refused, f"no 503 from a route that needs the database:\n{summary(answers)}"
    for a in refused:
        error = a.envelope()
        assert "database" in str(error.get("message", "")).lower(), f"503 without the dependency's name: {a}"
        assert (error.get("details") or {}).get("dependency") == "metadata_db", f"503 not naming metadata_db: {a}"
    health = [a for a in answers if a.path == "/ylai/api/v1/health" and a.at > 10]
    assert health, summary(answers)
    assert all(database_reported_down(a) for a in health), [str(a) for a in health][:5]

    def next_request_succeeds() -> bool | None:
        return (
            True if probe(platform, paths[0], token=token, since=since, timeout=ANSWER_WITHIN).status == 200 else None
        )

    wait_until(next_request_succeeds, 60, lambda: f"/tasks still failing after the outage:\n{platform.tail(40)}")
    assert_platform_whole(platform)
    assert_runs_succeed(platform, runs, since=since, fault="postgres stopped")
    new_run = start_sleeper(platform, seconds=1)
    assert run_states(platform, [new_run], timeout=240)[new_run[1]] == "success", platform.tail(60)
    assert not missing_components(platform), platform.tail(60)
