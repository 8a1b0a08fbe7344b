"""``ylai run``: migrate, create the admin user, then run every Airflow component.

Why not ``airflow standalone``: it forces SimpleAuthManager and LocalExecutor,
and ylai needs FAB RBAC and, with Postgres and Redis, the CeleryExecutor.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from ylai_plugin.json_logs import json_mode
from ylai_plugin.platform_env import (
    PlatformConfigError,
    PlatformSettings,
    airflow_environment,
    component_environment,
    resolve_settings,
)
from ylai_plugin.supervisor import Dependency, Supervisor, sql_probe, tcp_probe

PASSWORD_FILE = "ylai-admin-password"  # noqa: S105 - a file name, not a password


def _airflow_bin() -> str:
    # Prefer the airflow next to this interpreter so a venv works without activation.
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else (shutil.which("airflow") or "airflow")


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - the api-server binds there too
        except OSError:
            return True
    return False


def admin_password(settings: PlatformSettings, env: dict[str, str]) -> tuple[str, str]:
    """Return the admin password and where it came from.

    ``YLAI_ADMIN_PASSWORD`` wins; otherwise the password saved by an earlier run;
    otherwise a new random one (saved only once the user really got created).
    """
    if env.get("YLAI_ADMIN_PASSWORD"):
        return env["YLAI_ADMIN_PASSWORD"], "YLAI_ADMIN_PASSWORD"
    saved = settings.airflow_home / PASSWORD_FILE
    if saved.exists():
        return saved.read_text().strip(), str(saved)
    return secrets.token_urlsafe(12), "generated"


def _save_password(settings: PlatformSettings, password: str) -> Path:
    path = settings.airflow_home / PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return path


def dependencies(settings: PlatformSettings) -> tuple[Dependency | None, Dependency | None]:
    """Return the metadata database and the broker as dependencies (``None`` when not used).

    SQLite is a local file and never "down". The names and addresses end up in the log, so
    they are built from host and port only, never from the URL (which may hold a password).
    """
    database = None
    if not settings.database_url.startswith("sqlite"):
        parts = urlsplit(settings.database_url)
        address = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
        database = Dependency("metadata database", address, sql_probe(settings.database_url))
    broker = None
    if settings.broker_url is not None:
        parts = urlsplit(settings.broker_url)
        host = parts.hostname or "localhost"
        port = parts.port or (6379 if parts.scheme.startswith("redis") else 5672)
        broker = Dependency("broker", f"{host}:{port}", tcp_probe(host, port))
    return database, broker


def _components(settings: PlatformSettings) -> list[tuple[str, list[str], list[Dependency]]]:
    """Each component with the dependencies it is restarted only after.

    The api-server needs only the database: during a broker outage it keeps answering (and a
    restarted one should not wait for Redis). The scheduler sends tasks to the broker and the
    worker takes them from it and writes results to the database.
    """
    airflow = _airflow_bin()
    database, broker = dependencies(settings)
    db = [database] if database else []
    both = [*db, *([broker] if broker else [])]
    comps = [
        ("api-server", [airflow, "api-server", "--port", str(settings.port)], db),
        ("scheduler", [airflow, "scheduler"], both),
        ("dag-processor", [airflow, "dag-processor"], db),
        ("triggerer", [airflow, "triggerer"], db),
    ]
    if settings.celery:
        comps.append(("celery-worker", [airflow, "celery", "worker"], both))
    # Metric alert rules, escalations and delivery retries (docs/alerts.md).
    comps.append(("alerts", [sys.executable, "-m", "ylai_plugin.cli", "alerts"], db))
    return comps


def _announce_when_ready(sup: Supervisor, settings: PlatformSettings, username: str, pw_note: str) -> None:
    url = f"{settings.base_url}/api/v2/monitor/health"
    while not sup.stopping.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - fixed localhost URL
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    else:
        return
    banner = [
        "=" * 60,
        f"ylai is up:  {settings.base_url}/",
        f"  username:  {username}",
        f"  password:  {pw_note}",
        f"  mode:      {_mode(settings)}",
        "  stop with Ctrl-C",
        "=" * 60,
    ]
    for line in banner:
        sup.say("ylai", line)


def _mode(settings: PlatformSettings) -> str:
    if settings.celery:
        return "Postgres + CeleryExecutor (Redis broker, local Celery worker)"
    if settings.database_url.startswith("sqlite"):
        return "SQLite + LocalExecutor (embedded default)"
    return "Postgres + LocalExecutor"


def run(root: Path, env: dict[str, str] | None = None) -> int:
    """Run the platform in the foreground until Ctrl-C/SIGTERM; return the exit code."""
    base_env = dict(os.environ if env is None else env)
    try:
        settings = resolve_settings(base_env, root)
    except PlatformConfigError as exc:
        print(f"ylai: configuration error: {exc}", file=sys.stderr)
        return 2
    if _port_in_use(settings.port):
        print(
            f"ylai: port {settings.port} is already in use; stop what runs there or set YLAI_PORT",
            file=sys.stderr,
        )
        return 2
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow_env = airflow_environment(settings, base_env)
    # YLAI_LOG_FORMAT=json: one JSON object per line (docs/logging.md); otherwise prefixed text.
    sup = Supervisor(env=airflow_env, json_output=json_mode(base_env))

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        sup.request_stop()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    sup.say("ylai", f"AIRFLOW_HOME={settings.airflow_home}")
    sup.say("ylai", f"mode: {_mode(settings)}")
    # Started before the database is up (both from one Compose file, a host reboot): wait.
    if not sup.wait_for([dep for dep in dependencies(settings) if dep is not None]):
        sup.say("ylai", "stopped")
        return 130
    rc, _ = sup.run_once("db-migrate", [_airflow_bin(), "db", "migrate"])
    if rc != 0 or sup.stopping.is_set():
        sup.say("ylai", f"airflow db migrate failed (exit {rc})" if rc else "stopped")
        return rc or 130

    username = base_env.get("YLAI_ADMIN_USERNAME") or "admin"
    password, source = admin_password(settings, base_env)
    rc, lines = sup.run_once(
        "admin-user",
        [sys.executable, "-m", "ylai_plugin.admin_user"],
        input_text=json.dumps({"username": username, "password": password}),
    )
    if rc != 0 or sup.stopping.is_set():
        sup.say("ylai", f"creating the admin user failed (exit {rc})" if rc else "stopped")
        return rc or 130
    created = any(line.startswith('{"created": true}') for line in lines)
    rc, _ = sup.run_once("permissions", [sys.executable, "-m", "ylai_plugin.permissions"])
    if rc != 0 or sup.stopping.is_set():
        sup.say("ylai", f"syncing ylai's permissions failed (exit {rc})" if rc else "stopped")
        return rc or 130
    if created and source == "generated":
        saved = _save_password(settings, password)
        pw_note = f"{password}   (generated, saved in {saved})"
    elif source == "YLAI_ADMIN_PASSWORD":
        pw_note = "the value of YLAI_ADMIN_PASSWORD" + ("" if created else " when the user was created")
    elif source != "generated":
        pw_note = f"{password}   (saved in {source})"
    else:
        pw_note = (
            f"unknown: user {username!r} already existed and {PASSWORD_FILE} is missing; "
            f"reset it with `airflow users reset-password -u {username}`"
        )

    for name, argv, deps in _components(settings):
        sup.start(name, argv, dependencies=deps, env=component_environment(name, base_env))
    threading.Thread(target=_announce_when_ready, args=(sup, settings, username, pw_note), daemon=True).start()

    # A component that exits (a database outage, SQLite "database is locked" on a busy machine)
    # is restarted with a growing delay once its dependencies answer; supervise() returns only
    # on Ctrl-C/SIGTERM, or with a component that kept crashing while its dependencies answered.
    given_up = sup.supervise()
    sup.say("ylai", "stopping all components")
    sup.stop()
    sup.say("ylai", "stopped")
    return 1 if given_up is not None else 0
