"""Run several long-lived processes in the foreground, like a tiny Procfile runner.

Each child gets its own process group, so a terminal's Ctrl-C reaches only the
supervisor, which then stops every child *and its descendants* (Airflow's
scheduler, Celery and uvicorn all fork workers). Output is merged line by line
and prefixed with the component's name, or, with ``json_output``, written as one
JSON object per line with the component's name in it (:mod:`ylai_plugin.json_logs`).

A component that exits is restarted (:meth:`Supervisor.supervise`): after a delay that
grows exponentially with its consecutive crashes (with jitter, up to a cap), and only once
the dependencies it needs (the metadata database, the broker) answer again. A dependency
outage therefore never stops the platform; only a component that keeps crashing while
everything it needs answers is given up on (:class:`RestartPolicy`).
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from ylai_operators.catalog import stop_processes
from ylai_plugin.json_logs import decode_line, to_json_line


@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before restarting a component that exited, and when to give up.

    The n-th consecutive crash (1-based) waits ``initial_delay * factor ** (n - 1)`` seconds,
    at most ``max_delay``, minus up to ``jitter`` of it at random so that components crashing
    together (every one of them, when the database goes away) do not restart in lock-step.
    A component that stayed up ``stable_after`` seconds starts over at ``initial_delay``.

    A crash counts towards ``max_healthy_crashes`` only when every dependency of the component
    answered right after it exited: the crash is then the component's own fault (a bad
    configuration, a bug) and restarting it forever would only hide that. A crash during a
    dependency outage never counts, so an outage of any length never stops the platform.

    :param initial_delay: seconds before the first restart.
    :param factor: growth of the delay per consecutive crash.
    :param max_delay: the cap of the delay, in seconds.
    :param jitter: share of the delay (0..1) taken off at random.
    :param stable_after: seconds of uptime after which the crash counters reset.
    :param max_healthy_crashes: consecutive crashes with healthy dependencies before giving up.
    """

    initial_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.25
    stable_after: float = 120.0
    max_healthy_crashes: int = 10

    def delay(self, crashes: int, *, rng: random.Random | None = None) -> float:
        """Return the seconds to wait before restarting after the ``crashes``-th consecutive crash."""
        exponent = max(crashes, 1) - 1
        # Cap the exponent too: factor ** 1000 overflows a float long after the cap applies.
        base = min(self.max_delay, self.initial_delay * self.factor ** min(exponent, 64))
        return base * (1.0 - self.jitter * (rng or random).random())


@dataclass(frozen=True)
class Dependency:
    """Something components need that may be down for a while (the metadata DB, the broker).

    :param name: what the log says, e.g. ``metadata database``.
    :param address: ``host:port`` for the log; never a URL, which may hold a password.
    :param probe: returns normally when the dependency answers, raises otherwise; it must
        bound its own blocking (connect timeouts), and is also cut off after ``timeout``.
    :param timeout: seconds after which a probe that has not returned counts as "down".
    """

    name: str
    address: str
    probe: Callable[[], object] = field(repr=False)
    timeout: float = 5.0

    def answers(self, *, stopping: threading.Event | None = None) -> bool:
        """Run the probe in a helper thread and return whether it succeeded within ``timeout``.

        A thread keeps a hung probe (a frozen server that accepted the TCP connection) from
        freezing the supervisor; ``stopping`` ends the wait at once.
        """
        result: list[bool] = []

        def _run() -> None:
            try:
                self.probe()
            except Exception:  # any failure means "does not answer"
                result.append(False)
            else:
                result.append(True)

        worker = threading.Thread(target=_run, name=f"probe {self.name}", daemon=True)
        worker.start()
        deadline = time.monotonic() + self.timeout
        while worker.is_alive() and time.monotonic() < deadline:
            if stopping is not None and stopping.is_set():
                return False
            worker.join(0.1)
        return bool(result and result[0])


