"""A Slack that fails 20 times then recovers: the breaker opens, deliveries wait, then all arrive.

Issue 16's acceptance test for alert channels. The receiver is a real HTTP server on 127.0.0.1
speaking Slack's Web API; the connection and the rule are made through Airflow's and ylai's REST
APIs, as a user makes them; alerts fire and go out through the real engine (``fire``,
``deliver_due``, what the ``ylai alerts`` evaluator runs each tick) on the tests' metadata DB.
The breakers run on an injected clock that each tick moves past the probe time: nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from tests.alert_receivers import SlackReceiver
from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin import config
from ylai_plugin.alerts import engine
from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertRule
from ylai_plugin.domain import breakers

FAILURES = 20  # the receiver's outage: its first 20 answers are HTTP 500
ALERTS = 30
CONN_ID = "flaky_slack"


class Clock:
    """The breakers' epoch clock: real time plus what the test skipped ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return datetime.now(UTC).timestamp() + self.skipped

    def now(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver(fail_first=FAILURES, fail_status=500)
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock() -> Iterator[Clock]:
    clock = Clock()
    breakers.reset(clock)
    yield clock
    breakers.reset()


def clean_tables() -> None:
    from airflow.utils.session import create_session

    with create_session() as session:
        for model in (AlertDeliveryAttempt, AlertDelivery, Alert, AlertRule):
            session.execute(delete(model))


@pytest.fixture
def rule_id(airflow_db: object, slack: SlackReceiver) -> Iterator[int]:
    """A Slack connection made through Airflow's REST API and a rule made through ylai's, as users do."""
    from airflow.api_fastapi.app import create_app as airflow_app
    from fastapi.testclient import TestClient

    from ylai_plugin.api.app import create_app

    sync_repo_dags()  # the alerts' DAG exists, so its alerts are visible in the API
    clean_tables()
    admin = headers("admin", "ada")
    with TestClient(airflow_app()) as airflow:
        airflow.delete(f"/api/v2/connections/{CONN_ID}", headers=admin)
        made = airflow.post(
            "/api/v2/connections",
            headers=admin,
            json={
                "connection_id": CONN_ID,
                "conn_type": "slack",
                "password": "xoxb-test",
                "extra": json.dumps({"base_url": slack.api_url}),
            },
        )
        assert made.status_code == 201, made.text
    with TestClient(create_app()) as ylai:
        created = ylai.post(
            "/api/v1/alerts/rules",
            headers=headers("op", "olga"),
            json={
                "name": "breaker fault test",
                "severity": "critical",
                "condition": {"type": "run_failed"},
                "channels": [{"type": "slack", "target": "#oncall", "connection_id": CONN_ID}],
            },
        )
        assert created.status_code == 201, created.text
    yield int(created.json()["id"])
    clean_tables()
    with TestClient(airflow_app()) as airflow:
        airflow.delete(f"/api/v2/connections/{CONN_ID}", headers=admin)


def fire_alerts(rule_id: int, count: int) -> None:
    from airflow.utils.session import create_session

    with create_session() as session:
        rule = session.get(AlertRule, rule_id)
        assert rule is not None
        for i in range(count):
            details = {"dag_id": "script__data_generator", "run_id": f"manual__fault{i}", "error_tail": f"boom Zq{i}Zq"}
            fired = engine.fire(session, rule, f"fault-{i}", details, dag_id="script__data_generator")
            assert fired is not None


def deliveries() -> list[AlertDelivery]:
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).all()
        session.expunge_all()
        return list(rows)


