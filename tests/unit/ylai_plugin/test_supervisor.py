from __future__ import annotations

import io
import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.unit.ylai_plugin.polling import wait_for
from ylai_plugin.supervisor import Supervisor

PY = sys.executable


def _tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [proc.pid, *(c.pid for c in proc.children(recursive=True))]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def sup() -> Iterator[Supervisor]:
    s = Supervisor(env=dict(os.environ), out=io.StringIO())
    yield s
    s.stop(timeout=5)


def test_output_is_prefixed_per_component(sup: Supervisor) -> None:
    sup.start("alpha", [PY, "-c", "print('one'); print('two')"])
    sup.start("beta", [PY, "-c", "import sys; print('oops', file=sys.stderr)"])
    out = sup.out
    assert isinstance(out, io.StringIO)
    wait_for(lambda: out.getvalue().count("\n") >= 3)
    lines = out.getvalue().splitlines()
    assert "alpha         | one" in lines
    assert "alpha         | two" in lines
    assert "beta          | oops" in lines


def test_run_once_returns_exit_code_and_lines_and_feeds_stdin(sup: Supervisor) -> None:
    code = "import sys; data = sys.stdin.read(); print(data.upper()); sys.exit(3)"
    rc, lines = sup.run_once("step", [PY, "-c", code], input_text="secret-free input")
    assert rc == 3
    assert lines == ["SECRET-FREE INPUT"]
    assert sup.components == []


def test_wait_reports_the_component_that_exited(sup: Supervisor) -> None:
    sup.start("long", [PY, "-c", "import time; time.sleep(60)"])
    sup.start("short", [PY, "-c", "import sys; sys.exit(7)"])
    exited = sup.wait()
    assert exited is not None
    assert exited.name == "short"
    assert exited.process is not None
    assert exited.process.returncode == 7


def test_wait_returns_none_on_stop_request(sup: Supervisor) -> None:
    sup.start("long", [PY, "-c", "import time; time.sleep(60)"])
    threading.Timer(0.3, sup.request_stop).start()
    assert sup.wait() is None


def test_stop_leaves_no_orphans_even_for_detached_grandchildren(sup: Supervisor, tmp_path: Path) -> None:
    # A child that forks a grandchild in a *new session* (escaping the process
    # group), plus a plain grandchild, like Airflow's task runners do.
    script = tmp_path / "forker.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys, time
            subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(300)"], start_new_session=True)
            subprocess.Popen([{PY!r}, "-c", "import time; time.sleep(300)"])
            print("ready", flush=True)
            time.sleep(300)
            """
        )
    )
    comp = sup.start("forker", [PY, str(script)])
    assert comp.process is not None
    forker = comp.process.pid  # a name the lambda can use: mypy does not carry the assert into it
    wait_for(lambda: len(_tree(forker)) == 3)
    pids = _tree(forker)
    sup.stop(timeout=5)
    for pid in pids:
        assert not _alive(pid), f"process {pid} survived stop()"


def test_stop_kills_processes_that_ignore_sigterm(sup: Supervisor) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(300)"
    comp = sup.start("stubborn", [PY, "-c", code])
    out = sup.out
    assert isinstance(out, io.StringIO)
    wait_for(lambda: "stubborn" in out.getvalue())
    assert comp.process is not None
    started = time.monotonic()
    sup.stop(timeout=1)
    assert comp.process.poll() is not None
    assert time.monotonic() - started < 10


def test_restart_starts_a_new_process_and_reaps_the_old_group(sup: Supervisor, tmp_path: Path) -> None:
    pid_file = tmp_path / "child"
    code = (
        "import subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); sys.exit(3)"
    )
    first = sup.start("flaky", [PY, "-c", code])
    assert first.process is not None
    first_pid = first.process.pid
    exited = sup.wait()
    assert exited is first
    leftover = int(pid_file.read_text())
    assert _alive(leftover)  # the crashed component left a child in its process group
    second = sup.restart(exited)
    assert second.name == "flaky"
    assert second.process is not None
    assert second.process.pid != first_pid
    assert sup.components == [second]  # the same component, with a new process
    wait_for(lambda: not _alive(leftover))


def test_a_component_gets_its_own_variables_over_the_common_ones(sup: Supervisor) -> None:
    sup.env = {**sup.env, "YLAI_T_SHARED": "common", "YLAI_T_OWN": "common"}
    code = "import os; print(os.environ['YLAI_T_SHARED'], os.environ['YLAI_T_OWN'])"
    first = sup.start("first", [PY, "-c", code], env={"YLAI_T_OWN": "first"})
    sup.start("second", [PY, "-c", code])
    out = sup.out
    assert isinstance(out, io.StringIO)
    wait_for(lambda: out.getvalue().count("\n") >= 2)
    assert "first         | common first" in out.getvalue().splitlines()
    assert "second        | common common" in out.getvalue().splitlines()
    sup.restart(first)  # a restart keeps them
    wait_for(lambda: out.getvalue().count("first         | common first") == 2)
