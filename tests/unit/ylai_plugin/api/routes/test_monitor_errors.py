"""``/monitor/errors``: failures per hour per DAG and error signatures over real failed runs, XComs and DAG versions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from tests.unit.ylai_plugin.api.routes.test_monitor import OnlyFanout
from ylai_plugin.api.app import create_app

HTTP = "script__http_check"
DISK = "script__disk_usage"
PARAMS: dict[str, dict[str, Any]] = {HTTP: {"url": "http://127.0.0.1/"}, DISK: {"top": 2}}
ED = headers("op", "ed")  # may read both scripts
ERIN = headers("op", "erin")  # may read the disk script only
# The error lines: two ids of one error, and an error that only started after the deploy.
REFUSED = "ConnectionRefusedError: [Errno 111] connect to 10.0.0.{} port 8080 refused"
TIMEOUT = "TimeoutError: request {} to /srv/api/{}/status took 31.{}s"


class ErrorsUsers(OnlyFanout):
    """An auth manager for "ed" (both scripts) and "erin" (the disk script); the monitor denied on request."""

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        return {HTTP, DISK} if user.get_name() == "ed" else {DISK}


@pytest.fixture
def users(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.api.routes import monitor
    from ylai_plugin.domain import access

    manager = ErrorsUsers(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    monkeypatch.setattr(monitor, "_readable", {})


def _failed(dag_id: str, at: datetime, line: str | None, try_number: int = 1) -> str:
    """A failed run of ``dag_id`` whose script task failed at ``at`` leaving ``line`` (Execution API style)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_operators.catalog import ERROR_XCOM_KEY
    from ylai_plugin.domain import dags

    with create_session() as session:
        run = dags.trigger(dag_id, PARAMS[dag_id], SimpleAuthManagerUser(username="ed", role="op"), session)
        run.run_after, run.state = at - timedelta(seconds=30), "failed"
        run.start_date, run.end_date = at - timedelta(seconds=20), at + timedelta(seconds=1)
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).one()
        ti.state, ti.start_date, ti.end_date, ti.try_number = "failed", at - timedelta(seconds=10), at, try_number
        session.flush()
        if line is not None:
            value = {"line": line, "exit_code": 1}
            session.add(
                XComModel(
                    dag_run_id=run.id,
                    task_id=ti.task_id,
                    map_index=-1,
                    key=ERROR_XCOM_KEY,
                    dag_id=dag_id,
                    run_id=run.run_id,
                    value=value,
                )
            )
        return str(run.run_id)


