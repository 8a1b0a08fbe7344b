"""``/monitor/queues``, ``/monitor/lag`` and ``/monitor/task-states``: auth, parameters and what they answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

FANOUT = "pipeline__data_quality_fanout"
QUEUE = "monitor-api-test"
HISTORY = ("/api/v1/monitor/queues", "/api/v1/monitor/lag", "/api/v1/monitor/task-states")
FIONA = headers("op", "fiona")  # may read the fan-out pipeline only (OnlyFanout)


class OnlyFanout:
    """An auth manager for user "fiona" who may read the fan-out pipeline only; everyone else as usual."""

    def __init__(self, real: Any, deny_monitor: bool = False) -> None:
        self.real = real
        self.deny_monitor = deny_monitor

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        ids = set(self.real.get_authorized_dag_ids(user=user, method=method, **kw))
        return ids & {FANOUT} if user.get_name() == "fiona" else ids - {FANOUT}

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        if self.deny_monitor and resource_name == "ylai Monitor":
            return False
        return bool(self.real.is_authorized_custom_view(method=method, resource_name=resource_name, user=user))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def only_fanout(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    manager = OnlyFanout(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: manager)


@pytest.fixture(scope="module")
def ran(airflow_db: object) -> datetime:
    """A run of the fan-out pipeline 10 minutes ago, on its own queue; returns when it was due."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import DagRun, TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    from ylai_plugin.domain import dags

    sync_repo_dags()
    with create_session() as session:  # runs other modules left (tests/unit/ylai_plugin/domain/test_timeline.py)
        for model in (TaskInstanceHistory, TaskInstance, DagRun):
            session.execute(delete(model).where(model.dag_id == FANOUT))
    # On a minute: the points of every window start there.
    due = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)

    def at(seconds: float) -> datetime:
        return due + timedelta(seconds=seconds)

    times = {  # queued, start, end
        "generate": (at(2), at(7), at(22)),
        "profile": (at(23), at(25), at(42)),  # 3 s after generate
        "disk": (at(24), at(32), at(37)),  # 10 s after generate
        "gate": (at(44), at(47), at(52)),  # 5 s after profile
        "collect_outputs": (at(53), at(54), at(60)),  # 2 s after gate
    }
    with create_session() as session:
        run = dags.trigger(FANOUT, {}, SimpleAuthManagerUser(username="fiona", role="op"), session)
        run.run_type, run.run_after, run.start_date, run.end_date = "scheduled", due, at(2), at(60)
        run.state = "success"
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id)):
            ti.queued_dttm, ti.start_date, ti.end_date = times[ti.task_id]
            ti.state, ti.queue, ti.try_number = "success", QUEUE, 1
    return due


@pytest.fixture(scope="module")
def client(ran: datetime) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize("path", HISTORY)
def test_history_needs_a_login_and_the_monitor_permission(
    client: TestClient, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import access

    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code in (401, 403)
    manager = OnlyFanout(access.auth_manager(), deny_monitor=True)
    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    denied = client.get(path, headers=FIONA)
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "You may not read ylai Monitor"


@pytest.mark.parametrize("path", HISTORY)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window_minutes": 0}, "query.window_minutes"),
        ({"window_minutes": 24 * 60 + 1}, "query.window_minutes"),
        ({"window_minutes": "an hour"}, "query.window_minutes"),
        ({"window_minutes": "1.5"}, "query.window_minutes"),
    ],
)
def test_a_bad_window_is_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    resp = client.get(path, params=params, headers=FIONA)
    assert resp.status_code == 422, resp.text
    assert field in [d["field"] for d in resp.json()["error"]["details"]]


def test_queues_per_queue_from_history(client: TestClient, ran: datetime, only_fanout: None) -> None:
    resp = client.get("/api/v1/monitor/queues", params={"window_minutes": 15}, headers=FIONA)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["window_minutes"], body["resolution_seconds"]) == (15, 10)
    assert body["celery"] == {
        "status": "not_configured",
        "detail": "executor is LocalExecutor",
        "last_sample": None,
        "queues": [],
    }
    queue = next(q for q in body["queued"] if q["queue"] == QUEUE)
    assert (queue["peak"], queue["now"]) == (2, 0)  # profile and disk queued at once
    assert len(queue["points"]) == 91
    counts = {datetime.fromisoformat(p["ts"]): p["count"] for p in queue["points"]}
    assert counts[ran] == 1  # generate
    assert counts[ran + timedelta(seconds=20)] == 2
    assert sum(counts.values()) == 6  # 2 at 20 s, disk still at 30 s, gate at 40 s, collect_outputs at 50 s


def test_queues_of_unreadable_dags_are_left_out(client: TestClient, ran: datetime, only_fanout: None) -> None:
    others = client.get("/api/v1/monitor/queues", params={"window_minutes": 15}, headers=headers("op", "oscar"))
    assert others.status_code == 200
    assert QUEUE not in [q["queue"] for q in others.json()["queued"]]


def test_lag_of_runs_and_hand_offs(client: TestClient, ran: datetime, only_fanout: None) -> None:
    resp = client.get("/api/v1/monitor/lag", params={"window_minutes": 60}, headers=FIONA)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["window_minutes"], body["resolution_seconds"]) == (60, 60)
    assert body["run_delay"] == {"count": 1, "p50": 2.0, "p95": 2.0}
    assert body["task_gap"] == {"count": 4, "p50": 3.0, "p95": 10.0}
    assert (body["waiting_runs"], body["longest_wait_seconds"]) == (0, None)
    assert sum(p["runs"] for p in body["points"]) == 1
    assert sum(p["tasks"] for p in body["points"]) == 4
    assert set(body["points"][0]) == {
        "ts",
        "runs",
        "run_delay_p50",
        "run_delay_p95",
        "tasks",
        "task_gap_p50",
        "task_gap_p95",
    }


def test_task_states_from_history(client: TestClient, ran: datetime, only_fanout: None) -> None:
    resp = client.get("/api/v1/monitor/task-states", params={"window_minutes": 15}, headers=FIONA)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    points = {datetime.fromisoformat(p["ts"]): p["states"] for p in body["points"]}
    assert points[ran] == {"running": 1}  # generate, at the point's end (10 s)
    assert points[ran + timedelta(seconds=30)] == {"running": 1, "success": 1}  # profile at 40 s; disk ended
    assert points[ran + timedelta(seconds=60)] == {"success": 1}
    finished = sum(s.get("success", 0) for s in points.values())
    assert finished == 5


def test_celery_queues_when_the_broker_was_down(
    client: TestClient, only_fanout: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import QueueSample
    from ylai_plugin.monitoring import queue_sampler

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    now = datetime.now(UTC)
    rows = [
        {"ts": now - timedelta(seconds=40), "queue": QUEUE, "length": 3, "error": None},
        {"ts": now - timedelta(seconds=2), "queue": QUEUE, "length": None, "error": "ConnectionError"},
    ]
    with create_session() as session:
        queue_sampler.store_samples(rows, session, purge=False)
    try:
        resp = client.get("/api/v1/monitor/queues", params={"window_minutes": 15}, headers=FIONA)
    finally:
        with create_session() as session:
            session.execute(delete(QueueSample).where(QueueSample.queue == QUEUE))
    assert resp.status_code == 200, resp.text
    celery = resp.json()["celery"]
    assert (celery["status"], celery["detail"]) == ("unreachable", "ConnectionError")
    (queue,) = celery["queues"]
    assert [p["length"] for p in queue["points"] if p["length"] is not None] == [3]  # the failed read: a gap
    assert queue["latest"] is None
