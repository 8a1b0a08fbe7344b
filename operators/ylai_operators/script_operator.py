"""``ScriptOperator``: run a registered script as an Airflow task.

The script runs in its own process group with a minimal environment. Its
parameters arrive as a JSON file (``YLAI_PARAMS_FILE``) and as ``--name value``
argv pairs, never through a shell, so a value such as ``$(rm -rf /)`` reaches
the script verbatim. stdout and stderr stream into the task log line by line,
with secret values masked by Airflow's secrets masker. A JSON object written to
``YLAI_RESULT_FILE`` becomes the task's XCom, together with the exit code,
duration, peak RSS and CPU seconds of the whole process tree.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from ylai_operators.process_tree import descendants, signal_tree, stop_processes

if TYPE_CHECKING:
    from airflow.sdk import Context

# What a script inherits from the worker. Everything else (AIRFLOW__* settings,
# connection URLs, the Fernet key) stays out of reach of user code.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "VIRTUAL_ENV")
_STDERR_TAIL = 20
_SAMPLE_EVERY = 0.2


class ScriptFailedError(Exception):
    """The script exited non-zero, wrote an invalid result, or broke its output contract."""


def argv_value(value: Any) -> str:
    """Render one parameter value for argv: strings verbatim, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def build_command(runtime: str, script: str, values: Mapping[str, Any]) -> list[str]:
    """Return the argv that starts ``script`` with ``--name value`` for each non-null parameter."""
    launcher = {"python": [sys.executable, "-u"], "bash": [shutil.which("bash") or "/bin/bash"]}.get(runtime, [])
    args: list[str] = []
    for name, value in values.items():
        if value is None:
            continue
        args += [f"--{name}", argv_value(value)]
    return [*launcher, script, *args]


def check_outputs(outputs: Mapping[str, Any], declared: Mapping[str, str]) -> list[str]:
    """Return the ways ``outputs`` breaks the declared output contract."""
    checks: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
        "array": (list,),
        "object": (dict,),
    }
    problems = []
    for name, kind in declared.items():
        if name not in outputs:
            problems.append(f"declared output {name!r} is missing")
            continue
        value = outputs[name]
        expected = checks.get(kind)
        wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
        if expected and (not isinstance(value, expected) or wrong_bool):
            problems.append(f"output {name!r} should be {kind}, got {type(value).__name__} {value!r}")
    return problems


