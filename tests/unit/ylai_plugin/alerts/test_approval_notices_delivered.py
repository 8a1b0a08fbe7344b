# ruff: noqa: RUF001  (the Chinese messages use full-width punctuation on purpose)
"""Approval notices sent for real: a sensitive script's run reaches its approval task in process
(``dag.test``: the Task SDK runner, its listener hook, connections read through the execution API),
and the notices arrive at a Slack server and an SMTP server on 127.0.0.1 through connections stored
in the metadata database, as Airflow's Connections REST API and UI store them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alert_receivers import SlackReceiver, SmtpReceiver
from ylai_operators import approval as gate
from ylai_operators.manifest import ScriptManifest
from ylai_operators.registry import Script
from ylai_operators.script_dags import build_script_dag

SECRET = "s3cr3t-rotation-value"
DEFAULT_SECRET = "d3fault-secret-token"


@pytest.fixture(scope="module")
def receivers(airflow_db: object) -> Iterator[tuple[SlackReceiver, SmtpReceiver]]:
    """Both receivers, and the two connections to them as rows of the metadata DB."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    slack, smtp = SlackReceiver(), SmtpReceiver()
    slack.start()
    smtp.start()
    rows = {
        "approvals_slack": Connection(
            conn_id="approvals_slack", conn_type="slack", password="xoxb-test", extra={"base_url": slack.api_url}
        ),
        "approvals_smtp": Connection(
            conn_id="approvals_smtp",
            conn_type="smtp",
            host="127.0.0.1",
            port=smtp.port,
            extra={"disable_ssl": True, "disable_tls": True, "from_email": "ylai@example.com"},
        ),
    }
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id.in_(list(rows))).delete(synchronize_session=False)
        session.add_all(rows.values())
    yield slack, smtp
    slack.stop()
    smtp.stop()


def run_until_notified(notify: list[dict[str, Any]], arrived: Callable[[], bool]) -> str:
    """Run the sensitive sample script ``rotate_token`` (in the dags folder, where ``dag.test`` finds
    its DAG) with ``notify`` until its approval waits; end the wait once ``arrived()``.

    ``dag.test`` keeps a run whose HITL task awaits input alive until someone answers; a thread
    notes the task's state, then fails the task (as a timeout would) once the notices arrived,
    or after 60 s so that a missing notice fails the test rather than hanging it.
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    manifest = ScriptManifest.model_validate(
        {
            "name": "rotate_token",
            "runtime": "bash",
            "sensitive": True,
            "params": {"token": {"type": "string", "default": DEFAULT_SECRET}},
            "approval": {"approvers": ["Op"], "timeout": "1h", "notify": notify},
        }
    )
    script = Script(
        manifest=manifest,
        path=Path("rotate_token.sh"),
        manifest_path=Path("rotate_token.yaml"),
        content="true",
        version=1,
    )
    dag = build_script_dag(script)
    seen: list[str] = []

    finished = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = (
                    session.query(TaskInstance)
                    .filter_by(dag_id=dag.dag_id, task_id=gate.APPROVAL_TASK_ID, state="awaiting_input")
                    .first()
                )
                if ti is not None and arrived():
                    seen.append(str(ti.state))
                    ti.state = "failed"
                    return
            time.sleep(0.5)
        # Past the deadline, end every task that is not finished until dag.test returns: a task
        # that reaches its wait only now (a slow machine) must not park the run forever.
        while not finished.wait(0.5):
            with create_session() as session:
                for ti in session.query(TaskInstance).filter_by(dag_id=dag.dag_id):
                    if str(ti.state) not in ("success", "failed", "skipped", "upstream_failed"):
                        ti.state = "failed"

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        dag.test(run_conf={"token": SECRET})
    finally:
        finished.set()
    watcher.join(5)
    return seen[0] if seen else "never waited with the notices sent"


def test_slack_and_email_notices_arrive_with_links_in_their_languages_and_no_secret(
    receivers: tuple[SlackReceiver, SmtpReceiver],
) -> None:
    slack, smtp = receivers
    slack.posts.clear()
    smtp.messages.clear()
    notify = [
        {"type": "slack", "target": "#approvals", "connection_id": "approvals_slack"},
        {"type": "email", "target": "sec@example.com", "connection_id": "approvals_smtp", "language": "en"},
        {"type": "email", "target": "shen@example.com", "connection_id": "approvals_smtp", "language": "zh-CN"},
    ]
    state = run_until_notified(notify, lambda: bool(slack.messages()) and len(smtp.messages) >= 2)
    assert state == "awaiting_input"

    (post,) = slack.messages()
    assert post["channel"] == "#approvals"
    assert post["text"].startswith("Approval needed: script rotate_token, started by ")
    urls = [e["url"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "/plugin/ylai-approvals?run_id=" in urls[0]
    assert "/dags/script__rotate_token/runs/" in urls[1]

    mails = {str(m["To"]): m for m in smtp.messages}
    en, zh = mails["sec@example.com"], mails["shen@example.com"]
    assert str(en["Subject"]).startswith("Approval needed: script rotate_token")
    en_text = en.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Approvers: Op" in en_text
    assert "Open the Approvals page: " in en_text
    assert "/plugin/ylai-approvals?run_id=" in en_text
    assert str(zh["Subject"]).startswith("需要审批：脚本 rotate_token")
    zh_text = zh.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "审批人: Op" in zh_text
    assert "打开审批页面" in zh_text
    zh_html = zh.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "查看运行" in zh_html

    everything = str(slack.posts) + "".join(m.as_string() for m in smtp.messages)
    assert SECRET not in everything
    assert DEFAULT_SECRET not in everything


def test_a_channel_that_is_down_is_logged_and_the_others_still_get_the_notice(
    receivers: tuple[SlackReceiver, SmtpReceiver], caplog: pytest.LogCaptureFixture
) -> None:
    slack, smtp = receivers
    smtp.messages.clear()
    slack.stop()  # connection refused, as when Slack is unreachable
    try:
        notify = [
            {"type": "slack", "target": "#approvals", "connection_id": "approvals_slack"},
            {"type": "email", "target": "sec@example.com", "connection_id": "approvals_smtp"},
        ]
        with caplog.at_level("WARNING", logger="ylai_plugin.alerts.approval_notices"):
            state = run_until_notified(notify, lambda: bool(smtp.messages))
    finally:
        slack.start()
    assert state == "awaiting_input"  # the approval waits for an answer all the same
    (mail,) = smtp.messages
    assert str(mail["Subject"]).startswith("Approval needed: script rotate_token")
    failures = [r.getMessage() for r in caplog.records if "approval notice" in r.getMessage()]
    assert len(failures) == 1
    assert "slack #approvals failed" in failures[0]
