"""helm-values/: every file, merged over the chart's defaults like Helm does, against its schema."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.tools import (
    CHART_DEFAULTS,
    CHART_SCHEMA,
    HELM_VALUES,
    TUNED_SETTINGS,
    helm_merge,
    load_yaml,
    platform_defaults,
    run_wrapped,
    wrapped,
)

BASE = HELM_VALUES / "values.yaml"
VALUES_FILES = sorted(HELM_VALUES.glob("*.yaml"))
OVERLAYS = sorted(p for p in VALUES_FILES if p != BASE)
# What an operator actually deploys: base, then an environment overlay, then alternatives.
STACKS = {
    "dev": ["values-dev.yaml"],
    "prod": ["values-prod.yaml"],
    "prod+hpa": ["values-prod.yaml", "values-hpa.yaml"],
    "prod+gitsync": ["values-prod.yaml", "values-gitsync.yaml"],
    "trial": ["values-dev.yaml", "values-bundled-postgres.yaml"],
}
IMMUTABLE_TAG = re.compile(r"^(\d+\.\d+\.\d+|sha-[0-9a-f]{7,40})$")
# Keys whose value would be the secret itself (as opposed to the name of a Secret holding it).
SECRET_VALUE_KEYS = {
    "password",
    "pass",
    "postgresPassword",
    "fernetKey",
    "apiSecretKey",
    "jwtSecret",
    "webserverSecretKey",
    "keytabBase64Content",
    "brokerUrl",
}
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    for path in (CHART_SCHEMA, CHART_DEFAULTS):
        if not path.is_file():
            pytest.fail(f"{path} is missing (tests/deploy/chart, or the chart named by YLAI_AIRFLOW_CHART_DIR)")
    schema = json.loads(CHART_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def chart_defaults() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(CHART_DEFAULTS)
    return data


def merged(chart_defaults: dict[str, Any], *files: str) -> dict[str, Any]:
    values = chart_defaults
    for name in files:
        values = helm_merge(values, load_yaml(HELM_VALUES / name) or {})
    return values


def errors(validator: jsonschema.Draft7Validator, values: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    ]


@pytest.fixture(scope="module", params=sorted(STACKS), ids=sorted(STACKS))
def stack(request: pytest.FixtureRequest, chart_defaults: dict[str, Any]) -> dict[str, Any]:
    return merged(chart_defaults, "values.yaml", *STACKS[request.param])


@pytest.fixture(scope="module")
def base(chart_defaults: dict[str, Any]) -> dict[str, Any]:
    return merged(chart_defaults, "values.yaml")


def test_expected_files() -> None:
    assert {p.name for p in VALUES_FILES} == {
        "values.yaml",
        "values-dev.yaml",
        "values-prod.yaml",
        "values-hpa.yaml",
        "values-gitsync.yaml",
        "values-bundled-postgres.yaml",
    }
    assert {f for files in STACKS.values() for f in files} == {p.name for p in OVERLAYS}


def test_chart_defaults_are_valid(validator: jsonschema.Draft7Validator, chart_defaults: dict[str, Any]) -> None:
    assert errors(validator, chart_defaults) == []


class TestSchema:
    @pytest.mark.parametrize("path", VALUES_FILES, ids=lambda p: p.name)
    def test_file_over_chart_defaults(
        self, validator: jsonschema.Draft7Validator, chart_defaults: dict[str, Any], path: Path
    ) -> None:
        assert errors(validator, merged(chart_defaults, path.name)) == []

    @pytest.mark.parametrize("name", sorted(STACKS))
    def test_stack(self, validator: jsonschema.Draft7Validator, chart_defaults: dict[str, Any], name: str) -> None:
        assert errors(validator, merged(chart_defaults, "values.yaml", *STACKS[name])) == []

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            ("executor: CeleryExecutor", "executor: Celery", "does not match"),
            ("  useHelmHooks: false", "  useHelmHook: false", "'useHelmHook' was unexpected"),
            ("  replicas: 1\n", "  replicas: one\n", "'one' is not of type 'integer'"),
            ("    pullPolicy: IfNotPresent", "    pullPolicy: Sometimes", "'Sometimes' is not one of"),
            ("    worker_concurrency: 8", "    worker_concurrency: [8]", "is not of type 'boolean', 'integer'"),
        ],
    )
    def test_broken_copy_fails(
        self,
        validator: jsonschema.Draft7Validator,
        chart_defaults: dict[str, Any],
        tmp_path: Path,
        old: str,
        new: str,
        message: str,
    ) -> None:
        text = BASE.read_text()
        assert old in text
        broken = tmp_path / "values.yaml"
        broken.write_text(text.replace(old, new, 1))
        found = errors(validator, helm_merge(chart_defaults, yaml.safe_load(broken.read_text())))
        assert any(message in e for e in found), found


class TestHelmMerge:
    def test_semantics(self) -> None:
        base = {"a": {"b": 1, "c": [1, 2], "d": "x"}, "e": 1}
        override = {"a": {"b": 2, "c": [3], "d": None}, "f": {"g": 1}}
        assert helm_merge(base, override) == {"a": {"b": 2, "c": [3]}, "e": 1, "f": {"g": 1}}
        assert base == {"a": {"b": 1, "c": [1, 2], "d": "x"}, "e": 1}, "inputs stay untouched"


class TestImage:
    def test_immutable_tag(self, stack: dict[str, Any]) -> None:
        for key in ("airflow", "flower"):
            image = stack["images"][key]
            assert image["repository"].startswith("ghcr.io/")
            assert image["repository"].endswith("/ylai")
            assert IMMUTABLE_TAG.match(str(image["tag"])), f"images.{key}.tag {image['tag']!r} is mutable"
            assert image["pullPolicy"] == "IfNotPresent"
        assert stack["images"]["useDefaultImageForMigration"] is False
        assert stack["airflowVersion"] == "3.3.2"

    def test_celery_executor(self, stack: dict[str, Any]) -> None:
        assert stack["executor"] == "CeleryExecutor"
        assert stack["config"]["core"]["auth_manager"] == FAB


class TestSecrets:
    def test_existing_secrets_by_name(self, stack: dict[str, Any]) -> None:
        for key in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"):
            assert stack.get(key) is None, f"{key} must not be set in values"
            assert stack[f"{key}SecretName" if key != "jwtSecret" else "jwtSecretName"].startswith("ylai-")
        assert stack["data"]["metadataSecretName"] == "ylai-metadata"
        assert stack["data"]["brokerUrlSecretName"] == "ylai-broker-url"
        assert stack["redis"]["passwordSecretName"] == "ylai-redis-password"
        assert stack["redis"].get("password") is None
        assert {"envName": "AIRFLOW__YLAI__CACHE_URL", "secretName": "ylai-broker-url", "secretKey": "cache-url"} in (
            stack["secret"]
        )

    @pytest.mark.parametrize("path", VALUES_FILES, ids=lambda p: p.name)
    def test_no_secret_literals(self, path: Path) -> None:
        def walk(node: Any, where: str) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    here = f"{where}.{key}"
                    if key in SECRET_VALUE_KEYS:
                        assert value in (None, ""), f"{path.name}: {here} holds a literal secret"
                    walk(value, here)
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, f"{where}[{i}]")
            elif isinstance(node, str):
                assert not re.search(r"://[^/@\s]+:[^/@\s]+@", node), f"{path.name}: {where} has a URL with credentials"

        walk(load_yaml(path), "")

    def test_admin_password_from_a_secret(self, base: dict[str, Any]) -> None:
        job = base["createUserJob"]
        assert job["enabled"] is True
        assert job["defaultUser"]["enabled"] is True, "the chart skips the Job without it"
        env = {e["name"]: e for e in job["env"]}
        assert env["YLAI_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "ylai-admin", "key": "password"}
        script = job["args"][-1]
        assert "python -m ylai_plugin.admin_user" in script
        assert "ylai sync-perms" in script
        assert "airflow users create" not in script


class TestDatabase:
    def test_external_postgres_by_default(self, base: dict[str, Any]) -> None:
        assert base["postgresql"]["enabled"] is False
        assert base["data"]["metadataSecretName"]

    def test_bundled_postgres_is_opt_in(self, chart_defaults: dict[str, Any]) -> None:
        trial = merged(chart_defaults, "values.yaml", "values-dev.yaml", "values-bundled-postgres.yaml")
        assert trial["postgresql"]["enabled"] is True
        assert trial["postgresql"]["auth"]["existingSecret"] == "ylai-postgresql"
        assert "postgresPassword" not in trial["postgresql"]["auth"], "the chart's default password must go"

    def test_migrations_and_user_job_are_not_hooks(self, base: dict[str, Any]) -> None:
        # `helm upgrade --atomic` waits for pods, which wait for migrations: hooks would deadlock.
        assert base["migrateDatabaseJob"]["useHelmHooks"] is False
        assert base["createUserJob"]["useHelmHooks"] is False


def component_resources(values: dict[str, Any]) -> dict[str, Any]:
    """Resources of every container the chart runs with these values."""
    found: dict[str, Any] = {}
    for name in ("apiServer", "scheduler", "dagProcessor", "triggerer", "workers", "flower", "statsd", "redis"):
        section = values[name]
        if section.get("enabled", True) is not False:
            found[name] = section["resources"]
            if "logGroomerSidecar" in section and section["logGroomerSidecar"].get("enabled", True):
                found[f"{name}.logGroomerSidecar"] = section["logGroomerSidecar"]["resources"]
    for job in ("migrateDatabaseJob", "createUserJob"):
        if values[job]["enabled"]:
            found[job] = values[job]["resources"]
    if values["dags"]["gitSync"]["enabled"]:
        found["dags.gitSync"] = values["dags"]["gitSync"]["resources"]
    if values["postgresql"]["enabled"]:
        found["postgresql.primary"] = values["postgresql"]["primary"]["resources"]
    return found


class TestComponents:
    def test_requests_and_limits_everywhere(self, stack: dict[str, Any]) -> None:
        resources = component_resources(stack)
        assert len(resources) >= 12
        for name, res in resources.items():
            for kind in ("requests", "limits"):
                assert set(res.get(kind, {})) >= {"cpu", "memory"}, f"{name}.resources.{kind}"

    def test_probes(self, stack: dict[str, Any]) -> None:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert stack["apiServer"][probe]["failureThreshold"] >= 1
        for probe in ("livenessProbe", "startupProbe"):
            assert stack["scheduler"][probe]["failureThreshold"] >= 1
        for name in ("dagProcessor", "triggerer"):
            assert stack[name]["livenessProbe"]["failureThreshold"] >= 1
        assert stack["workers"]["celery"]["livenessProbe"]["enabled"] is True
        if stack["flower"]["enabled"]:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert stack["flower"][probe]["periodSeconds"] >= 1

    def test_pod_disruption_budgets(self, stack: dict[str, Any]) -> None:
        for name in ("apiServer", "scheduler", "dagProcessor", "triggerer"):
            pdb = stack[name]["podDisruptionBudget"]
            assert pdb["enabled"] is True, name
            assert pdb["config"]["maxUnavailable"] == 1, name
        worker_pdb = stack["workers"]["celery"]["podDisruptionBudget"]
        assert worker_pdb["enabled"] is True
        assert worker_pdb["config"]["maxUnavailable"] == 1

    def test_worker_autoscaling(self, chart_defaults: dict[str, Any], stack: dict[str, Any]) -> None:
        workers = stack["workers"]
        assert workers["keda"]["enabled"] != workers["hpa"]["enabled"], "exactly one autoscaler"
        scaler = workers["keda"] if workers["keda"]["enabled"] else workers["hpa"]
        assert 0 <= scaler["minReplicaCount"] < scaler["maxReplicaCount"]
        assert workers["terminationGracePeriodSeconds"] >= 300
        hpa = merged(chart_defaults, "values.yaml", "values-prod.yaml", "values-hpa.yaml")["workers"]
        assert hpa["keda"]["enabled"] is False
        assert hpa["hpa"]["enabled"] is True

    def test_production_is_highly_available(self, chart_defaults: dict[str, Any]) -> None:
        prod = merged(chart_defaults, "values.yaml", "values-prod.yaml")
        for name in ("apiServer", "scheduler", "dagProcessor", "triggerer"):
            assert prod[name]["replicas"] >= 2, name
        assert prod["workers"]["keda"]["minReplicaCount"] >= 2
        assert prod["ingress"]["apiServer"]["enabled"] is True


class TestDagsAndLogs:
    def test_dags_baked_into_the_image(self, base: dict[str, Any]) -> None:
        assert base["dags"]["gitSync"]["enabled"] is False
        assert base["dags"]["persistence"]["enabled"] is False

    def test_gitsync_alternative(self, chart_defaults: dict[str, Any]) -> None:
        values = merged(chart_defaults, "values.yaml", "values-gitsync.yaml")
        sync = values["dags"]["gitSync"]
        assert sync["enabled"] is True
        assert sync["subPath"] == "dags"
        assert sync["repo"].startswith("https://")
        # git-sync on networked persistence is what the chart's docs warn against.
        assert values["dags"]["persistence"]["enabled"] is False

    def test_log_persistence(self, stack: dict[str, Any]) -> None:
        assert stack["logs"]["persistence"]["enabled"] is True
        assert stack["workers"]["celery"]["persistence"]["enabled"] is False
        assert stack["triggerer"]["persistence"]["enabled"] is False


class TestAirflowConfig:
    @pytest.mark.parametrize("key", TUNED_SETTINGS)
    def test_same_tuning_as_ylai_run(self, stack: dict[str, Any], tmp_path: Path, key: str) -> None:
        expected = platform_defaults(tmp_path)[key]
        if key == "AIRFLOW__CORE__EXECUTOR":
            assert stack["executor"] == expected
            return
        _, section, option = key.lower().split("__")
        assert str(stack["config"][section][option]) == expected

    def test_execution_api_points_at_the_api_server(self, stack: dict[str, Any]) -> None:
        url = stack["config"]["core"]["execution_api_server_url"]
        assert url == ('http://{{ include "airflow.fullname" . }}-api-server:{{ .Values.ports.apiServer }}/execution/')

    def test_ylai_section(self, stack: dict[str, Any]) -> None:
        assert stack["config"]["ylai"]["sample_resources"] == "True"
        # The KEDA query divides by it.
        assert isinstance(stack["config"]["celery"]["worker_concurrency"], int)


def liveness_probes(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every liveness probe of a merged values file, by where it is set."""
    found = {name: values[name]["livenessProbe"] for name in ("apiServer", "scheduler", "dagProcessor", "triggerer")}
    found["workers.celery"] = values["workers"]["celery"]["livenessProbe"]
    if values["flower"]["enabled"]:
        found["flower"] = values["flower"]["livenessProbe"]
    for container in values["scheduler"].get("extraContainers") or []:
        if "livenessProbe" in container:
            found[f"scheduler.extraContainers.{container['name']}"] = container["livenessProbe"]
    return found


