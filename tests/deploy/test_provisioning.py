"""`make test` provisions what its tests need (scripts/provision-test-deps); `.ci/run` only runs `make test`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.deploy.tools import REPO_ROOT, minimal_env, run, tool

SCRIPT = REPO_ROOT / "scripts" / "provision-test-deps"
CI_RUN = REPO_ROOT / ".ci" / "run"


@pytest.mark.parametrize("path", [SCRIPT, CI_RUN], ids=lambda p: p.name)
def test_shellcheck_clean(path: Path) -> None:
    result = run([tool("shellcheck"), str(path)])
    assert result.returncode == 0, result.stdout


def test_ci_runs_make_test_and_installs_nothing_itself() -> None:
    text = CI_RUN.read_text()
    assert "\nmake test 2>&1 | tee" in text
    assert not [line for line in text.splitlines() if "apt-get" in line and not line.lstrip().startswith("#")]
    assert "no tests ran" in text  # pytest's exit 5 (or an empty run) still fails CI
    assert "pg_ctlcluster" in text
    assert "redis-server" in text


def test_make_test_runs_the_provisioning_before_pytest() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\ntest-deps:\n\t@scripts/provision-test-deps\n" in makefile
    assert "\npytest: install ui test-deps\n" in makefile
    assert "\ntest: lint typecheck ui-test pytest\n" in makefile
    assert os.access(SCRIPT, os.X_OK)


class TestScript:
    """The script on a fake machine: a PATH of stand-ins for id, apt-get, fc-list and the browser."""

    @pytest.fixture
    def machine(self, tmp_path: Path) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for name in ("bash", "grep"):
            found = shutil.which(name)
            assert found, name
            (bin_dir / name).symlink_to(found)
        self.user(bin_dir, 1000)
        # The fault tests' servers are there unless a test takes them away.
        self.stand_in(bin_dir, "initdb", "exit 0")
        self.stand_in(bin_dir, "redis-server", "exit 0")
        return bin_dir

    @staticmethod
    def stand_in(bin_dir: Path, name: str, body: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        path.chmod(0o755)

    def user(self, bin_dir: Path, uid: int) -> None:
        self.stand_in(bin_dir, "id", f"echo {uid}")

    def apt(self, bin_dir: Path, *, up_to_date: bool) -> Path:
        """apt-get that logs its calls; without a package list, install fails until update ran."""
        log = bin_dir.parent / "apt.log"
        state = bin_dir.parent / "updated"
        if up_to_date:
            state.touch()
        self.stand_in(
            bin_dir,
            "apt-get",
            f'echo "$*" >> {log}\nif [ "$1" = update ]; then : > {state}; exit 0; fi\n[ -e {state} ]',
        )
        return log

    def provision(self, bin_dir: Path) -> tuple[int, list[str]]:
        env = minimal_env() | {
            "PATH": str(bin_dir),
            "HOME": str(bin_dir.parent),
            # Not this machine's Postgres: only what the fake machine has counts.
            "YLAI_POSTGRES_BIN_GLOB": str(bin_dir.parent / "postgresql" / "*" / "bin" / "initdb"),
        }
        result = run([str(bin_dir / "bash"), str(SCRIPT)], env=env)
        return result.returncode, result.stdout.splitlines()

    def test_nothing_to_do_when_browser_and_font_are_there(self, machine: Path) -> None:
        self.stand_in(machine, "google-chrome", "exit 0")
        self.stand_in(machine, "fc-list", "echo 'WenQuanYi Zen Hei'")
        log = self.apt(machine, up_to_date=True)
        self.user(machine, 0)
        assert self.provision(machine) == (0, [])
        assert not log.exists()

    def test_not_root_names_each_missing_piece_and_its_install_command(self, machine: Path) -> None:
        self.apt(machine, up_to_date=True)
        rc, lines = self.provision(machine)
        assert rc == 0
        assert len(lines) == 2, lines
        assert "Chromium" in lines[0]
        assert lines[0].endswith("sudo apt-get install chromium")
        assert lines[1].endswith("sudo apt-get install fonts-noto-cjk")

    def test_root_installs_with_apt_get_updating_the_package_list_first_when_needed(self, machine: Path) -> None:
        log = self.apt(machine, up_to_date=False)
        self.user(machine, 0)
        rc, lines = self.provision(machine)
        assert rc == 0
        assert lines == ["provision-test-deps: installing chromium fonts-noto-cjk with apt-get"]
        assert log.read_text().splitlines() == [
            "install -y -q chromium fonts-noto-cjk",
            "update -q",
            "install -y -q chromium fonts-noto-cjk",
        ]

    def test_root_without_a_font_installs_only_the_font(self, machine: Path) -> None:
        self.stand_in(machine, "chromium", "exit 0")
        log = self.apt(machine, up_to_date=True)
        self.user(machine, 0)
        assert self.provision(machine)[0] == 0
        assert log.read_text().splitlines() == ["install -y -q fonts-noto-cjk"]

    def test_a_failed_apt_get_is_said_and_left_to_the_tests(self, machine: Path) -> None:
        self.stand_in(machine, "apt-get", "exit 100")
        self.user(machine, 0)
        rc, lines = self.provision(machine)
        assert rc == 0
        assert lines[-1] == (
            "provision-test-deps: apt-get install chromium fonts-noto-cjk failed; the tests that need them will say so"
        )

    def test_the_fault_tests_servers_are_installed_or_named(self, machine: Path) -> None:
        self.stand_in(machine, "chromium", "exit 0")
        self.stand_in(machine, "fc-list", "echo 'WenQuanYi Zen Hei'")
        (machine / "initdb").unlink()
        (machine / "redis-server").unlink()
        rc, lines = self.provision(machine)
        assert rc == 0
        assert [line.rsplit(": ", 1)[-1] for line in lines] == [
            "sudo apt-get install postgresql",
            "sudo apt-get install redis-server",
        ]
        assert all("tests/faults" in line for line in lines)
        log = self.apt(machine, up_to_date=True)
        self.user(machine, 0)
        assert self.provision(machine)[0] == 0
        assert log.read_text().splitlines() == ["install -y -q postgresql redis-server"]

    def test_a_versioned_postgres_directory_counts_as_installed(self, machine: Path) -> None:
        self.stand_in(machine, "chromium", "exit 0")
        self.stand_in(machine, "fc-list", "echo 'WenQuanYi Zen Hei'")
        (machine / "initdb").unlink()
        versioned = machine.parent / "postgresql" / "16" / "bin"
        versioned.mkdir(parents=True)
        self.stand_in(versioned, "initdb", "exit 0")
        assert self.provision(machine) == (0, [])
