from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from ylai_operators.script_operator import (
    ScriptFailedError,
    ScriptMemoryLimitError,
    ScriptOperator,
    build_command,
)

INJECTIONS = [
    "$(touch {canary})",
    "`touch {canary}`",
    "'; touch {canary}; echo '",
    '"; touch {canary}; echo "',
    "a; touch {canary}",
    "line one\nline two && touch {canary}",
    "{{ ti.xcom_push('x', 1) }} | touch {canary}",
]


class FakeTI:
    def __init__(self, xcoms: dict[str, Any] | None = None) -> None:
        self.run_id = "manual__test"
        self.try_number = 1
        self.xcoms = xcoms or {}
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcoms.get(task_ids)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def context(params: dict[str, Any] | None = None, xcoms: dict[str, Any] | None = None) -> Any:
    return {"ti": FakeTI(xcoms), "params": params or {}}


@pytest.fixture(autouse=True)
def artifacts_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("YLAI_ARTIFACTS_ROOT", str(root))
    return root


def write_script(tmp_path: Path, body: str, name: str = "script.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    path.chmod(0o755)
    return path


ECHO_PY = """
    import json, os, sys
    from pathlib import Path
    params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
    Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps(
        {"argv": sys.argv[1:], "params": params, "env": sorted(os.environ)}
    ))
"""


def op(script: Path, **kwargs: Any) -> ScriptOperator:
    kwargs.setdefault("task_id", "t")
    kwargs.setdefault("runtime", "python")
    return ScriptOperator(script_path=str(script), **kwargs)


class TestParameters:
    @pytest.mark.parametrize("template", INJECTIONS)
    def test_injection_strings_arrive_verbatim_and_are_never_executed(self, tmp_path: Path, template: str) -> None:
        canary = tmp_path / "pwned"
        value = template.format(canary=canary)
        script = write_script(tmp_path, ECHO_PY)
        result = op(script, param_refs={"text": "text"}).execute(context({"text": value}))
        assert result["outputs"]["argv"] == ["--text", value]
        assert result["outputs"]["params"] == {"text": value}
        assert not canary.exists()

    @pytest.mark.parametrize("template", INJECTIONS)
    def test_bash_runtime_receives_values_verbatim(self, tmp_path: Path, template: str) -> None:
        canary = tmp_path / "pwned"
        value = template.format(canary=canary)
        script = write_script(
            tmp_path,
            """\
            #!/usr/bin/env bash
            set -euo pipefail
            [[ "$1" == "--text" ]]
            printf '%s' "$2" > "$YLAI_ARTIFACTS_DIR/value.txt"
            """,
            name="echo.sh",
        )
        result = op(script, runtime="bash", param_values={"text": value}).execute(context())
        assert (Path(result["artifacts_dir"]) / "value.txt").read_text() == value
        assert result["artifacts"] == ["value.txt"]
        assert not canary.exists()

    def test_non_string_values_are_json_on_argv_and_typed_in_the_params_file(self, tmp_path: Path) -> None:
        values = {"n": 3, "x": 1.5, "flag": True, "items": ["a", "b"], "obj": {"k": 1}, "skip": None}
        result = op(write_script(tmp_path, ECHO_PY), param_values=values).execute(context())
        assert result["outputs"]["argv"] == [
            "--n", "3", "--x", "1.5", "--flag", "true", "--items", '["a", "b"]', "--obj", '{"k": 1}'
        ]  # fmt: skip
        assert result["outputs"]["params"] == values

    def test_dag_params_and_bindings_override_literals(self, tmp_path: Path) -> None:
        task = op(
            write_script(tmp_path, ECHO_PY),
            param_values={"a": "literal", "b": "literal", "c": "literal"},
            param_refs={"b": "pipeline_b"},
            bindings={"c": "upstream.path"},
        )
        ctx = context({"pipeline_b": "from-params"}, {"upstream": {"outputs": {"path": "/data/x.csv"}}})
        assert task.execute(ctx)["outputs"]["params"] == {"a": "literal", "b": "from-params", "c": "/data/x.csv"}

    def test_missing_upstream_output_is_a_clear_error(self, tmp_path: Path) -> None:
        task = op(write_script(tmp_path, ECHO_PY), bindings={"path": "extract.path"})
        with pytest.raises(ScriptFailedError, match=r"bound to extract\.path.*no output 'path'"):
            task.execute(context(xcoms={"extract": {"outputs": {"rows": 1}}}))

    def test_worker_environment_does_not_leak_into_scripts(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "super-secret")
        monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://u:pw@db/x")
        env = op(write_script(tmp_path, ECHO_PY), env={"MY_SETTING": "1"}).execute(context())["outputs"]["env"]
        assert not [k for k in env if k.startswith("AIRFLOW")]
        assert {"YLAI_PARAMS_FILE", "YLAI_RESULT_FILE", "YLAI_ARTIFACTS_DIR", "MY_SETTING", "PATH"} <= set(env)


def test_build_command_never_uses_a_shell() -> None:
    argv = build_command("executable", "/opt/x", {"a": "$(id)"})
    assert argv == ["/opt/x", "--a", "$(id)"]
    assert build_command("bash", "/opt/x.sh", {})[1:] == ["/opt/x.sh"]


class TestResultContract:
    def test_result_json_and_run_metadata(self, tmp_path: Path) -> None:
        script = write_script(
            tmp_path,
            """
            import json, os, time
            from pathlib import Path
            block = bytearray(120 * 2**20)  # ~120 MiB, touched so it is resident
            for i in range(0, len(block), 4096):
                block[i] = 1
            end = time.process_time() + 0.5
            while time.process_time() < end:
                pass
            time.sleep(0.5)
            Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"rows": 3, "path": "/x"}))
            """,
        )
        result = op(script, outputs={"rows": "integer", "path": "string"}).execute(context())
        assert result["outputs"] == {"rows": 3, "path": "/x"}
        assert result["exit_code"] == 0
        assert result["duration_seconds"] >= 0.9
        assert result["cpu_seconds"] >= 0.4
        assert result["peak_rss_bytes"] >= 100 * 2**20

    def test_no_result_file_means_empty_outputs(self, tmp_path: Path) -> None:
        result = op(write_script(tmp_path, "print('hi')")).execute(context())
        assert result["outputs"] == {}

    @pytest.mark.parametrize(
        ("content", "outputs", "message"),
        [
            pytest.param("{not json", {}, "invalid JSON", id="invalid-json"),
            pytest.param("[1, 2]", {}, "must write a JSON object", id="not-an-object"),
            pytest.param('{"a": 1}', {"b": "integer"}, "declared output 'b' is missing", id="missing"),
            pytest.param('{"a": "1"}', {"a": "integer"}, "output 'a' should be integer", id="wrong-type"),
            pytest.param('{"a": true}', {"a": "number"}, "output 'a' should be number", id="bool-is-not-number"),
        ],
    )
    def test_broken_result_contract_fails_the_task(
        self, tmp_path: Path, content: str, outputs: dict[str, str], message: str
    ) -> None:
        script = write_script(tmp_path, f"import os; open(os.environ['YLAI_RESULT_FILE'], 'w').write({content!r})")
        with pytest.raises(ScriptFailedError, match=message):
            op(script, outputs=outputs).execute(context())

    def test_nonzero_exit_reports_code_and_last_stderr_lines(self, tmp_path: Path) -> None:
        script = write_script(
            tmp_path,
            """
            import sys
            for i in range(30):
                print(f"err {i}", file=sys.stderr)
            sys.exit(3)
            """,
        )
        with pytest.raises(ScriptFailedError) as info:
            op(script).execute(context())
        message = str(info.value)
        assert "exited with code 3" in message
        assert "err 29" in message
        assert "err 10" in message
        assert "err 9\n" not in message  # only the last 20 lines
        assert message.count("err 29") == 1  # the tail is in the message once

    def test_unterminated_last_lines_reach_the_message(self, tmp_path: Path) -> None:
        script = write_script(tmp_path, "import sys; sys.stderr.write('first\\nlast, no newline'); sys.exit(2)")
        with pytest.raises(ScriptFailedError) as info:
            op(script).execute(context())
        assert str(info.value).endswith("exited with code 2. Last stderr lines:\nfirst\nlast, no newline")

    def test_a_run_shorter_than_the_first_tree_sample_reports_the_scripts_peak_rss(self, tmp_path: Path) -> None:
        script = write_script(tmp_path, "echo started\nsleep 0.05\n", name="short.sh")
        result = op(script, runtime="bash").execute(context())
        assert result["exit_code"] == 0
        assert 0 < result["peak_rss_bytes"] < 100 * 2**20  # bash's own VmHWM, not the worker's memory


def test_retries_default_to_exponential_backoff(tmp_path: Path) -> None:
    task = op(tmp_path / "x.py", retries=3)
    assert task.retry_exponential_backoff == 2.0
    assert task.retries == 3
    assert task.max_retry_delay is not None


FORKER = """
    import os, subprocess, sys, time
    from pathlib import Path
    a = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    b = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    Path(sys.argv[-1]).write_text(f"{os.getpid()} {a.pid} {b.pid}")
    time.sleep(300)
"""


def _wait_for_pids(path: Path) -> list[int]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) == 3:
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.05)
    raise AssertionError("script did not start")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class TestStopping:
    def test_execution_timeout_kills_the_whole_tree(self, tmp_path: Path) -> None:
        from airflow.sdk.exceptions import AirflowTaskTimeout
        from airflow.sdk.execution_time.timeout import timeout

        pids_file = tmp_path / "pids"
        task = op(write_script(tmp_path, FORKER), param_values={"pids": str(pids_file)}, kill_grace_seconds=2)
        with pytest.raises(AirflowTaskTimeout), timeout(3):  # type: ignore[no-untyped-call]  # what the task runner does for execution_timeout
            task.execute(context())
        pids = _wait_for_pids(pids_file)
        assert [pid for pid in pids if _alive(pid)] == []

    def test_on_kill_kills_the_whole_tree(self, tmp_path: Path) -> None:
        pids_file = tmp_path / "pids"
        task = op(write_script(tmp_path, FORKER), param_values={"pids": str(pids_file)}, kill_grace_seconds=2)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                task.execute(context())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        pids = _wait_for_pids(pids_file)
        task.on_kill()
        thread.join(20)
        assert not thread.is_alive()
        assert [pid for pid in pids if _alive(pid)] == []
        assert len(errors) == 1
        assert "killed by signal 15" in str(errors[0])

    def test_background_processes_die_with_the_script(self, tmp_path: Path) -> None:
        pid_file = tmp_path / "bg"
        script = write_script(
            tmp_path,
            f"""
            import subprocess, sys
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
            open({str(pid_file)!r}, "w").write(str(p.pid))
            """,
        )
        op(script).execute(context())
        assert not _alive(int(pid_file.read_text()))


