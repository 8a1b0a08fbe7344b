"""Compute the Airflow environment the ylai platform runs with.

Everything the run command configures is expressed as ``AIRFLOW__*`` environment
variables, so every component (api-server, scheduler, dag-processor, triggerer,
Celery worker) and every ``airflow`` CLI call sees exactly the same settings.
Values the caller already set win: an operator can override any of them.

This module must stay free of Airflow imports: it runs before Airflow is configured.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ylai_plugin import config
from ylai_plugin.json_logs import AIRFLOW_JSON_SETTINGS, json_mode

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
SECRETS_FILE = "ylai-secrets.json"
DEFAULT_PORT = 8080


# SQLite has a single writer; its default 5 s lock wait makes busy components (the triggerer,
# the scheduler) crash with "database is locked" on a loaded machine. Wait longer instead.
SQLITE_CONNECT_ARGS: dict[str, object] = {"timeout": 60}

# Postgres through libpq (psycopg 3, or psycopg2): give up on a connect after 10 s instead of
# hanging on an unreachable host, and notice a server that vanished mid-connection (a crash, a
# failover, a dropped network) through TCP keepalives (30 s idle, then 3 probes 10 s apart) and
# tcp_user_timeout (sent data unacknowledged for 60 s) instead of waiting forever on the socket.
# No statement_timeout: `airflow db migrate` runs through the same engine, and a migration of a
# big table may legitimately take long (the API bounds its own requests).
POSTGRES_CONNECT_ARGS: dict[str, object] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
# Airflow's async engine turns postgresql:// into postgresql+asyncpg://, and asyncpg names its
# connect timeout ``timeout`` (libpq's keywords are rejected there). asyncpg has no keepalive
# options of its own.
POSTGRES_ASYNC_CONNECT_ARGS: dict[str, object] = {"timeout": 10}

# Lost workers (docs/resilience.md, "Lost workers"): a task whose worker died is failed by the
# scheduler once its last heartbeat is TASK_HEARTBEAT_TIMEOUT seconds old, checked every
# HEARTBEAT_TIMEOUT_DETECTION_INTERVAL seconds; a live task heartbeats every
# TASK_HEARTBEAT_INTERVAL seconds, so the timeout is missed only after several heartbeats in a
# row are lost (the measured gaps on a loaded 2-core machine are in the docs). Airflow's defaults
# (300 s, 10 s, 5 s) recover a lost task only after about six minutes.
TASK_HEARTBEAT_TIMEOUT = 20
# With SQLite a heartbeat may wait up to SQLITE_CONNECT_ARGS' 60 s for the database lock on a busy
# machine: a live task must not be taken for lost then.
SQLITE_TASK_HEARTBEAT_TIMEOUT = 120
HEARTBEAT_TIMEOUT_DETECTION_INTERVAL = 5
TASK_HEARTBEAT_INTERVAL = 3
# Every call of a task to the api-server (its heartbeat, its XComs, its final state) is retried
# EXECUTION_API_RETRIES times with a random exponential wait of 1 s up to
# EXECUTION_API_RETRY_WAIT_MAX s (on average about 4 minutes in all, rarely under 2), so a task
# that ends during a 2-minute database outage still reports its state once the database is back
# (with Airflow's 5 tries of up to 90 s, a measured outage of 2.5 minutes lost the success of a
# task that ended in it: the scheduler later failed it as lost). A shorter cap also means
# the calls resume within 30 s of the recovery.
EXECUTION_API_RETRIES = 20
EXECUTION_API_RETRY_WAIT_MAX = 30
# A running task is stopped by its own supervisor after this many failed heartbeat calls in a row
# (each retried as above): about 8 minutes without the api-server. A shorter limit (Airflow's 3
# with 5 tries each ended a task 94 s into a measured outage) loses running tasks to an outage; a
# longer one keeps a task of a worker cut off from the api-server alone running that much longer
# after the scheduler failed and retried it elsewhere (it is stopped at its first heartbeat once
# it reconnects).
MAX_FAILED_HEARTBEATS = 2
# Tasks queued by a scheduler that was restarted are adopted by the new one within this many
# seconds (Airflow's default, 300 s, would delay finding a lost task by as much).
ORPHANED_TASKS_CHECK_INTERVAL = 60
# [dag_processor] min_file_process_interval: see airflow_environment.
MIN_FILE_PROCESS_INTERVAL = "60"
# The scheduler retries publishing a task to the broker this many times (1.5-4 s each, measured:
# the 1 s [celery] operation_timeout and a scheduler loop) before failing it: a broker outage of
# 7 minutes or more leaves queued tasks waiting. See celery_config's task_publish_retry_policy.
TASK_PUBLISH_MAX_RETRIES = 300


def resilience_environment(*, postgres: bool) -> dict[str, str]:
    """Return the ``AIRFLOW__*`` settings of docs/resilience.md (also in Compose and Helm values)."""
    timeout = TASK_HEARTBEAT_TIMEOUT if postgres else SQLITE_TASK_HEARTBEAT_TIMEOUT
    env = {
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(timeout),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": str(
            HEARTBEAT_TIMEOUT_DETECTION_INTERVAL
        ),
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": str(ORPHANED_TASKS_CHECK_INTERVAL),
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": str(TASK_HEARTBEAT_INTERVAL),
        "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": str(MAX_FAILED_HEARTBEATS),
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": str(EXECUTION_API_RETRIES),
        "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX": str(EXECUTION_API_RETRY_WAIT_MAX),
    }
    if postgres:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = "ylai_plugin.platform_env.POSTGRES_CONNECT_ARGS"
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"] = (
            "ylai_plugin.platform_env.POSTGRES_ASYNC_CONNECT_ARGS"
        )
    return env


class PlatformConfigError(ValueError):
    """The environment asks for a combination the platform cannot run."""


# Traces (docs/observability.md): configured only through the standard OTEL_* variables. Tracing is
# off unless an OTLP endpoint is set; then every component runs with Airflow's [traces] otel_on and
# the OTLP exporter of the protocol asked for. Airflow picks its exporter from OTEL_TRACES_EXPORTER
# alone (an entry point of the opentelemetry_traces_exporter group; "otlp", its default, is gRPC):
# it does not read OTEL_EXPORTER_OTLP_PROTOCOL, so ylai run translates one into the other.
OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
OTLP_PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")  # the first set wins
TRACES_EXPORTERS = {"http/protobuf": "otlp_proto_http", "grpc": "otlp"}
OTLP_GRPC_PORT = 4317
# The service name of each long-running component (OTEL_SERVICE_NAME, unless the user set one);
# tasks run in the Celery worker's processes (with the LocalExecutor, the scheduler's).
SERVICE_NAME = "ylai"
COMPONENT_SERVICE_NAMES = {
    "api-server": "ylai-api-server",
    "scheduler": "ylai-scheduler",
    "dag-processor": "ylai-dag-processor",
    "triggerer": "ylai-triggerer",
    "celery-worker": "ylai-worker",
    "alerts": "ylai-alerts",
}
# A task process waits at most this long for its last spans to leave before it exits (Airflow's
# default, 30 s, would hold every task that long while the collector is unreachable).
TASK_SPAN_FLUSH_TIMEOUT_MS = 5000


def otlp_endpoint(env: dict[str, str]) -> str | None:
    """The OTLP endpoint traces go to, or ``None``: tracing off."""
    for var in OTLP_ENDPOINT_VARS:
        value = env.get(var, "").strip()
        if value:
            return value
    return None


def traces_exporter(env: dict[str, str]) -> str | None:
    """The ``OTEL_TRACES_EXPORTER`` entry point for ``env``'s OTLP settings; ``None`` when tracing is off.

    Without a protocol: gRPC for an endpoint on port 4317 (the OTLP/gRPC port: nobody serves HTTP
    there), otherwise ``http/protobuf``. That is the OpenTelemetry specification's default protocol,
    4318 (the usual HTTP port) and plain http:// URLs fit it, and it needs no gRPC channel in every
    task process; the Python SDK's own default exporter (gRPC) would not reach an HTTP collector.

    :raises PlatformConfigError: a protocol the Python OTLP exporters do not speak (``http/json``).
    """
    endpoint = otlp_endpoint(env)
    if endpoint is None:
        return None
    protocol = next((env[var].strip() for var in OTLP_PROTOCOL_VARS if env.get(var, "").strip()), None)
    if protocol is None:
        try:
            port = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").port
        except ValueError:
            port = None
        protocol = "grpc" if port == OTLP_GRPC_PORT else "http/protobuf"
    exporter = TRACES_EXPORTERS.get(protocol)
    if exporter is None:
        raise PlatformConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL must be one of {', '.join(TRACES_EXPORTERS)}, got {protocol!r}"
        )
    return exporter


def tracing_environment(env: dict[str, str]) -> dict[str, str]:
    """The settings every component gets when an OTLP endpoint is set (none otherwise)."""
    exporter = traces_exporter(env)
    if exporter is None:
        return {}
    return {
        "AIRFLOW__TRACES__OTEL_ON": "True",
        "AIRFLOW__TRACES__TASK_RUNNER_FLUSH_TIMEOUT_MILLISECONDS": str(TASK_SPAN_FLUSH_TIMEOUT_MS),
        "OTEL_TRACES_EXPORTER": exporter,
        "OTEL_SERVICE_NAME": SERVICE_NAME,  # one-shot steps (db migrate, ...); components have their own
    }


def _user_named_the_service(env: dict[str, str]) -> bool:
    attributes = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    named = any(part.split("=", 1)[0].strip() == "service.name" for part in attributes.split(","))
    return bool(env.get("OTEL_SERVICE_NAME", "").strip()) or named


def component_environment(name: str, env: dict[str, str]) -> dict[str, str]:
    """What component ``name`` gets on top of the common environment: its own service name.

    :param env: the user's environment (not the completed one): a service name set there wins.
    """
    if otlp_endpoint(env) is None or _user_named_the_service(env):
        return {}
    return {"OTEL_SERVICE_NAME": COMPONENT_SERVICE_NAMES.get(name, f"ylai-{name}")}


# Sentry (docs/sentry.md): SENTRY_DSN switches Airflow's own integration on for tasks ([sentry] sentry_on;
# the Task SDK passes every other key of [sentry] to sentry_sdk.init) and ylai's API reads the same section.
SENTRY_DSN_ENV = "SENTRY_DSN"
SENTRY_SAMPLE_RATE_ENV = "YLAI_SENTRY_SAMPLE_RATE"
SENTRY_TRACES_SAMPLE_RATE_ENV = "SENTRY_TRACES_SAMPLE_RATE"


def _sample_rate(name: str, raw: str) -> float:
    try:
        rate = float(raw)
    except ValueError:
        raise PlatformConfigError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise PlatformConfigError(f"{name} must be between 0 and 1, got {raw!r}")
    return rate


def sentry_environment(env: dict[str, str]) -> dict[str, str]:
    """Return the ``AIRFLOW__SENTRY__*`` settings ``SENTRY_DSN`` and the sample rates ask for (none without a DSN).

    :raises PlatformConfigError: on a DSN that is not a Sentry DSN (not echoed: it holds the project key)
        or a sample rate outside 0..1.
    """
    dsn = env.get(SENTRY_DSN_ENV, "").strip()
    if not dsn:
        return {}
    parts = urlsplit(dsn)
    if parts.scheme not in {"http", "https"} or not parts.username or not parts.hostname or not parts.path.strip("/"):
        raise PlatformConfigError(f"{SENTRY_DSN_ENV} must look like https://<public key>@<host>/<project id>")
    result = {
        "AIRFLOW__SENTRY__SENTRY_ON": "True",
        "AIRFLOW__SENTRY__SENTRY_DSN": dsn,
        # Secrets never reach Sentry: no request headers, cookies or user data, and no local variables
        # of the failing frames (a task's may hold a connection's password under any name).
        "AIRFLOW__SENTRY__SEND_DEFAULT_PII": "False",
        "AIRFLOW__SENTRY__INCLUDE_LOCAL_VARIABLES": "False",
        # The Task SDK initialises Sentry in every task process. Sentry's auto-enabling integrations
        # (Flask, Tornado, aiohttp, ... found installed and imported to patch them) made that init
        # take 9.8 s instead of 0.05 s on a loaded 2-core host; a task's own code runs in the
        # script's process anyway. The default ones (logging, excepthook, ...) and Celery's stay.
        "AIRFLOW__SENTRY__AUTO_ENABLING_INTEGRATIONS": "False",
    }
    for name, key in (
        (SENTRY_SAMPLE_RATE_ENV, "AIRFLOW__SENTRY__SAMPLE_RATE"),
        (SENTRY_TRACES_SAMPLE_RATE_ENV, "AIRFLOW__SENTRY__TRACES_SAMPLE_RATE"),
    ):
        raw = env.get(name, "").strip()
        if raw:
            result[key] = str(_sample_rate(name, raw))
    return result


@dataclass(frozen=True)
class PlatformSettings:
    """What the run command decided, derived from the environment."""

    root: Path
    airflow_home: Path
    port: int
    database_url: str
    broker_url: str | None
    traces_exporter: str | None = None  # OTEL_TRACES_EXPORTER; None: tracing off

    @property
    def celery(self) -> bool:
        """Whether the CeleryExecutor (and a worker) is used."""
        return self.broker_url is not None

    @property
    def executor(self) -> str:
        """The Airflow executor class name."""
        return "CeleryExecutor" if self.celery else "LocalExecutor"

    @property
    def base_url(self) -> str:
        """Where the api-server answers on this host."""
        return f"http://localhost:{self.port}"


def _parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise PlatformConfigError(f"YLAI_PORT must be an integer, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise PlatformConfigError(f"YLAI_PORT must be between 1 and 65535, got {port}")
    return port


def _check_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if not scheme.startswith("postgresql"):
        raise PlatformConfigError(f"YLAI_DATABASE_URL must be a postgresql:// URL, got scheme {scheme or '(none)'!r}")
    return url


def _check_broker_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "amqp", "pyamqp"}:
        raise PlatformConfigError(
            f"YLAI_BROKER_URL must be a redis:// (or amqp://) URL, got scheme {scheme or '(none)'!r}"
        )
    return url


def resolve_settings(env: dict[str, str], root: Path) -> PlatformSettings:
    """Derive the platform settings from ``env`` for a checkout at ``root``.

    :raises PlatformConfigError: on an invalid port, URL or combination.
    """
    root = root.resolve()
    home = Path(env.get("AIRFLOW_HOME") or root / ".airflow").resolve()
    port = _parse_port(env.get("YLAI_PORT", str(DEFAULT_PORT)))
    db_url = env.get("YLAI_DATABASE_URL", "").strip()
    broker = env.get("YLAI_BROKER_URL", "").strip()
    if broker and not db_url:
        # Celery keeps task state in the metadata DB; SQLite cannot take
        # concurrent writers from several worker processes.
        raise PlatformConfigError(
            "YLAI_BROKER_URL is set but YLAI_DATABASE_URL is not: the CeleryExecutor needs a Postgres metadata database"
        )
    database_url = _check_database_url(db_url) if db_url else f"sqlite:///{home / 'airflow.db'}"
    sentry_environment(env)  # refuse a bad DSN or sample rate before anything starts
    return PlatformSettings(
        root=root,
        airflow_home=home,
        port=port,
        database_url=database_url,
        broker_url=_check_broker_url(broker) if broker else None,
        traces_exporter=traces_exporter(env),
    )


def load_or_create_secrets(home: Path) -> dict[str, str]:
    """Return the instance's Fernet key and signing secrets, creating them once.

    Every component must share these (JWTs minted by the api-server are checked
    by the execution API; the Fernet key decrypts connections), so they are
    generated on the first run and kept in a private file in ``AIRFLOW_HOME``.
    """
    path = home / SECRETS_FILE
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    data = {
        "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "api_secret_key": secrets.token_urlsafe(32),
        "jwt_secret": secrets.token_urlsafe(32),
    }
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data


def airflow_environment(settings: PlatformSettings, env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` completed with the Airflow settings of the platform."""
    secrets_ = load_or_create_secrets(settings.airflow_home)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.root / "dags"),
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        "AIRFLOW__CORE__EXECUTOR": settings.executor,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Script DAGs have no schedule; a paused one would leave triggered runs
        # queued forever, which surprises every new user.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__FERNET_KEY": secrets_["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.base_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.database_url,
        # Each api-server worker holds a DB connection per request in flight, and Airflow 3.3.2
        # checks revoked tokens with a blocking query on another one: with 16 concurrent
        # requests the default pool (5 + max_overflow 10) deadlocks until pool_timeout.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "60",
        "AIRFLOW__API__SECRET_KEY": secrets_["api_secret_key"],
        "AIRFLOW__API__PORT": str(settings.port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets_["jwt_secret"],
        # New DAG files show up within 20 s, not 5 minutes.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "20",
        # A changed catalog has ylai's DAG files parsed within seconds (the dag-processor's catalog
        # watch, domain/dag_reparse.py); this timer is only the safety net. At 10 s, parsing the 17
        # files again and again took ~10 % of a core on an idle platform (bench/pipeline_latency.py).
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": MIN_FILE_PROCESS_INTERVAL,
        # The scheduler sleeps this long after a loop that queued nothing and saw nothing finish,
        # i.e. while every task of a chain runs. bench/pipeline_latency.py, 2026-12-06: 0.12 s runs the
        # 20-node chain 4.3x as fast as stock's 1 s (0.2 s: 3.5x) for 10 % of a core at idle (0.2 s:
        # 6 %, 0.1 s: 15 %), all components 12 % against stock's 11 % (the catalog watch pays for it).
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.12",
        **resilience_environment(postgres=not settings.database_url.startswith("sqlite")),
    }
    if settings.celery:
        assert settings.broker_url is not None
        defaults |= {
            "AIRFLOW__CELERY__BROKER_URL": settings.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + settings.database_url,
            # Airflow's default: the 16 branches of a 1 -> 16 -> 1 pipeline run at once on one worker.
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "16",
            # Airflow's Celery defaults plus a resource sampler in each worker (/monitor/system).
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "ylai_plugin.monitoring.celery_config.CELERY_CONFIG",
            # Airflow's default, said out loud (docs/resilience.md, "Lost workers"): recovery from a lost
            # worker relies on task heartbeats, not on the broker redelivering its unacked message.
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
            "AIRFLOW__CELERY__TASK_PUBLISH_MAX_RETRIES": str(TASK_PUBLISH_MAX_RETRIES),
            # Monitor aggregates cached in Redis are shared by every api-server worker.
            config.CACHE_URL.env_var: settings.broker_url if settings.broker_url.startswith("redis") else "",
        }
    else:
        # 16 LocalExecutor workers (forked up front, idle ones cost memory, not CPU): the 16
        # branches of a 1 -> 16 -> 1 pipeline run at once (bench/pipeline_latency.py's fan-out).
        defaults["AIRFLOW__CORE__PARALLELISM"] = "16"
    if json_mode(env):
        # JSON service logs (docs/logging.md): Airflow's components log JSON lines through structlog,
        # the Celery worker too, and nothing is coloured.
        defaults.update(AIRFLOW_JSON_SETTINGS)
    if settings.traces_exporter is not None:
        defaults |= tracing_environment(env)
    defaults |= sentry_environment(env)
    if settings.database_url.startswith("sqlite"):
        defaults["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = "ylai_plugin.platform_env.SQLITE_CONNECT_ARGS"
        defaults["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"] = "ylai_plugin.platform_env.SQLITE_CONNECT_ARGS"
    result = dict(env)
    result["AIRFLOW_HOME"] = str(settings.airflow_home)
    for key, value in defaults.items():
        result.setdefault(key, value)
    return result
