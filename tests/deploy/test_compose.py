"""docker-compose.yml and .env.example: `docker-compose config` plus the stack's contract."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import (
    COMPONENT_COMMANDS,
    REPO_ROOT,
    TUNED_SETTINGS,
    load_yaml,
    minimal_env,
    platform_defaults,
    run,
    run_wrapped,
    tool,
    wrapped,
)

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
INIT_ENV = REPO_ROOT / "docker" / "init-env.sh"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "ylai-alerts",
    "worker",
    "flower",
}
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"}
SECRET_KEYS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "POSTGRES_PASSWORD",
    "YLAI_ADMIN_PASSWORD",
)


def compose(*args: str, cwd: Path = REPO_ROOT, env_file: Path | None = None) -> tuple[int, str]:
    """Run docker-compose (the standalone Compose v2 binary, no engine needed) on a file.

    Compose reads `.env` from the project directory (the compose file's directory) for
    variable interpolation; ``env_file`` replaces it. The session's environment is left out:
    its variables would win over the env file.
    """
    argv = [tool("docker-compose")]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    result = run([*argv, "-f", "docker-compose.yml", *args], cwd=cwd, env=minimal_env())
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .env a user gets from docker/init-env.sh."""
    target = tmp_path_factory.mktemp("compose") / ".env"
    result = run([str(INIT_ENV), str(target)], env=minimal_env())
    assert result.returncode == 0, result.stdout
    return target


@pytest.fixture(scope="module")
def model(env_file: Path) -> dict[str, Any]:
    """The resolved Compose model, flower profile included."""
    rc, out = compose("--profile", "flower", "config", "--format", "json", env_file=env_file)
    assert rc == 0, out
    parsed: dict[str, Any] = json.loads(out)
    return parsed


@pytest.fixture(scope="module")
def services(model: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = model["services"]
    return result


class TestComposeConfig:
    def test_config_is_valid(self, env_file: Path) -> None:
        rc, out = compose("config", "-q", env_file=env_file)
        assert rc == 0, out

    def test_dot_env_in_the_project_directory_is_picked_up(self, tmp_path: Path, env_file: Path) -> None:
        shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
        shutil.copy(env_file, tmp_path / ".env")
        rc, out = compose("config", "-q", cwd=tmp_path)
        assert rc == 0, out

    def test_secrets_are_required(self) -> None:
        # .env.example as it stands has empty secrets: Compose must refuse, not start with blanks.
        rc, out = compose("config", "-q", env_file=ENV_EXAMPLE)
        assert rc != 0
        for key in ("POSTGRES_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
            assert f"required variable {key} is missing a value" in out

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                "condition: service_completed_successfully",
                "condition: service_finished",
                "condition value must be one of",
            ),
            ("    healthcheck:\n", "    healthcheck:\n      tests: [CMD, 'true']\n", "additional properties 'tests'"),
            ("  airflow-init:\n", "  airflow-init:\n    restarts: always\n", "services.airflow-init.restarts"),
        ],
    )
    def test_broken_copy_fails(self, tmp_path: Path, env_file: Path, old: str, new: str, message: str) -> None:
        text = COMPOSE_FILE.read_text()
        assert old in text
        (tmp_path / "docker-compose.yml").write_text(text.replace(old, new, 1))
        shutil.copy(env_file, tmp_path / ".env")
        rc, out = compose("config", "-q", cwd=tmp_path)
        assert rc != 0
        assert message in out


