"""SENTRY_DSN and the sample rates become Airflow's [sentry] settings (docs/sentry.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ylai_plugin.platform_env import (
    PlatformConfigError,
    airflow_environment,
    resolve_settings,
    sentry_environment,
)

DSN = "http://public@127.0.0.1:9000/1"


def test_no_dsn_no_sentry(tmp_path: Path) -> None:
    env = airflow_environment(resolve_settings({}, tmp_path), {"YLAI_SENTRY_SAMPLE_RATE": "0.5"})
    assert not [key for key in env if key.startswith("AIRFLOW__SENTRY__")]


def test_dsn_switches_airflow_sentry_on_without_pii(tmp_path: Path) -> None:
    env = airflow_environment(resolve_settings({}, tmp_path), {"SENTRY_DSN": f" {DSN} "})
    assert env["AIRFLOW__SENTRY__SENTRY_ON"] == "True"
    assert env["AIRFLOW__SENTRY__SENTRY_DSN"] == DSN
    assert env["AIRFLOW__SENTRY__SEND_DEFAULT_PII"] == "False"
    assert env["AIRFLOW__SENTRY__INCLUDE_LOCAL_VARIABLES"] == "False"
    assert env["AIRFLOW__SENTRY__AUTO_ENABLING_INTEGRATIONS"] == "False"
    assert "AIRFLOW__SENTRY__SAMPLE_RATE" not in env
    assert "AIRFLOW__SENTRY__TRACES_SAMPLE_RATE" not in env


def test_sample_rates(tmp_path: Path) -> None:
    given = {"SENTRY_DSN": DSN, "YLAI_SENTRY_SAMPLE_RATE": "0.25", "SENTRY_TRACES_SAMPLE_RATE": "0"}
    env = airflow_environment(resolve_settings(given, tmp_path), given)
    assert env["AIRFLOW__SENTRY__SAMPLE_RATE"] == "0.25"
    assert env["AIRFLOW__SENTRY__TRACES_SAMPLE_RATE"] == "0.0"


def test_caller_settings_win(tmp_path: Path) -> None:
    given = {"SENTRY_DSN": DSN, "AIRFLOW__SENTRY__SENTRY_ON": "False"}
    env = airflow_environment(resolve_settings(given, tmp_path), given)
    assert env["AIRFLOW__SENTRY__SENTRY_ON"] == "False"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"SENTRY_DSN": "not a dsn"}, "SENTRY_DSN must look like", id="dsn-text"),
        pytest.param({"SENTRY_DSN": "http://127.0.0.1:9000/1"}, "SENTRY_DSN must look like", id="dsn-no-key"),
        pytest.param({"SENTRY_DSN": "http://k@127.0.0.1:9000/"}, "SENTRY_DSN must look like", id="dsn-no-project"),
        pytest.param({"SENTRY_DSN": DSN, "YLAI_SENTRY_SAMPLE_RATE": "half"}, "YLAI_SENTRY_SAMPLE_RATE", id="text"),
        pytest.param({"SENTRY_DSN": DSN, "SENTRY_TRACES_SAMPLE_RATE": "1.5"}, "between 0 and 1", id="range"),
    ],
)
def test_invalid_settings_are_refused_before_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(PlatformConfigError, match=message):
        resolve_settings(env, tmp_path)


def test_the_dsn_is_not_echoed_in_the_error() -> None:
    with pytest.raises(PlatformConfigError) as caught:
        sentry_environment({"SENTRY_DSN": "ftp://secretkey@host/1"})
    assert "secretkey" not in str(caught.value)


def test_the_task_sdk_reads_them_as_sentry_sdk_init_options(tmp_path: Path) -> None:
    """What Airflow's ConfiguredSentry passes to sentry_sdk.init: typed values, nothing it would refuse."""
    given = {"SENTRY_DSN": DSN, "YLAI_SENTRY_SAMPLE_RATE": "0.5", "SENTRY_TRACES_SAMPLE_RATE": "1"}
    extra = sentry_environment(given)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__SENTRY__")} | extra
    code = "import json; from airflow.sdk.configuration import conf; print(json.dumps(conf.getsection('sentry')))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    section = json.loads(out.strip().splitlines()[-1])
    assert section == {
        "sentry_on": True,
        "sentry_dsn": DSN,
        "send_default_pii": False,
        "include_local_variables": False,
        "auto_enabling_integrations": False,
        "sample_rate": 0.5,
        "traces_sample_rate": 1.0,
    }
