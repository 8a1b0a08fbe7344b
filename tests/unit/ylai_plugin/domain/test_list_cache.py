"""The per-user list cache: what it serves from memory, and the writes it never outlives."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app
from ylai_plugin.domain import list_cache

ALICE = headers("op", "alice")
BOB = headers("op", "bob")


@pytest.fixture
def ttl(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set ``[ylai] list_cache_seconds`` for one test; the next test gets the default again."""

    def set_ttl(seconds: float) -> None:
        monkeypatch.setenv("AIRFLOW__YLAI__LIST_CACHE_SECONDS", str(seconds))
        list_cache.reset()

    yield set_ttl
    monkeypatch.delenv("AIRFLOW__YLAI__LIST_CACHE_SECONDS", raising=False)
    list_cache.reset()


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app()) as c:
        yield c


def _task(client: TestClient, name: str) -> dict[str, Any]:
    resp = client.post(
        "/api/v1/tasks", json={"name": name, "script": "quality_gate", "params": {"rows": 1}}, headers=ALICE
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _listed(client: TestClient, q: str, who: dict[str, str] = ALICE) -> list[dict[str, Any]]:
    resp = client.get("/api/v1/tasks", params={"q": q}, headers=who)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def _set_run_state(dag_id: str, run_id: str, state: str) -> None:
    """What the scheduler does: a write to Airflow's own table, which ylai's counters do not see."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id).values(state=state))


def _listed_with_a_queued_run(client: TestClient, prefix: str) -> tuple[str, dict[str, Any]]:
    """A new task run through the API, listed once (so its answer may be cached): name and run."""
    name = f"{prefix} {uuid.uuid4().hex[:8]}"
    task = _task(client, name)
    run: dict[str, Any] = client.post(f"/api/v1/tasks/{task['id']}/run", headers=ALICE).json()
    assert [t["last_run"]["state"] for t in _listed(client, name)] == ["queued"]
    return name, run


def test_a_run_state_the_scheduler_writes_shows_within_the_ttl(client: TestClient, ttl: Any) -> None:
    ttl(1.5)
    name, run = _listed_with_a_queued_run(client, "cached")

    _set_run_state(run["dag_id"], run["run_id"], "success")
    # served from the cache: the same answer, though the database changed
    assert [t["last_run"]["state"] for t in _listed(client, name)] == ["queued"]
    # ... but never for longer than the TTL
    time.sleep(1.6)
    assert [t["last_run"]["state"] for t in _listed(client, name)] == ["success"]


def test_without_a_ttl_every_answer_is_computed(client: TestClient, ttl: Any) -> None:
    ttl(0)
    name, run = _listed_with_a_queued_run(client, "uncached")
    _set_run_state(run["dag_id"], run["run_id"], "failed")
    assert [t["last_run"]["state"] for t in _listed(client, name)] == ["failed"]
    assert list_cache.get_list_cache() is None


def test_writes_through_ylai_show_in_the_next_answer(client: TestClient, ttl: Any) -> None:
    ttl(300)  # far longer than the test: only the change counters can make these pass
    name = f"fresh {uuid.uuid4().hex[:8]}"
    assert _listed(client, name) == []
    task = _task(client, name)
    assert [t["id"] for t in _listed(client, name)] == [task["id"]]

    patched = client.patch(f"/api/v1/tasks/{task['id']}", json={"description": "edited"}, headers=ALICE)
    assert patched.status_code == 200, patched.text
    assert [t["description"] for t in _listed(client, name)] == ["edited"]

    run = client.post(f"/api/v1/tasks/{task['id']}/run", headers=ALICE).json()
    assert [t["last_run"]["run_id"] for t in _listed(client, name)] == [run["run_id"]]

    assert client.delete(f"/api/v1/tasks/{task['id']}", headers=ALICE).status_code == 204
    assert _listed(client, name) == []


# What another api-server worker, a CLI or a maintenance script does: its own process, its own
# session, plain ORM code that knows nothing about caches (only the start-up call every process
# that writes ylai's tables makes).
OTHER_PROCESS = """
import sys
from airflow.utils.session import create_session
from ylai_plugin.db.generations import install_listeners
from ylai_plugin.db.models import Task

install_listeners()
with create_session() as session:
    session.get(Task, int(sys.argv[1])).description = "edited elsewhere"
"""


def test_a_write_by_another_process_shows_in_the_next_answer(client: TestClient, ttl: Any) -> None:
    import subprocess
    import sys

    from airflow.utils.session import create_session

    from ylai_plugin.db.generations import current

    ttl(300)
    name = f"other {uuid.uuid4().hex[:8]}"
    task = _task(client, name)
    assert [t["description"] for t in _listed(client, name)] == [""]
    with create_session() as session:
        before = current(session, ["tasks", "presets"])
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(task["id"])], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with create_session() as session:
        after = current(session, ["tasks", "presets"])
    assert after == (before[0] + 1, before[1])  # one commit, one raise; other groups untouched
    assert [t["description"] for t in _listed(client, name)] == ["edited elsewhere"]


def test_a_rolled_back_write_raises_nothing(airflow_db: object) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.generations import current
    from ylai_plugin.db.models import Preset

    with create_session() as session:
        before = current(session, ["presets"])
    with create_session() as session:
        session.add(Preset(name="rolled back", dag_id="x", params={}, owner="nobody"))
        session.flush()
        session.rollback()
    with create_session() as session:
        assert current(session, ["presets"]) == before


def test_each_user_gets_their_own_answer(client: TestClient, ttl: Any) -> None:
    ttl(300)
    name = f"mine {uuid.uuid4().hex[:8]}"
    resp = client.post(
        "/api/v1/presets", json={"name": name, "dag_id": "script__disk_usage", "params": {"top": 2}}, headers=ALICE
    )
    assert resp.status_code == 201, resp.text
    query = {"q": name}
    alice = client.get("/api/v1/presets", params=query, headers=ALICE).json()
    bob = client.get("/api/v1/presets", params=query, headers=BOB).json()  # same URL, cached for alice
    assert [p["name"] for p in alice["items"]] == [name]
    assert alice["items"][0]["editable"] is True
    assert bob["items"] == []
    assert bob["total"] == 0


def test_query_parameters_are_part_of_the_key(client: TestClient, ttl: Any) -> None:
    ttl(300)
    name = f"fields {uuid.uuid4().hex[:8]}"
    _task(client, name)
    full = _listed(client, name)[0]
    picked = client.get("/api/v1/tasks", params={"q": name, "fields": "id,name"}, headers=ALICE).json()
    assert picked["items"] == [{"id": full["id"], "name": name}]
    assert "params" in _listed(client, name)[0]


def test_errors_are_not_cached(client: TestClient, ttl: Any) -> None:
    ttl(300)
    for _ in range(2):
        resp = client.get("/api/v1/tasks", params={"fields": "nope"}, headers=ALICE)
        assert resp.status_code == 422
        assert resp.json()["error"]["details"][0]["field"] == "query.fields"
    assert client.get("/api/v1/scripts/no_such_script", headers=ALICE).status_code == 404
    assert client.get("/api/v1/tasks", params={"fields": "id"}, headers=ALICE).status_code == 200


def test_a_script_run_started_through_ylai_shows_in_its_cached_detail(client: TestClient, ttl: Any) -> None:
    ttl(300)
    detail = client.get("/api/v1/scripts/disk_usage", headers=ALICE)
    assert detail.status_code == 200, detail.text
    run = client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 2}}, headers=ALICE)
    assert run.status_code == 201, run.text
    recent = client.get("/api/v1/scripts/disk_usage", headers=ALICE).json()["recent_runs"]
    assert run.json()["run_id"] in [r["run_id"] for r in recent]


def test_an_error_of_the_computation_is_raised_once_with_redis(redis_url: str) -> None:
    """With Redis, the computation's own error is the caller's: not a Redis outage, not computed twice."""
    from ylai_plugin.domain.cache import TtlCache

    calls: list[int] = []

    def compute() -> BaseModel:
        calls.append(1)
        raise LookupError("no such thing")

    cache = TtlCache(30, redis_url, prefix=f"ylai:test:{uuid.uuid4().hex}:")
    with pytest.raises(LookupError):
        cache.get_or_compute_json("k", compute)
    assert calls == [1]


def test_concurrent_counter_reads_share_a_query_but_never_an_older_one() -> None:
    """Callers that arrive while a query runs wait for a new one, and share that one."""
    import threading

    from ylai_plugin.db.generations import _SharedRead

    shared = _SharedRead()
    calls: list[list[str]] = []
    first_running, release = threading.Event(), threading.Event()

    def query(names: list[str]) -> tuple[int, ...]:
        calls.append(names)
        if len(calls) == 1:
            first_running.set()
            assert release.wait(10)
        return (len(calls),)

    results: dict[str, tuple[int, ...]] = {}

    def call(who: str) -> None:
        results[who] = shared(("tasks",), query)

    a = threading.Thread(target=call, args=("a",))
    a.start()
    assert first_running.wait(10)
    late = [threading.Thread(target=call, args=(who,)) for who in ("b", "c")]
    for t in late:
        t.start()
    time.sleep(0.2)  # b and c are queued behind a's query
    release.set()
    for t in [a, *late]:
        t.join(10)
    assert results["a"] == (1,)
    # b and c asked after the first query started: it may miss a write they expect, so they
    # get the second query's answer, which one of them ran for both
    assert results["b"] == results["c"] == (2,)
    assert calls == [["tasks"], ["tasks"]]


def test_the_hit_rate_is_reported_in_monitor_apis(client: TestClient, ttl: Any) -> None:
    ttl(300)
    name = f"counted {uuid.uuid4().hex[:8]}"
    _listed(client, name)  # a miss
    _listed(client, name)  # a hit
    stats = client.get("/api/v1/monitor/apis", headers=ALICE).json()["list_cache"]
    assert stats["backend"] == "memory"
    assert stats["ttl_seconds"] == 300
    assert stats["hits"] >= 1
    assert stats["misses"] >= 1
    assert 0 < stats["hit_rate"] < 1

    ttl(0)
    assert client.get("/api/v1/monitor/apis", headers=ALICE).json()["list_cache"] is None


def test_single_items_follow_writes_through_ylai(client: TestClient, ttl: Any) -> None:
    ttl(300)  # far longer than the test: only the change counters can make these pass
    task = _task(client, f"item {uuid.uuid4().hex[:8]}")
    path = f"/api/v1/tasks/{task['id']}"
    assert client.get(path, headers=ALICE).json()["description"] == ""
    assert client.get(f"{path}/runs", headers=ALICE).json()["total"] == 0

    assert client.patch(path, json={"description": "edited"}, headers=ALICE).status_code == 200
    assert client.get(path, headers=ALICE).json()["description"] == "edited"
    run = client.post(f"{path}/run", headers=ALICE).json()
    assert client.get(path, headers=ALICE).json()["last_run"]["run_id"] == run["run_id"]
    runs = client.get(f"{path}/runs", headers=ALICE).json()
    assert [r["run_id"] for r in runs["items"]] == [run["run_id"]]
    assert runs["total"] == 1
    assert client.delete(path, headers=ALICE).status_code == 204
    assert client.get(path, headers=ALICE).status_code == 404
    assert client.get(f"{path}/runs", headers=ALICE).status_code == 404

    made = client.post(
        "/api/v1/presets",
        json={"name": f"item {uuid.uuid4().hex[:8]}", "dag_id": "script__disk_usage", "params": {"top": 2}},
        headers=ALICE,
    ).json()
    preset = f"/api/v1/presets/{made['id']}"
    assert client.get(preset, headers=ALICE).json()["params"] == {"top": 2}
    assert client.get(preset, headers=BOB).status_code == 404  # alice's private preset; her answer is hers
    assert client.patch(preset, json={"params": {"top": 4}}, headers=ALICE).status_code == 200
    assert client.get(preset, headers=ALICE).json()["params"] == {"top": 4}
    assert client.delete(preset, headers=ALICE).status_code == 204
    assert client.get(preset, headers=ALICE).status_code == 404


def test_a_run_state_the_scheduler_writes_shows_in_a_task_within_the_ttl(client: TestClient, ttl: Any) -> None:
    ttl(1.5)
    task = _task(client, f"item state {uuid.uuid4().hex[:8]}")
    path = f"/api/v1/tasks/{task['id']}"
    run = client.post(f"{path}/run", headers=ALICE).json()
    assert client.get(path, headers=ALICE).json()["last_run"]["state"] == "queued"
    assert [r["state"] for r in client.get(f"{path}/runs", headers=ALICE).json()["items"]] == ["queued"]

    _set_run_state(run["dag_id"], run["run_id"], "success")
    assert client.get(path, headers=ALICE).json()["last_run"]["state"] == "queued"  # cached
    time.sleep(1.6)
    assert client.get(path, headers=ALICE).json()["last_run"]["state"] == "success"
    assert [r["state"] for r in client.get(f"{path}/runs", headers=ALICE).json()["items"]] == ["success"]


def _finished_run_with_log(client: TestClient, script: str, lines: list[str]) -> tuple[str, str, Any]:
    """A run whose one task finished (state success, try 1) with ``lines`` in its log file: path, run id, file."""
    import json
    from pathlib import Path

    from airflow.configuration import conf
    from airflow.models import TaskInstance
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session
    from sqlalchemy import select

    resp = client.post(f"/api/v1/scripts/{script}/run", json={"params": {}}, headers=ALICE)
    assert resp.status_code == 201, resp.text
    dag_id, run_id = resp.json()["dag_id"], resp.json()["run_id"]
    with create_session() as session:
        ti = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)).one()
        ti.state, ti.try_number = "success", 1
        session.flush()
        log_file = Path(conf.get("logging", "base_log_folder")) / TaskLogReader().log_handler._render_filename(ti, 1)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    stamp = "2026-11-28T09:00:00.000000Z"
    log_file.write_text("".join(json.dumps({"timestamp": stamp, "event": e, "level": "info"}) + "\n" for e in lines))
    _set_run_state(dag_id, run_id, "success")
    return f"/api/v1/runs/{dag_id}/{urllib.parse.quote(run_id, safe='')}/logs", run_id, log_file


def _events(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [line["event"] for task in resp.json()["tasks"] for line in task["lines"] if "timestamp" in line]


def test_run_logs_are_cached_for_the_ttl(client: TestClient, ttl: Any) -> None:
    import json

    ttl(1.5)
    path, _, log_file = _finished_run_with_log(client, "disk_usage", ["first line"])
    assert _events(client.get(path, headers=ALICE)) == ["first line"]

    with log_file.open("a") as out:  # a line written after the answer was cached
        out.write(json.dumps({"timestamp": "2026-11-28T09:00:01.000000Z", "event": "late line", "level": "info"}))
        out.write("\n")
    assert _events(client.get(path, headers=ALICE)) == ["first line"]
    time.sleep(1.6)
    assert _events(client.get(path, headers=ALICE)) == ["first line", "late line"]


def test_cached_run_logs_are_never_served_to_a_user_who_may_not_read_the_dag(
    client: TestClient, ttl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.ylai_plugin.api.routes.test_exports import OnlyDiskUsage
    from ylai_plugin.domain import access

    ttl(300)
    path, _, _ = _finished_run_with_log(client, "data_generator", ["secret line"])
    restricted = OnlyDiskUsage(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: restricted)
    assert _events(client.get(path, headers=ALICE)) == ["secret line"]  # cached for alice
    dora = client.get(path, headers=headers("op", "dora"))
    assert dora.status_code == 404
    assert "secret line" not in dora.text


def test_an_answer_bigger_than_the_limit_is_computed_each_time() -> None:
    from ylai_plugin.domain.cache import TtlCache

    class Blob(BaseModel):
        text: str

    calls: list[int] = []

    def compute(size: int) -> Any:
        def run() -> BaseModel:
            calls.append(size)
            return Blob(text="x" * size)

        return run

    cache = TtlCache(300, grace=0.0, prefix="ylai:test:", max_entry_bytes=1000)
    for _ in range(2):
        assert cache.get_or_compute_json("small", compute(10)) == b'{"text":"' + b"x" * 10 + b'"}'
        assert len(cache.get_or_compute_json("big", compute(2000))) == 2000 + len('{"text":""}')
    assert calls == [10, 2000, 2000]
