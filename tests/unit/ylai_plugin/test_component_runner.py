"""``ylai component NAME -- COMMAND``: the wrapper of a container's component (docs/logging.md).

Every test runs the real command line (``python -m ylai_plugin.cli component ...``) as a process and
a real child under it: an Airflow process logging through Airflow's own structlog set-up, plain
prints, an uncaught traceback, exit codes, signals sent the way ``docker stop`` and dumb-init send
them, and a child that leaves a process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.unit.ylai_plugin.polling import wait_for
from ylai_plugin.component_runner import child_environment, exit_status
from ylai_plugin.json_logs import AIRFLOW_JSON_SETTINGS, REQUIRED_KEYS
from ylai_plugin.platform_env import airflow_environment, resolve_settings

PY = sys.executable
# Generous: only a hang fails on it (an Airflow import on a loaded 2-core machine takes seconds).
LIMIT = 120


def _env(*, json_mode: bool, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "YLAI_LOG_FORMAT" and not k.startswith("AIRFLOW__LOGGING__")}
    if json_mode:
        env["YLAI_LOG_FORMAT"] = "json"
    return env | extra


def _wrapper(name: str, *command: str) -> list[str]:
    return [PY, "-m", "ylai_plugin.cli", "component", name, "--", *command]


def _run(name: str, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _wrapper(name, PY, "-c", textwrap.dedent(code)),
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )


def _records(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object with ylai's required keys (fails on any other line)."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        assert list(record)[:5] == list(REQUIRED_KEYS), line
        records.append(record)
    return records


# -- JSON mode ---------------------------------------------------------------------------------

AIRFLOW_CHILD = """
import logging, sys
import airflow  # configures Airflow's structlog logging, JSON when [logging] json_logs is on
import structlog
logging.getLogger("airflow.jobs.scheduler_job_runner").warning("Marking run %s failed", "manual__1")
structlog.get_logger("airflow.task").info(
    "Task finished", dag_id="script__etl", run_id="manual__1", task_id="run", try_number=2
)
print(" -------------- celery@worker-1 v5.5.3 (immunity)", flush=True)
print("line one\\nline two", flush=True)
def fail():
    raise RuntimeError("the scheduler stops")
try:
    fail()
except RuntimeError:
    import traceback
    traceback.print_exc()  # a multi-line traceback outside the logging system, on stderr
fail()  # uncaught: Airflow's excepthook logs it as one record
"""


@pytest.fixture(scope="module")
def airflow_child(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """An Airflow process under the wrapper in JSON mode, without AIRFLOW__LOGGING__* in its environment."""
    home = tmp_path_factory.mktemp("airflow-home")
    return _run("scheduler", AIRFLOW_CHILD, _env(json_mode=True, AIRFLOW_HOME=str(home)))


def test_every_line_of_stdout_and_stderr_is_a_json_object_with_the_component(
    airflow_child: subprocess.CompletedProcess[str],
) -> None:
    records = _records(airflow_child.stdout) + _records(airflow_child.stderr)
    assert records
    assert {r["component"] for r in records} == {"scheduler"}


def test_airflows_own_json_lines_get_ylais_keys_and_keep_their_context(
    airflow_child: subprocess.CompletedProcess[str],
) -> None:
    """The wrapper turned Airflow's json_logs on (none was set) and renamed timestamp/event."""
    records = _records(airflow_child.stdout) + _records(airflow_child.stderr)
    by_message = {r["message"]: r for r in records}
    marking = by_message["Marking run manual__1 failed"]
    assert marking["logger"] == "airflow.jobs.scheduler_job_runner"
    assert marking["level"] == "warning"
    assert marking["time"].endswith("Z")
    assert "filename" in marking, "Airflow's structlog wrote it: the child logged JSON itself"
    finished = by_message["Task finished"]
    assert (finished["dag_id"], finished["run_id"], finished["task_id"], finished["try_number"]) == (
        "script__etl",
        "manual__1",
        "run",
        2,
    )
    assert not {"timestamp", "event"} & (set(marking) | set(finished))