class TestServices:
    def test_service_set(self, services: dict[str, Any]) -> None:
        assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis"}

    def test_common_settings_come_from_an_anchor(self) -> None:
        raw = load_yaml(COMPOSE_FILE)
        assert "x-airflow-common" in raw
        assert "<<: *airflow-common" in COMPOSE_FILE.read_text()

    @pytest.mark.parametrize("name", sorted(LONG_RUNNING | {"postgres", "redis"}))
    def test_healthcheck(self, services: dict[str, Any], name: str) -> None:
        check = services[name].get("healthcheck", {})
        assert not check.get("disable"), f"{name} has its healthcheck disabled"
        assert check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}

    @pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
    def test_waits_for_healthy_postgres_and_redis(self, services: dict[str, Any], name: str) -> None:
        depends = services[name]["depends_on"]
        for dependency in ("postgres", "redis"):
            assert depends[dependency]["condition"] == "service_healthy"

    @pytest.mark.parametrize("name", sorted(LONG_RUNNING))
    def test_waits_for_init(self, services: dict[str, Any], name: str) -> None:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"

    @pytest.mark.parametrize("name", ["worker", "airflow-triggerer"])
    def test_task_runners_wait_for_the_execution_api(self, services: dict[str, Any], name: str) -> None:
        assert services[name]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"

    def test_init_migrates_creates_admin_and_syncs_permissions(self, services: dict[str, Any]) -> None:
        init = services["airflow-init"]
        script = " ".join(init["command"])
        assert (
            script.index("airflow db migrate")
            < script.index("ylai_plugin.admin_user")
            < script.index("ylai sync-perms")
        )
        assert "YLAI_ADMIN_PASSWORD" not in re.sub(r'os\.environ\["YLAI_ADMIN_PASSWORD"\]', "", script), (
            "the password must reach admin_user on stdin, not on a command line"
        )
        assert init["restart"] == "no"

    def test_worker_scales(self, services: dict[str, Any]) -> None:
        worker = services["worker"]
        assert worker["command"] == wrapped("celery-worker")
        # --scale worker=N needs generated container names and no fixed host ports.
        assert "container_name" not in worker
        assert not worker.get("ports")
        assert worker["environment"]["DUMB_INIT_SETSID"] == "0"

    def test_flower_is_behind_a_profile(self, services: dict[str, Any]) -> None:
        assert services["flower"]["profiles"] == ["flower"]
        assert all("profiles" not in s for name, s in services.items() if name != "flower")
        assert all(p["host_ip"] == "127.0.0.1" for p in services["flower"]["ports"])

    def test_api_server_is_published(self, services: dict[str, Any]) -> None:
        (port,) = services["airflow-apiserver"]["ports"]
        assert port["target"] == 8080
        assert port["published"] == "8080"

    def test_only_named_volumes(self, model: dict[str, Any], services: dict[str, Any]) -> None:
        for name, service in services.items():
            for volume in service.get("volumes", []):
                assert volume["type"] == "volume", f"{name} mounts a {volume['type']}: {volume}"
                assert volume["source"] in model["volumes"]
        postgres_mounts = {v["target"]: v["source"] for v in services["postgres"]["volumes"]}
        assert postgres_mounts == {"/var/lib/postgresql/data": "postgres-data"}


class TestAirflowSettings:
    @pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
    def test_multi_container_settings(self, services: dict[str, Any], name: str) -> None:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == (
            "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
        )
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "ylai_plugin.monitoring.celery_config.CELERY_CONFIG"
        assert env["AIRFLOW__YLAI__CACHE_URL"] == "redis://redis:6379/1"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"

    def test_secrets_are_shared_and_come_from_the_env_file(self, services: dict[str, Any], env_file: Path) -> None:
        generated = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#")
        )
        for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
            values = {services[name]["environment"][key] for name in AIRFLOW_SERVICES}
            assert values == {generated[key]}, key

    @pytest.mark.parametrize("key", TUNED_SETTINGS)
    def test_same_tuning_as_ylai_run(self, services: dict[str, Any], tmp_path: Path, key: str) -> None:
        expected = platform_defaults(tmp_path)[key]
        for name in AIRFLOW_SERVICES:
            assert services[name]["environment"][key] == expected, f"{name}: {key}"


class TestSecretsHandling:
    def test_no_hard_coded_secrets(self) -> None:
        raw = load_yaml(COMPOSE_FILE)
        blocks = [raw["x-airflow-common"]["environment"]]
        blocks += [s.get("environment", {}) for s in raw["services"].values()]
        for block in blocks:
            for key in SECRET_KEYS:
                if key in block:
                    assert "${" in str(block[key]), f"{key} is hard-coded"

    def test_env_example_has_no_secret_values(self) -> None:
        values = dict(
            line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
        )
        for key in ("POSTGRES_PASSWORD", "YLAI_ADMIN_PASSWORD", *SECRET_KEYS[:3]):
            assert values[key] == "", f"{key} has a value in .env.example"

    def test_env_example_documents_every_variable(self) -> None:
        used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_FILE.read_text()))  # $${X} is escaped
        documented = {
            line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and line[0] != "#"
        }
        assert used - documented == set()

    def test_env_stays_out_of_the_image(self) -> None:
        assert "**/.env" in (REPO_ROOT / ".dockerignore").read_text().splitlines()


def _seconds(duration: str | int | float) -> float:
    """A Compose duration ("1m30s", "30s", "500ms"; numbers are nanoseconds) in seconds."""
    if isinstance(duration, (int, float)):
        return float(duration) / 1e9
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, f"not a duration: {duration!r}"
    return sum(float(value) * units[unit] for value, unit in parts)


