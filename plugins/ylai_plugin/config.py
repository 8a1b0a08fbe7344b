"""The ``[ylai]`` configuration section in one table: every option's name, type, default and description.

Code reads a value through its option (``config.CACHE_URL.get()``), which asks Airflow's
``conf`` (so ``airflow.cfg`` and ``AIRFLOW__YLAI__<NAME>`` variables apply) and falls back to
the table's default. Airflow learns the section from ylai's provider info, whose ``config``
entry is :func:`provider_config`, generated from the same table.

A leaf module: it imports nothing of ylai, and Airflow only when a value is read (the provider
info is read while Airflow loads its own configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

SECTION = "ylai"
VERSION_ADDED = "0.1.0"

T = TypeVar("T", str, int, float, bool)


@dataclass(frozen=True)
class Option(Generic[T]):
    """One option of the ``[ylai]`` section."""

    name: str
    default: T
    description: str
    example: str | None = None

    type_name: ClassVar[str]

    def get(self) -> T:
        """The configured value, or :attr:`default`."""
        raise NotImplementedError

    @property
    def env_var(self) -> str:
        """The environment variable that overrides it (``AIRFLOW__YLAI__<NAME>``)."""
        return f"AIRFLOW__{SECTION.upper()}__{self.name.upper()}"

    def default_text(self) -> str:
        """The default as Airflow's configuration writes it (``600``, ``2``, ``True``)."""
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)

    def provider_entry(self) -> dict[str, Any]:
        """Its entry in the provider info's ``config`` section."""
        return {
            "description": self.description,
            "version_added": VERSION_ADDED,
            "type": self.type_name,
            "example": self.example,
            "default": self.default_text(),
        }


class StrOption(Option[str]):
    """A string option."""

    type_name = "string"

    def get(self) -> str:
        """The configured string, or the default."""
        from airflow.configuration import conf

        return str(conf.get(SECTION, self.name, fallback=self.default))


class IntOption(Option[int]):
    """An integer option."""

    type_name = "integer"

    def get(self) -> int:
        """The configured integer, or the default."""
        from airflow.configuration import conf

        return conf.getint(SECTION, self.name, fallback=self.default)


class FloatOption(Option[float]):
    """A number option."""

    type_name = "float"

    def get(self) -> float:
        """The configured number, or the default."""
        from airflow.configuration import conf

        return conf.getfloat(SECTION, self.name, fallback=self.default)


class BoolOption(Option[bool]):
    """A true/false option."""

    type_name = "boolean"

    def get(self) -> bool:
        """The configured flag, or the default."""
        from airflow.configuration import conf

        return conf.getboolean(SECTION, self.name, fallback=self.default)