def test_plain_lines_and_a_traceback_are_kept_line_by_line_on_their_stream(
    airflow_child: subprocess.CompletedProcess[str],
) -> None:
    out = [r["message"] for r in _records(airflow_child.stdout)]
    assert [m for m in out if "celery@" in m or m.startswith("line ")] == [
        " -------------- celery@worker-1 v5.5.3 (immunity)",
        "line one",
        "line two",
    ]
    err = _records(airflow_child.stderr)
    messages = [r["message"] for r in err]
    start = messages.index("Traceback (most recent call last):")
    # One object per line, in order, up to the wrapper's own line about the exit.
    traceback, exit_line = messages[start:-1], messages[-1]
    assert traceback[-1] == "RuntimeError: the scheduler stops"
    assert [line.split(",")[0] for line in traceback[1:-1]] == ['  File "<string>"'] * 2
    assert traceback[2].endswith("in fail")
    assert {r["logger"] for r in err[start:-1]} == {"scheduler"}
    assert exit_line.endswith("exited with code 1")
    (unhandled,) = [r for r in _records(airflow_child.stdout) if r["message"] == "Unhandled exception"]
    assert unhandled["level"] == "critical"
    assert unhandled["exception"][0]["exc_value"] == "the scheduler stops"


def test_the_exit_code_is_the_childs_and_the_exit_is_logged(airflow_child: subprocess.CompletedProcess[str]) -> None:
    assert airflow_child.returncode == 1
    last = _records(airflow_child.stderr)[-1]
    assert (last["level"], last["logger"], last["message"]) == ("error", "ylai", f"{PY} exited with code 1")


def test_a_clean_exit_writes_nothing_of_its_own() -> None:
    done = _run("api-server", "import sys; print('served'); sys.exit(0)", _env(json_mode=True))
    assert done.returncode == 0
    assert [r["message"] for r in _records(done.stdout)] == ["served"]
    assert done.stderr == ""


def test_ylais_own_json_lines_pass_through_unchanged() -> None:
    """The alert evaluator already writes ylai's lines; wrapped, they keep every key and value."""
    code = """
    import logging, os
    from ylai_plugin.json_logs import configure_stdlib
    configure_stdlib("alerts", os.environ)
    logging.getLogger("ylai_plugin.alerts.evaluator").error("pass failed", extra={"dag_id": "d", "user": "ops"})
    """
    done = _run("alerts", code, _env(json_mode=True))
    (record,) = _records(done.stderr)
    assert record["component"] == "alerts"
    assert (record["level"], record["logger"], record["message"]) == (
        "error",
        "ylai_plugin.alerts.evaluator",
        "pass failed",
    )
    assert (record["dag_id"], record["user"]) == ("d", "ops")
    assert set(record) == {*REQUIRED_KEYS, "dag_id", "user"}


def test_bytes_that_are_not_utf8_are_replaced_not_lost() -> None:
    code = "import sys; sys.stdout.buffer.write(b'caf\\xe9 \\xff ok\\r\\n'); sys.stdout.flush()"
    done = _run("celery-worker", code, _env(json_mode=True))
    assert [r["message"] for r in _records(done.stdout)] == ["caf\ufffd \ufffd ok"]


def test_a_command_that_does_not_exist_is_an_error_line_and_127() -> None:
    for json_mode in (True, False):
        done = subprocess.run(
            _wrapper("scheduler", "no-such-command-ylai"),
            env=_env(json_mode=json_mode),
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )
        assert done.returncode == 127
        assert "no-such-command-ylai" in done.stderr
        if json_mode:
            (record,) = _records(done.stderr)
            assert record["level"] == "error"


def test_an_environment_that_sets_airflows_log_settings_wins() -> None:
    assert child_environment({}) == dict(AIRFLOW_JSON_SETTINGS)
    mine = {"AIRFLOW__LOGGING__JSON_LOGS": "False", "X": "1"}
    assert child_environment(mine) == {**AIRFLOW_JSON_SETTINGS, **mine}


def test_the_airflow_settings_are_those_of_ylai_run_in_json_mode(tmp_path: Path) -> None:
    env = airflow_environment(resolve_settings({}, tmp_path), {"YLAI_LOG_FORMAT": "json"})
    assert {key: env[key] for key in AIRFLOW_JSON_SETTINGS} == dict(AIRFLOW_JSON_SETTINGS)


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-15, 143), (-2, 130), (-9, 137)])
def test_exit_status_follows_the_shell(returncode: int, status: int) -> None:
    assert exit_status(returncode) == status


# -- signals -------------------------------------------------------------------------------------

