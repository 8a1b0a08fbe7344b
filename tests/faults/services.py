"""A Postgres cluster and a Redis server of the fault tests' own, which they may stop and start.

The shared services on 5432 and 6379 serve every other test and must never be touched, so the
fault tests make their own: ``initdb`` into a temporary directory owned by ``postgres`` (the
tests run as root, and Postgres refuses to), and ``redis-server`` on a free port as a child of
the test process. Each object stops only the processes it started.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from glob import glob
from pathlib import Path

import pytest

from tests.integration.running_platform import free_port


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_binary(*, name: str, found: str | None) -> str:
    """The path of a binary the fault tests need: skip without it, but under ``CI=true`` fail."""
    if found:
        return found
    message = f"{name} is not installed"
    if _ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def _postgres_bin_dir() -> Path:
    # Debian installs each major version under its own directory; the newest wins.
    dirs = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    initdb = dirs[-1] if dirs else shutil.which("initdb")
    return Path(require_binary(name="PostgreSQL (initdb)", found=initdb)).parent


def _as_postgres(argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Postgres tool as the ``postgres`` user (the server refuses to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class DedicatedPostgres:
    """A throw-away Postgres cluster on a free port: start, stop (immediate) and start again."""

    def __init__(self) -> None:
        self.bin = _postgres_bin_dir()
        self.port = free_port()
        # Not under pytest's tmp dir: that is root-only (0700) and the postgres user could not enter it.
        self.root = Path(tempfile.mkdtemp(prefix="ylai-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.database = "ylai"
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def init(self) -> None:
        """``initdb`` (trust for local connections) and create the platform's database."""
        done = _as_postgres(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            timeout=120,
        )
        assert done.returncode == 0, f"initdb failed:\n{done.stdout}\n{done.stderr}"
        self.start()
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.database}"')
        admin.close()

    def start(self) -> None:
        """Start the cluster on its port and data directory; return once it accepts connections."""
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=200",
                # Durability against an OS crash is not what these tests are about: an immediate stop
                # is a crash of the server's processes, and WAL written to the kernel survives it
                # without fsync. synchronous_commit stays on: with it off, a commit acknowledged just
                # before the stop may be lost (a triggered run vanished that way).
                "-c fsync=off",
            ]
        )
        done = _as_postgres(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "120",
                "start",
            ],
            timeout=150,
        )
        self._started = True
        assert done.returncode == 0, f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}"

    def stop(self, *, mode: str = "immediate") -> None:
        """Stop the cluster (``immediate``: no checkpoint, every connection cut, like a crash)."""
        done = _as_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"], timeout=90
        )
        assert done.returncode == 0 or not self.running(), f"pg_ctl stop failed:\n{done.stdout}\n{done.stderr}"

    def running(self) -> bool:
        if not self.data.exists():
            return False
        return _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"], timeout=30).returncode == 0

    def ensure_running(self) -> None:
        """Start the cluster again if a test left it stopped (a failure in the middle of an outage)."""
        if not self.running():
            self.start()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def destroy(self) -> None:
        """Stop the cluster if it runs and delete its files."""
        if self._started and self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class DedicatedRedis:
    """A ``redis-server`` child process on a free port, without persistence: kill it and start it again."""

    def __init__(self) -> None:
        self.binary = require_binary(name="redis-server", found=shutil.which("redis-server"))
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ylai-faults-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 30) -> None:
        """Start the server on its port; return once it answers PING."""
        assert not self.running(), "redis-server already runs"
        log = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self._pong():
                return
            time.sleep(0.2)
        raise AssertionError(f"redis-server did not answer within {timeout}s:\n{self.log_tail()}")

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; its data (no persistence) is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "redis.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def wait_port_closed(port: int, timeout: float = 30) -> None:
    """Wait until nothing listens on ``port`` any more (a stopped service really is down)."""
    deadline = time.monotonic() + timeout
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(port), f"port {port} still listens"