def tcp_probe(host: str, port: int, *, timeout: float = 2.0) -> Callable[[], None]:
    """Return a probe that opens (and closes) a TCP connection to ``host:port``."""

    def _probe() -> None:
        with socket.create_connection((host, port), timeout=timeout):
            pass

    return _probe


def sql_probe(url: str, *, timeout: float = 3.0) -> Callable[[], None]:
    """Return a probe that connects to a Postgres database with SQLAlchemy and runs ``SELECT 1``.

    A TCP connect is not enough: a Postgres that is starting up or shutting down accepts
    connections and refuses every query, and a component restarted then would crash again.
    """
    # Imported here, not in the probe: a first import on a loaded machine can take longer than
    # the probe's own time limit and would report a healthy database as down.
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    def _probe() -> None:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": max(1, int(timeout))})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    return _probe


@dataclass
class Component:
    """A named command the supervisor runs, with its restart bookkeeping."""

    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    dependencies: tuple[Dependency, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's (its service name)
    started_at: float = 0.0
    crashes: int = 0  # consecutive exits without a stable run in between
    healthy_crashes: int = 0  # of those, the ones while every dependency answered
    restart_at: float | None = None  # set while the component waits to be restarted


class Supervisor:
    """Start, watch, restart and stop a set of processes sharing one output stream.

    :param env: environment passed to every child.
    :param out: stream the prefixed lines are written to.
    :param policy: when to restart a component that exited and when to give up.
    :param rng: randomness of the jitter (tests pass a seeded one).
    :param json_output: write every line as a JSON object (``YLAI_LOG_FORMAT=json``) instead of
        prefixing it with the component's name.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        out: IO[str] | None = None,
        width: int = 14,
        policy: RestartPolicy | None = None,
        rng: random.Random | None = None,
        json_output: bool = False,
    ) -> None:
        self.env = env
        self.json_output = json_output
        self.out = out or sys.stdout
        self.width = width
        self.policy = policy or RestartPolicy()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.components: list[Component] = []
        self.stopping = threading.Event()
        self._write_lock = threading.Lock()
        self._pumps: list[threading.Thread] = []
        self._down: set[str] = set()  # dependencies reported as down and not yet back
        self._last_probe: dict[str, tuple[float, bool]] = {}

    # -- output -------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        """Write one line of ``name``: prefixed with it, or as a JSON object in JSON mode."""
        text = to_json_line(name, line) if self.json_output else f"{name:<{self.width}}| {line}"
        with self._write_lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[bytes], sink: list[str] | None) -> None:
        for raw in iter(stream.readline, b""):
            line = decode_line(raw)
            if sink is not None:
                sink.append(line)
            self.say(name, line)
        stream.close()

    def _spawn(
        self, argv: Sequence[str], *, stdin: int | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv),
            env=self.env | env if env else self.env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: the terminal's SIGINT must not hit the children
            # directly, and killpg() later reaches everything they forked.
            start_new_session=True,
        )

    # -- dependencies ---------------------------------------------------------
    def dependency_answers(self, dep: Dependency, *, max_age: float = 1.0) -> bool:
        """Probe ``dep`` (at most once per ``max_age`` seconds) and log when it goes and comes back.

        "waiting for ..." is written once per outage, not on every probe.
        """
        now = time.monotonic()
        cached = self._last_probe.get(dep.name)
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
        ok = dep.answers(stopping=self.stopping)
        self._last_probe[dep.name] = (time.monotonic(), ok)
        if ok and dep.name in self._down:
            self._down.discard(dep.name)
            self.say("ylai", f"{dep.name} ({dep.address}) answers again")
        elif not ok and dep.name not in self._down and not self.stopping.is_set():
            self._down.add(dep.name)
            self.say("ylai", f"waiting for {dep.name} ({dep.address})")
        return ok

    def wait_for(self, dependencies: Sequence[Dependency], *, interval: float = 1.0) -> bool:
        """Block until every dependency answers; return ``False`` if a stop was requested first."""
        while not self.stopping.is_set():
            if all(self.dependency_answers(dep, max_age=interval) for dep in dependencies):
                return True
            self.stopping.wait(interval)
        return False

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
    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        dependencies: Sequence[Dependency] = (),
        env: dict[str, str] | None = None,
    ) -> Component:
        """Start a long-running component; ``dependencies`` are awaited before each restart.

        :param env: variables of this component only, over the supervisor's ``env``.
        """
        component = Component(name, argv, dependencies=tuple(dependencies), env=dict(env or {}))
        self.components.append(component)
        self._launch(component)
        return component

    def _launch(self, component: Component) -> None:
        proc = self._spawn(component.argv, env=component.env)
        component.process = proc
        component.started_at = time.monotonic()
        component.restart_at = None
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(component.name, proc.stdout, None), daemon=True)
        pump.start()
        self._pumps = [p for p in self._pumps if p.is_alive()] + [pump]

    def restart(self, component: Component) -> Component:
        """Start a component that exited again at once, under the same name.

        Whatever the dead process left in its process group (a log server, executor
        workers) is stopped first, so restarts never leave orphans behind.
        """
        if component.process is not None:
            stop_processes([component.process], timeout=10)
        self._launch(component)
        return component

    def request_stop(self) -> None:
        """Ask :meth:`wait`, :meth:`supervise` and :meth:`run_once` to return; safe from signal handlers."""
        self.stopping.set()

    def wait(self) -> Component | None:
        """Block until a stop is requested or a component exits; return the one that exited."""
        while not self.stopping.wait(0.5):
            for component in self.components:
                if component.process is not None and component.process.poll() is not None:
                    return component
        return None

    def supervise(self, *, tick: float = 0.5) -> Component | None:
        """Keep every component running until a stop is requested; return ``None`` then.

        A component that exits is restarted after the policy's delay, and only once all of
        its dependencies answer. Returns the component given up on when one crashed
        ``max_healthy_crashes`` times in a row while its dependencies answered.
        """
        while not self.stopping.wait(tick):
            for component in list(self.components):
                if self.stopping.is_set():
                    return None
                if component.restart_at is None:
                    if (
                        component.process is not None
                        and component.process.poll() is not None
                        and self._exited(component)
                    ):
                        return component
                elif time.monotonic() >= component.restart_at and all(
                    self.dependency_answers(dep) for dep in component.dependencies
                ):
                    self.say("ylai", f"restarting {component.name}")
                    self._launch(component)
        return None

    def _exited(self, component: Component) -> bool:
        """Book an exit and schedule the restart; return ``True`` to give up on the component."""
        assert component.process is not None
        code = component.process.returncode
        now = time.monotonic()
        if now - component.started_at >= self.policy.stable_after:
            component.crashes = component.healthy_crashes = 0
        component.crashes += 1
        down = [dep for dep in component.dependencies if not self.dependency_answers(dep, max_age=0.0)]
        if not down:
            component.healthy_crashes += 1
        # Stop whatever the dead process left in its group (a log server, executor workers).
        stop_processes([component.process], timeout=10)
        if component.healthy_crashes >= self.policy.max_healthy_crashes:
            self.say(
                "ylai",
                f"{component.name} exited with code {code}; it crashed {component.healthy_crashes} times in a row "
                "while everything it needs answered, giving up",
            )
            return True
        delay = self.policy.delay(component.crashes, rng=self.rng)
        when = f"in {delay:.1f} s"
        if down:
            names = " and ".join(dep.name for dep in down)
            when = f"once the {names} answer{'s' if len(down) == 1 else ''} (at the earliest in {delay:.1f} s)"
        self.say("ylai", f"{component.name} exited with code {code}; restarting it {when}")
        component.restart_at = time.monotonic() + delay
        return False

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every component and all of their descendants."""
        procs = [c.process for c in self.components if c.process is not None]
        stop_processes(procs, timeout=timeout)
        for pump in self._pumps:
            pump.join(2)
