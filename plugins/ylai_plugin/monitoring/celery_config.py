"""Celery configuration for ylai: Airflow's defaults plus a resource sampler in every worker.

Selected with ``[celery] celery_config_options =
ylai_plugin.monitoring.celery_config.CELERY_CONFIG`` (``ylai run`` sets it with a broker).
Importing this module also registers the ``worker_ready`` hook; in the scheduler, which
imports it too, the hook never fires.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_ready

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_sampler(**_: Any) -> None:
    from ylai_plugin.monitoring.sampler import start_sampler

    start_sampler("celery-worker")
