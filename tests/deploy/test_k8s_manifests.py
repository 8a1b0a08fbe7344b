"""Raw Kubernetes manifests written for ylai (helm-values/manifests/): kubernetes-validate --strict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import HELM_VALUES, load_yaml, run, tool

MANIFESTS = sorted((HELM_VALUES / "manifests").glob("*.yaml"))
KUBERNETES_VERSION = "1.33.0"


def validate(*paths: Path) -> tuple[int, str]:
    result = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, *map(str, paths)])
    return result.returncode, result.stdout


def test_manifests_exist() -> None:
    assert [p.name for p in MANIFESTS] == ["smoke-test-job.yaml"]


def test_manifests_are_valid() -> None:
    rc, out = validate(*MANIFESTS)
    assert rc == 0, out


BROKEN = {
    "unknown-field.yaml": ("  backoffLimit: 0\n", "  backoffLimit: 0\n  retries: 3\n", "'retries' was unexpected"),
    "wrong-type.yaml": (
        "activeDeadlineSeconds: 300",
        "activeDeadlineSeconds: five-minutes",
        "is not of type 'integer'",
    ),
    "missing-name.yaml": ("        - name: smoke-test\n", "        - tty: false\n", "'name' is a required property"),
}


def test_broken_copies_fail(tmp_path: Path) -> None:
    # One run for all copies: each kubernetes-validate start costs seconds.
    text = MANIFESTS[0].read_text()
    for name, (old, new, _) in BROKEN.items():
        assert old in text
        (tmp_path / name).write_text(text.replace(old, new, 1))
    rc, out = validate(*(tmp_path / name for name in BROKEN))
    assert rc != 0
    for name, (*_, message) in BROKEN.items():
        (line,) = [line for line in out.splitlines() if f"{name} " in line]
        assert line.startswith("ERROR"), out
        assert message in line, out


class TestSmokeTestJob:
    @pytest.fixture(scope="class")
    def job(self) -> dict[str, Any]:
        data: dict[str, Any] = load_yaml(HELM_VALUES / "manifests" / "smoke-test-job.yaml")
        return data

    def test_checks_airflow_and_ylai_health(self, job: dict[str, Any]) -> None:
        (container,) = job["spec"]["template"]["spec"]["containers"]
        script = container["args"][0]
        for path in ("/api/v2/monitor/health", "/auth/token", "/ylai/api/v1/health"):
            assert path in script
        assert "set -eu" in script

    def test_targets_the_release_api_server(self, job: dict[str, Any]) -> None:
        # values.yaml sets fullnameOverride: ylai, so the chart's Service is ylai-api-server.
        assert load_yaml(HELM_VALUES / "values.yaml")["fullnameOverride"] == "ylai"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["YLAI_URL"]["value"] == "http://ylai-api-server:8080"
        assert env["YLAI_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "ylai-admin", "key": "password"}

    def test_fails_fast_and_runs_unprivileged(self, job: dict[str, Any]) -> None:
        spec = job["spec"]
        assert spec["backoffLimit"] == 0
        assert spec["activeDeadlineSeconds"] <= 600
        pod = spec["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert ":" in container["image"]
        assert not container["image"].endswith(":latest")
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert set(container["resources"]) == {"requests", "limits"}
