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

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from ylai_operators.process_tree import descendants, signal_tree, stop_processes

if TYPE_CHECKING:
    from airflow.sdk import Context

# What a script inherits from the worker. Everything else (AIRFLOW__* settings,
# connection URLs, the Fernet key) stays out of reach of user code.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "VIRTUAL_ENV")
_STDERR_TAIL = 20
# Peak RSS and CPU of the process tree. Tree samples (psutil, which walks every process on the
# machine) start after _FIRST_SAMPLE: a script that ends sooner is trivial, and sampling it would
# cost more than running it. Until then the script's own VmHWM (its peak RSS so far, one /proc
# read) is read at 5, 10, 20, 40 and 80 ms and when it writes output (at most every 10 ms). So a
# run shorter than _FIRST_SAMPLE reports the peak RSS of the script process itself as of its
# last read (not of its children; 0 only if it exited before the first read); a longer run
# reports the largest of the tree samples and the script's VmHWM. CPU seconds come from
# wait4() (the script and every descendant it reaped) or the tree samples, whichever is larger.
_FIRST_SAMPLE = 0.1
_SAMPLE_EVERY = 0.2
_HWM_FIRST = 0.005
_HWM_EVERY = 0.01
_EOF_WAIT = 5.0  # after the exit, how long output still held open by an escaped child is read
_POLL_MIN, _POLL_MAX = 0.001, 0.05  # wait4 polling where there is no pidfd
_DRAIN_LIMIT = 1 << 20  # output still buffered when a run is stopped: log at most this much per stream


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
        # One thread multiplexes stdout, stderr and the child's exit (a pidfd on Linux) with a
        # selector: no reader threads, no queue, and the exit is noticed the moment it happens.
        self._kill_deadline = None
        stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # own process group: a timeout kills the whole tree
        )
        self._proc = proc
        selector = selectors.DefaultSelector()
        pending: dict[int, bytes] = {}
        streams = {}
        for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            assert stream is not None
            fd = stream.fileno()
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ, name)
            pending[fd] = b""
            streams[fd] = stream
        pidfd = _pidfd_open(proc.pid)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ, None)
        peak_rss = 0
        tree_cpu = 0.0
        status: int | None = None
        rusage = None
        next_sample = started + _FIRST_SAMPLE
        next_hwm = 0.0  # on output: rate limit of the VmHWM reads
        hwm_tick = _HWM_FIRST  # before the first tree sample: VmHWM reads at 5, 10, 20, 40, 80 ms
        next_tick = started + hwm_tick
        poll = _POLL_MIN  # without a pidfd: how often to try wait4 once the output is closed
        eof_deadline = 0.0
        try:
            while status is None or (pending and time.monotonic() < eof_deadline):
                now = time.monotonic()
                if status is not None:
                    timeout = eof_deadline - now
                else:
                    timeout = max(0.0, min(next_sample, next_tick) - now)
                    if self._kill_deadline is not None:
                        timeout = min(timeout, max(0.0, self._kill_deadline - now))
                    if pidfd is None and not pending:
                        timeout = min(timeout, poll)
                        poll = min(poll * 2, _POLL_MAX)
                    elif pidfd is None:
                        timeout = min(timeout, _POLL_MAX)
                exited = False
                got_output = False
                for key, _ in selector.select(timeout):
                    if key.data is None:  # the pidfd: the child exited
                        exited = True
                        selector.unregister(key.fd)
                        continue
                    got_output = True
                    fd = int(key.fd)
                    chunk = os.read(fd, 65536)
                    if not chunk:  # EOF
                        selector.unregister(fd)
                        streams.pop(fd).close()
                        self._emit(key.data, pending.pop(fd), stderr_tail, final=True)
                        continue
                    pending[fd] = self._emit(key.data, pending[fd] + chunk, stderr_tail, final=False)
                now = time.monotonic()
                if status is not None:
                    continue
                if (got_output and now >= next_hwm) or now >= next_tick:
                    # Cheap (one /proc read): the script's own high-water mark, so that a run
                    # shorter than the first tree sample still reports its peak RSS.
                    peak_rss = max(peak_rss, _vm_hwm(proc.pid))
                    next_hwm = now + _HWM_EVERY
                    if now >= next_tick:
                        hwm_tick *= 2
                        next_tick = started + hwm_tick if started + hwm_tick < next_sample else float("inf")
                if exited or pidfd is None:
                    # wait4 reaps the child *and* returns its rusage (CPU of all reaped descendants).
                    pid, raw_status, usage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        status, rusage = raw_status, usage
                        proc.returncode = os.waitstatus_to_exitcode(raw_status)
                        # Anything it left running in its process group goes too (that also
                        # closes pipes a background child inherited).
                        _kill_group(proc.pid, min(self.kill_grace_seconds, _EOF_WAIT))
                        eof_deadline = now + _EOF_WAIT
                        continue
                if now >= next_sample:
                    rss, cpu = _sample_tree(proc.pid)
                    peak_rss, tree_cpu = max(peak_rss, rss, _vm_hwm(proc.pid)), max(tree_cpu, cpu)
                    next_sample = now + _SAMPLE_EVERY
                if self._kill_deadline is not None and now > self._kill_deadline:
                    signal_tree(proc, signal.SIGKILL)  # on_kill's grace period is over
        finally:
            if proc.returncode is None:  # timeout, on_kill or any error: no orphans
                self.log.warning("Stopping the process tree of %s (pid %s)", self.script_name, proc.pid)
                stop_processes([proc], timeout=self.kill_grace_seconds)
            for fd, stream in streams.items():  # log what is left; never block on a pipe
                rest = pending.get(fd, b"")
                with contextlib.suppress(OSError):
                    while len(rest) < _DRAIN_LIMIT and (chunk := os.read(fd, 65536)):
                        rest += chunk
                self._emit("stdout" if stream is proc.stdout else "stderr", rest, stderr_tail, final=True)
                stream.close()
            selector.close()
            if pidfd is not None:
                os.close(pidfd)
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

    def _emit(self, stream: str, data: bytes, tail: deque[str], *, final: bool) -> bytes:
        """Log every complete line of ``data`` (all of it when ``final``); return the unfinished rest."""
        *lines, rest = data.split(b"\n")
        if final and rest:
            lines.append(rest)
            rest = b""
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            if stream == "stderr":
                tail.append(line)
                self.log.warning("%s", line)
            else:
                self.log.info("%s", line)
        return rest

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


def _pidfd_open(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits (Linux >= 5.3), else ``None``."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def _kill_group(pgid: int, timeout: float) -> None:
    """SIGTERM + SIGKILL what is left of process group ``pgid``; wait up to ``timeout`` for it to go."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return  # the usual case: the script left nothing behind
    deadline = time.monotonic() + timeout
    pause = 0.001
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
        while time.monotonic() < deadline:  # until the kernel has removed every member
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            os.killpg(pgid, 0)


def _vm_hwm(pid: int) -> int:
    """The peak RSS (``VmHWM``) of ``pid`` so far, in bytes; 0 if it is gone or unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _sample_tree(pid: int) -> tuple[int, float]:
    import psutil

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
