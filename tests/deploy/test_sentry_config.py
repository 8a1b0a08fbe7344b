"""The Sentry settings shown commented out in docker-compose.yml and helm-values/values.yaml (docs/sentry.md).

Uncommented, each must give the containers the settings ``ylai run`` derives from ``SENTRY_DSN``
(plugins/ylai_plugin/platform_env.py): Compose through ``docker-compose config``, the Helm values
against the chart's schema.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.deploy.test_compose import AIRFLOW_SERVICES, COMPOSE_FILE, ENV_EXAMPLE, INIT_ENV
from tests.deploy.tools import CHART_DEFAULTS, CHART_SCHEMA, HELM_VALUES, helm_merge, load_yaml, minimal_env, run, tool
from ylai_plugin.platform_env import sentry_environment

DSN = "https://public@sentry.example.com/42"
# ylai run's [sentry] settings other than the DSN, which the deployments take from SENTRY_DSN.
EXPECTED = {k: v for k, v in sentry_environment({"SENTRY_DSN": DSN}).items() if k != "AIRFLOW__SENTRY__SENTRY_DSN"}


def uncomment_sentry(text: str) -> str:
    """``text`` with the commented lines of each block that starts with a ``# Sentry (docs/sentry.md)`` comment on."""
    out: list[str] = []
    in_block = False
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith("# Sentry (docs/sentry.md)"):
            in_block = True
        elif in_block and not stripped.startswith("#"):
            in_block = False
        if in_block and re.match(r"^\s*# [\w-]+:|^\s*#   |^\s*# - ", line):
            indent = line[: len(line) - len(stripped)]
            out.append(indent + stripped[2:])
        else:
            out.append(line)
    return "".join(out)


def test_the_blocks_are_there_and_commented_out() -> None:
    for path in (COMPOSE_FILE, HELM_VALUES / "values.yaml"):
        text = path.read_text()
        assert "# Sentry (docs/sentry.md)" in text, path
        assert uncomment_sentry(text) != text, path
    assert "SENTRY_DSN" not in json.dumps(load_yaml(COMPOSE_FILE))
    assert "sentry" not in load_yaml(HELM_VALUES / "values.yaml")["config"]


def test_compose_uncommented_gives_every_airflow_container_ylai_runs_settings(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(uncomment_sentry(COMPOSE_FILE.read_text()))
    shutil.copytree(COMPOSE_FILE.parent / "docker", tmp_path / "docker")
    env_file = tmp_path / ".env"
    assert run([str(INIT_ENV), str(env_file)], env=minimal_env()).returncode == 0
    env_file.write_text(env_file.read_text().replace("\nSENTRY_DSN=\n", f"\nSENTRY_DSN={DSN}\n"))
    assert "SENTRY_DSN=" in ENV_EXAMPLE.read_text()
    result = run(
        [tool("docker-compose"), "--profile", "flower", "-f", "docker-compose.yml", "config", "--format", "json"],
        cwd=tmp_path,
        env=minimal_env(),
    )
    assert result.returncode == 0, result.stdout
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["SENTRY_DSN"] == DSN, name
        for key, value in EXPECTED.items():
            assert env[key] == value, f"{name}: {key}"


def test_helm_uncommented_is_valid_and_gives_ylai_runs_settings(tmp_path: Path) -> None:
    values = yaml.safe_load(uncomment_sentry((HELM_VALUES / "values.yaml").read_text()))
    merged = helm_merge(load_yaml(CHART_DEFAULTS), values)
    validator = jsonschema.Draft7Validator(json.loads(CHART_SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(merged)] == []
    sentry = values["config"]["sentry"]
    for key, value in EXPECTED.items():
        assert sentry[key.removeprefix("AIRFLOW__SENTRY__").lower()] == value, key
    assert {"envName": "SENTRY_DSN", "secretName": "ylai-sentry", "secretKey": "dsn"} in values["secret"]
