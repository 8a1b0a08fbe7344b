"""The resilience settings ``ylai run`` exports (docs/resilience.md): lost workers, DB timeouts."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from ylai_plugin import platform_env
from ylai_plugin.platform_env import airflow_environment, resolve_settings

PG = "postgresql://postgres@127.0.0.1:5432/airflow"
REDIS = "redis://127.0.0.1:6379/0"


def _import(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


class TestLostWorkers:
    def test_a_lost_task_is_detected_well_within_60_seconds(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": REDIS}, tmp_path)
        env = airflow_environment(s, {})
        timeout = int(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
        detection = float(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"])
        interval = int(env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"])
        # Failed (up for retry) at the latest timeout + detection after the last heartbeat, which
        # is at most one interval before the loss; the first retry of a script waits 15-30 s.
        assert interval + timeout + detection + 30 <= 60
        # No false positive: several heartbeats in a row must be lost before the timeout.
        assert timeout >= 5 * interval
        assert int(env["AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL"]) <= 60

    def test_a_task_rides_out_a_two_minute_api_or_database_outage(self, tmp_path: Path) -> None:
        env = airflow_environment(resolve_settings({"YLAI_DATABASE_URL": PG}, tmp_path), {})
        # Every call (heartbeat, final state) is retried with random waits of 1 s up to the cap:
        # the expected total (5 growing waits, then the cap's mean) must well exceed 2 minutes.
        retries = int(env["AIRFLOW__WORKERS__EXECUTION_API_RETRIES"])
        cap = float(env["AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX"])
        expected = 1 + 1.5 + 2.5 + 4.5 + 8.5 + (retries - 6) * (1 + cap) / 2
        assert expected >= 180
        assert cap <= 30  # calls resume soon after a recovery
        assert int(env["AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS"]) >= 2

    def test_sqlite_tolerates_its_60_second_lock_wait(self, tmp_path: Path) -> None:
        env = airflow_environment(resolve_settings({}, tmp_path), {})
        assert int(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]) > 60

    def test_the_operator_can_override_every_setting(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG}, tmp_path)
        mine = {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "90"}
        assert airflow_environment(s, mine)["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] == "90"


class TestDatabaseTimeouts:
    def test_postgres_gets_connect_timeout_and_keepalives(self, tmp_path: Path) -> None:
        env = airflow_environment(resolve_settings({"YLAI_DATABASE_URL": PG}, tmp_path), {})
        args = _import(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"])
        assert args is platform_env.POSTGRES_CONNECT_ARGS
        assert isinstance(args, dict)
        assert args["connect_timeout"] == 10
        assert args["keepalives"] == 1
        async_args = _import(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"])
        assert async_args == {"timeout": 10}  # asyncpg's name for its connect timeout

    def test_sqlite_keeps_its_lock_wait(self, tmp_path: Path) -> None:
        env = airflow_environment(resolve_settings({}, tmp_path), {})
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] == "ylai_plugin.platform_env.SQLITE_CONNECT_ARGS"

    @pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
    def test_libpq_accepts_the_connect_args(self, driver: str) -> None:
        from tests.conftest import require_service

        url = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        require_service("PostgreSQL", url)
        from sqlalchemy import create_engine, text

        engine = create_engine(
            url.replace("postgresql://", f"postgresql+{driver}://", 1),
            connect_args=dict(platform_env.POSTGRES_CONNECT_ARGS),
        )
        try:
            with engine.connect() as conn:
                # libpq rejects an unknown keyword or a bad value at connect time.
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()

    def test_asyncpg_accepts_the_async_connect_args(self) -> None:
        import asyncio
        import concurrent.futures

        from tests.conftest import require_service

        url = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        require_service("PostgreSQL", url)
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def _select() -> object:
            engine = create_async_engine(
                url.replace("postgresql://", "postgresql+asyncpg://", 1),
                connect_args=dict(platform_env.POSTGRES_ASYNC_CONNECT_ARGS),
            )
            try:
                async with engine.connect() as conn:
                    return (await conn.execute(text("SELECT 1"))).scalar()
            finally:
                await engine.dispose()

        # A thread of its own: an earlier test may leave an event loop running in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert pool.submit(asyncio.run, _select()).result() == 1


class TestCeleryConfig:
    def test_the_worker_retries_the_broker_forever_with_socket_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", REDIS)
        monkeypatch.setenv("AIRFLOW__CELERY__RESULT_BACKEND", "db+" + PG)
        from ylai_plugin.monitoring import celery_config

        config = importlib.reload(celery_config).CELERY_CONFIG
        # The same database, through the backend that keeps the scheduler's connection (issue 21).
        assert config["result_backend"] == "ylai_plugin.monitoring.celery_results:PooledDatabaseBackend"
        assert config["database_url"] == PG
        assert config["broker_connection_retry_on_startup"] is True
        assert config["broker_connection_max_retries"] is None
        assert config["task_acks_late"] is True  # Airflow's default, relied upon in docs/resilience.md
        options = config["broker_transport_options"]
        assert options["socket_timeout"] == 30
        assert options["socket_connect_timeout"] == 5
        assert options["socket_keepalive"] is True
        assert "visibility_timeout" in options  # Airflow's own option is kept
        # A publish to a broker that refuses connections retries until operation_timeout cuts it.
        assert config["task_publish_retry_policy"]["max_retries"] is None

    def test_the_worker_imports_what_tasks_import_before_its_pool_forks(self) -> None:
        import subprocess
        import sys

        # A fresh interpreter, as `airflow celery worker` is: Celery sends worker_init before it
        # starts the pool, whose processes fork every task's supervisor and task runner.
        code = (
            "import sys; from celery.signals import worker_init; "
            "import ylai_plugin.monitoring.celery_config; from ylai_operators.preload import MODULES; "
            "before = sorted(m for m in MODULES if m not in sys.modules); worker_init.send(sender=None); "
            "print(bool(before), sorted(m for m in MODULES if m not in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
        assert out.stdout.strip().splitlines()[-1] == "True []"

    def test_queued_tasks_wait_out_a_broker_outage(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": REDIS}, tmp_path)
        retries = int(airflow_environment(s, {})["AIRFLOW__CELERY__TASK_PUBLISH_MAX_RETRIES"])
        assert retries * 1.0 >= 180  # each try waits the 1 s [celery] operation_timeout at least