RATE_LIMIT_PER_MINUTE = IntOption(
    "rate_limit_per_minute", 600, "Requests per minute each user may make to ylai's API (token bucket)."
)
SAMPLE_RESOURCES = BoolOption(
    "sample_resources",
    True,
    "Whether api-servers, Celery workers and local schedulers record "
    "CPU, memory, disk and load samples for /monitor/system.",
)
API_GC_FREEZE = BoolOption(
    "api_gc_freeze",
    True,
    "Whether each api-server worker freezes its start-up objects out of "
    "Python's full garbage collections (gc.freeze), which otherwise stop the worker for "
    "hundreds of milliseconds a few times a minute.",
)
CACHE_URL = StrOption(
    "cache_url",
    "",
    "Redis URL for the monitor cache shared by api-server workers; empty keeps a per-process cache.",
    example="redis://redis:6379/1",
)
LIST_CACHE_SECONDS = FloatOption(
    "list_cache_seconds",
    2.0,
    "How long an answer of GET /tasks, /presets, /scripts and /scripts/{name} "
    "is kept per user. Changes made through ylai show at once (a change counter per table "
    "is part of the key); run states and permission changes within this time. 0 turns it off.",
    example="0",
)
EXPORT_DIR = StrOption(
    "export_dir",
    "",
    "Where export job files go: a local folder, or an object storage URL "
    "(e.g. s3://bucket/ylai-exports, through Airflow's ObjectStoragePath) shared by "
    "api-server pods. Empty: $AIRFLOW_HOME/ylai-exports.",
    example="s3://reports/ylai-exports",
)
SENSITIVE_REQUIRES_APPROVAL = BoolOption(
    "sensitive_requires_approval",
    True,
    "Whether runs of a script marked sensitive: true wait for an approval when its manifest has no "
    "approval of its own (docs/approvals.md). Takes effect when the DAGs are next parsed.",
    example="False",
)
SENSITIVE_APPROVERS = StrOption(
    "sensitive_approvers",
    "Admin,Op",
    "Comma-separated roles or usernames that approve the runs of sensitive scripts without an approval of their own.",
    example="Op,alice",
)
APPROVAL_RESUME_SETTLE_SECONDS = FloatOption(
    "approval_resume_settle_seconds",
    10.0,
    "An answer given within this many seconds of an approval task starting to wait resumes the task "
    "only once that time has passed: until the scheduler has seen the waiting task's process exit, a "
    "resumed try can be failed as 'killed externally' (apache/airflow#72716).",
    example="20",
)
CATALOG_WATCH_SECONDS = FloatOption(
    "catalog_watch_seconds",
    2.0,
    "How often the dag-processor looks for a changed catalog (files in the DAGs folder, scripts and "
    "pipelines published by the API) and then parses ylai's DAG files at once; between changes they "
    "are parsed every [dag_processor] min_file_process_interval only. 0 turns the watch off.",
    example="5",
)
EXPORT_WORKERS = IntOption("export_workers", 2, "Export jobs running at once in each api-server process.")
EXPORT_STALE_SECONDS = IntOption(
    "export_stale_seconds",
    120,
    "A running export job without a heartbeat for this long was left by a stopped process and is marked failed.",
)
EXPORT_RETENTION_DAYS = IntOption(
    "export_retention_days",
    7,
    "Export job files are deleted this many days after the job finished (0 keeps them).",
)
EXPORT_DIRECT_MAX_ROWS = IntOption(
    "export_direct_max_rows",
    100_000,
    "Most rows of a direct xlsx/PDF download; bigger exports need an export job (CSV always streams).",
)
EXPORT_PDF_MAX_ROWS = IntOption(
    "export_pdf_max_rows", 2000, "Detail rows listed in a PDF report (the summary covers all rows)."
)
REPORT_FONT = StrOption(
    "report_font",
    "",
    "CJK font (.ttf/.ttc with TrueType outlines) for PDF reports with Chinese text, or a "
    "path-separator list; empty uses the font ylai ships (WenQuanYi Micro Hei), then system ones.",
    example="/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
RATE_LIMIT_BURST = IntOption(
    "rate_limit_burst",
    120,
    "Size of each user's token bucket: requests a user may make at once before the steady rate applies.",
)
MAX_QUEUED_PER_QUEUE = IntOption(
    "max_queued_per_queue",
    200,
    "Backpressure: task instances that may wait in one executor queue (queued, scheduled, or of runs "
    "not started yet) before run requests through ylai's API are refused with 429 and Retry-After. "
    "Runs on a schedule are never refused; they wait. 0 turns the limit off.",
    example="500",
)
QUEUE_LIMITS = StrOption(
    "queue_limits",
    "",
    "Backpressure limits of particular queues, over max_queued_per_queue: queue=limit pairs "
    "separated by commas (0: no limit for that queue).",
    example="default=500,gpu=20",
)
QUEUE_FULL_RETRY_AFTER = IntOption(
    "queue_full_retry_after",
    30,
    "The Retry-After, in seconds, of the 429 that refuses a run because its queue is full.",
)
ALERT_SLACK_CONN_ID = StrOption(
    "alert_slack_conn_id",
    "ylai_slack",
    "Airflow connection (slack or slackwebhook) for Slack alert channels that name none.",
)
ALERT_SMTP_CONN_ID = StrOption(
    "alert_smtp_conn_id", "smtp_default", "Airflow SMTP connection for e-mail alert channels that name none."
)
ALERT_FROM_EMAIL = StrOption(
    "alert_from_email",
    "",
    "Sender of alert e-mails; empty uses the SMTP connection's from_email.",
    example="ylai@example.com",
)
ALERT_INTERVAL_SECONDS = FloatOption(
    "alert_interval_seconds",
    15.0,
    "How often ``ylai alerts`` evaluates rules, escalates and retries deliveries.",
)
BREAKER_FAILURE_THRESHOLD = IntOption(
    "breaker_failure_threshold",
    5,
    "Consecutive failures of an outgoing dependency (an alert channel, the Redis cache or rate limit) "
    "that open its circuit breaker: calls then fail fast without reaching it.",
)
BREAKER_OPEN_SECONDS = FloatOption(
    "breaker_open_seconds",
    30.0,
    "How long an open circuit breaker fails fast before it lets trial calls through (half-open); "
    "alert deliveries it holds back are retried then.",
)
BREAKER_HALF_OPEN_CALLS = IntOption(
    "breaker_half_open_calls",
    1,
    "Trial calls a half-open circuit breaker lets through; all must succeed to close it, one failure opens it again.",
)
REQUEST_TIMEOUT = FloatOption(
    "request_timeout",
    30.0,
    "Seconds a request to ylai's API may take before its answer starts: a route still waiting then "
    "(on a database that does not answer, say) gets 503 with Retry-After instead of hanging. Streamed "
    "answers (live logs, CSV) are bounded only until their first byte, export downloads not at all. "
    "0 turns it off.",
    example="60",
)
RETRY_AFTER_SECONDS = IntOption(
    "retry_after_seconds",
    5,
    "The Retry-After of the 503 answered while the metadata database, the Celery broker or the Redis "
    "cache is unavailable.",
)

LOG_SEARCH_MAX_BYTES = IntOption(
    "log_search_max_bytes",
    4 * 1024 * 1024,
    "Task-log bytes one GET /logs/search request reads at most. When the limit stops a scan, the answer "
    "says so and its cursor continues the scan in the next request.",
    example="33554432",
)
LOG_SEARCH_MAX_SECONDS = FloatOption(
    "log_search_max_seconds",
    5.0,
    "Seconds one GET /logs/search request scans at most (checked between lines); the answer's cursor "
    "continues the scan, as for log_search_max_bytes.",
    example="2",
)
TRACE_URL_TEMPLATE = StrOption(
    "trace_url_template",
    "",
    "Link from a run to its trace in your trace backend, {trace_id} standing for the run's trace id "
    "(the UI shows the id without a link when empty). Tracing itself is [traces] otel_on and the "
    "standard OTEL_* variables.",
    example="http://localhost:16686/trace/{trace_id}",
)

USAGE_ENABLED = BoolOption(
    "usage_enabled",
    True,
    "Whether ylai records usage statistics and click heatmaps (page-view beacon and server-side "
    "feature use). Off: the beacon answers 202 with nothing recorded.",
)
USAGE_RETENTION_DAYS = IntOption(
    "usage_retention_days",
    90,
    "Days raw usage events are kept; the daily aggregates (statistics, heatmaps) are kept.",
)
USAGE_RATE_PER_MINUTE = IntOption(
    "usage_rate_per_minute", 30, "Beacon batches per minute each user may send (its own token bucket)."
)
USAGE_BURST = IntOption("usage_burst", 10, "Beacon batches a user may send at once before the rate applies.")
USAGE_MAX_EVENTS_PER_USER_DAY = IntOption(
    "usage_max_events_per_user_day",
    2000,
    "Beacon events recorded per user and day; the rest are dropped, so a bad client cannot flood the tables.",
)
FEEDBACK_SLACK_CHANNEL = StrOption(
    "feedback_slack_channel",
    "",
    "Slack channel that receives every new feedback, through the alert channels' Slack connection "
    "([ylai] alert_slack_conn_id); empty forwards none.",
    example="#ylai-feedback",
)
FORM_OPTIONS_TIMEOUT = FloatOption(
    "form_options_timeout",
    2.0,
    "Seconds a live options source of a run form (options_from: a query, an HTTP endpoint, a script) "
    "may take; a slower one answers 503 with the reason, shown next to its field, and is abandoned.",
    example="5",
)
FORM_OPTIONS_TTL = FloatOption(
    "form_options_ttl",
    30.0,
    "Seconds the live options of a run form's field are kept (per DAG, field and the values of the "
    "fields it depends on) before its source is asked again. 0 asks every time.",
    example="300",
)

# The table, in the order Airflow lists the section.
OPTIONS: tuple[Option[Any], ...] = (
    RATE_LIMIT_PER_MINUTE,
    SAMPLE_RESOURCES,
    API_GC_FREEZE,
    CACHE_URL,
    LIST_CACHE_SECONDS,
    EXPORT_DIR,
    EXPORT_WORKERS,
    EXPORT_STALE_SECONDS,
    EXPORT_RETENTION_DAYS,
    EXPORT_DIRECT_MAX_ROWS,
    EXPORT_PDF_MAX_ROWS,
    REPORT_FONT,
    RATE_LIMIT_BURST,
    MAX_QUEUED_PER_QUEUE,
    QUEUE_LIMITS,
    QUEUE_FULL_RETRY_AFTER,
    ALERT_SLACK_CONN_ID,
    ALERT_SMTP_CONN_ID,
    ALERT_FROM_EMAIL,
    ALERT_INTERVAL_SECONDS,
    REQUEST_TIMEOUT,
    RETRY_AFTER_SECONDS,
    BREAKER_FAILURE_THRESHOLD,
    BREAKER_OPEN_SECONDS,
    BREAKER_HALF_OPEN_CALLS,
    LOG_SEARCH_MAX_BYTES,
    LOG_SEARCH_MAX_SECONDS,
    TRACE_URL_TEMPLATE,
    FORM_OPTIONS_TIMEOUT,
    FORM_OPTIONS_TTL,
    SENSITIVE_REQUIRES_APPROVAL,
    SENSITIVE_APPROVERS,
    APPROVAL_RESUME_SETTLE_SECONDS,
    CATALOG_WATCH_SECONDS,
    USAGE_ENABLED,
    USAGE_RETENTION_DAYS,
    USAGE_RATE_PER_MINUTE,
    USAGE_BURST,
    USAGE_MAX_EVENTS_PER_USER_DAY,
    FEEDBACK_SLACK_CHANNEL,
)


def provider_config() -> dict[str, Any]:
    """The provider info's ``config`` entry: the ``[ylai]`` section as Airflow describes it."""
    return {
        SECTION: {
            "description": "ylai platform settings.",
            "options": {option.name: option.provider_entry() for option in OPTIONS},
        }
    }
