"""Run several long-lived processes in the foreground, like a tiny Procfile runner.

Each child gets its own process group, so a terminal's Ctrl-C reaches only the
supervisor, which then stops every child *and its descendants* (Airflow's
scheduler, Celery and uvicorn all fork workers). Output is merged line by line
and prefixed with the component's name.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from ylai_operators.catalog import stop_processes


@dataclass
class Component:
    """A named command the supervisor runs."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


class Supervisor:
    """Start, watch and stop a set of processes sharing one output stream.

    :param env: environment passed to every child.
    :param out: stream the prefixed lines are written to.
    """

    def __init__(self, *, env: dict[str, str], out: IO[str] | None = None, width: int = 14) -> None:
        self.env = env
        self.out = out or sys.stdout
        self.width = width
        self.components: list[Component] = []
        self.stopping = threading.Event()
        self._write_lock = threading.Lock()
        self._pumps: list[threading.Thread] = []

    # -- output -------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        """Write one prefixed line."""
        with self._write_lock:
            self.out.write(f"{name:<{self.width}}| {line}\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[bytes], sink: list[str] | None) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if sink is not None:
                sink.append(line)
            self.say(name, line)
        stream.close()

    def _spawn(self, argv: Sequence[str], *, stdin: int | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv),
            env=self.env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: the terminal's SIGINT must not hit the children
            # directly, and killpg() later reaches everything they forked.
            start_new_session=True,
        )

    # -- one-shot steps -----------------------------------------------------
    def run_once(self, name: str, argv: Sequence[str], *, input_text: str | None = None) -> tuple[int, list[str]]:
        """Run a command to completion, streaming its output; return (exit code, lines).

        If :meth:`request_stop` is called meanwhile, the command is terminated.
        """
        proc = self._spawn(argv, stdin=subprocess.PIPE if input_text is not None else None)
        component = Component(name, argv, proc)
        self.components.append(component)
        lines: list[str] = []
        if input_text is not None:
            assert proc.stdin is not None
            proc.stdin.write(input_text.encode())
            proc.stdin.close()
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout, lines), daemon=True)
        pump.start()
        while proc.poll() is None:
            if self.stopping.wait(0.2):
                stop_processes([proc])
        pump.join(5)
        self.components.remove(component)
        return proc.returncode, lines

    # -- long-running components -------------------------------------------
    def start(self, name: str, argv: Sequence[str]) -> Component:
        """Start a long-running component."""
        proc = self._spawn(argv)
        component = Component(name, argv, proc)
        self.components.append(component)
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout, None), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return component

    def restart(self, component: Component) -> Component:
        """Start a component that exited again, under the same name.

        Whatever the dead process left in its process group (a log server, executor
        workers) is stopped first, so restarts never leave orphans behind.
        """
        if component.process is not None:
            stop_processes([component.process], timeout=10)
        self.components.remove(component)
        return self.start(component.name, component.argv)

    def request_stop(self) -> None:
        """Ask :meth:`wait` and :meth:`run_once` to return; safe from signal handlers."""
        self.stopping.set()

    def wait(self) -> Component | None:
        """Block until a stop is requested or a component exits; return the one that exited."""
        while not self.stopping.wait(0.5):
            for component in self.components:
                if component.process is not None and component.process.poll() is not None:
                    return component
        return None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every component and all of their descendants."""
        procs = [c.process for c in self.components if c.process is not None]
        stop_processes(procs, timeout=timeout)
        for pump in self._pumps:
            pump.join(2)
