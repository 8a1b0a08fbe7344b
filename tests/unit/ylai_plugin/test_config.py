"""``ylai_plugin.config``: the one table of ``[ylai]`` options, its accessors and the provider info made from it."""

from __future__ import annotations

from typing import Any

import pytest

from ylai_plugin import config
from ylai_plugin.provider_info import get_provider_info


def test_the_provider_info_section_is_the_table() -> None:
    section = get_provider_info()["config"]["ylai"]
    assert list(section["options"]) == [option.name for option in config.OPTIONS]
    for option in config.OPTIONS:
        entry = section["options"][option.name]
        assert entry["type"] == option.type_name
        assert entry["default"] == option.default_text()
        assert entry["description"] == option.description
        assert entry["example"] == option.example


def test_names_are_unique_and_types_match_the_defaults() -> None:
    assert len({option.name for option in config.OPTIONS}) == len(config.OPTIONS)
    python_type = {"string": str, "integer": int, "float": float, "boolean": bool}
    for option in config.OPTIONS:
        assert type(option.default) is python_type[option.type_name], option.name


def test_defaults_are_written_as_airflow_reads_them() -> None:
    assert config.LIST_CACHE_SECONDS.default_text() == "2"
    assert config.RATE_LIMIT_PER_MINUTE.default_text() == "600"
    assert config.SAMPLE_RESOURCES.default_text() == "True"
    assert config.CACHE_URL.default_text() == ""


@pytest.mark.parametrize("option", config.OPTIONS, ids=lambda o: o.name)
def test_an_unset_option_reads_as_its_default(option: config.Option[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(option.env_var, raising=False)  # tests/conftest.py sets a few
    value = option.get()
    assert value == option.default
    assert type(value) is type(option.default)


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [
        (config.RATE_LIMIT_BURST, "7", 7),
        (config.LIST_CACHE_SECONDS, "0.5", 0.5),
        (config.SAMPLE_RESOURCES, "False", False),
        (config.EXPORT_DIR, "s3://bucket/x", "s3://bucket/x"),
    ],
    ids=lambda v: v.name if isinstance(v, config.Option) else str(v),
)
def test_the_environment_overrides_the_default(
    option: config.Option[Any], text: str, value: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert option.env_var == f"AIRFLOW__YLAI__{option.name.upper()}"
    monkeypatch.setenv(option.env_var, text)
    assert option.get() == value


def test_airflow_knows_the_section_from_the_provider_info() -> None:
    from airflow.configuration import conf

    conf.load_providers_configuration()
    assert conf.get("ylai", "rate_limit_burst") == "120"  # no fallback given: the provider's default
    assert conf.get("ylai", "alert_slack_conn_id") == "ylai_slack"
