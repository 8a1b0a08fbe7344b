"""Celery configuration for ylai: Airflow's defaults, riding out broker outages, plus a resource sampler.

Selected with ``[celery] celery_config_options =
ylai_plugin.monitoring.celery_config.CELERY_CONFIG`` (``ylai run``, Compose and the Helm values
set it). Importing this module also registers the ``worker_init`` hook (ylai's imports, before
the pool forks) and the ``worker_ready`` hook (the resource sampler); in the scheduler, which
imports it too, they never fire.

Broker outages (docs/resilience.md, "Dependency outages"): the worker reconnects forever, at
start-up too, instead of exiting after Celery's 100 attempts; every socket to Redis has a
connect and a read timeout and TCP keepalives, so a broker that vanished without closing the
connection (a host crash, a dropped network) is noticed within seconds rather than never.

A ``db+...`` result backend becomes :class:`~ylai_plugin.monitoring.celery_results.PooledDatabaseBackend`
(same database): the scheduler reuses its connection instead of opening one on every loop.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init, worker_ready

# Redis transport options (kombu): seconds. The read timeout must exceed kombu's blocking pop
# (1 s) and the health check pings idle connections before Redis' own idle timeout could drop them.
REDIS_TRANSPORT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 25,
}

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)
CELERY_CONFIG |= {
    "broker_connection_retry": True,
    "broker_connection_retry_on_startup": True,
    "broker_connection_max_retries": None,  # forever: an outage must not end the worker
    "broker_channel_error_retry": True,
    # The scheduler publishes under Airflow's [celery] operation_timeout (1 s) and retries only a
    # publish that timed out ([celery] task_publish_max_retries); one that fails fast (Redis
    # refusing connections) fails its task at once. Retrying until the timeout cuts it in turns
    # a broker outage into timeouts, so queued tasks wait for the broker instead of failing.
    "task_publish_retry_policy": {"max_retries": None, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 1},
}
if str(CELERY_CONFIG.get("broker_url") or "").startswith(("redis://", "rediss://")):
    # Airflow's options (its visibility_timeout) and the operator's [celery_broker_transport_options] win.
    CELERY_CONFIG["broker_transport_options"] = REDIS_TRANSPORT_OPTIONS | dict(
        CELERY_CONFIG.get("broker_transport_options") or {}
    )


# A database result backend keeps its connections pooled in the scheduler too (Celery pools them
# only in forked processes): see ylai_plugin.monitoring.celery_results.
RESULTS_BACKEND_CLASS = "ylai_plugin.monitoring.celery_results:PooledDatabaseBackend"
_results_url = str(CELERY_CONFIG.get("result_backend") or "")
if _results_url.startswith("db+"):
    CELERY_CONFIG["result_backend"] = RESULTS_BACKEND_CLASS
    CELERY_CONFIG["database_url"] = _results_url.removeprefix("db+")


@worker_init.connect  # type: ignore[untyped-decorator]
def _warm_imports(**_: Any) -> None:
    # Before the pool forks: every task's supervisor and task runner are forks of a pool process,
    # so what is imported here is not imported again by each task (issue 21).
    from ylai_operators.catalog import warm_imports

    warm_imports()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_sampler(**_: Any) -> None:
    from ylai_plugin.monitoring.sampler import start_sampler

    start_sampler("celery-worker")
