"""Helpers for the static checks of the deployment files (no Docker engine, cluster or helm)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# The official chart's values.yaml and values.schema.json: the copies in tests/deploy/chart, or an
# unpacked chart (`helm pull airflow --repo https://airflow.apache.org --untar`), as GitHub CI does.
_CHART_DIR = Path(os.environ.get("YLAI_AIRFLOW_CHART_DIR") or Path(__file__).parent / "chart")
CHART_SCHEMA = _CHART_DIR / "values.schema.json"
CHART_DEFAULTS = _CHART_DIR / "values.yaml"
HELM_VALUES = REPO_ROOT / "helm-values"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def tool(name: str) -> str:
    """Path of a validation tool from the dev dependencies; fails (never skips) when missing."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; it comes with the dev dependencies: run `make install`")
    return found


def run(
    argv: list[str], *, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool and capture its output (stdout and stderr together)."""
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def minimal_env() -> dict[str, str]:
    """An environment without the test session's AIRFLOW__* and YLAI_* variables."""
    return {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}


def load_yaml(path: Path) -> Any:
    """Parse one YAML document."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the chart's defaults are 3,500 lines
    return yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader


def helm_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` over ``base`` the way Helm coalesces values files.

    Maps merge key by key, recursively; any other value (lists included) replaces the
    base value; ``null`` removes the key.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def platform_defaults(home: Path) -> dict[str, str]:
    """The Airflow settings `ylai run` uses with Postgres and Redis (CeleryExecutor)."""
    from ylai_plugin.platform_env import airflow_environment, resolve_settings

    env = {
        "AIRFLOW_HOME": str(home),
        "YLAI_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/ylai",
        "YLAI_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    return airflow_environment(resolve_settings(env, REPO_ROOT), env)


# Settings the deployments must share with `ylai run`: behaviour users rely on (unpaused
# script DAGs, fast pick-up of new scripts, the tuned scheduler loop) and ylai's own wiring.
TUNED_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME",
    "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW",
    # docs/resilience.md: lost workers recovered within a minute, outages ridden out, DB timeouts.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL",
    "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS",
    "AIRFLOW__WORKERS__EXECUTION_API_RETRIES",
    "AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
    "AIRFLOW__CELERY__TASK_PUBLISH_MAX_RETRIES",
)


# JSON service logs (docs/logging.md): each deployment runs every long-running component through
# `ylai component NAME -- COMMAND`, NAME being the component's name under `ylai run`.
COMPONENT_WRAPPER = ("python", "-m", "ylai_plugin.cli", "component")
COMPONENT_COMMANDS = {
    "api-server": ("airflow", "api-server"),
    "scheduler": ("airflow", "scheduler"),
    "dag-processor": ("airflow", "dag-processor"),
    "triggerer": ("airflow", "triggerer"),
    "celery-worker": ("airflow", "celery", "worker"),
    "alerts": ("python", "-m", "ylai_plugin.cli", "alerts"),
    "flower": ("airflow", "celery", "flower"),
}
# A stand-in for the image's `airflow` (first on PATH): it logs its arguments as Airflow's
# structlog does with [logging] json_logs, or as text without it, and exits.
FAKE_AIRFLOW = """#!{python}
import json, os, sys
if os.environ.get("AIRFLOW__LOGGING__JSON_LOGS") == "True":
    print(json.dumps({{"timestamp": "2026-12-04T10:00:00Z", "level": "info", "event": "started",
                      "logger": "airflow.cli", "argv": sys.argv[1:]}}))
else:
    print("started", *sys.argv[1:])
"""


def wrapped(name: str) -> list[str]:
    """The command a deployment runs for the component ``name``."""
    return [*COMPONENT_WRAPPER, name, "--", *COMPONENT_COMMANDS[name]]


def run_wrapped(argv: list[str], tmp_path: Path, *, json_mode: bool) -> subprocess.CompletedProcess[str]:
    """Run a deployment's component command for real, as the image would, with a stand-in ``airflow``.

    ``python`` is this interpreter (ylai installed); ``bash -c SCRIPT`` runs through bash.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "airflow"
    fake.write_text(FAKE_AIRFLOW.format(python=sys.executable))
    fake.chmod(0o755)
    python = bin_dir / "python"  # not a symlink: a venv's interpreter finds its venv by its own path
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = minimal_env() | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if json_mode:
        env["YLAI_LOG_FORMAT"] = "json"
    return run(argv, env=env)