class TestMeasurementsOfFailures:
    def test_a_failed_script_leaves_its_measurements_for_the_resources_page(self, tmp_path: Path) -> None:
        from ylai_operators.naming import MEASUREMENTS_XCOM_KEY

        script = write_script(tmp_path, "import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
        ctx = context()
        with pytest.raises(ScriptFailedError, match="exited with code 3"):
            op(script).execute(ctx)
        left = ctx["ti"].pushed[MEASUREMENTS_XCOM_KEY]
        assert set(left) == {"duration_seconds", "peak_rss_bytes", "cpu_seconds"}
        assert left["peak_rss_bytes"] > 0
        assert left["duration_seconds"] >= 0

    def test_a_successful_script_returns_them_in_its_result_only(self, tmp_path: Path) -> None:
        from ylai_operators.naming import MEASUREMENTS_XCOM_KEY

        script = write_script(tmp_path, "print('ok')\n")
        ctx = context()
        result = op(script).execute(ctx)
        assert result["peak_rss_bytes"] > 0
        assert MEASUREMENTS_XCOM_KEY not in ctx["ti"].pushed


class TestErrorLineOfFailures:
    """What a failed script leaves for the Monitor page's error trends (``ERROR_XCOM_KEY``)."""

    def test_the_last_non_blank_stderr_line_with_secrets_masked(self, tmp_path: Path) -> None:
        from ylai_operators.naming import ERROR_XCOM_KEY

        script = write_script(
            tmp_path,
            """
            import sys
            print("Traceback (most recent call last):", file=sys.stderr)
            print("ValueError: bad row 42 with token", sys.argv[2], file=sys.stderr)
            print("   ", file=sys.stderr)
            print("stdout is not an error")
            sys.exit(3)
            """,
        )
        ctx = context()
        task = op(script, param_values={"token": "s3cr3t-value-77"}, secret_params=["token"])
        with pytest.raises(ScriptFailedError):
            task.execute(ctx)
        assert ctx["ti"].pushed[ERROR_XCOM_KEY] == {"line": "ValueError: bad row 42 with token ***", "exit_code": 3}

    def test_a_broken_contract_leaves_the_reason_and_a_success_leaves_nothing(self, tmp_path: Path) -> None:
        from ylai_operators.naming import ERROR_XCOM_KEY

        script = write_script(tmp_path, "import os\nopen(os.environ['YLAI_RESULT_FILE'], 'w').write('[1]')\n")
        ctx = context()
        with pytest.raises(ScriptFailedError):
            op(script).execute(ctx)
        left = ctx["ti"].pushed[ERROR_XCOM_KEY]
        assert left["exit_code"] == 0
        assert left["line"] == "Script script must write a JSON object to YLAI_RESULT_FILE, got list"
        ok = context()
        op(write_script(tmp_path, "print('ok')\n", name="ok.py")).execute(ok)
        assert ERROR_XCOM_KEY not in ok["ti"].pushed


class TestMemoryLimit:
    def test_a_script_over_its_limit_is_stopped_and_the_error_names_script_limit_and_peak(self, tmp_path: Path) -> None:
        script = write_script(
            tmp_path,
            """
            import sys, time
            print("loading", file=sys.stderr)
            data = b"x" * (200 * 2**20)
            time.sleep(60)
            """,
            name="hog.py",
        )
        started = time.monotonic()
        with pytest.raises(ScriptMemoryLimitError) as info:
            op(script, memory_limit_mb=64, kill_grace_seconds=2).execute(context())
        assert time.monotonic() - started < 20
        message = str(info.value)
        used = int(message.split(" used ")[1].split(" MiB")[0])
        assert 64 < used < 1024  # the measured peak, in MiB
        assert message.startswith(f"Script hog used {used} MiB, over its limit resources.memory_mb=64; stopped")
        assert message.endswith("Last stderr lines:\nloading")

    def test_a_script_that_exits_0_on_sigterm_still_fails(self, tmp_path: Path) -> None:
        marker = tmp_path / "caught"
        script = write_script(
            tmp_path,
            f"""
            import signal, sys, time
            # SIGTERM waits until the handler is in place (it may come during the allocation).
            signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
            data = b"x" * (200 * 2**20)

            def leave(*_):
                open({str(marker)!r}, "w").write("exiting with 0")
                sys.exit(0)

            signal.signal(signal.SIGTERM, leave)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {{signal.SIGTERM}})
            time.sleep(60)
            """,
        )
        with pytest.raises(ScriptMemoryLimitError, match=r"over its limit resources\.memory_mb=64;"):
            op(script, memory_limit_mb=64, kill_grace_seconds=10).execute(context())
        assert marker.read_text() == "exiting with 0"

    def test_a_script_under_its_limit_runs_normally(self, tmp_path: Path) -> None:
        script = write_script(
            tmp_path,
            """
            import json, os, time
            data = b"x" * (32 * 2**20)
            time.sleep(0.6)  # past a few tree samples
            open(os.environ["YLAI_RESULT_FILE"], "w").write(json.dumps({"size": len(data)}))
            """,
        )
        result = op(script, memory_limit_mb=256).execute(context())
        assert result["outputs"] == {"size": 32 * 2**20}
        assert 32 * 2**20 < result["peak_rss_bytes"] < 256 * 2**20
        assert "over_memory_limit" not in result  # the XCom keeps its documented keys

    @pytest.mark.parametrize("limit", [0, -5, True])
    def test_a_limit_that_is_not_a_positive_number_is_refused(self, tmp_path: Path, limit: int) -> None:
        with pytest.raises(ValueError, match=r"memory_limit_mb must be a positive number of MiB"):
            op(tmp_path / "x.py", memory_limit_mb=limit)


def test_secret_values_are_masked_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    script = write_script(tmp_path, "import sys; print('token is', sys.argv[2])")
    task = op(script, param_values={"token": "s3cr3t-value-42"}, secret_params=["token"])
    task.execute(context())
    assert redact("token is s3cr3t-value-42") == "token is ***"
    assert json.dumps(redact({"x": "s3cr3t-value-42"})) == '{"x": "***"}'


class TestVersionOfTheRun:
    """Which version of the script a run ran (``SCRIPT_VERSION_XCOM_KEY``), left before the script starts."""

    def test_a_stored_script_leaves_its_number_even_when_it_fails(self, tmp_path: Path) -> None:
        from ylai_operators.naming import SCRIPT_VERSION_XCOM_KEY

        ctx = context()
        task = op(tmp_path / "stored.py", script_content="import sys\nsys.exit(2)\n", script_version=3)
        with pytest.raises(ScriptFailedError):
            task.execute(ctx)
        assert ctx["ti"].pushed[SCRIPT_VERSION_XCOM_KEY] == "3"

    def test_a_file_script_leaves_the_digest_of_the_file_it_ran(self, tmp_path: Path) -> None:
        import hashlib

        from ylai_operators.naming import SCRIPT_VERSION_XCOM_KEY

        script = write_script(tmp_path, "print('ok')\n")
        ctx = context()
        op(script).execute(ctx)
        expected = "sha256:" + hashlib.sha256(script.read_bytes()).hexdigest()[:12]
        assert ctx["ti"].pushed[SCRIPT_VERSION_XCOM_KEY] == expected
