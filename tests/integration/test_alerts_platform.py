"""On a real platform (``ylai run``, SQLite + LocalExecutor, FAB): a failing script run reaches Slack.

The Slack connection points at a Slack-compatible receiver on 127.0.0.1. The evaluator's interval is
set to an hour, so its only pass happens at start-up: the message for the failure can only come from
the scheduler's listener. Also checks the history API and that a Viewer may not write rules.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert_receivers import SlackReceiver, slack_connection
from tests.integration.running_platform import RunningPlatform, wait_until

DAG = "script__quality_gate"
PASSWORD = "alerts-Pw-123!"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, slack: SlackReceiver) -> Iterator[RunningPlatform]:
    home: Path = tmp_path_factory.mktemp("alerts") / "home"
    env = {"AIRFLOW_CONN_YLAI_SLACK": slack_connection(slack), "AIRFLOW__YLAI__ALERT_INTERVAL_SECONDS": "3600"}
    with RunningPlatform(home, env).running() as p:
        yield p


def test_failing_script_run_posts_one_slack_message_then_its_resolution(
    platform: RunningPlatform, slack: SlackReceiver
) -> None:
    platform.wait_for_dag(DAG)
    rule = platform.request(
        "POST",
        "/ylai/api/v1/alerts/rules",
        {
            "name": "quality gate failed",
            "severity": "critical",
            "scope": {"scripts": ["quality_gate"]},
            "condition": {"type": "run_failed"},
            "channels": [{"type": "slack", "target": "#data-alerts"}],
        },
    )
    assert rule.status == 201, rule.body[:500]
    platform.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
    run_id = platform.trigger(DAG, {"rows": 0, "fail_on_violation": True})
    assert platform.wait_for_run(DAG, run_id, timeout=300) == "failed"

    messages = wait_until(
        lambda: slack.messages() or None, 120, lambda: f"no Slack message arrived:\n{platform.tail()}"
    )
    (msg,) = messages
    assert msg["channel"] == "#data-alerts"
    assert msg["text"] == f"DAG run failed: {DAG}"
    blocks = str(msg["blocks"])
    assert f"/dags/{DAG}/runs/{urllib.parse.quote(run_id, safe='')}" in blocks
    assert "quality gate failed" in blocks  # the error tail of the failed task's log
    assert '"fail_on_violation=true' in blocks or "fail_on_violation=true" in blocks

    events = platform.request("GET", f"/ylai/api/v1/alerts/events?dag_id={DAG}").json()["items"]
    (event,) = events
    assert (event["state"], event["run_id"], event["suppressed"]) == ("firing", run_id, None)
    detail = platform.request("GET", f"/ylai/api/v1/alerts/events/{event['id']}").json()
    (delivery,) = detail["deliveries"]
    assert (delivery["status"], delivery["kind"], delivery["attempts"]) == ("sent", "firing", 1)
    assert delivery["attempt_log"][0]["ok"] is True
    assert len(slack.messages()) == 1  # dedup: nothing else was sent

    # A successful run resolves the incident: one "resolved" message follows.
    ok = platform.trigger(DAG, {"rows": 10})
    assert platform.wait_for_run(DAG, ok, timeout=300) == "success"
    wait_until(lambda: len(slack.messages()) == 2 or None, 120, lambda: f"no resolved message:\n{platform.tail()}")
    assert slack.messages()[1]["text"] == f"[RESOLVED] DAG run failed: {DAG}"
    resolved = platform.request("GET", f"/ylai/api/v1/alerts/events/{event['id']}").json()
    assert resolved["state"] == "resolved"
    assert [d["kind"] for d in resolved["deliveries"]] == ["firing", "resolved"]


def test_viewer_reads_alerts_but_may_not_write(platform: RunningPlatform) -> None:
    created = platform.request(
        "POST",
        "/auth/fab/v1/users",
        {
            "username": "valerie",
            "password": PASSWORD,
            "first_name": "valerie",
            "last_name": "test",
            "email": "valerie@example.com",
            "roles": [{"name": "Viewer"}],
        },
    )
    assert created.status in (200, 409), created.body[:300]
    login = platform.login("valerie", PASSWORD)
    assert login.status in (200, 201), login.body[:300]
    token = str(login.json()["access_token"])
    assert platform.request("GET", "/ylai/api/v1/alerts/rules", token=token).status == 200
    body = {"name": "nope", "condition": {"type": "run_failed"}, "channels": [{"type": "slack", "target": "#x"}]}
    denied = platform.request("POST", "/ylai/api/v1/alerts/rules", body, token=token)
    assert denied.status == 403
    assert denied.json()["error"]["message"] == "You may not create ylai Alerts"
