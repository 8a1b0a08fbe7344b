"""``ylai alerts``: how often the evaluator runs comes from ``[ylai] alert_interval_seconds``."""

from __future__ import annotations

import pytest

from ylai_plugin import cli


@pytest.fixture
def intervals(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The intervals ``run_forever`` was called with (it returns at once)."""
    from ylai_plugin.alerts import evaluator

    seen: list[float] = []
    monkeypatch.setattr(evaluator, "run_forever", seen.append)
    monkeypatch.delenv("AIRFLOW__YLAI__ALERT_INTERVAL_SECONDS", raising=False)
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "")  # `ylai alerts` sets it; undone after the test
    return seen


def test_the_interval_defaults_to_the_config_table(intervals: list[float]) -> None:
    assert cli.main(["alerts"]) == 0
    assert intervals == [15.0]


def test_the_interval_follows_the_environment_and_the_flag(
    intervals: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__ALERT_INTERVAL_SECONDS", "40")
    assert cli.main(["alerts"]) == 0
    assert cli.main(["alerts", "--interval", "5"]) == 0
    assert cli.main(["alerts", "--interval", "0.1"]) == 0  # at least a second between passes
    assert intervals == [40.0, 5.0, 1.0]


LOOKUP = """
import sys
from ylai_plugin import cli
if sys.argv[1] == "server":
    cli.as_server_component()
from airflow.sdk import BaseHook
try:
    print(BaseHook.get_connection("made_in_the_ui").host)
except Exception as exc:
    print(type(exc).__name__)
"""


def test_a_server_component_finds_connections_stored_in_the_database(airflow_db: object) -> None:
    """Connections made in Airflow's UI or REST API live in the metadata DB, which ``airflow.sdk`` reads
    only in a server process; ``ylai alerts`` declares itself one, as Airflow's scheduler does."""
    import os
    import subprocess
    import sys

    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        if session.query(Connection).filter_by(conn_id="made_in_the_ui").first() is None:
            session.add(Connection(conn_id="made_in_the_ui", conn_type="http", host="hooks.example.com"))
    env = {k: v for k, v in os.environ.items() if k != "_AIRFLOW_PROCESS_CONTEXT"}
    found = {
        mode: subprocess.run([sys.executable, "-c", LOOKUP, mode], env=env, capture_output=True, text=True, timeout=120)
        .stdout.strip()
        .splitlines()[-1]
        for mode in ("server", "plain")
    }
    assert found == {"server": "hooks.example.com", "plain": "AirflowNotFoundException"}