def _safe_segment(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


class ScriptOperator(BaseOperator):
    """Run a script from ylai's registry in a subprocess.

    Parameter values are deliberately *not* templated: Jinja would render a
    user's ``{{ ... }}`` inside a value. They come from three places, merged in
    this order: ``param_values`` (literals), ``param_refs`` (the run's DAG params)
    and ``bindings`` (outputs of upstream ScriptOperator tasks, read from XCom).

    .. code-block:: python

        ScriptOperator(
            task_id="profile",
            script_path="/opt/dags/scripts/csv_profiler.py",
            runtime="python",
            param_refs={"path": "path"},
            outputs={"rows": "integer"},
        )

    :param script_path: path of the script file (for ``script_content``, only its name is used).
    :param script_content: the script itself, for scripts stored in the database; written to a
        private temporary file before each run.
    :param runtime: ``python`` (this interpreter), ``bash`` or ``executable`` (run directly).
    :param script_name: the registry name, used in messages.
    :param param_values: literal parameter values.
    :param param_refs: script parameter name -> DAG param name.
    :param bindings: script parameter name -> ``"<task_id>.<output>"`` of an upstream task.
    :param secret_params: names of parameters whose values are masked in logs.
    :param outputs: declared outputs, name -> type (``string``, ``integer``, ... or ``any``).
    :param env: extra environment variables for the script. (templated)
    :param cwd: working directory; defaults to a fresh temporary directory. (templated)
    :param kill_grace_seconds: how long the process tree gets between SIGTERM and SIGKILL.
    :return: pushed to XCom: ``{"outputs": {...}, "exit_code", "duration_seconds",
        "peak_rss_bytes", "cpu_seconds", "artifacts_dir", "artifacts"}``.
    """

    template_fields: Sequence[str] = ("env", "cwd")
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        script_path: str,
        script_content: str | None = None,
        runtime: str = "python",
        script_name: str | None = None,
        param_values: Mapping[str, Any] | None = None,
        param_refs: Mapping[str, str] | None = None,
        bindings: Mapping[str, str] | None = None,
        secret_params: Sequence[str] = (),
        outputs: Mapping[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        kill_grace_seconds: float = 10.0,
        **kwargs: Any,
    ) -> None:
        # Scripts call flaky things (HTTP, databases): retry with exponential backoff by default.
        kwargs.setdefault("retry_exponential_backoff", 2.0)
        kwargs.setdefault("retry_delay", timedelta(seconds=15))
        kwargs.setdefault("max_retry_delay", timedelta(minutes=30))
        super().__init__(**kwargs)
        self.script_path = script_path
        self.script_content = script_content
        self.runtime = runtime
        self.script_name = script_name or Path(script_path).stem
        self.param_values = dict(param_values or {})
        self.param_refs = dict(param_refs or {})
        self.bindings = dict(bindings or {})
        self.secret_params = list(secret_params)
        self.outputs = dict(outputs or {})
        self.env = env
        self.cwd = cwd
        self.kill_grace_seconds = kill_grace_seconds
        self._proc: subprocess.Popen[bytes] | None = None
        self._kill_deadline: float | None = None

    # -- parameters ------------------------------------------------------------
    def resolve_params(self, context: Context) -> dict[str, Any]:
        """Merge literal values, DAG params and upstream outputs into the script's parameters."""
        values = dict(self.param_values)
        dag_params = context.get("params") or {}
        for name, ref in self.param_refs.items():
            if ref in dag_params:
                values[name] = dag_params[ref]
        for name, source in self.bindings.items():
            task_id, _, output = source.partition(".")
            pulled = context["ti"].xcom_pull(task_ids=task_id)
            outputs = (pulled or {}).get("outputs") if isinstance(pulled, dict) else None
            if not isinstance(outputs, dict) or output not in outputs:
                raise ScriptFailedError(
                    f"parameter {name!r} is bound to {source}, but task {task_id!r} produced no output {output!r}"
                )
            values[name] = outputs[output]
        return values

    def _mask(self, values: Mapping[str, Any]) -> None:
        from airflow.sdk.log import mask_secret

        for name in self.secret_params:
            value = values.get(name)
            if value in (None, ""):
                continue
            mask_secret(value if isinstance(value, str) else argv_value(value), name)

    def _artifacts_dir(self, context: Context) -> Path:
        root = os.environ.get("YLAI_ARTIFACTS_ROOT") or str(
            Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "ylai-artifacts"
        )
        ti = context["ti"]
        run_id = str(getattr(ti, "run_id", "run"))
        path = Path(root, _safe_segment(self.dag_id), _safe_segment(run_id), _safe_segment(self.task_id))
        path = path / f"try_{getattr(ti, 'try_number', 1)}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _script_env(self, params_file: Path, result_file: Path, artifacts: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED_ENV or k.startswith("LC_")}
        env.update(self.env or {})
        env.update(
            {
                "YLAI_PARAMS_FILE": str(params_file),
                "YLAI_RESULT_FILE": str(result_file),
                "YLAI_ARTIFACTS_DIR": str(artifacts),
                "YLAI_SCRIPT": self.script_name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # -- running -----------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Run the script; return its result and run metadata."""
        values = self.resolve_params(context)
        self._mask(values)
        artifacts = self._artifacts_dir(context)
        workdir = Path(tempfile.mkdtemp(prefix="ylai-script-"))
        try:
            params_file = workdir / "params.json"
            result_file = workdir / "result.json"
            params_file.write_text(json.dumps(values, ensure_ascii=False, default=str))
            script = self.script_path
            if self.script_content is not None:
                path = workdir / (Path(self.script_path).name or "script")
                path.write_text(self.script_content, encoding="utf-8")
                path.chmod(0o700)
                script = str(path)
            argv = build_command(self.runtime, script, values)
            self.log.info("Running script %s (%s) with parameters: %s", self.script_name, self.runtime, sorted(values))
            run = self._run(argv, self._script_env(params_file, result_file, artifacts), self.cwd or str(workdir))
            return self._finish(run, result_file, artifacts)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run(self, argv: list[str], env: dict[str, str], cwd: str) -> dict[str, Any]:
        import psutil

        self._kill_deadline = None
        lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
        stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: a timeout kills the whole tree
        )
        self._proc = proc
        readers = [
            threading.Thread(target=_read_lines, args=(proc.stdout, "stdout", lines), daemon=True),
            threading.Thread(target=_read_lines, args=(proc.stderr, "stderr", lines), daemon=True),
        ]
        for reader in readers:
            reader.start()
        peak_rss = 0
        tree_cpu = 0.0
        status: int | None = None
        rusage = None
        next_sample = 0.0
        try:
            while status is None:
                now = time.monotonic()
                if now >= next_sample:
                    rss, cpu = _sample_tree(proc.pid, psutil)
                    peak_rss, tree_cpu = max(peak_rss, rss), max(tree_cpu, cpu)
                    next_sample = now + _SAMPLE_EVERY
                self._drain(lines, stderr_tail, timeout=0.05)
                if self._kill_deadline is not None and now > self._kill_deadline:
                    signal_tree(proc, signal.SIGKILL)  # on_kill's grace period is over
                # wait4 reaps the child *and* returns its rusage (CPU of all reaped descendants).
                pid, raw_status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, rusage = raw_status, usage
                    proc.returncode = os.waitstatus_to_exitcode(raw_status)
        finally:
            if proc.returncode is None:  # timeout, on_kill or any error: no orphans
                self.log.warning("Stopping the process tree of %s (pid %s)", self.script_name, proc.pid)
                stop_processes([proc], timeout=self.kill_grace_seconds)
            else:
                # The script exited; anything it left running in the background goes too.
                stop_processes([proc], timeout=self.kill_grace_seconds, reap=False)
            for reader in readers:
                reader.join(timeout=5)
            self._drain(lines, stderr_tail, timeout=0)
            self._proc = None
        assert status is not None
        cpu = tree_cpu
        if rusage is not None:
            cpu = max(cpu, rusage.ru_utime + rusage.ru_stime)
            # Not ru_maxrss: subprocess starts the child with vfork/posix_spawn, and the child's
            # ru_maxrss then includes the parent's memory (bench/script_operator_overhead.py).
        return {
            "exit_code": proc.returncode,
            "duration_seconds": round(time.monotonic() - started, 3),
            "peak_rss_bytes": int(peak_rss),
            "cpu_seconds": round(cpu, 3),
            "stderr_tail": list(stderr_tail),
        }

    def _drain(self, lines: queue.Queue[tuple[str, str | None]], tail: deque[str], timeout: float) -> None:
        # Log from this thread only; readers just enqueue.
        deadline = time.monotonic() + timeout
        while True:
            try:
                stream, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if line is None:
                # A stream reached EOF: the script is (about to be) gone, so hand back to the
                # loop at once to reap it instead of idling out the rest of the timeout.
                return
            if stream == "stderr":
                tail.append(line)
                self.log.warning("%s", line)
            else:
                self.log.info("%s", line)

    def _finish(self, run: dict[str, Any], result_file: Path, artifacts: Path) -> dict[str, Any]:
        code = run.pop("exit_code")
        tail = run.pop("stderr_tail")
        if code != 0:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            last = "\n".join(tail) if tail else "(no stderr output)"
            raise ScriptFailedError(f"Script {self.script_name} {how}. Last stderr lines:\n{last}")
        outputs: dict[str, Any] = {}
        if result_file.exists() and result_file.stat().st_size:
            try:
                loaded = json.loads(result_file.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScriptFailedError(
                    f"Script {self.script_name} wrote invalid JSON to YLAI_RESULT_FILE: {exc}"
                ) from None
            if not isinstance(loaded, dict):
                raise ScriptFailedError(
                    f"Script {self.script_name} must write a JSON object to YLAI_RESULT_FILE, "
                    f"got {type(loaded).__name__}"
                )
            outputs = loaded
        problems = check_outputs(outputs, self.outputs)
        if problems:
            raise ScriptFailedError(f"Script {self.script_name} broke its output contract: " + "; ".join(problems))
        files = sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*") if p.is_file())
        self.log.info(
            "Script %s finished in %.2fs (cpu %.2fs, peak RSS %.1f MiB)",
            self.script_name,
            run["duration_seconds"],
            run["cpu_seconds"],
            run["peak_rss_bytes"] / 2**20,
        )
        return {"outputs": outputs, "exit_code": code, **run, "artifacts_dir": str(artifacts), "artifacts": files}

    def on_kill(self) -> None:
        """Terminate the script's whole process tree when Airflow kills the task."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            # Signal only: execute() owns the child (it reaps it with wait4 to get its
            # rusage) and escalates to SIGKILL once the grace period is over.
            self._kill_deadline = time.monotonic() + self.kill_grace_seconds
            signal_tree(proc, signal.SIGTERM)


def _read_lines(stream: IO[bytes] | None, name: str, sink: queue.Queue[tuple[str, str | None]]) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        sink.put((name, raw.decode("utf-8", errors="replace").rstrip("\r\n")))
    stream.close()
    sink.put((name, None))


def _sample_tree(pid: int, psutil: Any) -> tuple[int, float]:
    rss = 0
    cpu = 0.0
    for proc in descendants([pid]):
        try:
            with proc.oneshot():
                rss += proc.memory_info().rss
                times = proc.cpu_times()
                cpu += times.user + times.system + times.children_user + times.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return rss, cpu
