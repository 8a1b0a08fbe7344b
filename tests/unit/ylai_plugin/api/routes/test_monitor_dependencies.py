"""``/monitor/dependencies``: the circuit breakers of this worker (live) and of other processes (published)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from tests.unit.api_client import headers
from ylai_plugin.api.app import create_app
from ylai_plugin.db.breaker_models import BreakerState
from ylai_plugin.domain import breakers

PATH = "/api/v1/monitor/dependencies"


@pytest.fixture
def client(airflow_db: object) -> Iterator[TestClient]:
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute(delete(BreakerState))
    breakers.reset()
    with TestClient(create_app()) as c:
        yield c
    breakers.reset()
    with create_session() as session:
        session.execute(delete(BreakerState))


def test_lists_this_workers_breakers_and_the_other_processes(client: TestClient) -> None:
    from airflow.utils.session import create_session

    cache = breakers.get_breaker("redis-cache:127.0.0.1:6390", dependency="redis")
    for _ in range(5):
        cache.admit().failure(ConnectionError("refused"))
    now = datetime.now(UTC)
    with create_session() as session:
        session.add(
            BreakerState(
                process="evaluator:7", component="ylai alerts", name="slack:ylai_slack", dependency="slack",
                state="closed", consecutive_failures=0, failures=2, successes=40, rejected=0, times_opened=0,
                last_failure_at=now - timedelta(minutes=5), last_error="SlackApiError", updated_at=now,
            )
        )  # fmt: skip
    resp = client.get(PATH, headers=headers("viewer", "vic"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["settings"] == {"failure_threshold": 5, "open_seconds": 30.0, "half_open_calls": 1}
    assert body["not_closed"] == 1
    mine, theirs = body["breakers"]
    assert mine["name"] == "redis-cache:127.0.0.1:6390"
    assert mine["this_process"] is True
    assert (mine["state"], mine["failures"], mine["last_error"]) == ("open", 5, "ConnectionError")
    assert mine["next_probe_at"] is not None
    assert theirs["process"] == "evaluator:7"
    assert theirs["component"] == "ylai alerts"
    assert theirs["this_process"] is False
    assert (theirs["state"], theirs["successes"], theirs["last_error"]) == ("closed", 40, "SlackApiError")


def test_needs_a_login(client: TestClient) -> None:
    assert client.get(PATH).status_code == 401
