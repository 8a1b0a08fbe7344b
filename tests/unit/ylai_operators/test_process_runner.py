"""``ProcessRunner``: the subprocess loop behind ``ScriptOperator``, used on its own."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from ylai_operators.process_runner import ProcessRunner

LOG = logging.getLogger("test_process_runner")


def run(code: str, tmp_path: Path, runner: ProcessRunner | None = None) -> dict[str, object]:
    runner = runner or ProcessRunner("demo", LOG, kill_grace_seconds=2)
    return runner.run([sys.executable, "-c", code], {"PATH": os.environ["PATH"]}, str(tmp_path))


def test_output_lines_go_to_the_log_and_stderr_is_kept_for_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG.name)
    code = "import sys; print('out one'); print('out two'); sys.stderr.write('err a\\nerr b'); sys.exit(3)"
    result = run(code, tmp_path)
    assert result["exit_code"] == 3
    assert result["stderr_tail"] == ["err a", "err b"]
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOG.name]
    assert ("INFO", "out one") in records
    assert ("INFO", "out two") in records
    assert ("WARNING", "err b") in records  # the unfinished last line too
    assert set(result) == {
        "exit_code",
        "duration_seconds",
        "peak_rss_bytes",
        "cpu_seconds",
        "stderr_tail",
        "over_memory_limit",
    }
    assert result["over_memory_limit"] is False


def test_the_command_runs_in_the_given_folder_with_only_the_given_environment(tmp_path: Path) -> None:
    code = "import os; open('seen', 'w').write(','.join(sorted(os.environ)))"
    assert run(code, tmp_path)["exit_code"] == 0
    seen = set((tmp_path / "seen").read_text().split(","))
    assert "PATH" in seen
    assert not any(name.startswith("AIRFLOW") for name in seen)


def test_stop_terminates_a_running_command_from_another_thread(tmp_path: Path) -> None:
    runner = ProcessRunner("sleeper", LOG, kill_grace_seconds=2)
    results: list[dict[str, object]] = []
    thread = threading.Thread(target=lambda: results.append(run("import time; time.sleep(60)", tmp_path, runner)))
    thread.start()
    deadline = time.monotonic() + 10
    while runner._proc is None and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    thread.join(15)
    assert not thread.is_alive()
    assert results[0]["exit_code"] == -15


def test_stop_without_a_running_command_does_nothing() -> None:
    ProcessRunner("idle", LOG).stop()


MiB = 2**20
# Allocates (and touches: b"x" * n, not calloc'd zeros) ``n`` MiB, says so, then waits to be stopped.
HOG = "import sys, time; data = b'x' * ({n} * 2**20); print('allocated', flush=True); time.sleep(60)"


class TestMemoryLimit:
    def test_a_command_over_its_limit_is_stopped_with_its_measured_peak(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger=LOG.name)
        runner = ProcessRunner("hog", LOG, kill_grace_seconds=2, memory_limit_bytes=64 * MiB)
        started = time.monotonic()
        result = run(HOG.format(n=200), tmp_path, runner)
        assert time.monotonic() - started < 20  # not the 60 s sleep
        assert result["over_memory_limit"] is True
        assert result["exit_code"] == -15  # SIGTERM was enough
        assert isinstance(result["peak_rss_bytes"], int)
        assert result["peak_rss_bytes"] > 64 * MiB
        messages = [r.getMessage() for r in caplog.records if r.name == LOG.name]
        assert any("hog used" in m and "over its memory limit of 64 MiB" in m for m in messages), messages

    def test_children_count_toward_the_tree_and_are_stopped_with_it(self, tmp_path: Path) -> None:
        # Two children of 48 MiB each: neither is over 64 MiB alone, the tree is.
        pids_file = tmp_path / "pids"
        code = f"""
import subprocess, sys, time
hog = {HOG.format(n=48)!r}
children = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(2)]
open({str(pids_file)!r}, "w").write(" ".join(str(c.pid) for c in children))
time.sleep(60)
"""
        runner = ProcessRunner("parent", LOG, kill_grace_seconds=2, memory_limit_bytes=64 * MiB)
        result = run(code, tmp_path, runner)
        assert result["over_memory_limit"] is True
        assert isinstance(result["peak_rss_bytes"], int)
        # Over the limit, which no single process reaches (48 MiB and an interpreter): the sum of the
        # tree. Not "> 96 MiB": the runner stops the tree the moment it passes 64 MiB, and on a
        # loaded host the second child may not have finished allocating by then (78 MiB in CI).
        assert result["peak_rss_bytes"] > 64 * MiB
        for pid in (int(p) for p in pids_file.read_text().split()):
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(self, tmp_path: Path) -> None:
        code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + HOG.format(n=200)
        runner = ProcessRunner("stubborn", LOG, kill_grace_seconds=1, memory_limit_bytes=64 * MiB)
        started = time.monotonic()
        result = run(code, tmp_path, runner)
        assert time.monotonic() - started < 20
        assert result["over_memory_limit"] is True
        assert result["exit_code"] == -9

    def test_a_command_under_its_limit_runs_to_its_end(self, tmp_path: Path) -> None:
        # Runs past several tree samples (0.1 s, then every 0.2 s) with 32 MiB of a 256 MiB limit.
        code = "import time; data = b'x' * (32 * 2**20); time.sleep(0.8); print('done')"
        runner = ProcessRunner("modest", LOG, kill_grace_seconds=2, memory_limit_bytes=256 * MiB)
        result = run(code, tmp_path, runner)
        assert result["exit_code"] == 0
        assert result["over_memory_limit"] is False
        assert isinstance(result["peak_rss_bytes"], int)
        assert 32 * MiB < result["peak_rss_bytes"] < 256 * MiB