def test_a_failing_slack_opens_the_breaker_defers_deliveries_and_all_arrive_once_it_closes(
    slack: SlackReceiver, clock: Clock, rule_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.session import create_session

    # As in `ylai alerts` (cli.py): a server process, so connections are read from the database.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")

    threshold = config.BREAKER_FAILURE_THRESHOLD.get()
    open_seconds = config.BREAKER_OPEN_SECONDS.get()
    assert threshold < FAILURES
    fire_alerts(rule_id, ALERTS)

    # First tick: the first `threshold` sends fail and open the breaker; the rest are held back
    # without reaching the receiver.
    assert engine.deliver_due(clock.now()) == 0
    breaker = breakers.get_breaker(f"slack:{CONN_ID}", dependency="slack")
    assert breaker.state == breakers.OPEN
    assert slack.count() == threshold
    held = [d for d in deliveries() if d.attempts == 0]
    assert len(held) == ALERTS - threshold
    assert all(d.deferrals == 1 and d.breaker == f"slack:{CONN_ID}" for d in held)
    probe = breaker.snapshot().next_probe_at
    assert probe is not None
    assert all(d.next_attempt_at is not None and d.next_attempt_at.timestamp() == pytest.approx(probe) for d in held)

    # Before the probe time nothing is tried, however often the evaluator ticks.
    for _ in range(5):
        clock.skipped += 1
        assert engine.deliver_due(clock.now()) == 0
    assert slack.count() == threshold

    # Each probe time lets one trial through: while the receiver still fails it opens the breaker
    # again, so the receiver sees one call per open period instead of every delivery again.
    ticks = 0
    while slack.count(200) == 0:
        ticks += 1
        assert ticks <= FAILURES, "the breaker never closed"
        clock.skipped += open_seconds + 1
        before = slack.count()
        engine.deliver_due(clock.now())
        if slack.count(200) == 0:
            assert slack.count() == before + 1  # only the trial call
            assert breaker.state == breakers.OPEN
    assert ticks == FAILURES - threshold + 1
    assert slack.count(500) == FAILURES

    # The trial succeeded: the breaker closed and every held-back delivery went out in that tick.
    assert breaker.state == breakers.CLOSED
    sent = deliveries()
    assert [d.status for d in sent] == ["sent"] * ALERTS
    assert slack.count(200) == ALERTS
    posted = [json.dumps(p["body"]) for p in slack.posts if p["status"] == 200]
    assert all(sum(f"Zq{i}Zq" in body for body in posted) == 1 for i in range(ALERTS))  # each alert once

    # Attempts are recorded: one per call the receiver saw (the failures with their error), and
    # none for the times the open breaker held a delivery back (``deferrals``).
    with create_session() as session:
        attempts = session.scalars(select(AlertDeliveryAttempt)).all()
        assert len(attempts) == slack.count()
        failed = [a for a in attempts if not a.ok]
        assert len(failed) == FAILURES
        assert all(a.error and "SlackApiError" in a.error for a in failed)
        assert sum(1 for a in attempts if a.ok) == ALERTS
    assert sum(d.attempts for d in sent) == slack.count()
    assert sum(d.deferrals for d in sent) >= ALERTS - threshold
    snap = breaker.snapshot()
    assert snap.times_opened == FAILURES - threshold + 1
    assert snap.failures == FAILURES
    assert snap.rejected == sum(d.deferrals for d in sent)
    assert snap.last_error == "SlackApiError"

    # The alert's detail in ylai's API shows both: a held-back delivery's deferrals and its one attempt.
    from fastapi.testclient import TestClient

    from ylai_plugin.api.app import create_app

    last = sent[-1]
    with TestClient(create_app()) as ylai:
        detail = ylai.get(f"/api/v1/alerts/events/{last.alert_id}", headers=headers("op", "olga"))
    assert detail.status_code == 200, detail.text
    (shown,) = detail.json()["deliveries"]
    assert shown["status"] == "sent"
    assert shown["deferrals"] == last.deferrals >= 1
    assert shown["attempts"] == len(shown["attempt_log"]) == 1
    assert shown["breaker"] == f"slack:{CONN_ID}"

    # The state reaches /monitor/dependencies through the breaker table.
    assert breakers.publish_now() >= 1
    with create_session() as session:
        listed = {s.name: s for _p, _c, s, _u in breakers.states(session, clock.now() + timedelta(seconds=1))}
    assert listed[f"slack:{CONN_ID}"].state == "closed"
    with create_session() as session:
        assert (
            session.scalar(select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status != "sent")) == 0
        )
