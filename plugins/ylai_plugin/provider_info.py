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
                    "cache_url": {
                        "description": "Redis URL for the monitor cache shared by api-server workers; "
                        "empty keeps a per-process cache.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "redis://redis:6379/1",
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
