"""Drive a real ``ylai run`` process from tests: start, wait, call its APIs, stop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psutil

from tests.conftest import REPO_ROOT

T = TypeVar("T")
YLAI_CLI = [sys.executable, "-m", "ylai_plugin.cli", "--root", str(REPO_ROOT), "run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database ``<prefix>_<random>`` on ``server_url``'s Postgres server; yields its URL.

    On exit the database is dropped with its connections (``WITH (FORCE)``), whatever happened.
    """
    import psycopg2

    name = f"{prefix}_{os.urandom(6).hex()}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class HTTPResult:
    """Status, headers and body of one HTTP call."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.body)


class RunningPlatform:
    """One ``ylai run`` process with its own AIRFLOW_HOME and ports."""

    def __init__(self, home: Path, extra_env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.log_path = home.parent / f"{home.name}-ylai-run.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YLAI_"))},
            "AIRFLOW_HOME": str(home),
            "YLAI_PORT": str(self.port),
            # Free ports for the log servers, so a platform left running on this
            # machine (8793/8794) never clashes with the one under test.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **extra_env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        self._token = None
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            YLAI_CLI,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[RunningPlatform]:
        """Start, wait until ready, and kill whatever is left on the way out (for fixtures)."""
        self.start()
        try:
            self.wait_ready()
            yield self
        finally:
            self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    @property
    def json_logs(self) -> bool:
        return self.env.get("YLAI_LOG_FORMAT", "").lower() == "json"

    def records(self) -> list[dict[str, Any]]:
        """Every line written so far as a JSON object (``YLAI_LOG_FORMAT=json``), checked line by line.

        Fails on the first line that is not a JSON object with the keys every line must have
        (docs/logging.md): time, level, logger, component and message.
        """
        records = []
        for number, line in enumerate(self.output().splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"line {number} is not JSON: {line!r}") from None
            assert isinstance(record, dict), f"line {number} is not an object: {line!r}"
            missing = {"time", "level", "logger", "component", "message"} - set(record)
            assert not missing, f"line {number} lacks {missing}: {line!r}"
            records.append(record)
        return records

    def component_lines(self, component: str) -> list[str]:
        """What ``component`` wrote: its prefixed lines in text mode, its records as JSON in JSON mode."""
        if not self.json_logs:
            return [line for line in self.output().splitlines() if line.startswith(f"{component} ")]
        return [json.dumps(r) for r in self.records() if r["component"] == component]

    def wait_ready(self, timeout: float = 480) -> None:
        """Wait until the api-server answers and the banner with the credentials is printed."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ylai run exited with {self.proc.returncode}:\n{self.tail()}")
            if "ylai is up:" in self.output().split("ylai          | stopped")[-1]:
                return
            time.sleep(1)
        raise AssertionError(f"platform not ready after {timeout}s:\n{self.tail()}")

    def descendants(self) -> list[psutil.Process]:
        assert self.proc is not None
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> tuple[int, list[int]]:
        """Signal ``ylai run``; return its exit code and the pids that outlived it."""
        assert self.proc is not None
        pids = [p.pid for p in self.descendants()]
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = -1
        time.sleep(0.5)
        survivors = [pid for pid in pids if _alive(pid)]
        return rc, survivors

    def kill(self, grace: float = 60) -> None:
        """Cleanup for fixtures: nothing this platform started may survive the tests.

        Graceful first: SIGTERM lets ``ylai run`` stop its components the way Ctrl-C does, so each
        process exits through its own handlers and writes its coverage data (SIGKILL would lose it).
        Whatever is still alive after ``grace`` seconds gets SIGTERM, then SIGKILL.
        """
        if self.proc is None:
            return
        procs = [*self.descendants(), *([psutil.Process(self.proc.pid)] if _alive(self.proc.pid) else [])]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        left = [proc for proc in procs if _alive(proc.pid)]
        for proc in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(left, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)

    # -- HTTP ---------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        cookie: str | None = None,
        auth: bool = True,
    ) -> HTTPResult:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and cookie is None:
            headers["Authorization"] = f"Bearer {token or self.token()}"
        if cookie is not None:
            headers["Cookie"] = f"_token={cookie}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            # Generous: the machine may be busy; tests assert behaviour, never timings.
            with urllib.request.urlopen(req, timeout=120) as resp:
                return HTTPResult(resp.status, resp.read(), dict(resp.headers))
        except urllib.error.HTTPError as err:
            return HTTPResult(err.code, err.read(), dict(err.headers))

    def create_user(self, username: str, role: str, password: str) -> None:
        """A FAB user with one role, through FAB's REST API (kept if an earlier run made it).

        Retried for up to 60 s: right after start-up FAB may not have synced the role yet.
        """
        body = {
            "username": username,
            "password": password,
            "first_name": username,
            "last_name": "test",
            "email": f"{username}@example.com",
            "roles": [{"name": role}],
        }
        wait_until(
            lambda: "ok" if self.request("POST", "/auth/fab/v1/users", body).status in (200, 409) else None,
            60,
            lambda: f"could not create {username}",
        )

    def create_postgres_connection(self, conn_id: str, url: str) -> HTTPResult:
        """An Airflow connection ``conn_id`` to the Postgres database at ``url`` (Airflow's REST API).

        409 when it exists already; the answer is returned for the caller to check.
        """
        server = urlsplit(url)
        body = {
            "connection_id": conn_id,
            "conn_type": "postgres",
            "host": server.hostname or "127.0.0.1",
            "port": server.port or 5432,
            "login": server.username or "postgres",
            "password": server.password,
            "schema": server.path.lstrip("/") or "postgres",
        }
        return self.request("POST", "/api/v2/connections", body)

    def login(self, username: str, password: str) -> HTTPResult:
        return self.request("POST", "/auth/token", {"username": username, "password": password}, auth=False)

    def token(self) -> str:
        if self._token is None:
            resp = self.login(self.username, self.password)
            assert resp.status in (200, 201), f"login failed: {resp.status} {resp.body[:300]!r}"
            self._token = str(resp.json()["access_token"])
        return self._token

    @property
    def username(self) -> str:
        return self.env.get("YLAI_ADMIN_USERNAME", "admin")

    @property
    def password(self) -> str:
        if "YLAI_ADMIN_PASSWORD" in self.env:
            return self.env["YLAI_ADMIN_PASSWORD"]
        return self.banner_password()

    def banner_password(self) -> str:
        found = re.findall(r"password:\s+(\S+)\s+\((?:generated|saved)", self.output())
        assert found, f"no password in the banner:\n{self.tail()}"
        return str(found[-1])

    # -- Airflow helpers ----------------------------------------------------
    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        resp = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        assert resp.status == 200, f"trigger failed: {resp.status} {resp.body[:500]!r}"
        return str(resp.json()["dag_run_id"])

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed ``dag_id``."""
        wait_until(
            lambda: "ok" if self.request("GET", f"/api/v2/dags/{dag_id}").status == 200 else None,
            timeout,
            lambda: f"DAG {dag_id} never appeared:\n{self.tail()}",
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log as text: one JSON object per line (event, level, error details, ...)."""
        quoted = urllib.parse.quote(run_id, safe="")
        resp = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}")
        assert resp.status == 200, resp.body[:300]
        content = resp.json()["content"]
        return "\n".join(json.dumps(e, ensure_ascii=False) if isinstance(e, dict) else str(e) for e in content)

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        quoted = urllib.parse.quote(run_id, safe="")
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/return_value"
        resp = self.request("GET", path + "?deserialize=true")
        assert resp.status == 200, resp.body[:300]
        return resp.json()["value"]

    def sse_events(self, path: str, token: str | None = None, last_event_id: str | None = None) -> list[dict[str, Any]]:
        """Read a Server-Sent Events stream to its end: one dict per event (``data`` parsed as JSON)."""
        headers = {"Authorization": f"Bearer {token or self.token()}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        req = urllib.request.Request(self.base_url + path, headers=headers)
        events: list[dict[str, Any]] = []
        current: dict[str, Any] = {}
        with urllib.request.urlopen(req, timeout=240) as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "event" in current:
                        events.append(current)
                    current = {}
                    continue
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value
        return events

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        return wait_until(
            lambda: _final_state(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}").json()),
            timeout,
            lambda: f"run {run_id} did not finish:\n{self.tail()}",
        )


def _final_state(run: dict[str, Any]) -> str | None:
    state = run.get("state")
    return str(state) if state in ("success", "failed") else None


def wait_until(check: Callable[[], T | None], timeout: float, message: Callable[[], str]) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result is not None:
            return result
        time.sleep(1)
    raise AssertionError(message())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
