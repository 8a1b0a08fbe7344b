from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ylai_plugin import cli
from ylai_plugin.platform_env import resolve_settings
from ylai_plugin.run_platform import PASSWORD_FILE, admin_password, run


class TestAdminPassword:
    def test_environment_wins(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        assert admin_password(s, {"YLAI_ADMIN_PASSWORD": "pw"}) == ("pw", "YLAI_ADMIN_PASSWORD")

    def test_saved_password_is_reused(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        s.airflow_home.mkdir()
        (s.airflow_home / PASSWORD_FILE).write_text("kept\n")
        assert admin_password(s, {}) == ("kept", str(s.airflow_home / PASSWORD_FILE))

    def test_generated_password_is_random(self, tmp_path: Path) -> None:
        s = resolve_settings({}, tmp_path)
        first, source = admin_password(s, {})
        second, _ = admin_password(s, {})
        assert source == "generated"
        assert first != second
        assert len(first) >= 16


def test_run_rejects_bad_configuration_without_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(tmp_path, {"YLAI_BROKER_URL": "redis://127.0.0.1:6379/0", "AIRFLOW_HOME": str(tmp_path / "h")})
    assert rc == 2
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert "YLAI_DATABASE_URL" in err
    assert not (tmp_path / "h").exists()


def test_run_refuses_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        rc = run(tmp_path, {"YLAI_PORT": str(port), "AIRFLOW_HOME": str(tmp_path / "h")})
    assert rc == 2
    assert f"port {port} is already in use" in capsys.readouterr().err


def test_env_command_prints_shell_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home with space"))
    assert cli.main(["--root", str(tmp_path), "env"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"export AIRFLOW_HOME='{tmp_path / 'home with space'}'" in out
    assert any(line.startswith("export AIRFLOW__CORE__AUTH_MANAGER=") for line in out)


def test_env_command_reports_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("YLAI_PORT", "nope")
    assert cli.main(["--root", str(tmp_path), "env"]) == 2
    assert "YLAI_PORT must be an integer" in capsys.readouterr().err


class TestDependencies:
    def test_database_and_broker_are_named_by_host_and_port_only(self, tmp_path: Path) -> None:
        from ylai_plugin.run_platform import dependencies

        s = resolve_settings(
            {
                "YLAI_DATABASE_URL": "postgresql://ylai:s3cret@db.internal/ylai",
                "YLAI_BROKER_URL": "redis://:pw@cache:6380/0",
            },
            tmp_path,
        )
        database, broker = dependencies(s)
        assert database is not None
        assert broker is not None
        assert (database.name, database.address) == ("metadata database", "db.internal:5432")
        assert (broker.name, broker.address) == ("broker", "cache:6380")
        assert "s3cret" not in repr(database)
        assert "pw@" not in repr(broker)

    def test_sqlite_and_no_broker_mean_nothing_to_wait_for(self, tmp_path: Path) -> None:
        from ylai_plugin.run_platform import dependencies

        assert dependencies(resolve_settings({}, tmp_path)) == (None, None)

    def test_the_api_server_does_not_wait_for_the_broker(self, tmp_path: Path) -> None:
        from ylai_plugin.run_platform import _components

        s = resolve_settings(
            {"YLAI_DATABASE_URL": "postgresql://postgres@127.0.0.1/x", "YLAI_BROKER_URL": "redis://127.0.0.1:6379/0"},
            tmp_path,
        )
        needs = {name: {dep.name for dep in deps} for name, _, deps in _components(s)}
        assert needs["api-server"] == {"metadata database"}
        assert needs["scheduler"] == needs["celery-worker"] == {"metadata database", "broker"}
        assert needs["dag-processor"] == needs["triggerer"] == needs["alerts"] == {"metadata database"}
