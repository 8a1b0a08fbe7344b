"""Tracing in the deployments (docs/tracing.md): Compose's ``tracing`` profile, the Helm values' commented block.

Both must give the Airflow containers the settings ``ylai run`` derives from
``OTEL_EXPORTER_OTLP_ENDPOINT`` (plugins/ylai_plugin/platform_env.py), and stay off by default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.test_compose import AIRFLOW_SERVICES, COMPOSE_FILE, ENV_EXAMPLE, INIT_ENV
from tests.deploy.test_sentry_config import uncomment_sentry
from tests.deploy.tools import CHART_DEFAULTS, CHART_SCHEMA, HELM_VALUES, helm_merge, load_yaml, minimal_env, run, tool
from ylai_plugin.platform_env import tracing_environment

JAEGER_OTLP_HTTP = "http://jaeger:4318"
MARKER = "# Traces (docs/tracing.md)"


def compose_config(tmp_path: Path, **env: str) -> dict[str, Any]:
    """``docker-compose --profile tracing config`` with the .env of docker/init-env.sh plus ``env``."""
    env_file = tmp_path / ".env"
    assert run([str(INIT_ENV), str(env_file)], env=minimal_env()).returncode == 0
    env_file.write_text(env_file.read_text() + "".join(f"{k}={v}\n" for k, v in env.items()))
    argv = [tool("docker-compose"), "--env-file", str(env_file), "--profile", "tracing", "-f", str(COMPOSE_FILE)]
    result = run([*argv, "config", "--format", "json"], env=minimal_env())
    assert result.returncode == 0, result.stdout
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    services = compose_config(tmp_path)
    for name in AIRFLOW_SERVICES - {"flower"}:
        assert services[name]["environment"]["AIRFLOW__TRACES__OTEL_ON"] == "False", name


def test_the_profile_starts_jaeger_and_the_switch_sends_ylai_runs_settings(tmp_path: Path) -> None:
    services = compose_config(tmp_path, YLAI_TRACING="True")
    jaeger = services["jaeger"]
    assert jaeger["profiles"] == ["tracing"]
    image, tag = jaeger["image"].split(":")
    assert image == "jaegertracing/all-in-one"
    assert tag[0].isdigit()  # pinned, not "latest"
    published = {p["target"]: p for p in jaeger["ports"]}
    assert set(published) == {16686, 4317, 4318}
    assert all(p["host_ip"] == "127.0.0.1" for p in published.values())
    expected = tracing_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": JAEGER_OTLP_HTTP})
    for name in AIRFLOW_SERVICES - {"flower"}:
        env = services[name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == JAEGER_OTLP_HTTP, name
        for key, value in expected.items():
            assert env[key] == value, f"{name}: {key}"
        assert env["AIRFLOW__YLAI__TRACE_URL_TEMPLATE"] == "http://localhost:16686/trace/{trace_id}"


def test_another_collector_and_sampling_come_from_the_env_file(tmp_path: Path) -> None:
    services = compose_config(
        tmp_path,
        YLAI_TRACING="True",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://collector.example.com:4318",
        OTEL_TRACES_SAMPLER="parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG="0.1",
    )
    env = services["airflow-apiserver"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector.example.com:4318"
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "0.1")
    assert "YLAI_TRACING=False" in ENV_EXAMPLE.read_text()


def uncomment_traces(text: str) -> str:
    """``text`` with the commented lines of each ``# Traces (docs/tracing.md)`` block on (Sentry's rule)."""
    return uncomment_sentry(text.replace(MARKER, "# Sentry (docs/sentry.md)")).replace(
        "# Sentry (docs/sentry.md)", MARKER
    )


@pytest.fixture
def helm_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(uncomment_traces((HELM_VALUES / "values.yaml").read_text()))
    return values


def test_helm_block_is_commented_out_by_default() -> None:
    values = load_yaml(HELM_VALUES / "values.yaml")
    assert "traces" not in values["config"]
    assert not [e for e in values["env"] if e["name"].startswith("OTEL_")]
    assert MARKER in (HELM_VALUES / "values.yaml").read_text()


def test_helm_uncommented_is_valid_and_gives_ylai_runs_settings(helm_values: dict[str, Any]) -> None:
    merged = helm_merge(load_yaml(CHART_DEFAULTS), helm_values)
    validator = jsonschema.Draft7Validator(json.loads(CHART_SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(merged)] == []
    env = {e["name"]: e["value"] for e in helm_values["env"]}
    expected = tracing_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": env["OTEL_EXPORTER_OTLP_ENDPOINT"]})
    traces = helm_values["config"]["traces"]
    for key, value in expected.items():
        if key.startswith("AIRFLOW__TRACES__"):
            assert traces[key.removeprefix("AIRFLOW__TRACES__").lower()] == value, key
        else:
            assert env[key] == value, key
    assert "{trace_id}" in helm_values["config"]["ylai"]["trace_url_template"]
