"""GitHub Actions workflows: actionlint, pinned actions, least privilege, and what each job does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import REPO_ROOT, WORKFLOWS, load_yaml, run, tool

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+\s*$")


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(WORKFLOWS / name)
    return data


def triggers(data: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    result = data["on"] if "on" in data else data[True]
    assert isinstance(result, dict)
    return result


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job.get("steps", []))


def actionlint(*files: Path, cwd: Path = REPO_ROOT) -> tuple[int, str]:
    # shellcheck from the dev dependencies, so the run: scripts are always checked (not only when it is on PATH).
    result = run([tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), *map(str, files)], cwd=cwd)
    return result.returncode, result.stdout


def test_expected_workflows() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "deploy.yml", "deploy-helm.yml", "release.yml"}


class TestActionlint:
    def test_workflows_pass(self) -> None:
        rc, out = actionlint(*WORKFLOW_FILES)
        assert rc == 0, out

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            ("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 'unexpected key "runs_on"'),
            ("github.event_name == 'push'", "github.event_nam == 'push'", 'property "event_nam" is not defined'),
            ("needs: [test, ui, deploy-lint]", "needs: [test, ui, lint]", 'needs job "lint" which does not exist'),
            ('--untardir "${RUNNER_TEMP}/chart"', "--untardir ${RUNNER_TEMP}/chart", "SC2086"),
        ],
    )
    def test_broken_copy_fails(self, tmp_path: Path, old: str, new: str, message: str) -> None:
        target = tmp_path / ".github" / "workflows" / "ci.yml"
        target.parent.mkdir(parents=True)
        text = (WORKFLOWS / "ci.yml").read_text()
        assert old in text
        target.write_text(text.replace(old, new, 1))
        rc, out = actionlint(target, cwd=tmp_path)
        assert rc != 0
        assert message in out, out


class TestSupplyChain:
    @pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
    def test_actions_pinned_to_full_commit_sha(self, path: Path) -> None:
        found = 0
        for line in path.read_text().splitlines():
            match = USES.match(line)
            if not match or match["ref"].startswith("./"):
                continue
            found += 1
            assert PINNED.match(match["ref"]), f"{path.name}: {match['ref']} is not pinned to a commit SHA"
            assert VERSION_COMMENT.match(match["comment"]), f"{path.name}: {line.strip()} lacks '# vX.Y.Z'"
        assert found or path.name == "deploy.yml"

    def test_same_action_same_pin(self) -> None:
        pins: dict[str, set[str]] = {}
        for path in WORKFLOW_FILES:
            for line in path.read_text().splitlines():
                match = USES.match(line)
                if match and not match["ref"].startswith("./"):
                    action, _, sha = match["ref"].partition("@")
                    pins.setdefault(action, set()).add(sha)
        assert {a: s for a, s in pins.items() if len(s) > 1} == {}

    @pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
    def test_least_privilege_permissions(self, path: Path) -> None:
        data = load_yaml(path)
        top = data.get("permissions")
        assert top in ({}, {"contents": "read"}), f"{path.name}: top-level permissions {top!r}"
        allowed_writes = {("ci.yml", "image"): {"packages"}, ("release.yml", "release"): {"contents"}}
        for name, job in data["jobs"].items():
            perms = job.get("permissions", {})
            assert isinstance(perms, dict), f"{path.name}/{name}: use explicit scopes, not {perms!r}"
            writes = {scope for scope, level in perms.items() if level == "write"}
            assert writes <= allowed_writes.get((path.name, name), set()), f"{path.name}/{name}: {writes}"

    @pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
    def test_checkout_does_not_persist_credentials(self, path: Path) -> None:
        for job in load_yaml(path)["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


class TestCi:
    @pytest.fixture(scope="class")
    def ci(self) -> dict[str, Any]:
        return workflow("ci.yml")

    def test_triggers(self, ci: dict[str, Any]) -> None:
        on = triggers(ci)
        assert on["push"]["branches"] == ["main"]
        assert on["push"]["tags"] == ["v*.*.*"]
        assert "pull_request" in on

    def test_make_test_with_postgres_and_redis(self, ci: dict[str, Any]) -> None:
        job = ci["jobs"]["test"]
        assert set(job["services"]) == {"postgres", "redis"}
        assert job["env"]["CI"] == "true"
        runs = [str(step.get("run", "")).strip() for step in job["steps"]]
        assert runs[-1] == "make test"
        # The same provisioning make test runs, once as root so that apt-get may install what is missing.
        assert runs[-2] == "sudo scripts/provision-test-deps"

    def test_ui_job_runs_only_when_the_project_exists(self, ci: dict[str, Any]) -> None:
        job = ci["jobs"]["ui"]
        (npm,) = [s for s in job["steps"] if "npm test" in str(s.get("run", ""))]
        assert npm["working-directory"] == "plugins/ylai_plugin/ui"
        assert "npm ci" in npm["run"]
        assert npm["if"] == "hashFiles('plugins/ylai_plugin/ui/package.json') != ''"

    def test_deployment_files_are_linted(self, ci: dict[str, Any]) -> None:
        assert "pytest tests/deploy" in steps_text(ci["jobs"]["deploy-lint"])

    def test_image_build(self, ci: dict[str, Any]) -> None:
        job = ci["jobs"]["image"]
        assert set(job["needs"]) == {"test", "ui", "deploy-lint"}
        steps = {str(s["uses"]).split("@")[0]: s for s in job["steps"] if "uses" in s}
        meta = steps["docker/metadata-action"]["with"]
        assert "type=semver,pattern={{version}}" in meta["tags"]
        assert "type=sha" in meta["tags"]
        assert "latest=false" in meta["flavor"]
        build = steps["docker/build-push-action"]["with"]
        assert build["file"] == "docker/Dockerfile"
        assert build["push"] == "${{ github.event_name == 'push' }}"
        assert ci["env"]["IMAGE_NAME"].startswith("ghcr.io/")
        assert steps["docker/login-action"]["with"]["registry"] == "ghcr.io"


class TestDeploy:
    @pytest.fixture(scope="class")
    def deploy(self) -> dict[str, Any]:
        return workflow("deploy.yml")

    @pytest.fixture(scope="class")
    def helm_job(self) -> dict[str, Any]:
        job: dict[str, Any] = workflow("deploy-helm.yml")["jobs"]["deploy"]
        return job

    def test_staging_after_ci_on_main(self, deploy: dict[str, Any]) -> None:
        on = triggers(deploy)
        assert on["workflow_run"] == {"workflows": ["ci"], "types": ["completed"], "branches": ["main"]}
        staging = deploy["jobs"]["staging"]
        assert "github.event.workflow_run.conclusion == 'success'" in staging["if"]
        assert staging["with"]["environment"] == "staging"
        assert staging["with"]["image-tag"] == "sha-${{ github.event.workflow_run.head_sha }}"

    def test_production_by_hand_behind_environment_protection(
        self, deploy: dict[str, Any], helm_job: dict[str, Any]
    ) -> None:
        assert triggers(deploy)["workflow_dispatch"]["inputs"]["image_tag"]["required"] is True
        production = deploy["jobs"]["production"]
        assert production["if"] == "github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main'"
        assert production["with"]["environment"] == "production"
        assert production["with"]["values-overlay"] == "helm-values/values-prod.yaml"
        assert helm_job["environment"]["name"] == "${{ inputs.environment }}"

    def test_helm_upgrade_atomic_with_the_official_chart(self, helm_job: dict[str, Any]) -> None:
        text = steps_text(helm_job)
        assert "helm repo add apache-airflow https://airflow.apache.org" in text
        assert "helm upgrade --install" in text
        assert "apache-airflow/airflow" in text
        assert "--atomic" in text
        assert "--values helm-values/values.yaml" in text

    def test_smoke_test_then_rollback(self, helm_job: dict[str, Any]) -> None:
        names = [step.get("name", "") for step in helm_job["steps"]]
        smoke = next(i for i, n in enumerate(names) if n.startswith("Smoke test"))
        rollback = next(i for i, n in enumerate(names) if n.startswith("Roll back"))
        assert smoke < rollback
        assert "helm-values/manifests/smoke-test-job.yaml" in helm_job["steps"][smoke]["run"]
        step = helm_job["steps"][rollback]
        assert step["if"] == "failure() && steps.upgrade.outcome == 'success'"
        assert "helm rollback" in step["run"]

    def test_chart_version_matches_the_validated_schema(self) -> None:
        deployed = workflow("deploy-helm.yml")["env"]["CHART_VERSION"]
        assert workflow("ci.yml")["env"]["AIRFLOW_CHART_VERSION"] == deployed
        assert deployed.startswith("1.20."), "tests/deploy validates against the chart 1.20 schema"

    def test_image_tag_must_be_immutable(self, helm_job: dict[str, Any]) -> None:
        (resolve,) = [s for s in helm_job["steps"] if s.get("id") == "image"]
        assert "is not immutable" in resolve["run"]


class TestRelease:
    def test_tag_produces_changelog_and_release(self) -> None:
        release = workflow("release.yml")
        assert triggers(release)["push"]["tags"] == ["v*.*.*"]
        job = release["jobs"]["release"]
        text = steps_text(job)
        assert "CHANGELOG.md" in text
        assert "git log" in text
        (publish,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("softprops/action-gh-release@")]
        assert publish["with"]["generate_release_notes"] is True
        assert publish["with"]["body_path"].endswith("release-notes.md")
