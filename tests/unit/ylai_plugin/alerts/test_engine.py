# ruff: noqa: RUF001  (expected Chinese messages use full-width punctuation)
"""The alert engine against real receivers: a Slack-compatible HTTP server and aiosmtpd on 127.0.0.1.

Runs are real rows in the unit tests' SQLite Airflow DB; the evaluator is driven directly with a
chosen "now" so nothing waits on the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.alert_receivers import SlackReceiver, SmtpReceiver, slack_connection, smtp_connection
from tests.unit.api_client import sync_repo_dags
from ylai_plugin.alerts import details, engine, evaluator, events
from ylai_plugin.alerts.shorthand import rules_from_shorthand, sync_declared_rules
from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertLease, AlertRule, AlertSilence

DAG = "script__data_generator"
OTHER = "script__csv_profiler"
MADE_RUNS: list[str] = []


@pytest.fixture(scope="module")
def slack(airflow_db: object) -> Iterator[SlackReceiver]:
    sync_repo_dags()
    receiver = SlackReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(autouse=True)
def clean(slack: SlackReceiver, smtp: SmtpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW_CONN_YLAI_SLACK", slack_connection(slack))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example.com")
    with create_session() as session:
        for model in (AlertDeliveryAttempt, AlertDelivery, Alert, AlertSilence, AlertRule, AlertLease):
            session.execute(delete(model))
        # Only the runs these tests made: other modules' runs of the same DAGs stay.
        session.execute(delete(DagRun).where(DagRun.dag_id.in_([DAG, OTHER]), DagRun.run_id.in_(MADE_RUNS)))
    MADE_RUNS.clear()
    slack.posts.clear()
    smtp.messages.clear()


def add_rule(*, created_at: datetime | None = None, **fields: Any) -> int:
    """A rule as the API stores it, created now unless ``created_at`` says otherwise."""
    from airflow.utils.session import create_session

    from ylai_plugin.alerts.schemas import RuleBody

    body = RuleBody.model_validate(
        {"name": f"rule {uuid.uuid4().hex[:6]}", "channels": [{"type": "slack", "target": "#data-alerts"}]} | fields
    ).model_dump(mode="json")
    with create_session() as session:
        rule = AlertRule(**body, condition_type=body["condition"]["type"], source="api", created_by="test")
        if created_at is not None:
            rule.created_at = created_at
        session.add(rule)
        session.flush()
        return rule.id


def add_run(dag_id: str, state: str, start: datetime, seconds: float | None, conf: dict[str, Any] | None = None) -> str:
    """A DAG run row as the scheduler leaves it (``seconds`` None: still running)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    run_id = f"manual__{uuid.uuid4().hex[:10]}"
    MADE_RUNS.append(run_id)
    with create_session() as session:
        run = DagRun(
            dag_id=dag_id,
            run_id=run_id,
            run_type=DagRunType.MANUAL,
            state=DagRunState(state),
            start_date=start,
            run_after=start,
            conf=conf or {},
        )
        run.queued_at = start
        run.end_date = None if seconds is None else start + timedelta(seconds=seconds)
        session.add(run)
    return run_id


def finish(dag_id: str, run_id: str, state: str, end: datetime) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert run is not None
        run.state, run.end_date = state, end