class TestResilience:
    """docs/resilience.md: probes that do not kill healthy pods during a database blip."""

    def test_no_liveness_probe_kills_a_pod_within_three_minutes(self, stack: dict[str, Any]) -> None:
        probes = liveness_probes(stack)
        assert "scheduler.extraContainers.ylai-alerts" in probes
        for name, probe in probes.items():
            # The scheduler, dag-processor, triggerer and worker checks query the database: a
            # 2-minute outage must not add up to a restart (with a margin for a slow recovery).
            assert probe["periodSeconds"] * probe["failureThreshold"] >= 180, name

    def test_readiness_still_reacts_quickly(self, stack: dict[str, Any]) -> None:
        probe = stack["apiServer"]["readinessProbe"]
        assert probe["periodSeconds"] * probe["failureThreshold"] <= 60

    def test_lost_worker_settings_fit_a_minute(self, stack: dict[str, Any]) -> None:
        scheduler, workers = stack["config"]["scheduler"], stack["config"]["workers"]
        timeout = int(scheduler["task_instance_heartbeat_timeout"])
        detection = float(scheduler["task_instance_heartbeat_timeout_detection_interval"])
        # The first retry of a script waits 15-30 s after the task is failed.
        assert int(workers["min_heartbeat_interval"]) + timeout + detection + 30 <= 60


