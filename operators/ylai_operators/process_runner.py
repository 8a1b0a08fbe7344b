"""Run one command as a supervised process tree: stream its output, measure it, stop it cleanly.

``ScriptOperator`` hands the command it built to :class:`ProcessRunner` and only deals with
parameters and results. The runner starts the command in its own process group with the
given environment, logs stdout and stderr line by line (stderr as warnings, and keeps the
last lines for the error message), measures the peak RSS and CPU seconds of the whole tree,
stops the tree when its RSS goes over an optional memory limit, and on the way out (exit,
timeout, memory limit, :meth:`ProcessRunner.stop`) leaves no process behind.
psutil is imported lazily (:mod:`ylai_operators.process_tree`): DAG files import
``ylai_operators`` and parsing must stay fast.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections import deque
from typing import Any, Protocol

from ylai_operators.process_tree import descendants, signal_tree, stop_processes

_STDERR_TAIL = 20
# Peak RSS and CPU of the process tree. Tree samples (psutil, which walks every process on the
# machine) start after _FIRST_SAMPLE: a script that ends sooner is trivial, and sampling it would
# cost more than running it. Until then the script's own VmHWM (its peak RSS so far, one /proc
# read) is read at 5, 10, 20, 40 and 80 ms and when it writes output (at most every 10 ms). So a
# run shorter than _FIRST_SAMPLE reports the peak RSS of the script process itself as of its
# last read (not of its children; 0 only if it exited before the first read); a longer run
# reports the largest of the tree samples and the script's VmHWM. CPU seconds come from
# wait4() (the script and every descendant it reaped) or the tree samples, whichever is larger.
#
# The memory limit is checked against these same measurements (no second sampler), so it has
# their granularity: the tree's summed RSS every SAMPLE_EVERY from _FIRST_SAMPLE on, and the
# script process's own VmHWM at every read (a high-water mark: a short peak of the script itself
# is caught at the next read, if it still runs then). A child's peak that comes and goes between
# two tree samples is not seen, nor is what children use in a run shorter than _FIRST_SAMPLE.
# Not RLIMIT_AS: the virtual size of a Python or JVM process is far above what it uses, and it
# bounds each process, not the tree. Summed RSS counts pages the tree's processes share (shared
# libraries, a forked worker's copy-on-write pages) once per process.
_FIRST_SAMPLE = 0.1
SAMPLE_EVERY = 0.2
_HWM_FIRST = 0.005
_HWM_EVERY = 0.01
_EOF_WAIT = 5.0  # after the exit, how long output still held open by an escaped child is read
_POLL_MIN, _POLL_MAX = 0.001, 0.05  # wait4 polling where there is no pidfd
_DRAIN_LIMIT = 1 << 20  # output still buffered when a run is stopped: log at most this much per stream
# A tree over its memory limit may still be allocating: SIGKILL comes sooner than after a stop().
_MEMORY_KILL_GRACE = 3.0


class Log(Protocol):
    """What the runner needs of a logger (a ``logging.Logger`` or an operator's ``log``)."""

    def info(self, msg: str, /, *args: Any) -> Any:
        """Log an informational line."""

    def warning(self, msg: str, /, *args: Any) -> Any:
        """Log a warning line."""


class ProcessRunner:
    """Run commands one at a time, each as its own process group.

    :param name: what runs (a script's name), used in log messages.
    :param log: where the output lines go (stdout as info, stderr as warnings).
    :param kill_grace_seconds: how long the process tree gets between SIGTERM and SIGKILL.
    :param memory_limit_bytes: when the tree's measured RSS goes over this, the tree is sent
        SIGTERM, then SIGKILL after at most 3 s, and the result says ``over_memory_limit``.
    """

    def __init__(
        self, name: str, log: Log, *, kill_grace_seconds: float = 10.0, memory_limit_bytes: int | None = None
    ) -> None:
        self.name = name
        self.log = log
        self.kill_grace_seconds = kill_grace_seconds
        self.memory_limit_bytes = memory_limit_bytes
        self._proc: subprocess.Popen[bytes] | None = None
        self._kill_deadline: float | None = None

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> dict[str, Any]:
        """Run ``argv`` to its end and return how it went.

        :return: ``exit_code``, ``duration_seconds``, ``peak_rss_bytes``, ``cpu_seconds``,
            ``stderr_tail`` (the last stderr lines) and ``over_memory_limit`` (the tree was
            stopped because its RSS went over ``memory_limit_bytes``).

        The process leads its own process group; whatever is left of its tree when it exits,
        times out (an exception raised into this thread) or is stopped goes with it.
        """
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
        over_limit = False
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
                    over_limit = over_limit or self._check_memory(peak_rss)
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
                    over_limit = over_limit or self._check_memory(peak_rss)
                    next_sample = now + SAMPLE_EVERY
                if self._kill_deadline is not None and now > self._kill_deadline:
                    signal_tree(proc, signal.SIGKILL)  # the grace period (of stop() or the memory limit) is over
        finally:
            if proc.returncode is None:  # timeout, on_kill or any error: no orphans
                self.log.warning("Stopping the process tree of %s (pid %s)", self.name, proc.pid)
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
            "over_memory_limit": over_limit,
        }

    def _check_memory(self, rss: int) -> bool:
        """Whether ``rss`` is over the memory limit; if so, start stopping the tree."""
        limit = self.memory_limit_bytes
        if limit is None or rss <= limit:
            return False
        self.log.warning(
            "%s used %.0f MiB, over its memory limit of %.0f MiB: stopping its process tree",
            self.name,
            rss / 2**20,
            limit / 2**20,
        )
        self._terminate(min(self.kill_grace_seconds, _MEMORY_KILL_GRACE))
        return True

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

    def stop(self) -> None:
        """Ask the running command's tree to stop (SIGTERM); :meth:`run` sends SIGKILL after the grace period.

        Safe to call from another thread (Airflow's ``on_kill``) and when nothing runs.
        """
        self._terminate(self.kill_grace_seconds)

    def _terminate(self, grace: float) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            # Signal only: run() owns the child (it reaps it with wait4 to get its
            # rusage) and escalates to SIGKILL once the grace period is over.
            deadline = time.monotonic() + grace
            if self._kill_deadline is None or deadline < self._kill_deadline:
                self._kill_deadline = deadline
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