def evaluate(rule_id: int, now: datetime) -> tuple[int, int]:
    """One evaluation of one rule, then send what is due (as a tick does)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        rule = session.get(AlertRule, rule_id)
        assert rule is not None
        result = evaluator.evaluate_rule(session, rule, engine.dag_tags(session), now)
    engine.deliver_due(now)
    return result


def alerts_of(rule_id: int) -> list[Alert]:
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(select(Alert).where(Alert.rule_id == rule_id).order_by(Alert.id)).all()
        session.expunge_all()
        return list(rows)


def texts(slack: SlackReceiver) -> list[str]:
    return [m["text"] for m in slack.messages()]


def test_failure_rate_fires_once_and_resolves_once(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        scope={"dag_ids": [DAG]},
        condition={"type": "failure_rate", "window_minutes": 60, "threshold_percent": 50, "min_runs": 3},
    )
    for i, state in enumerate(["failed", "failed", "success", "failed"]):
        add_run(DAG, state, now - timedelta(minutes=40 - i), 30)
    assert evaluate(rule, now) == (1, 0)
    assert evaluate(rule, now + timedelta(seconds=15)) == (0, 0)  # still 75 %: same incident, no message
    for i in range(4):
        add_run(DAG, "success", now - timedelta(minutes=20 - i), 30)
    assert evaluate(rule, now + timedelta(seconds=30)) == (0, 1)  # 3/8 = 37.5 %
    assert evaluate(rule, now + timedelta(seconds=45)) == (0, 0)
    assert texts(slack) == [
        f"Failure rate 75.0% (3/4 runs in 60 min): {DAG}",
        f"[RESOLVED] Failure rate 75.0% (3/4 runs in 60 min): {DAG}",
    ]
    assert {m["channel"] for m in slack.messages()} == {"#data-alerts"}
    (alert,) = alerts_of(rule)
    assert alert.state == "resolved"
    assert alert.open_key is None


def test_duration_fires_while_running_and_resolves_after_a_normal_run(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(scope={"scripts": ["data_generator"]}, condition={"type": "duration", "p95_factor": 2})
    for i in range(5):
        add_run(DAG, "success", now - timedelta(hours=5 - i), 30 + i)  # p95 = 34 s, limit 68 s
    running = add_run(DAG, "running", now - timedelta(seconds=50), None, conf={"rows": 1000})
    assert evaluate(rule, now) == (0, 0)  # 50 s: within the limit so far
    assert evaluate(rule, now + timedelta(seconds=30)) == (1, 0)  # 80 s and still running
    msg = slack.messages()[0]
    assert msg["text"] == f"Run still running and too long: {DAG} (1m20s > 1m08s)"
    blocks = str(msg["blocks"])
    assert "rows=1000" in blocks
    assert f"http://airflow.example.com/dags/{DAG}/runs/{running}" in blocks
    finish(DAG, running, "success", now + timedelta(seconds=60))
    assert evaluate(rule, now + timedelta(seconds=90)) == (0, 0)  # finished, but too long: same incident
    nxt = add_run(DAG, "running", now + timedelta(seconds=100), None)
    assert evaluate(rule, now + timedelta(seconds=110)) == (0, 0)  # a new run within the limit: wait for it
    finish(DAG, nxt, "success", now + timedelta(seconds=130))
    assert evaluate(rule, now + timedelta(seconds=140)) == (0, 1)
    assert len(slack.messages()) == 2
    assert slack.messages()[1]["text"].startswith("[RESOLVED] ")


def test_run_failure_dedup_until_success_then_one_resolved_message(slack: SlackReceiver, smtp: SmtpReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        scope={"dag_ids": [DAG]},
        severity="critical",
        condition={"type": "run_failed"},
        channels=[
            {"type": "slack", "target": "#data-alerts"},
            {"type": "email", "target": "oncall@example.com", "language": "zh-CN"},
        ],
    )
    first = add_run(DAG, "failed", now - timedelta(minutes=3), 10, conf={"rows": 5})
    assert len(events.record_run_failed(DAG, first)) == 1
    events._send_for([a.id for a in alerts_of(rule)])
    second = add_run(DAG, "failed", now - timedelta(minutes=2), 10)
    assert events.record_run_failed(DAG, second) == []  # same incident: nobody is paged again...
    (incident,) = alerts_of(rule)
    assert (incident.run_id, incident.occurrences) == (second, 2)  # ...but it points at the latest failure
    assert incident.details["run_id"] == second
    add_run(DAG, "success", now - timedelta(minutes=1), 10)
    assert len(events.record_run_succeeded(DAG)) == 1
    assert events.record_run_succeeded(DAG) == []
    engine.deliver_due(now + timedelta(minutes=1))
    assert texts(slack) == [f"DAG run failed: {DAG}", f"[RESOLVED] DAG run failed: {DAG}"]
    # the evaluator's safety net does not re-fire runs that were already alerted
    assert evaluate(rule, now + timedelta(seconds=5)) == (0, 0)
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert subjects == [f"DAG 运行失败：{DAG}", f"【已恢复】DAG 运行失败：{DAG}"]
    mail = smtp.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "严重程度: 严重" in plain.get_content()
    assert "参数: rows=5" in plain.get_content()
    assert "<h2" in html.get_content()
    assert "查看运行" in html.get_content()


def test_evaluator_catches_failures_the_listener_missed(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        condition={"type": "run_failed"}, scope={"dag_ids": [DAG, OTHER]}, created_at=now - timedelta(hours=1)
    )
    add_run(OTHER, "failed", now - timedelta(minutes=1), 5)
    assert evaluate(rule, now) == (1, 0)
    assert evaluate(rule, now + timedelta(seconds=15)) == (0, 0)
    add_run(OTHER, "success", now + timedelta(seconds=20), 5)
    evaluate(rule, now + timedelta(seconds=60))
    assert texts(slack) == [f"DAG run failed: {OTHER}", f"[RESOLVED] DAG run failed: {OTHER}"]


def test_silence_suppresses_and_is_recorded(slack: SlackReceiver) -> None:
    from airflow.utils.session import create_session

    now = datetime.now(UTC)
    rule = add_rule(condition={"type": "run_failed"}, scope={"dag_ids": [DAG]})
    with create_session() as session:
        session.add(
            AlertSilence(
                scope={"dag_ids": [DAG]},
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=1),
                created_by="test",
            )
        )
    run = add_run(DAG, "failed", now - timedelta(minutes=1), 5)
    events.handle_run_failed(DAG, run)
    (alert,) = alerts_of(rule)
    assert alert.suppressed == "silenced"
    engine.deliver_due(now)
    add_run(DAG, "success", now, 5)
    events.handle_run_succeeded(DAG)
    assert slack.posts == []  # neither the alert nor its resolution was sent
    assert alerts_of(rule)[0].state == "resolved"


def test_escalation_notifies_other_channels_once(slack: SlackReceiver, smtp: SmtpReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        condition={"type": "queue_wait", "max_seconds": 60},
        scope={"dag_ids": [DAG]},
        escalation={"after_minutes": 30, "channels": [{"type": "email", "target": "boss@example.com"}]},
    )
    add_run(DAG, "queued", now - timedelta(minutes=5), None)
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        for run in session.scalars(select(DagRun).where(DagRun.dag_id == DAG)):
            run.start_date = None
    assert evaluate(rule, now) == (1, 0)
    assert texts(slack) == [f"Waiting in the queue too long: {DAG} (5m00s > 1m00s)"]
    with create_session() as session:
        assert engine.escalate(session, now + timedelta(minutes=10)) == 0
    with create_session() as session:
        assert engine.escalate(session, now + timedelta(minutes=31)) == 1
    engine.deliver_due(now + timedelta(minutes=31))
    with create_session() as session:
        assert engine.escalate(session, now + timedelta(minutes=65)) == 0  # repeat is off
    assert [str(m["Subject"]) for m in smtp.messages] == [
        f"[ESCALATED] Waiting in the queue too long: {DAG} (5m00s > 1m00s)"
    ]
    assert str(smtp.messages[0]["To"]) == "boss@example.com"
    assert alerts_of(rule)[0].escalation_level == 1


def test_a_receiver_that_is_down_gets_the_alert_later(slack: SlackReceiver) -> None:
    from airflow.utils.session import create_session

    now = datetime.now(UTC)
    rule = add_rule(condition={"type": "run_failed"}, scope={"dag_ids": [DAG]})
    run = add_run(DAG, "failed", now - timedelta(minutes=1), 5)
    slack.stop()
    try:
        events.handle_run_failed(DAG, run)
        assert engine.deliver_due(now) == 0  # not due yet: backoff
    finally:
        slack.start()
    assert slack.posts == []
    with create_session() as session:
        (delivery,) = session.scalars(select(AlertDelivery)).all()
        assert delivery.status == "pending"
        assert delivery.attempts == 1
        assert delivery.last_error
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at > now
    assert engine.deliver_due(now + timedelta(minutes=5)) == 1
    assert texts(slack) == [f"DAG run failed: {DAG}"]
    with create_session() as session:
        (delivery,) = session.scalars(select(AlertDelivery)).all()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)
        oks = [a.ok for a in session.scalars(select(AlertDeliveryAttempt).order_by(AlertDeliveryAttempt.id))]
        assert oks == [False, True]
    assert alerts_of(rule)[0].last_notified_at is not None


def test_rate_limit_records_the_excess_as_suppressed(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        condition={"type": "run_failed"},
        scope={"dag_ids": [DAG, OTHER]},
        rate_limit={"max_alerts": 1, "per_minutes": 60},
    )
    events.handle_run_failed(DAG, add_run(DAG, "failed", now - timedelta(minutes=2), 5))
    events.handle_run_failed(OTHER, add_run(OTHER, "failed", now - timedelta(minutes=1), 5))
    assert [a.suppressed for a in alerts_of(rule)] == [None, "rate_limited"]
    assert texts(slack) == [f"DAG run failed: {DAG}"]


def test_zh_cn_slack_message_and_webhook(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(
        condition={"type": "run_failed"},
        scope={"dag_ids": [DAG]},
        channels=[
            {"type": "slack", "target": "#数据告警", "language": "zh-CN"},
            {"type": "webhook", "target": slack.webhook_url},
        ],
    )
    events.handle_run_failed(DAG, add_run(DAG, "failed", now - timedelta(minutes=1), 5, conf={"城市": "上海"}))
    (msg,) = slack.messages()
    assert msg["channel"] == "#数据告警"
    assert msg["text"] == f"DAG 运行失败：{DAG}"
    assert "参数" in str(msg["blocks"])
    assert '城市="上海"' in str(msg["blocks"])
    (hook,) = slack.messages("/webhook")
    assert hook["kind"] == "firing"
    assert hook["alert"]["rule_id"] == rule
    assert hook["details"]["dag_id"] == DAG


def test_worker_heartbeat_and_no_worker_alive(slack: SlackReceiver) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.models import WorkerSample

    now = datetime.now(UTC)
    rule = add_rule(condition={"type": "worker_heartbeat", "max_silence_seconds": 60, "min_alive": 1})
    host = f"worker-{uuid.uuid4().hex[:6]}"
    sample: dict[str, Any] = {"kind": "celery-worker", "pid": 1, "cpu_count": 2, "running_tasks": 0}
    sample |= dict.fromkeys(["cpu_percent", "mem_percent", "disk_percent", "load1", "load5", "load15"], 1.0)
    sample |= dict.fromkeys(["mem_used_bytes", "mem_total_bytes", "disk_free_bytes"], 1)
    with create_session() as session:
        session.execute(delete(WorkerSample))
        session.add(WorkerSample(host=host, ts=now - timedelta(minutes=5), **sample))
    assert evaluate(rule, now) == (2, 0)
    assert sorted(texts(slack)) == sorted(
        [f"Worker has no heartbeat for 5m00s: {host}", "No worker alive (0 alive, at least 1 expected)"]
    )
    with create_session() as session:
        session.add(WorkerSample(host=host, ts=now, **sample))
    assert evaluate(rule, now + timedelta(seconds=5)) == (0, 2)
    with create_session() as session:
        session.execute(delete(WorkerSample))


def test_deadline_missed_then_met(slack: SlackReceiver) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    with create_session() as session:
        dag = session.get(DagModel, DAG)
        assert dag is not None
        dag.is_paused = False
    rule = add_rule(condition={"type": "deadline", "time": "09:30", "must": "finish"}, scope={"dag_ids": [DAG]})
    assert evaluate(rule, now - timedelta(hours=1)) == (0, 0)  # 09:00: not due yet
    assert evaluate(rule, now) == (1, 0)
    assert texts(slack) == [f"Missed deadline 09:30 UTC: {DAG} has not finished today"]
    add_run(DAG, "success", now + timedelta(minutes=1), 60)
    assert evaluate(rule, now + timedelta(minutes=5)) == (0, 1)


def test_lease_lets_one_replica_evaluate() -> None:
    from airflow.utils.session import create_session

    now = datetime.now(UTC)
    ttl = timedelta(seconds=60)
    with create_session() as session:
        assert engine.acquire_lease(session, "evaluator", "a", ttl, now)
    with create_session() as session:
        assert not engine.acquire_lease(session, "evaluator", "b", ttl, now + timedelta(seconds=10))
    with create_session() as session:
        assert engine.acquire_lease(session, "evaluator", "a", ttl, now + timedelta(seconds=20))  # renew
    assert evaluator.tick(now + timedelta(seconds=30), holder="b")["leader"] == 0
    assert evaluator.tick(now + timedelta(seconds=90), holder="b")["leader"] == 1  # a's lease lapsed


def test_shorthand_creates_updates_and_deletes_rules() -> None:
    from airflow.utils.session import create_session

    declared = rules_from_shorthand(
        "pipeline", "nightly_sales", {"on_failure": ["slack:#data-alerts"], "on_duration_factor": 2}
    )
    assert sorted(declared) == ["pipeline:nightly_sales#on_duration_factor", "pipeline:nightly_sales#on_failure"]
    assert sync_declared_rules(declared) == {"created": 2, "updated": 0, "deleted": 0}
    assert sync_declared_rules(declared) == {"created": 0, "updated": 0, "deleted": 0}
    with create_session() as session:
        rules = {r.source_ref: r for r in session.scalars(select(AlertRule).where(AlertRule.source == "manifest"))}
        slow = rules["pipeline:nightly_sales#on_duration_factor"]
        assert slow.condition == {"type": "duration", "max_seconds": None, "p95_factor": 2.0, "last_n_runs": 20,
                                  "min_runs": 3}  # fmt: skip
        assert slow.scope["pipelines"] == ["nightly_sales"]
        assert slow.channels == [{"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}]
    fewer = rules_from_shorthand("pipeline", "nightly_sales", {"on_failure": ["email:ops@example.com"]})
    assert sync_declared_rules(fewer) == {"created": 0, "updated": 1, "deleted": 1}
    with pytest.raises(ValueError, match="on_failure"):
        rules_from_shorthand("script", "x", {"on_failure": ["pager:123"]})
    with pytest.raises(ValueError, match="unknown key"):
        rules_from_shorthand("script", "x", {"on_fail": ["slack:#a"]})


def test_declared_rules_come_from_the_dags_folder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests.conftest import REPO_ROOT
    from ylai_plugin.alerts.shorthand import declared_rules

    shutil.copytree(REPO_ROOT / "dags" / "scripts", tmp_path / "scripts")
    (tmp_path / "pipelines").mkdir()
    spec = (REPO_ROOT / "dags" / "pipelines" / "generate_and_profile.yaml").read_text()
    alerts = '\nalerts:\n  on_failure: ["slack:#data-alerts"]\n  on_duration_factor: 2\n  language: zh-CN\n'
    (tmp_path / "pipelines" / "generate_and_profile.yaml").write_text(spec + alerts)
    manifest = (tmp_path / "scripts" / "disk_usage.yaml").read_text()
    (tmp_path / "scripts" / "disk_usage.yaml").write_text(manifest + "\nalerts:\n  on_failure: [pager:1]\n")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path))
    declared = declared_rules()  # the broken disk_usage section is logged and left out
    assert sorted(declared) == [
        "pipeline:generate_and_profile#on_duration_factor",
        "pipeline:generate_and_profile#on_failure",
    ]
    rule = declared["pipeline:generate_and_profile#on_failure"]
    assert rule["scope"]["pipelines"] == ["generate_and_profile"]
    assert rule["channels"][0]["language"] == "zh-CN"
    from ylai_plugin.alerts.shorthand import sync_if_changed

    first = sync_if_changed()
    assert first is not None
    assert first["created"] == 2
    assert sync_if_changed() is None  # nothing changed: the folder is not parsed again
    (tmp_path / "pipelines" / "generate_and_profile.yaml").write_text(spec)  # alerts: section removed
    assert sync_if_changed() == {"created": 0, "updated": 0, "deleted": 2}


def test_database_pipelines_declare_rules_of_their_current_version() -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.session import create_session

    from ylai_plugin.alerts.shorthand import declared_rules, sync_if_changed
    from ylai_plugin.db.models import DbPipeline
    from ylai_plugin.domain import db_pipelines, pipelines

    name = "alerting_db_pipe"
    prefix = f"pipeline:{name}#"
    user = SimpleAuthManagerUser(username="alerts", role="admin")

    def spec(alerts: dict[str, Any] | None = None, pipeline: str = name) -> dict[str, Any]:
        nodes = {"usage": {"script": "disk_usage", "params": {"path": "/tmp"}}}
        return {"name": pipeline, "nodes": nodes, **({"alerts": alerts} if alerts is not None else {})}

    def rules() -> dict[str, AlertRule]:
        with create_session() as session:
            found = session.scalars(select(AlertRule).where(AlertRule.source == "manifest"))
            rows = {r.source_ref: r for r in found if r.source_ref and r.source_ref.startswith(prefix)}
            session.expunge_all()
        return rows

    def store(call: Any) -> None:
        with create_session() as session:
            call(session)

    try:
        store(
            lambda s: pipelines.create(
                s, user, spec({"on_failure": ["slack:#data-alerts"], "on_deadline": "06:30"}), ""
            )
        )
        declared = declared_rules()
        assert sorted(r for r in declared if r.startswith(prefix)) == [f"{prefix}on_deadline", f"{prefix}on_failure"]
        assert declared[f"{prefix}on_failure"]["scope"]["pipelines"] == [name]
        assert sync_if_changed() is not None
        assert sync_if_changed() is None  # nothing changed: neither read nor synced again
        made = rules()
        assert sorted(made) == [f"{prefix}on_deadline", f"{prefix}on_failure"]
        assert made[f"{prefix}on_failure"].scope["pipelines"] == [name]
        assert made[f"{prefix}on_deadline"].condition["time"] == "06:30"
        kept_id = made[f"{prefix}on_failure"].id
        with create_session() as session:  # a user's switch survives the next version
            session.get(AlertRule, kept_id).enabled = False  # type: ignore[union-attr]

        # A new version: the rules follow the current spec (one changed, one removed, one added).
        new_alerts = {"on_failure": ["email:ops@example.com"], "on_duration_seconds": 60, "language": "zh-CN"}
        store(lambda s: pipelines.add_version(s, user, name, spec(new_alerts), "v2"))
        assert sync_if_changed() is not None
        made = rules()
        assert sorted(made) == [f"{prefix}on_duration_seconds", f"{prefix}on_failure"]
        assert made[f"{prefix}on_failure"].id == kept_id
        assert made[f"{prefix}on_failure"].enabled is False
        assert made[f"{prefix}on_failure"].channels[0]["target"] == "ops@example.com"
        assert made[f"{prefix}on_failure"].channels[0]["language"] == "zh-CN"

        # Restoring version 1 is a new version: its rules come back.
        store(lambda s: pipelines.restore(s, user, name, 1, ""))
        assert sync_if_changed() is not None
        assert sorted(rules()) == [f"{prefix}on_deadline", f"{prefix}on_failure"]

        # A broken section is logged and left out, as a file's is: its rules go.
        store(lambda s: pipelines.add_version(s, user, name, spec({"on_failure": ["pager:1"]}), "bad"))
        assert sync_if_changed() is not None
        assert rules() == {}
        store(lambda s: pipelines.add_version(s, user, name, spec({"on_failure": ["slack:#a"]}), "fixed"))
        assert sync_if_changed() is not None
        assert sorted(rules()) == [f"{prefix}on_failure"]

        # Deleted: its rules are deleted.
        store(lambda s: pipelines.delete(s, user, name))
        assert sync_if_changed() is not None
        assert rules() == {}

        # A repository file wins over a database pipeline of the same name (stored behind the API's back).
        def shadow(session: Any) -> None:
            row = DbPipeline(name="generate_and_profile", current_version=0, created_by="test")
            session.add(row)
            session.flush()
            db_pipelines.add_version(session, user, row, spec({"on_failure": ["slack:#a"]}, "generate_and_profile"), "")

        store(shadow)
        assert not [r for r in declared_rules() if r.startswith("pipeline:generate_and_profile#")]
    finally:
        with create_session() as session:
            for leftover in (name, "generate_and_profile"):
                row = db_pipelines.get(session, leftover)
                if row is not None:
                    db_pipelines.remove(session, row)
            db_pipelines.publish(session)


def test_slack_incoming_webhook_connection(slack: SlackReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    hook_url = f"http://127.0.0.1:{slack.port}/services/T000/B000/XXXX"
    monkeypatch.setenv("AIRFLOW_CONN_YLAI_HOOK", json.dumps({"conn_type": "slackwebhook", "password": hook_url}))
    now = datetime.now(UTC)
    add_rule(
        condition={"type": "run_failed"},
        scope={"dag_ids": [DAG]},
        channels=[{"type": "slack", "target": "#data-alerts", "connection_id": "ylai_hook"}],
    )
    events.handle_run_failed(DAG, add_run(DAG, "failed", now - timedelta(minutes=1), 5))
    (msg,) = slack.messages("/services/T000/B000/XXXX")
    assert msg["text"] == f"DAG run failed: {DAG}"
    assert msg["blocks"][0]["type"] == "header"


def test_task_failed_after_retries_carries_the_log_tail_and_links(slack: SlackReceiver) -> None:
    import json
    from pathlib import Path

    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.configuration import conf
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    from ylai_plugin.domain import dags as dag_service

    now = datetime.now(UTC)
    rule = add_rule(condition={"type": "task_failed"}, scope={"dag_ids": [DAG]}, created_at=now - timedelta(hours=1))
    with create_session() as session:
        run = dag_service.trigger(DAG, {"rows": 3}, SimpleAuthManagerUser(username="t", role="op"), session)
        run_id = run.run_id
        MADE_RUNS.append(run_id)
        run.state, run.start_date = "running", now - timedelta(minutes=2)
        (ti,) = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)).all()
        ti.state, ti.try_number = "failed", 2
        ti.start_date, ti.end_date = now - timedelta(minutes=1), now - timedelta(seconds=30)
        task_id = ti.task_id
    log_dir = Path(conf.get("logging", "base_log_folder")) / f"dag_id={DAG}" / f"run_id={run_id}" / f"task_id={task_id}"
    log_dir.mkdir(parents=True)
    lines = [{"event": f"line {i}", "level": "info"} for i in range(30)] + [
        {"event": "Task failed with exception", "level": "error",
         "error_detail": [{"exc_type": "RuntimeError", "exc_value": "disk full on /data"}]},
    ]  # fmt: skip
    (log_dir / "attempt=2.log").write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    assert evaluate(rule, now) == (1, 0)  # the evaluator saw the failed task (the run is still going)
    assert evaluate(rule, now + timedelta(seconds=15)) == (0, 0)
    (msg,) = slack.messages()
    assert msg["text"] == f"Task failed after its retries: {DAG}.{task_id}"
    blocks = str(msg["blocks"])
    assert "RuntimeError: disk full on /data" in blocks
    assert "line 29" in blocks
    assert "line 5" not in blocks  # only the tail
    assert f"/tasks/{task_id}?try_number=2" in blocks
    assert "rows=3" in blocks
    # Where the log file is not on this host, Airflow's log reader (remote logs, worker log server) is asked.
    assert "disk full on /data" in "\n".join(details._lines_via_log_reader(DAG, run_id, task_id, 2, -1))


def test_listener_alerts_a_task_failed_by_the_scheduler(slack: SlackReceiver) -> None:
    import time

    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    from ylai_plugin import listeners as listener
    from ylai_plugin.domain import dags as dag_service

    rule = add_rule(condition={"type": "task_failed"}, scope={"scripts": ["data_generator"]})
    with create_session() as session:
        run = dag_service.trigger(DAG, {"rows": 3}, SimpleAuthManagerUser(username="t", role="op"), session)
        MADE_RUNS.append(run.run_id)
        (ti,) = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id)).all()
        ti.state = "up_for_retry"
        listener.on_task_instance_failed(None, ti, None)  # will be retried: not an alert
        ti.state, ti.try_number = "failed", 2
        listener.on_task_instance_failed(None, ti, None)  # as the scheduler calls it (heartbeat timeout)
        task_id = ti.task_id
    deadline = time.monotonic() + 60
    while not slack.messages() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert texts(slack) == [f"Task failed after its retries: {DAG}.{task_id}"]
    assert "try_number=2" in str(slack.messages()[0]["blocks"])
    assert len(alerts_of(rule)) == 1


def test_every_condition_has_its_messages_in_both_languages() -> None:
    from ylai_plugin.alerts.conditions import REGISTRY, headline_template
    from ylai_plugin.alerts.messages import headline

    for name, condition in REGISTRY.items():
        assert set(condition.messages["en"]) == set(condition.messages["zh-CN"]), name
        for key in condition.messages["en"]:
            assert condition.messages["en"][key] != condition.messages["zh-CN"][key]
    details = {"dag_id": "pipeline__nightly", "running": True, "elapsed_seconds": 4000, "limit_seconds": 60}
    assert headline("duration", details, "en") == "Run still running and too long: pipeline__nightly (1h06m > 1m00s)"
    assert headline("duration", details | {"running": False}, "zh-CN").startswith("运行时间过长")
    assert headline("worker_heartbeat", {"no_worker": True, "alive": 0, "min_alive": 1}, "fr").startswith("No worker")
    assert headline_template("gone_type", {}, "en") == "{dag_id}"  # a rule stored by another version


def test_a_condition_type_gives_exactly_one_evaluation() -> None:
    from ylai_plugin.alerts.conditions.base import ConditionType
    from ylai_plugin.alerts.conditions.run_failed import RunFailed

    messages = {"en": {"x": "x"}, "zh-CN": {"x": "x"}}
    with pytest.raises(ValueError, match="exactly one of find or failures"):
        ConditionType(type="x", params=RunFailed, messages=messages, order=1)
    with pytest.raises(ValueError, match="messages must be in"):
        ConditionType(type="x", params=RunFailed, messages={"en": {}}, order=1, find=lambda check: None)  # type: ignore[arg-type,return-value]


def test_a_new_rule_waits_for_the_next_failure(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    add_run(DAG, "failed", now - timedelta(minutes=5), 10)  # the DAG is failing before the rule exists
    rule = add_rule(condition={"type": "run_failed"}, scope={"dag_ids": [DAG]})
    assert evaluate(rule, now + timedelta(seconds=5)) == (0, 0)  # no page about the past
    assert slack.messages() == []
    later = add_run(DAG, "failed", now + timedelta(seconds=10), 5)
    assert evaluate(rule, now + timedelta(seconds=30)) == (1, 0)  # the listener missed it: the evaluator fires
    (incident,) = alerts_of(rule)
    assert (incident.run_id, incident.occurrences) == (later, 1)
    assert texts(slack) == [f"DAG run failed: {DAG}"]


def test_the_evaluator_moves_an_open_incident_to_the_latest_failure(slack: SlackReceiver) -> None:
    now = datetime.now(UTC)
    rule = add_rule(condition={"type": "run_failed"}, scope={"dag_ids": [DAG]}, created_at=now - timedelta(hours=1))
    first = add_run(DAG, "failed", now - timedelta(minutes=4), 10)
    assert evaluate(rule, now) == (1, 0)
    second = add_run(DAG, "failed", now + timedelta(seconds=5), 10)
    assert evaluate(rule, now + timedelta(seconds=30)) == (0, 0)
    (incident,) = alerts_of(rule)
    assert (incident.run_id, incident.occurrences) == (second, 2)
    # The older failure, seen again within the look-back window, does not pull the incident back.
    assert evaluate(rule, now + timedelta(seconds=45)) == (0, 0)
    (incident,) = alerts_of(rule)
    assert (incident.run_id, incident.occurrences) == (second, 2)
    assert first != second
    assert texts(slack) == [f"DAG run failed: {DAG}"]  # one page for the incident


def test_the_error_tail_is_the_scripts_stderr() -> None:
    import json

    script_logger = "airflow.task.operators.ylai_operators.script_operator.ScriptOperator"
    records: list[dict[str, Any]] = [
        {"event": "::group::Pre Execute", "level": "info", "logger": "task"},
        {"event": "DAG bundles loaded: dags-folder", "level": "info",
         "logger": "airflow.dag_processing.bundles.manager.DagBundlesManager"},
        {"event": "Filling up the DagBag from /dags/ylai_scripts_0.py", "level": "info",
         "logger": "airflow.dag_processing.dagbag.BundleDagBag"},
        {"event": "::endgroup::", "level": "info", "logger": "task"},
        {"event": "Running script quality_gate (python)", "level": "info", "logger": script_logger},
        {"event": "rows=0 -> fail", "level": "info", "logger": script_logger},
        {"event": "quality gate failed: 0 rows < 1", "level": "warning", "logger": script_logger},
        {"event": "Task failed with exception", "level": "error", "logger": "task",
         "error_detail": [{"exc_type": "ScriptFailedError", "exc_value": "Script quality_gate exited with 1"}]},
    ]  # fmt: skip
    tail = details.tail_of(json.dumps(r) + "\n" for r in records)
    assert tail == "quality gate failed: 0 rows < 1"
    # A script that wrote nothing to stderr: the log without Airflow's machinery, the exception last.
    quiet = details.tail_of(json.dumps(r) for r in records if r["level"] != "warning")
    assert "::group::" not in quiet
    assert "DagBag" not in quiet
    assert "DAG bundles" not in quiet
    assert quiet.splitlines()[0] == "Running script quality_gate (python)"
    assert quiet.endswith("ScriptFailedError: Script quality_gate exited with 1")
    assert details.tail_of(["plain text line\n", "::endgroup::\n"]) == "plain text line"


def test_a_webhook_through_a_connection_uses_its_base_url_and_credentials(
    slack: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from ylai_plugin.alerts import channels
    from ylai_plugin.alerts.messages import Message

    monkeypatch.setenv(
        "AIRFLOW_CONN_HOOKS",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": slack.port, "schema": "http",
                    "password": "s3cret-token"}),
    )  # fmt: skip
    message = Message(title="t", text="t", html="<p>t</p>", payload={"title": "t"})
    channels.send("webhook", "/webhook/alerts", "hooks", message)
    (post,) = [p for p in slack.posts if p["path"] == "/webhook/alerts"]
    assert post["body"] == {"title": "t"}
    assert post["headers"]["Authorization"] == "Bearer s3cret-token"
