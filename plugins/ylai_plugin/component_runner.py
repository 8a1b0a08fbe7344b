"""``ylai component NAME -- COMMAND...``: one platform component in a container of its own.

Under Docker Compose and Kubernetes each component (api-server, scheduler, ...) runs as its own
container with its own command, without ``ylai run``'s supervisor in between. This wrapper gives
those containers the same JSON lines as ``ylai run`` (docs/logging.md):

- ``YLAI_LOG_FORMAT`` is not ``json``: the command replaces this process (``exec``), so the
  component runs exactly as without the wrapper, with no process and no pipe in between.
- ``YLAI_LOG_FORMAT=json``: the command runs as a child with Airflow's ``[logging] json_logs`` on
  (:data:`~ylai_plugin.json_logs.AIRFLOW_JSON_SETTINGS`, unless the environment sets them), and
  each line it writes to stdout or stderr is rewritten by :func:`~ylai_plugin.json_logs.to_json_line`
  (the supervisor's own rewriting) onto the same stream of this process.

Signals: the child runs in a session of its own and the wrapper forwards the signals a container
runtime or a terminal sends (SIGTERM, SIGINT, ...) to the child's main process only. Airflow's
components stop their own workers on SIGTERM, and Celery's warm shutdown needs exactly that
(a SIGTERM reaching the pool's processes would kill running tasks), so this is what the chart's
``DUMB_INIT_SETSID=0`` does for the worker, for every component; whatever the child leaves in its
process group when it exits is stopped (systemd's ``KillMode=mixed`` works the same way). The
wrapper exits with the child's exit code (``128 + N`` when signal N ended it).

This module must stay free of Airflow imports: it runs before the component's command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import IO

from ylai_plugin.json_logs import AIRFLOW_JSON_SETTINGS, decode_line, json_mode, to_json_line
from ylai_plugin.platform_env import SERVICE_NAME, component_environment

#: What a container runtime, Kubernetes or a terminal may send; each goes on to the child.
FORWARDED_SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGQUIT,  # Celery: cold shutdown
    signal.SIGHUP,
    signal.SIGUSR1,  # Celery: dump the workers' tracebacks
    signal.SIGUSR2,  # Airflow's scheduler: dump its executor's state
)
# After the child exited, how long its output may still arrive: a process it forked (a log
# server) may keep the pipe open, and must not keep the container from stopping.
DRAIN_SECONDS = 5.0
# Shell conventions, as `docker run` reports them.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
EXIT_USAGE = 2


def exit_status(returncode: int) -> int:
    """Return the exit status a shell reports for ``returncode`` (``128 + N`` for signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """Return the child's environment in JSON mode: Airflow's JSON logs on unless ``env`` sets them."""
    return {**AIRFLOW_JSON_SETTINGS, **env}


class _JsonRelay:
    """Runs the command as a child and writes each of its lines as one JSON object."""

    def __init__(self, component: str, command: Sequence[str], env: Mapping[str, str]) -> None:
        self.component = component
        self.command = list(command)
        self.env = child_environment(env)
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []  # signals received before the child existed
        self.lock = threading.Lock()

    def say(self, out: IO[str], line: str) -> None:
        text = to_json_line(self.component, line)
        with self.lock:
            out.write(text + "\n")
            out.flush()

    def note(self, message: str) -> None:
        """Write the wrapper's own error line (logger ``ylai``) to stderr."""
        self.say(sys.stderr, json.dumps({"level": "error", "logger": "ylai", "message": message}))

    def relay(self, stream: IO[bytes], out: IO[str]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(out, decode_line(raw))

    def forward(self, signum: int, frame: FrameType | None) -> None:
        if self.child is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
            self.child.send_signal(signum)

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self.forward) for sig in FORWARDED_SIGNALS}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        try:
            child = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            self.note(f"cannot start {self.command[0]!r}: {exc.strerror or exc}")
            return EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
        self.child = child
        for signum in self.pending:
            self.forward(signum, None)
        assert child.stdout is not None
        assert child.stderr is not None
        relays = [
            threading.Thread(target=self.relay, args=(child.stdout, sys.stdout), daemon=True),
            threading.Thread(target=self.relay, args=(child.stderr, sys.stderr), daemon=True),
        ]
        for thread in relays:
            thread.start()
        returncode = child.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGTERM)  # what the child left behind in its group
        for thread in relays:
            thread.join(DRAIN_SECONDS)
        status = exit_status(returncode)
        if status != 0:
            # The container's exit code says it too, but not to a log collector.
            self.note(f"{self.command[0]} exited with code {status}")
        return status


def named_service(component: str, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the component's own trace service name (``ylai-scheduler``, ...) when tracing is on.

    As under ``ylai run``: a service name the user chose wins; ``ylai``, the name Compose and the
    Helm values give every container, is ylai's own default, so each component replaces it with
    its own and a trace backend tells the scheduler's spans from the worker's.
    """
    common = dict(env)
    if common.get("OTEL_SERVICE_NAME", "").strip() == SERVICE_NAME:
        del common["OTEL_SERVICE_NAME"]
    return {**env, **component_environment(component, common)}


def run_component(component: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run ``command`` as the platform component ``component``; return its exit status.

    Outside JSON mode this does not return: the command replaces the process (its exit status is
    the process's). It returns ``127``/``126`` when the command cannot be started.
    """
    environ = named_service(component, os.environ if env is None else env)
    argv = list(command)
    if not argv:
        print("ylai component: no command given (ylai component NAME -- COMMAND...)", file=sys.stderr)
        return EXIT_USAGE
    if not json_mode(environ):
        try:
            os.execvpe(argv[0], argv, environ)  # noqa: S606 - the component's own command, as the container gives it
        except OSError as exc:
            print(f"ylai component: cannot start {argv[0]!r}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
    return _JsonRelay(component, argv, environ).run()
