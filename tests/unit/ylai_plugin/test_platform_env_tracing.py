"""``ylai run``'s tracing settings: off without an OTLP endpoint; the exporter and service names with one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ylai_plugin.platform_env import (
    COMPONENT_SERVICE_NAMES,
    PlatformConfigError,
    airflow_environment,
    component_environment,
    resolve_settings,
    traces_exporter,
)
from ylai_plugin.run_platform import _components

HTTP = "http://collector:4318"


class TestTracesExporter:
    def test_no_endpoint_means_tracing_off(self, tmp_path: Path) -> None:
        # A protocol or a service name alone turns nothing on.
        env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_ENDPOINT": " "}
        assert traces_exporter(env) is None
        full = airflow_environment(resolve_settings(env, tmp_path), env)
        assert not any(key.startswith(("AIRFLOW__TRACES__", "OTEL_TRACES_")) for key in full)
        assert full["OTEL_SERVICE_NAME"] == "x"
        assert component_environment("scheduler", env) == {}

    @pytest.mark.parametrize(
        ("env", "exporter"),
        [
            pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP}, "otlp_proto_http", id="4318-unspecified"),
            pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com"}, "otlp_proto_http", id="https"),
            pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, "otlp", id="4317-is-grpc"),
            pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "otlp", id="4317-no-scheme"),
            pytest.param(
                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
                "otlp_proto_http",
                id="traces-endpoint",
            ),
            pytest.param(
                {"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "otlp", id="grpc"
            ),
            pytest.param(
                {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
                "otlp_proto_http",
                id="protocol-wins-over-port",
            ),
            pytest.param(
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": HTTP,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
                },
                "otlp_proto_http",
                id="traces-protocol-first",
            ),
        ],
    )
    def test_protocol_maps_to_airflows_exporter(self, env: dict[str, str], exporter: str) -> None:
        assert traces_exporter(env) == exporter

    def test_unsupported_protocol_is_a_configuration_error(self, tmp_path: Path) -> None:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
        with pytest.raises(PlatformConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL must be one of"):
            resolve_settings(env, tmp_path)

    def test_every_mapped_exporter_is_installed(self) -> None:
        # What Airflow's configure_otel loads by name.
        from importlib.metadata import entry_points

        names = {ep.name for ep in entry_points(group="opentelemetry_traces_exporter")}
        assert {"otlp", "otlp_proto_http"} <= names


class TestTracingEnvironment:
    def test_endpoint_turns_on_airflows_traces_for_every_component(self, tmp_path: Path) -> None:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP}
        full = airflow_environment(resolve_settings(env, tmp_path), env)
        assert full["AIRFLOW__TRACES__OTEL_ON"] == "True"
        assert full["OTEL_TRACES_EXPORTER"] == "otlp_proto_http"
        assert full["OTEL_EXPORTER_OTLP_ENDPOINT"] == HTTP
        assert full["AIRFLOW__TRACES__TASK_RUNNER_FLUSH_TIMEOUT_MILLISECONDS"] == "5000"
        assert full["OTEL_SERVICE_NAME"] == "ylai"  # one-shot steps; components get their own

    def test_user_settings_win(self, tmp_path: Path) -> None:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": HTTP,
            "OTEL_TRACES_EXPORTER": "console",
            "AIRFLOW__TRACES__OTEL_ON": "False",
            "OTEL_SERVICE_NAME": "acme-airflow",
        }
        full = airflow_environment(resolve_settings(env, tmp_path), env)
        assert full["OTEL_TRACES_EXPORTER"] == "console"
        assert full["AIRFLOW__TRACES__OTEL_ON"] == "False"
        assert full["OTEL_SERVICE_NAME"] == "acme-airflow"
        assert component_environment("api-server", env) == {}

    def test_service_name_in_resource_attributes_is_kept(self) -> None:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP, "OTEL_RESOURCE_ATTRIBUTES": "env=prod, service.name=acme"}
        assert component_environment("scheduler", env) == {}
        other = {"OTEL_EXPORTER_OTLP_ENDPOINT": HTTP, "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=acme"}
        assert component_environment("scheduler", other) == {"OTEL_SERVICE_NAME": "ylai-scheduler"}

    def test_each_component_of_ylai_run_has_its_own_service_name(self, tmp_path: Path) -> None:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": HTTP,
            "YLAI_DATABASE_URL": "postgresql://x/y",
            "YLAI_BROKER_URL": "redis://r",
        }
        names = {
            name: component_environment(name, env)["OTEL_SERVICE_NAME"]
            for name, _, _ in _components(resolve_settings(env, tmp_path))
        }
        assert names == COMPONENT_SERVICE_NAMES
        assert names["celery-worker"] == "ylai-worker"
