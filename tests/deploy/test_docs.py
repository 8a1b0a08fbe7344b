"""The deployment docs show the commands the deployment files actually support."""

from __future__ import annotations

from tests.deploy.tools import REPO_ROOT

COMPOSE_COMMANDS = ("./docker/init-env.sh", "docker compose build", "docker compose up -d")


def test_readme_keeps_quick_start_first_and_has_a_deploy_section() -> None:
    text = (REPO_ROOT / "README.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Quick start"
    assert "## Deploy" in headings
    deploy = text.split("## Deploy\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/deploy.md" in deploy
    block = deploy.split("```bash\n", 1)[1].split("```", 1)[0]
    assert tuple(block.strip().splitlines()) == COMPOSE_COMMANDS


def test_deploy_doc() -> None:
    text = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for command in (
        *COMPOSE_COMMANDS,
        "docker compose up -d --scale worker=3",
        "helm repo add apache-airflow https://airflow.apache.org",
        "helm upgrade --install ylai apache-airflow/airflow",
        "helm -n ylai rollback ylai",
        "pg_dump",
        "pg_restore",
    ):
        assert command in text, command
    for section in ("## Docker Compose", "## Kubernetes", "## Upgrades and rollback", "## Scaling workers"):
        assert section in text
    assert "## Backup and restore of Postgres" in text
    assert "## Troubleshooting" in text
    for path in (REPO_ROOT / "helm-values").glob("*.yaml"):
        assert f"`{path.name}`" in text, f"{path.name} is not documented"


def test_docs_index_and_changelog() -> None:
    assert "(deploy.md)" in (REPO_ROOT / "docs" / "README.md").read_text()
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog")
    assert "## [Unreleased]" in changelog
