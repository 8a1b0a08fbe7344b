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
