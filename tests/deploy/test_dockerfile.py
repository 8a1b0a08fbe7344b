"""docker/Dockerfile, .dockerignore and the scripts in docker/: hadolint plus the image's contract."""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.tools import REPO_ROOT, minimal_env, run, tool

DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
HADOLINT_CONFIG = REPO_ROOT / ".hadolint.yaml"
AIRFLOW_BASE = "apache/airflow:3.3.2-python3.12"


@dataclass
class Stage:
    """One build stage: its base image (ARG defaults substituted), name and instructions."""

    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(f"{op} {args}" for op, args in self.instructions)

    def ops(self, op: str) -> list[str]:
        return [args for name, args in self.instructions if name == op]


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages; continuation lines are joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(" ".join((pending + line).split()))
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "ARG" and not stages and "=" in rest:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
        elif op == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(image=image, name=name))
        elif stages:
            stages[-1].instructions.append((op, rest.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def hadolint(path: Path) -> tuple[int, str]:
    result = run([tool("hadolint"), "--no-color", "--config", str(HADOLINT_CONFIG), str(path)])
    return result.returncode, result.stdout


class TestHadolint:
    def test_dockerfile_passes(self) -> None:
        rc, out = hadolint(DOCKERFILE)
        assert rc == 0, out

    def test_broken_copy_fails(self, tmp_path: Path) -> None:
        broken = DOCKERFILE.read_text().replace(f"FROM {AIRFLOW_BASE} AS", "FROM apache/airflow AS")
        broken += "\nUSER root\nRUN apt-get update && apt-get install -y gcc\n"
        path = tmp_path / "Dockerfile"
        path.write_text(broken)
        rc, out = hadolint(path)
        assert rc != 0
        # untagged FROM image, unpinned apt package, apt lists kept, last USER root
        for rule in ("DL3006", "DL3008", "DL3009", "DL3002"):
            assert rule in out, out

    def test_ignores_are_justified(self) -> None:
        text = HADOLINT_CONFIG.read_text()
        assert "failure-threshold: info" in text
        lines = text.splitlines()
        ignored = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*-\s*(DL|SC)\d+\s*", line)]
        assert ignored
        for i in ignored:
            assert lines[i - 1].strip().startswith("#"), f"{lines[i].strip()} is ignored without a reason"


class TestImage:
    def test_multi_stage(self, stages: list[Stage]) -> None:
        assert [s.name for s in stages] == ["ui", "wheel", "runtime"]
        ui, wheel, _ = stages
        assert ui.image.startswith("node:")
        # The UI project may not exist yet: build it only when there is a package.json.
        assert "if [ -f plugins/ylai_plugin/ui/package.json ]" in ui.text()
        assert "npm ci" in ui.text()
        assert "uv build --wheel" in wheel.text()
        assert "uv export --frozen --no-dev" in wheel.text()
        assert any("--from=ui" in c for c in wheel.ops("COPY"))

    def test_every_base_image_has_an_exact_tag(self, stages: list[Stage]) -> None:
        for stage in stages:
            repository, _, tag = stage.image.rpartition(":")
            assert repository, stage.image
            assert "/" not in tag, f"{stage.image} has no tag"
            assert "$" not in stage.image, f"{stage.image}: hadolint cannot check a variable image"
            assert tag != "latest", stage.image
            assert re.search(r"\d+\.\d+", tag), f"{stage.image} is not an exact tag"

    def test_runtime_is_airflow_332_on_python_312(self, final: Stage) -> None:
        assert final.image == AIRFLOW_BASE

    def test_runs_as_airflow(self, final: Stage) -> None:
        assert final.ops("USER")[-1] == "airflow"

    def test_has_a_healthcheck(self, final: Stage) -> None:
        (check,) = final.ops("HEALTHCHECK")
        assert "CMD" in check
        assert "NONE" not in check.upper().split()
        copies = " ".join(final.ops("COPY"))
        assert "docker/healthcheck.sh /usr/local/bin/ylai-healthcheck" in copies

    def test_the_healthcheck_rides_out_a_two_minute_database_blip(self, final: Stage) -> None:
        (check,) = final.ops("HEALTHCHECK")
        interval = int(re.search(r"--interval=(\d+)s", check).group(1))  # type: ignore[union-attr]
        retries = int(re.search(r"--retries=(\d+)", check).group(1))  # type: ignore[union-attr]
        assert interval * retries >= 120

    def test_final_stage_has_no_build_tools(self, final: Stage) -> None:
        text = final.text()
        for word in ("node", "npm", "yarn", "gcc", "g++", "build-essential", "apt-get", "uv ", "uv=="):
            assert not re.search(rf"(?<![\w/-]){re.escape(word)}", text), f"final stage mentions {word!r}"
        assert not any("--from=ui" in c for c in final.ops("COPY")), "node output must arrive inside the wheel"

    def test_installs_the_wheel_with_locked_hashed_dependencies(self, final: Stage) -> None:
        (install,) = [r for r in final.ops("RUN") if "pip install" in r]
        assert "--mount=type=bind,from=wheel" in install, "build artefacts must not stay in a layer"
        assert "--require-hashes -r /tmp/ylai-dist/requirements.txt" in install
        assert "--only-binary=:all:" in install, "no source builds (no compiler in the image)"
        assert "--no-deps /tmp/ylai-dist/ylai-*.whl" in install

    def test_bakes_in_the_dags(self, final: Stage) -> None:
        assert "--chown=airflow:0 dags/ /opt/airflow/dags/" in final.ops("COPY")

    def test_bakes_in_no_airflow_settings(self, final: Stage) -> None:
        # Environment variables win over airflow.cfg: the chart's `config:` could not change them.
        assert not any("AIRFLOW__" in env for env in final.ops("ENV"))


class TestDockerignore:
    def test_allowlist(self) -> None:
        lines = [
            line.strip()
            for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert lines[0] == "*", "start from nothing and allow what the build needs"
        allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
        sources: list[str] = []
        for stage in parse_dockerfile(DOCKERFILE.read_text()):
            for copy in stage.ops("COPY"):
                words = [w for w in copy.split() if not w.startswith("--")]
                if "--from=" not in copy:
                    sources.extend(w.rstrip("/") for w in words[:-1])
        assert sources
        for source in sources:
            assert source in allowed, f"{source} is copied but excluded by .dockerignore"
        for secret in ("**/.env", "**/node_modules", "**/__pycache__"):
            assert secret in lines
        # hatchling honours .gitignore, which ignores dist/: in the context it would keep the
        # UI bundle built in the ui stage out of the wheel.
        assert ".gitignore" not in allowed


class TestHealthcheckScript:
    script = REPO_ROOT / "docker" / "healthcheck.sh"

    @pytest.fixture
    def fake_bin(self, tmp_path: Path) -> Path:
        """curl, airflow and celery that only print how they were called."""
        for name in ("curl", "airflow", "celery"):
            path = tmp_path / name
            path.write_text(f'#!/bin/sh\necho "{name} $*"\n')
            path.chmod(0o755)
        return tmp_path

    @pytest.mark.parametrize(
        ("component", "expected"),
        [
            (
                "api-server",
                "curl --fail --silent --show-error --max-time 20 --output /dev/null http://localhost:8080/api/v2/monitor/health",
            ),
            ("scheduler", "airflow jobs check --job-type SchedulerJob --local"),
            ("dag-processor", "airflow jobs check --job-type DagProcessorJob --local"),
            ("triggerer", "airflow jobs check --job-type TriggererJob --local"),
            ("celery worker", "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping"),
            (
                "celery flower",
                "curl --fail --silent --show-error --max-time 20 --output /dev/null http://localhost:5555/healthcheck",
            ),
        ],
    )
    def test_probes_the_running_component(self, fake_bin: Path, component: str, expected: str) -> None:
        env = minimal_env() | {"PATH": f"{fake_bin}:{os.environ['PATH']}", "YLAI_COMPONENT": f"/entrypoint {component}"}
        result = run(["bash", str(self.script)], env=env)
        assert result.returncode == 0, result.stdout
        assert result.stdout.startswith(expected), result.stdout

    def test_one_off_commands_are_healthy(self, fake_bin: Path) -> None:
        env = minimal_env() | {"PATH": f"{fake_bin}:{os.environ['PATH']}", "YLAI_COMPONENT": "bash -c true"}
        result = run(["bash", str(self.script)], env=env)
        assert result.returncode == 0
        assert result.stdout == ""

    def test_is_executable(self) -> None:
        assert self.script.stat().st_mode & stat.S_IXUSR


class TestInitEnvScript:
    script = REPO_ROOT / "docker" / "init-env.sh"

    def test_writes_a_private_env_with_fresh_secrets(self, tmp_path: Path) -> None:
        target = tmp_path / ".env"
        result = run([str(self.script), str(target)], env=minimal_env())
        assert result.returncode == 0, result.stdout
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        values = dict(
            line.split("=", 1) for line in target.read_text().splitlines() if line and not line.startswith("#")
        )
        for key in (
            "POSTGRES_PASSWORD",
            "YLAI_ADMIN_PASSWORD",
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API__SECRET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
        ):
            assert len(values[key]) >= 32, key
            assert values[key] not in result.stdout, f"{key} was printed"
        assert len(base64.urlsafe_b64decode(values["AIRFLOW__CORE__FERNET_KEY"])) == 32

    def test_works_without_openssl(self, tmp_path: Path) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for name in ("bash", "dirname", "mktemp", "mv", "rm"):
            found = shutil.which(name)
            assert found, name
            (bin_dir / name).symlink_to(found)
        (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))
        target = tmp_path / ".env"
        result = run(["bash", str(self.script), str(target)], env=minimal_env() | {"PATH": str(bin_dir)})
        assert result.returncode == 0, result.stdout
        fernet = next(line for line in target.read_text().splitlines() if line.startswith("AIRFLOW__CORE__FERNET_KEY="))
        assert len(base64.urlsafe_b64decode(fernet.split("=", 1)[1])) == 32

    def test_never_overwrites(self, tmp_path: Path) -> None:
        target = tmp_path / ".env"
        target.write_text("POSTGRES_PASSWORD=mine\n")
        result = run([str(self.script), str(target)], env=minimal_env())
        assert result.returncode == 0
        assert target.read_text() == "POSTGRES_PASSWORD=mine\n"

    def test_secrets_differ_between_runs(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.env", tmp_path / "b.env"
        for target in (first, second):
            assert run([str(self.script), str(target)], env=minimal_env()).returncode == 0
        assert first.read_text() != second.read_text()
