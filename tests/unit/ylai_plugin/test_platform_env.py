from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ylai_plugin.platform_env import (
    FAB_AUTH_MANAGER,
    PlatformConfigError,
    airflow_environment,
    load_or_create_secrets,
    resolve_settings,
)

PG = "postgresql://postgres@127.0.0.1:5432/ylai"
REDIS = "redis://127.0.0.1:6379/0"


class TestResolveSettings:
    def test_default_is_sqlite_local_executor_in_repo_home(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        assert s.airflow_home == tmp_path / ".airflow"
        assert s.database_url == f"sqlite:///{tmp_path / '.airflow' / 'airflow.db'}"
        assert s.executor == "LocalExecutor"
        assert s.port == 8080
        assert not s.celery

    def test_explicit_airflow_home_and_port(self, tmp_path: Path) -> None:
        s = resolve_settings({"AIRFLOW_HOME": str(tmp_path / "h"), "YLAI_PORT": "9123"}, tmp_path)
        assert s.airflow_home == tmp_path / "h"
        assert s.port == 9123
        assert s.base_url == "http://localhost:9123"

    def test_postgres_and_redis_select_celery(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": REDIS}, tmp_path)
        assert s.executor == "CeleryExecutor"
        assert s.database_url == PG
        assert s.broker_url == REDIS

    def test_postgres_alone_keeps_local_executor(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG}, tmp_path)
        assert s.executor == "LocalExecutor"
        assert s.database_url == PG

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            pytest.param({"YLAI_BROKER_URL": REDIS}, "YLAI_DATABASE_URL is not", id="broker-without-db"),
            pytest.param({"YLAI_DATABASE_URL": "mysql://x/y"}, "YLAI_DATABASE_URL must be a postgresql", id="db"),
            pytest.param(
                {"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": "http://x"},
                "YLAI_BROKER_URL",
                id="broker-scheme",
            ),
            pytest.param({"YLAI_PORT": "eighty"}, "YLAI_PORT must be an integer", id="port-text"),
            pytest.param({"YLAI_PORT": "70000"}, "between 1 and 65535", id="port-range"),
        ],
    )
    def test_invalid_environment_names_the_variable(self, tmp_path: Path, env: dict[str, str], message: str) -> None:
        with pytest.raises(PlatformConfigError, match=message):
            resolve_settings(env, tmp_path)


class TestAirflowEnvironment:
    def test_sqlite_default(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        env = airflow_environment(s, {"PATH": "/bin"})
        assert env["PATH"] == "/bin"
        assert env["AIRFLOW_HOME"] == str(tmp_path / ".airflow")
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:////")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8080/execution/"
        assert "AIRFLOW__CELERY__BROKER_URL" not in env
        import importlib

        module, _, name = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"].rpartition(".")
        connect_args = getattr(importlib.import_module(module), name)
        assert connect_args["timeout"] >= 30  # SQLite waits for its single writer instead of failing

    def test_celery(self, tmp_path: Path) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": REDIS, "YLAI_PORT": "9001"}, tmp_path)
        env = airflow_environment(s, {})
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == REDIS
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + PG
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:9001/execution/"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] == "ylai_plugin.platform_env.POSTGRES_CONNECT_ARGS"
        assert env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"] == "86400"
        # 16 concurrent API requests deadlock the default pool (5 + 10) of an api-server worker.
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW"] == "60"

    @pytest.mark.parametrize(
        ("broker", "cache_url"), [(REDIS, REDIS), ("amqp://guest@127.0.0.1:5672//", "")], ids=["redis", "amqp"]
    )
    def test_celery_shares_the_monitor_cache_through_a_redis_broker(
        self, tmp_path: Path, broker: str, cache_url: str
    ) -> None:
        s = resolve_settings({"YLAI_DATABASE_URL": PG, "YLAI_BROKER_URL": broker}, tmp_path)
        assert airflow_environment(s, {})["AIRFLOW__YLAI__CACHE_URL"] == cache_url
        assert "AIRFLOW__YLAI__CACHE_URL" not in airflow_environment(resolve_settings({}, tmp_path), {})
        mine = {"AIRFLOW__YLAI__CACHE_URL": "redis://elsewhere:6379/3"}
        assert airflow_environment(s, mine)["AIRFLOW__YLAI__CACHE_URL"] == mine["AIRFLOW__YLAI__CACHE_URL"]

    def test_caller_settings_win(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        env = airflow_environment(s, {"AIRFLOW__CORE__PARALLELISM": "3"})
        assert env["AIRFLOW__CORE__PARALLELISM"] == "3"

    def test_secrets_are_shared_by_every_component(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        first = airflow_environment(s, {})
        second = airflow_environment(s, {})
        for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
            assert first[key] == second[key]
            assert len(first[key]) >= 32


def test_secrets_file_is_private_and_fernet_key_valid(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    data = load_or_create_secrets(tmp_path)
    mode = stat.S_IMODE((tmp_path / "ylai-secrets.json").stat().st_mode)
    assert mode == 0o600
    token = Fernet(data["fernet_key"].encode()).encrypt(b"x")
    assert Fernet(data["fernet_key"].encode()).decrypt(token) == b"x"
    assert load_or_create_secrets(tmp_path) == data
