"""``ProcessRunner``: the subprocess loop behind ``ScriptOperator``, used on its own."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

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
    assert set(result) == {"exit_code", "duration_seconds", "peak_rss_bytes", "cpu_seconds", "stderr_tail"}


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
