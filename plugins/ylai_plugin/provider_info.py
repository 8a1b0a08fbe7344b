"""Provider metadata: lets Airflow discover ylai's DB manager and ``[ylai]`` config section.

Registered through the ``apache_airflow_provider`` entry point, the same way the FAB
provider gets its tables created by ``airflow db migrate``.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return ylai's provider info (read by Airflow's ProvidersManager)."""
    from ylai_plugin.config import provider_config
    from ylai_plugin.version import ylai_version

    return {
        "package-name": "ylai",
        "name": "ylai",
        "description": "Scripts, pipelines, presets and monitoring on Airflow.",
        "versions": [ylai_version()],
        "db-managers": ["ylai_plugin.db.manager.YlaiDBManager"],
        # @task.ylai_script in hand-written DAGs (docs/scripts.md); imported only when a DAG uses it.
        "task-decorators": [{"class-name": "ylai_operators.decorators.ylai_script_task", "name": "ylai_script"}],
        # Generated from the table of [ylai] options (ylai_plugin.config).
        "config": provider_config(),
    }