# Prints one line per SIGTERM/SIGINT it receives; exits 7 half a second after the first one, so a
# second delivery of the same signal (dumb-init's and the wrapper's) would show up as a second line.
SIGNAL_CHILD = """
import os, signal, sys, time
got = []
def on(signum, frame):
    got.append(signum)
    print("got", signal.Signals(signum).name, flush=True)
signal.signal(signal.SIGTERM, on)
signal.signal(signal.SIGINT, on)
print("ready", os.getpid(), flush=True)
while not got:
    time.sleep(0.05)
time.sleep(0.5)
sys.exit(7)
"""


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _start(
    started: list[subprocess.Popen[str]], code: str, *, json_mode: bool = True
) -> tuple[subprocess.Popen[str], int]:
    """Start the wrapper in a process group of its own (as under dumb-init); return it and the child's pid."""
    proc = subprocess.Popen(
        _wrapper("celery-worker", PY, "-c", textwrap.dedent(code)),
        env=_env(json_mode=json_mode),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(proc)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    message = json.loads(first)["message"] if json_mode else first
    word, pid = message.split()
    assert word == "ready", first
    return proc, int(pid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_wrapper_reaches_the_child_once_and_its_exit_code_comes_back(
    started: list[subprocess.Popen[str]], sig: signal.Signals
) -> None:
    proc, child = _start(started, SIGNAL_CHILD)
    assert child != proc.pid, "JSON mode runs the command as a child"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=LIMIT)
    assert [r["message"] for r in _records(out)] == [f"got {sig.name}"]
    assert proc.returncode == 7
    assert _records(err)[-1]["message"].endswith("exited with code 7")


def test_a_signal_to_the_wrapper_s_whole_group_reaches_the_child_once(started: list[subprocess.Popen[str]]) -> None:
    """dumb-init's default (setsid) signals the process group: the child has a session of its own,
    so only the wrapper's forwarding reaches it, and Celery's warm shutdown is not hit twice."""
    proc, child = _start(started, SIGNAL_CHILD)
    assert os.getpgid(child) != os.getpgid(proc.pid)
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=LIMIT)
    assert [r["message"] for r in _records(out)] == ["got SIGTERM"]
    assert proc.returncode == 7


def test_a_child_killed_by_the_signal_gives_128_plus_its_number(started: list[subprocess.Popen[str]]) -> None:
    proc, _ = _start(started, "import os, time; print('ready', os.getpid(), flush=True); time.sleep(600)")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=LIMIT)
    assert proc.returncode == 128 + signal.SIGTERM


def test_what_the_child_leaves_behind_is_stopped_and_does_not_hold_the_wrapper(
    started: list[subprocess.Popen[str]],
) -> None:
    """A process the child forked (a log server) keeps the output pipe open after the child exited."""
    code = """
    import subprocess, sys
    left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("ready", left.pid, flush=True)
    """
    proc, leftover = _start(started, code)
    out, err = proc.communicate(timeout=LIMIT)
    assert proc.returncode == 0
    assert (out, err) == ("", "")
    wait_for(lambda: not _alive(leftover), timeout=30)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# -- text mode: no wrapper at all ------------------------------------------------------------------


def test_outside_json_mode_the_command_replaces_the_wrapper_and_its_output_is_untouched(
    started: list[subprocess.Popen[str]],
) -> None:
    code = """
    import os, signal, sys
    print("ready", os.getpid(), flush=True)
    print("[2026-12-04 10:00:00,000: INFO/MainProcess] plain", sys.argv[1:], flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    sys.exit(5)
    """
    proc = subprocess.Popen(
        [*_wrapper("celery-worker", PY, "-c", textwrap.dedent(code)), "-q", "default"],
        env=_env(json_mode=False),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(proc)
    out, err = proc.communicate(timeout=LIMIT)
    assert out == f"ready {proc.pid}\n[2026-12-04 10:00:00,000: INFO/MainProcess] plain ['-q', 'default']\n"
    assert err == "to stderr\n"
    assert proc.returncode == 5


# -- trace service names -------------------------------------------------------------------------

PRINT_SERVICE = "import os; print(os.environ.get('OTEL_SERVICE_NAME', '-'))"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"OTEL_SERVICE_NAME": "ylai"}, "ylai-scheduler"),  # Compose's and Helm's shared default
        ({}, "ylai-scheduler"),
        ({"OTEL_SERVICE_NAME": "etl-prod"}, "etl-prod"),  # the user's own name wins
    ],
)
def test_each_component_names_its_trace_service_when_tracing_is_on(given: dict[str, str], expected: str) -> None:
    env = {k: v for k, v in _env(json_mode=False).items() if not k.startswith("OTEL_")}
    env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", **given}
    result = _run("scheduler", PRINT_SERVICE, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_without_an_endpoint_the_service_name_is_left_alone() -> None:
    env = {k: v for k, v in _env(json_mode=False).items() if not k.startswith("OTEL_")}
    result = _run("celery-worker", PRINT_SERVICE, env | {"OTEL_SERVICE_NAME": "ylai"})
    assert result.stdout.strip() == "ylai"
