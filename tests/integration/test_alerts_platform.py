"""On a real platform (``ylai run``, SQLite + LocalExecutor, FAB): a failing script run reaches Slack.

The Slack connection points at a Slack-compatible receiver on 127.0.0.1. The evaluator's interval is
set to an hour, so its only pass happens at start-up: the message for the failure can only come from
the scheduler's listener, or from ``ylai alerts --once`` where a test runs it. One test uses a
connection from the environment; another creates its Slack webhook, SMTP and HTTP connections
through Airflow's REST API, as the Connections page does. Also checks the history API and that a
Viewer may not write rules.

The platform runs with ``YLAI_LOG_FORMAT=json`` (docs/logging.md); the module's last test checks that
every line every component wrote meanwhile (a script run, failures, alerts) is a JSON object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alert_receivers import SlackReceiver, SmtpReceiver, slack_connection
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
    env = {
        "AIRFLOW_CONN_YLAI_SLACK": slack_connection(slack),
        "AIRFLOW__YLAI__ALERT_INTERVAL_SECONDS": "3600",
        "YLAI_LOG_FORMAT": "json",
    }
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


def _create_connection(platform: RunningPlatform, body: dict[str, object]) -> None:
    created = platform.request("POST", "/api/v2/connections", body)
    assert created.status == 201, created.body[:500]


def _evaluate_once(platform: RunningPlatform) -> str:
    """``ylai alerts --once`` in a process of its own, with the platform's settings (as cron would run it)."""
    script = 'eval "$("$0" -m ylai_plugin.cli env)" && exec "$0" -m ylai_plugin.cli alerts --once'
    done = subprocess.run(
        ["bash", "-c", script, sys.executable], env=platform.env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_alerts_reach_slack_email_and_webhook_through_connections_made_in_airflows_api(
    platform: RunningPlatform,
) -> None:
    for rule in platform.request("GET", "/ylai/api/v1/alerts/rules").json()["items"]:  # the other tests' rules
        assert platform.request("DELETE", f"/ylai/api/v1/alerts/rules/{rule['id']}").status == 204
    hooks, mail = SlackReceiver(), SmtpReceiver()
    _create_connection(
        platform,
        {"connection_id": "ui_slack_webhook", "conn_type": "slackwebhook",
         "host": f"http://127.0.0.1:{hooks.port}", "password": "services/T000/B000/XXXX"},
    )  # fmt: skip
    _create_connection(
        platform,
        {"connection_id": "ui_smtp", "conn_type": "smtp", "host": "127.0.0.1", "port": mail.port,
         "extra": '{"disable_ssl": true, "disable_tls": true, "from_email": "ylai@example.com"}'},
    )  # fmt: skip
    _create_connection(
        platform,
        {"connection_id": "ui_hooks", "conn_type": "http", "host": "127.0.0.1", "port": hooks.port,
         "schema": "http", "password": "hook-secret"},
    )  # fmt: skip
    rule = platform.request(
        "POST",
        "/ylai/api/v1/alerts/rules",
        {
            "name": "quality gate failed (UI connections)",
            "scope": {"scripts": ["quality_gate"]},
            "condition": {"type": "run_failed"},
            "channels": [
                {"type": "slack", "target": "#ignored-by-webhooks", "connection_id": "ui_slack_webhook"},
                {"type": "email", "target": "oncall@example.com", "connection_id": "ui_smtp", "language": "zh-CN"},
                {"type": "webhook", "target": "/incidents", "connection_id": "ui_hooks"},
            ],
        },
    )
    assert rule.status == 201, rule.body[:500]
    platform.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})

    # 1. Receivers down when the run fails: the listener's attempt fails and the delivery stays queued.
    run_id = platform.trigger(DAG, {"rows": 0, "fail_on_violation": True})
    assert platform.wait_for_run(DAG, run_id, timeout=300) == "failed"
    event = wait_until(
        lambda: next(
            iter(platform.request("GET", f"/ylai/api/v1/alerts/events?dag_id={DAG}&state=firing").json()["items"]), None
        ),
        120,
        lambda: f"no incident:\n{platform.tail()}",
    )
    assert event["run_id"] == run_id

    # 2. Receivers up: a separate evaluator process retries and finds the connections in the database.
    hooks.start()
    mail.start()
    try:
        # A delivery that failed while its receiver was down waits out its backoff (15 s, 30 s, ...;
        # on a loaded machine the platform's own evaluator may have tried again meanwhile), so the
        # separate evaluator runs until each one was due once and sent.
        def all_sent() -> dict[str, Any] | None:
            _evaluate_once(platform)
            found = platform.request("GET", f"/ylai/api/v1/alerts/events/{event['id']}").json()
            return found if all(d["status"] == "sent" for d in found["deliveries"]) else None

        detail = wait_until(
            all_sent,
            300,
            lambda: (
                "deliveries not sent: "
                + json.dumps(platform.request("GET", f"/ylai/api/v1/alerts/events/{event['id']}").json()["deliveries"])
            ),
        )
        statuses = {d["channel_type"]: (d["status"], d["last_error"]) for d in detail["deliveries"]}
        assert statuses == {"slack": ("sent", None), "email": ("sent", None), "webhook": ("sent", None)}, statuses
        (slack_post,) = [p for p in hooks.posts if p["path"] == "/services/T000/B000/XXXX"]
        assert slack_post["body"]["text"] == f"DAG run failed: {DAG}"
        (hook_post,) = [p for p in hooks.posts if p["path"] == "/incidents"]
        assert hook_post["headers"]["Authorization"] == "Bearer hook-secret"
        assert hook_post["body"]["details"]["run_id"] == run_id
        (email,) = mail.messages
        assert str(email["Subject"]).startswith("DAG 运行失败")
        assert DAG in str(email["Subject"])
        # The error tail is the script's own stderr, not Airflow's log-group markers or DAG-bag lines.
        tail = detail["details"]["error_tail"]
        assert "quality gate failed" in tail, tail
        assert "::group::" not in tail, tail
        assert "DagBag" not in tail, tail

        # 3. The next failure of the same DAG joins the open incident and points it at the new run.
        again = platform.trigger(DAG, {"rows": 0, "fail_on_violation": True})
        assert platform.wait_for_run(DAG, again, timeout=300) == "failed"
        moved = wait_until(
            lambda: (
                (e := platform.request("GET", f"/ylai/api/v1/alerts/events/{event['id']}").json())["run_id"] == again
                and e
            ),
            120,
            lambda: f"the incident still points at the first run:\n{platform.tail()}",
        )
        assert moved["occurrences"] == 2
        assert moved["state"] == "firing"
        assert len(mail.messages) == 1  # one page per incident
    finally:
        hooks.stop()
        mail.stop()


COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer", "alerts"}


def test_every_line_every_component_wrote_is_a_json_object_with_the_required_keys(platform: RunningPlatform) -> None:
    """Runs last: after the script runs, their failures and the alerts of the tests above."""
    records = platform.records()
    components = {r["component"] for r in records}
    assert components >= COMPONENTS | {"ylai"}, components
    # Airflow's own structured lines keep their context: the scheduler names the failed runs' DAG.
    assert any(r["component"] == "scheduler" and r.get("dag_id") == DAG for r in records) or any(
        r["component"] == "scheduler" and DAG in str(r["message"]) for r in records
    )
    assert any(r["component"] == "ylai" and "ylai is up:" in r["message"] for r in records)