@pytest.fixture(scope="module")
def seeded(airflow_db: object) -> Iterator[dict[str, Any]]:
    """Failures of both scripts over the last 30 hours; the HTTP script deployed 3 hours ago."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.dag_version import DagVersion
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select, update

    sync_repo_dags()
    with create_session() as session:
        for model in (TaskInstanceHistory, TaskInstance, DagRun):
            session.execute(delete(model).where(model.dag_id.in_((HTTP, DISK))))
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    deployed = hour - timedelta(hours=3)
    runs = {
        # Refused: first seen yesterday (before the deploy), again twice in the window.
        "refused_old": _failed(HTTP, hour - timedelta(hours=30), REFUSED.format(7)),
        "refused_1": _failed(HTTP, hour - timedelta(hours=5, minutes=-10), REFUSED.format(12)),
        "refused_2": _failed(HTTP, hour - timedelta(minutes=50), REFUSED.format(201), try_number=2),
        # Timeout: only since the deploy, with other ids, paths and numbers each time.
        "timeout_1": _failed(HTTP, hour - timedelta(hours=2, minutes=-5), TIMEOUT.format("4f1c2d9e", 17, 2)),
        "timeout_2": _failed(HTTP, hour + timedelta(seconds=1), TIMEOUT.format("0x7ffe", 9, 95)),
        # The disk script: a failure without an error line (stopped by Airflow).
        "disk": _failed(DISK, hour - timedelta(minutes=50), None),
    }
    with create_session() as session:  # every version of the HTTP script deployed then (the latest counts)
        rows = session.execute(select(DagVersion.id, DagVersion.created_at).where(DagVersion.dag_id == HTTP))
        versions = {row.id: row.created_at for row in rows}
        session.execute(update(DagVersion).where(DagVersion.dag_id == HTTP).values(created_at=deployed))
    at = {  # when each failure happened (the ``at`` given to _failed above)
        "refused_old": (HTTP, hour - timedelta(hours=30)),
        "refused_1": (HTTP, hour - timedelta(hours=5, minutes=-10)),
        "refused_2": (HTTP, hour - timedelta(minutes=50)),
        "timeout_1": (HTTP, hour - timedelta(hours=2, minutes=-5)),
        "timeout_2": (HTTP, hour + timedelta(seconds=1)),
        "disk": (DISK, hour - timedelta(minutes=50)),
    }
    yield {"now": now, "hour": hour, "deployed": deployed, "runs": runs, "at": at}
    with create_session() as session:
        for version_id, created_at in versions.items():
            session.execute(update(DagVersion).where(DagVersion.id == version_id).values(created_at=created_at))


@pytest.fixture(scope="module")
def client(seeded: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_failures_per_hour_and_signatures(client: TestClient, seeded: dict[str, Any], users: None) -> None:
    resp = client.get("/api/v1/monitor/errors", headers=ED)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    hour, runs = seeded["hour"], seeded["runs"]
    assert (body["hours"], body["history_days"], body["truncated"], body["total"]) == (24, 30, False, 5)
    assert [(d["name"], d["kind"], d["failed"]) for d in body["dags"]] == [
        ("http_check", "script", 4),
        ("disk_usage", "script", 1),
    ]
    per_hour = {(h["name"], _at(h["hour"])): h["failed"] for h in body["per_hour"]}
    assert per_hour == {
        ("http_check", hour - timedelta(hours=5)): 1,
        ("http_check", hour - timedelta(hours=2)): 1,
        ("http_check", hour - timedelta(hours=1)): 1,
        ("disk_usage", hour - timedelta(hours=1)): 1,
        ("http_check", hour): 1,
    }
    by_signature = {s["signature"]: s for s in body["signatures"]}
    assert body["signature_count"] == 3
    refused = by_signature["ConnectionRefusedError: [Errno <n>] connect to <n> port <n> refused"]
    assert (refused["dag_id"], refused["count"], refused["new"]) == (HTTP, 2, False)
    assert _at(refused["first_seen"]) == hour - timedelta(hours=30)  # before the window: looked for in the history
    assert _at(refused["last_seen"]) == hour - timedelta(minutes=50)
    assert refused["example"] == REFUSED.format(201)
    assert refused["latest"] == {"run_id": runs["refused_2"], "task_id": "http_check", "try_number": 2}
    timeout = by_signature["TimeoutError: request <hex> to <path> took <n>s"]
    assert (timeout["count"], timeout["new"]) == (2, True)  # two ids, one signature; first seen after the deploy
    assert _at(timeout["deployed_at"]) == seeded["deployed"]
    assert _at(timeout["first_seen"]) == hour - timedelta(hours=2, minutes=-5)
    assert timeout["latest"]["run_id"] == runs["timeout_2"]
    # Most frequent first, then the latest: the timeout (last seen now) before the refusal.
    assert [s["signature"] for s in body["signatures"]][:2] == [timeout["signature"], refused["signature"]]
    lineless = by_signature[""]
    assert (lineless["dag_id"], lineless["count"], lineless["example"]) == (DISK, 1, "")


def test_a_shorter_window_and_the_readable_dags_only(client: TestClient, seeded: dict[str, Any], users: None) -> None:
    # The last hour holds a different set of the seeded failures depending on the minute the
    # module seeded them at (and on a test that runs into the next hour): expected from their times.
    since = datetime.now(UTC) - timedelta(hours=1)
    short = client.get("/api/v1/monitor/errors", params={"hours": 1}, headers=ED).json()
    day = client.get("/api/v1/monitor/errors", headers=ED).json()
    want = Counter(dag_id.removeprefix("script__") for dag_id, at in seeded["at"].values() if at >= since)
    got: Counter[str] = Counter()
    for signature in short["signatures"]:
        got[signature["name"]] += signature["count"]
    assert got == want
    assert short["total"] == sum(want.values()) < day["total"]  # the 5-hour-old failures are left out
    erin = client.get("/api/v1/monitor/errors", headers=ERIN).json()
    assert [d["dag_id"] for d in erin["dags"]] == [DISK]
    assert {s["dag_id"] for s in erin["signatures"]} == {DISK}
    assert {h["dag_id"] for h in erin["per_hour"]} == {DISK}


def test_needs_a_login_and_the_monitor_permission(
    client: TestClient, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import access

    assert client.get("/api/v1/monitor/errors").status_code == 401
    manager = ErrorsUsers(access.auth_manager(), deny_monitor=True)
    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    denied = client.get("/api/v1/monitor/errors", headers=ED)
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "You may not read ylai Monitor"


@pytest.mark.parametrize("hours", [0, 24 * 7 + 1, "a day"])
def test_a_bad_window_is_422_naming_the_field(client: TestClient, hours: Any) -> None:
    resp = client.get("/api/v1/monitor/errors", params={"hours": hours}, headers=ED)
    assert resp.status_code == 422, resp.text
    assert [d["field"] for d in resp.json()["error"]["details"]] == ["query.hours"]


def test_a_database_script_or_pipeline_is_deployed_with_its_current_version(seeded: dict[str, Any]) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.models import DbPipeline, DbPipelineVersion, DbScript, DbScriptVersion
    from ylai_plugin.monitoring import errors

    first, current, pipeline_at = (seeded["hour"] - timedelta(hours=h) for h in (9, 4, 6))
    with create_session() as session:
        script = DbScript(name="errors_db_script", runtime="python", current_version=2, created_by="ed")
        pipeline = DbPipeline(name="errors_db_pipeline", current_version=1, created_by="ed")
        session.add_all([script, pipeline])
        session.flush()
        session.add_all(
            [
                DbScriptVersion(
                    script_id=script.id, version=1, content="", manifest={}, created_by="ed", created_at=first
                ),
                DbScriptVersion(
                    script_id=script.id, version=2, content="", manifest={}, created_by="ed", created_at=current
                ),
                DbPipelineVersion(pipeline_id=pipeline.id, version=1, spec={}, created_by="ed", created_at=pipeline_at),
            ]
        )
        session.flush()
        found = errors.deployed_at(session, {"script__errors_db_script", "pipeline__errors_db_pipeline", HTTP})
        session.rollback()
    assert found == {
        "script__errors_db_script": current,
        "pipeline__errors_db_pipeline": pipeline_at,
        HTTP: seeded["deployed"],  # its latest Airflow DAG version
    }
    assert errors.deployed_at(session, set()) == {}
