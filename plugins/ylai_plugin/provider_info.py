"""Provider metadata: lets Airflow discover ylai's DB manager and ``[ylai]`` config section.

Registered through the ``apache_airflow_provider`` entry point, the same way the FAB
provider gets its tables created by ``airflow db migrate``.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return ylai's provider info (read by Airflow's ProvidersManager)."""
    from ylai_plugin.version import ylai_version

    return {
        "package-name": "ylai",
        "name": "ylai",
        "description": "Scripts, pipelines, presets and monitoring on Airflow.",
        "versions": [ylai_version()],
        "db-managers": ["ylai_plugin.db.manager.YlaiDBManager"],
        # @task.ylai_script in hand-written DAGs (docs/scripts.md); imported only when a DAG uses it.
        "task-decorators": [{"class-name": "ylai_operators.decorators.ylai_script_task", "name": "ylai_script"}],
        "config": {
            "ylai": {
                "description": "ylai platform settings.",
                "options": {
                    "rate_limit_per_minute": {
                        "description": "Requests per minute each user may make to ylai's API (token bucket).",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "600",
                    },
                    "sample_resources": {
                        "description": "Whether api-servers, Celery workers and local schedulers record "
                        "CPU, memory, disk and load samples for /monitor/system.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": None,
                        "default": "True",
                    },
                    "api_gc_freeze": {
                        "description": "Whether each api-server worker freezes its start-up objects out of "
                        "Python's full garbage collections (gc.freeze), which otherwise stop the worker for "
                        "hundreds of milliseconds a few times a minute.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": None,
                        "default": "True",
                    },
                    "cache_url": {
                        "description": "Redis URL for the monitor cache shared by api-server workers; "
                        "empty keeps a per-process cache.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "redis://redis:6379/1",
                        "default": "",
                    },
                    "list_cache_seconds": {
                        "description": "How long an answer of GET /tasks, /presets, /scripts and /scripts/{name} "
                        "is kept per user. Changes made through ylai show at once (a change counter per table "
                        "is part of the key); run states and permission changes within this time. 0 turns it off.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "0",
                        "default": "2",
                    },
                    "export_dir": {
                        "description": "Where export job files go: a local folder, or an object storage URL "
                        "(e.g. s3://bucket/ylai-exports, through Airflow's ObjectStoragePath) shared by "
                        "api-server pods. Empty: $AIRFLOW_HOME/ylai-exports.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "s3://reports/ylai-exports",
                        "default": "",
                    },
                    "export_workers": {
                        "description": "Export jobs running at once in each api-server process.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "2",
                    },
                    "export_stale_seconds": {
                        "description": "A running export job without a heartbeat for this long was left by a "
                        "stopped process and is marked failed.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "120",
                    },
                    "export_retention_days": {
                        "description": "Export job files are deleted this many days after the job finished "
                        "(0 keeps them).",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "7",
                    },
                    "export_direct_max_rows": {
                        "description": "Most rows of a direct xlsx/PDF download; bigger exports need an export job "
                        "(CSV always streams).",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "100000",
                    },
                    "export_pdf_max_rows": {
                        "description": "Detail rows listed in a PDF report (the summary covers all rows).",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "2000",
                    },
                    "report_font": {
                        "description": "CJK font (.ttf/.ttc with TrueType outlines) for PDF reports, or a "
                        "path-separator list; empty searches the usual places (fonts-wqy-zenhei).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                        "default": "",
                    },
                    "rate_limit_burst": {
                        "description": "Requests a user may make in a burst above the steady rate.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": None,
                        "default": "120",
                    },
                    "alert_slack_conn_id": {
                        "description": "Airflow connection (slack or slackwebhook) for Slack alert channels "
                        "that name none.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": None,
                        "default": "ylai_slack",
                    },
                    "alert_smtp_conn_id": {
                        "description": "Airflow SMTP connection for e-mail alert channels that name none.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": None,
                        "default": "smtp_default",
                    },
                    "alert_from_email": {
                        "description": "Sender of alert e-mails; empty uses the SMTP connection's from_email.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "ylai@example.com",
                        "default": "",
                    },
                    "alert_interval_seconds": {
                        "description": "How often ``ylai alerts`` evaluates rules, escalates and retries deliveries.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": None,
                        "default": "15",
                    },
                },
            }
        },
    }