# The chart's sections of ylai's long-running components and the component name their lines carry.
CHART_COMPONENTS = {
    "apiServer": "api-server",
    "scheduler": "scheduler",
    "dagProcessor": "dag-processor",
    "triggerer": "triggerer",
    "flower": "flower",
}


class TestJsonLogs:
    """docs/logging.md: every container writes one JSON object per line to stdout."""

    def test_airflow_components_log_json(self, stack: dict[str, Any]) -> None:
        assert stack["config"]["logging"]["json_logs"] == "True"
        assert stack["config"]["logging"]["colored_console_log"] == "False"

    def test_ylai_log_format_reaches_every_container(self, stack: dict[str, Any]) -> None:
        assert {"name": "YLAI_LOG_FORMAT", "value": "json"} in stack["env"]
        # The chart's top-level env does not reach extraContainers: the alert evaluator sets its own.
        (alerts,) = [c for c in stack["scheduler"]["extraContainers"] if c["name"] == "ylai-alerts"]
        assert {"name": "YLAI_LOG_FORMAT", "value": "json"} in alerts["env"]

    @pytest.mark.parametrize(("section", "component"), sorted(CHART_COMPONENTS.items()))
    def test_every_component_runs_through_the_log_wrapper(
        self, stack: dict[str, Any], section: str, component: str
    ) -> None:
        """`ylai component NAME -- COMMAND`: the lines get ylai's keys and the component's name."""
        assert stack[section]["args"] == wrapped(component)
        assert not stack[section].get("command"), "the image's entrypoint must stay"

    def test_the_alert_evaluator_runs_through_the_log_wrapper(self, stack: dict[str, Any]) -> None:
        (alerts,) = [c for c in stack["scheduler"]["extraContainers"] if c["name"] == "ylai-alerts"]
        assert alerts["args"] == wrapped("alerts")

    def test_the_worker_runs_through_the_log_wrapper_with_the_charts_queue_option(
        self, chart_defaults: dict[str, Any], stack: dict[str, Any]
    ) -> None:
        workers = stack["workers"]
        # The chart takes workers.celery.args over the deprecated workers.args.
        shell, flag, script = workers["celery"]["args"]
        assert (shell, flag) == ("bash", "-c")
        first, *template = script.splitlines()
        assert shlex.split(first) == ["exec", *wrapped("celery-worker")]
        assert not workers.get("command")
        assert not workers["celery"].get("command")
        charts = chart_defaults["workers"]["args"][-1].splitlines()
        assert template == [line for line in charts if line.startswith("{{")]

    @pytest.mark.parametrize("component", [*sorted(CHART_COMPONENTS.values()), "celery-worker"])
    @pytest.mark.parametrize("json_mode", [True, False], ids=["json", "text"])
    def test_the_args_run_as_the_image_would(
        self, base: dict[str, Any], tmp_path: Path, component: str, json_mode: bool
    ) -> None:
        """The container's args, run for real (its `airflow` a stand-in that logs its arguments)."""
        if component == "celery-worker":
            shell, flag, script = base["workers"]["celery"]["args"]
            # Rendered with the chart's default queue ("default"): the template adds nothing.
            argv = [shell, flag, "".join(line for line in script.splitlines() if not line.startswith("{{"))]
        else:
            (section,) = [name for name, value in CHART_COMPONENTS.items() if value == component]
            argv = base[section]["args"]
        result = run_wrapped(argv, tmp_path, json_mode=json_mode)
        assert result.returncode == 0, result.stdout
        if not json_mode:
            assert result.stdout.startswith("started ")
            return
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert (record["component"], record["message"], record["logger"]) == (component, "started", "airflow.cli")