class TestResilience:
    """docs/resilience.md: a database or Redis outage of 2 minutes stops nothing for good."""

    @pytest.mark.parametrize("name", sorted(LONG_RUNNING | {"postgres", "redis"}))
    def test_every_long_running_service_is_restarted(self, services: dict[str, Any], name: str) -> None:
        # Docker restarts an exited container with a growing delay (up to 1 min), never gives up.
        assert services[name]["restart"] in {"unless-stopped", "always"}

    def test_redis_keeps_queued_tasks_across_a_restart(self, services: dict[str, Any]) -> None:
        redis = services["redis"]
        assert "--appendonly" in redis["command"]
        assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
        assert {v["target"]: v["source"] for v in redis["volumes"]} == {"/data": "redis-data"}

    def test_the_one_shot_init_is_not_restarted(self, services: dict[str, Any]) -> None:
        assert services["airflow-init"]["restart"] == "no"

    @pytest.mark.parametrize("name", sorted(LONG_RUNNING))
    def test_a_two_minute_blip_does_not_make_a_service_unhealthy(self, services: dict[str, Any], name: str) -> None:
        check = services[name]["healthcheck"]
        assert _seconds(check["interval"]) * check["retries"] >= 120, name

    @pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
    def test_lost_worker_settings_fit_a_minute(self, services: dict[str, Any], name: str) -> None:
        env = services[name]["environment"]
        timeout = int(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
        detection = float(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"])
        interval = int(env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"])
        # The first retry of a script waits 15-30 s after the task is failed.
        assert interval + timeout + detection + 30 <= 60


# Each long-running service and the component name its log lines carry (those of `ylai run`).
COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "worker": "celery-worker",
    "ylai-alerts": "alerts",
    "flower": "flower",
}


class TestJsonLogs:
    """docs/logging.md: every long-running service writes one JSON object per line to stdout."""

    @pytest.mark.parametrize("name", sorted(LONG_RUNNING))
    def test_every_service_logs_json(self, services: dict[str, Any], name: str) -> None:
        env = services[name]["environment"]
        assert env["YLAI_LOG_FORMAT"] == "json"
        assert env["AIRFLOW__LOGGING__JSON_LOGS"] == "True"
        assert env["AIRFLOW__LOGGING__COLORED_CONSOLE_LOG"] == "False"

    def test_same_settings_as_ylai_run_in_json_mode(self, tmp_path: Path) -> None:
        from ylai_plugin.platform_env import airflow_environment, resolve_settings

        expected = airflow_environment(resolve_settings({}, tmp_path), {"YLAI_LOG_FORMAT": "json"})
        common = load_yaml(COMPOSE_FILE)["x-airflow-common"]["environment"]
        for key in ("AIRFLOW__LOGGING__JSON_LOGS", "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG"):
            assert common[key] == expected[key], key

    @pytest.mark.parametrize(("service", "component"), sorted(COMPONENTS.items()))
    def test_every_service_runs_through_the_log_wrapper(
        self, services: dict[str, Any], service: str, component: str
    ) -> None:
        """`ylai component NAME -- COMMAND`: the lines get ylai's keys and the component's name."""
        assert services[service]["command"] == wrapped(component)

    def test_every_long_running_service_is_named(self) -> None:
        assert set(COMPONENTS) == LONG_RUNNING

    @pytest.mark.parametrize("service", sorted(set(COMPONENTS) - {"ylai-alerts"}))
    @pytest.mark.parametrize("json_mode", [True, False], ids=["json", "text"])
    def test_the_command_runs_as_the_image_would(
        self, services: dict[str, Any], tmp_path: Path, service: str, json_mode: bool
    ) -> None:
        """The service's command, run for real (its `airflow` a stand-in that logs its arguments)."""
        result = run_wrapped(services[service]["command"], tmp_path, json_mode=json_mode)
        assert result.returncode == 0, result.stdout
        argv = list(COMPONENT_COMMANDS[COMPONENTS[service]][1:])
        if not json_mode:
            assert result.stdout == " ".join(["started", *argv]) + "\n"
            return
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert record["component"] == COMPONENTS[service]
        assert (record["time"], record["logger"], record["message"]) == (
            "2026-12-04T10:00:00Z",
            "airflow.cli",
            "started",
        )
        assert record["argv"] == argv
