"""Backpressure: run requests through ylai get 429 once a queue holds its limit (unit DB, real DAGs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app
from ylai_plugin.domain import backpressure
from ylai_plugin.domain.backpressure import DepthCache, QueueLoad
from ylai_plugin.domain.errors import Overloaded

RUN = "/api/v1/scripts/disk_usage/run"
BODY = {"params": {"path": "/tmp", "top": 2}}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers("admin", "bp")) as c:
        yield c


def _depth(queue: str = "default") -> int:
    from airflow.utils.session import create_session

    with create_session() as session:
        return backpressure.count_waiting(session).get(queue, 0)


@pytest.fixture
def room_for_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The default queue's limit set two above what the unit DB holds now (other tests' runs); that limit."""
    backpressure.clear()
    limit = _depth() + 2
    monkeypatch.setenv("AIRFLOW__YLAI__QUEUE_LIMITS", f"default={limit}")
    monkeypatch.setenv("AIRFLOW__YLAI__QUEUE_FULL_RETRY_AFTER", "17")
    yield limit
    backpressure.clear()


def test_a_run_request_above_the_limit_is_429_with_the_queue_its_depth_and_limit(
    client: TestClient, room_for_two: int
) -> None:
    limit = room_for_two
    assert client.post(RUN, json=BODY).status_code == 201
    assert client.post(RUN, json=BODY).status_code == 201  # counted at once, without waiting for the cache

    refused = client.post(RUN, json=BODY)
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "17"
    error = refused.json()["error"]
    assert error["code"] == "queue_full"
    assert error["details"] == {"queue": "default", "depth": limit, "limit": limit, "retry_after": 17}
    assert error["message"] == (
        f"Queue 'default' is full: {limit} task instances are waiting and its limit is {limit}; retry in 17 s"
    )
    assert _depth() == limit  # nothing was created for the refused request

    chinese = client.post(RUN, json=BODY, headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 429
    assert chinese.json()["error"]["message"].startswith("队列 'default' 已满")

    # Through a task too: every ylai route that starts a run goes through the same check.
    task = client.post("/api/v1/tasks", json={"name": "bp task", "script": "disk_usage", "params": {"path": "/tmp"}})
    assert task.status_code == 201, task.text
    assert client.post(f"/api/v1/tasks/{task.json()['id']}/run", json={}).status_code == 429

    limits = client.get("/api/v1/monitor/queue-limits")
    assert limits.status_code == 200, limits.text
    body = limits.json()
    assert body["retry_after_seconds"] == 17
    assert {"queue": "default", "depth": limit, "limit": limit, "full": True} in body["queues"]


def test_a_limit_of_zero_turns_backpressure_off(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    backpressure.clear()
    monkeypatch.setenv("AIRFLOW__YLAI__MAX_QUEUED_PER_QUEUE", "0")
    monkeypatch.delenv("AIRFLOW__YLAI__QUEUE_LIMITS", raising=False)
    assert backpressure.limit_of("default") == 0
    assert client.post(RUN, json=BODY).status_code == 201


def test_invalid_params_take_no_place(client: TestClient, room_for_two: int) -> None:
    bad = client.post(RUN, json={"params": {"top": 0}})
    assert bad.status_code == 422
    assert client.post(RUN, json=BODY).status_code == 201
    assert client.post(RUN, json=BODY).status_code == 201
    assert client.post(RUN, json=BODY).status_code == 429


def test_parse_limits_skips_malformed_pairs(caplog: pytest.LogCaptureFixture) -> None:
    assert backpressure.parse_limits("") == {}
    assert backpressure.parse_limits(" gpu = 10, default=500 ,, x=-3") == {"gpu": 10, "default": 500, "x": 0}
    assert backpressure.parse_limits("gpu, =4, cpu=many, ok=1") == {"ok": 1}
    assert len([r for r in caplog.records if "queue_limits" in r.getMessage()]) == 3


def test_limit_of_prefers_the_queue_s_own_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__MAX_QUEUED_PER_QUEUE", "7")
    monkeypatch.setenv("AIRFLOW__YLAI__QUEUE_LIMITS", "gpu=2,cpu=0")
    assert backpressure.limit_of("gpu") == 2
    assert backpressure.limit_of("cpu") == 0
    assert backpressure.limit_of("default") == 7
    assert not QueueLoad(queue="cpu", depth=10_000, limit=0).full
    assert QueueLoad(queue="gpu", depth=2, limit=2).full


def test_a_run_not_created_gives_its_places_back(airflow_db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__YLAI__QUEUE_LIMITS", "bp-test=3")
    cache = DepthCache(ttl=3600)
    with create_session() as session:
        with pytest.raises(RuntimeError), cache.admission(session, {"bp-test": 2}):
            raise RuntimeError("create_dagrun failed")
        assert cache.depths(session).get("bp-test", 0) == 0
        with cache.admission(session, {"bp-test": 2}):
            pass
        with cache.admission(session, {"bp-test": 2}):
            pass  # 2 < 3: admitted, now 4
        with pytest.raises(Overloaded) as refused, cache.admission(session, {"bp-test": 1}):
            pass
    assert refused.value.details == {"queue": "bp-test", "depth": 4, "limit": 3, "retry_after": 30}
