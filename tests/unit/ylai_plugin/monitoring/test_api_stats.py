from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin.api.app import create_app
from ylai_plugin.monitoring import histogram
from ylai_plugin.monitoring.api_stats import ApiStatsMiddleware, ApiStatsRecorder, summarize


class TestHistogram:
    def test_buckets_have_ten_percent_resolution(self) -> None:
        for ms in (0.5, 3.0, 42.0, 999.0, 30_000.0):
            upper = histogram.upper_bound(histogram.bucket_of(ms))
            assert ms <= upper < ms * 1.11

    def test_percentiles_of_merged_histograms(self) -> None:
        a: dict[str, int] = {}
        b: dict[str, int] = {}
        for ms in range(1, 51):
            key = str(histogram.bucket_of(float(ms)))
            a[key] = a.get(key, 0) + 1
        for ms in range(51, 101):
            key = str(histogram.bucket_of(float(ms)))
            b[key] = b.get(key, 0) + 1
        merged = histogram.merge([a, b])
        assert sum(merged.values()) == 100
        p50, p95, p99 = (histogram.percentile(merged, p) for p in (0.5, 0.95, 0.99))
        assert p50 == pytest.approx(50, rel=0.1)
        assert p95 == pytest.approx(95, rel=0.1)
        assert p99 == pytest.approx(99, rel=0.1)
        assert histogram.percentile({}, 0.5) is None


@pytest.fixture
def clean_stats(airflow_db: object) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import ApiStat, WorkerSample

    with create_session() as session:
        session.execute(delete(ApiStat))
        session.execute(delete(WorkerSample))


def test_recorder_adds_to_its_rows_and_summaries_merge_workers(clean_stats: None) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.db.models import ApiStat

    now = time.time()
    first, second = ApiStatsRecorder(), ApiStatsRecorder()
    second.worker = "other-host:1"
    for ms in (5.0, 5.0, 5.0, 200.0):
        first.record("GET", "/api/v2/dags", 200, ms, now=now)
    first.record("GET", "/api/v2/dags", 500, 10.0, now=now)
    assert first.flush() == 1
    first.record("GET", "/api/v2/dags", 404, 10.0, now=now)
    first.flush()
    second.record("GET", "/api/v2/dags", 200, 5.0, now=now)
    second.flush()
    with create_session() as session:
        rows = list(session.scalars(select(ApiStat)).all())
        assert len(rows) == 2  # one row per worker and minute
        (summary,) = summarize(rows)
    assert summary["requests"] == 7
    assert summary["error_rate"] == round(1 / 7, 4)
    assert summary["client_error_rate"] == round(1 / 7, 4)
    assert summary["p50_ms"] == pytest.approx(5, rel=0.1)
    assert summary["p99_ms"] == pytest.approx(200, rel=0.1)


def test_middleware_records_route_templates_not_raw_paths() -> None:
    import ylai_plugin.monitoring.api_stats as api_stats

    recorder = ApiStatsRecorder()
    recorder._ensure_flusher = lambda: None  # type: ignore[method-assign]  # keep it in memory
    app = FastAPI()

    @app.get("/api/v2/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @app.get("/other")
    def other() -> dict[str, int]:
        return {}

    app.add_middleware(ApiStatsMiddleware)
    original = api_stats.recorder
    api_stats.recorder = recorder
    try:
        with TestClient(app) as client:
            assert client.get("/api/v2/things/17").status_code == 200
            assert client.get("/api/v2/things/nope").status_code == 422
            assert client.get("/api/v2/missing").status_code == 404
            assert client.get("/other").status_code == 200
    finally:
        api_stats.recorder = original
    keys = {(method, route): cell for (_, method, route), cell in recorder._cells.items()}
    assert set(keys) == {("GET", "/api/v2/things/{thing_id}"), ("GET", "<unmatched>")}
    assert keys[("GET", "/api/v2/things/{thing_id}")].count == 2
    assert keys[("GET", "/api/v2/things/{thing_id}")].client_errors == 1


def test_system_monitor_reports_hosts_with_history(clean_stats: None) -> None:
    from datetime import UTC, datetime, timedelta

    from ylai_plugin.domain.cache import get_cache
    from ylai_plugin.monitoring.sampler import store_sample, take_sample

    for age in (50, 30, 10):
        sample = take_sample("celery-worker")
        store_sample({**sample, "host": "worker-a", "ts": datetime.now(UTC) - timedelta(seconds=age)})
    old = take_sample("celery-worker")
    store_sample({**old, "host": "worker-b", "ts": datetime.now(UTC) - timedelta(minutes=10)})
    get_cache().clear()
    with TestClient(create_app(), headers=headers("viewer", "watcher")) as client:
        body = client.get("/api/v1/monitor/system", params={"window_minutes": 60}).json()
    hosts = {h["host"]: h for h in body["hosts"]}
    assert set(hosts) == {"worker-a", "worker-b"}
    assert hosts["worker-a"]["alive"] is True
    assert hosts["worker-b"]["alive"] is False
    assert body["workers_alive"] == 1
    assert len(hosts["worker-a"]["history"]) == 3
    assert 0 <= hosts["worker-a"]["latest"]["cpu_percent"] <= 100
    assert hosts["worker-a"]["kinds"] == ["celery-worker"]
    assert hosts["worker-a"]["mem_total_bytes"] > 0


def test_api_monitor_endpoint_and_cache_hit_rate(clean_stats: None) -> None:
    from ylai_plugin.domain.cache import get_cache
    from ylai_plugin.monitoring.api_stats import recorder

    recorder.record("POST", "/api/v2/dags/{dag_id}/dagRuns", 200, 30.0)
    recorder.flush()  # what the flusher thread does every few seconds
    get_cache().clear()
    with TestClient(create_app(), headers=headers("viewer", "watcher")) as client:
        first = client.get("/api/v1/monitor/apis").json()
        second = client.get("/api/v1/monitor/apis").json()
    route = next(r for r in first["routes"] if r["route"] == "/api/v2/dags/{dag_id}/dagRuns")
    assert route["requests"] == 1
    assert route["method"] == "POST"
    assert second["cache"]["hits"] >= first["cache"]["hits"] + 1
    assert 0 < second["cache"]["hit_rate"] <= 1


def test_monitor_cache_in_redis_is_shared_between_processes(redis_url: str) -> None:
    import uuid

    from pydantic import BaseModel

    from ylai_plugin.domain.cache import TtlCache

    class Value(BaseModel):
        n: int

    key = uuid.uuid4().hex
    first, second = TtlCache(30, redis_url), TtlCache(30, redis_url)  # two api-server workers
    calls: list[int] = []

    def compute() -> Value:
        calls.append(1)
        return Value(n=len(calls))

    before_hits, before_misses = first.counters()
    assert first.get_or_compute(key, Value, compute) == Value(n=1)
    assert second.get_or_compute(key, Value, compute) == Value(n=1)  # served from Redis
    assert calls == [1]
    hits, misses = second.counters()
    assert hits >= before_hits + 1
    assert misses >= before_misses + 1
    assert first.backend == "redis"


def test_monitor_cache_falls_back_to_memory_when_redis_is_down() -> None:
    from pydantic import BaseModel

    from ylai_plugin.domain.cache import TtlCache

    class Value(BaseModel):
        n: int

    cache = TtlCache(30, "redis://127.0.0.1:1/0")
    assert cache.get_or_compute("k", Value, lambda: Value(n=1)) == Value(n=1)
    assert cache.get_or_compute("k", Value, lambda: Value(n=2)) == Value(n=1)
