"""Per-request costs the load benchmark exposed: secret-param masking and monitor cache stampedes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app
from ylai_plugin.domain.cache import TtlCache


class Value(BaseModel):
    n: int


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers("op", "masker")) as c:
        yield c


def test_secret_params_are_read_once_per_dag_version(client: TestClient) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.domain import dags

    dags._secrets_cache.clear()  # earlier test modules may have cached an older version of the DAG
    with create_session() as session:
        first = dags.secret_params(["script__data_generator", "script__disk_usage", "no_such_dag"], session)
        cached = {key for key in dags._secrets_cache if key[0] == "script__data_generator"}
        again = dags.secret_params(["script__data_generator"], session)
    assert first == {
        "script__data_generator": frozenset({"api_token"}),
        "script__disk_usage": frozenset(),
        "no_such_dag": frozenset(),
    }
    assert again == {"script__data_generator": frozenset({"api_token"})}
    assert len(cached) == 1  # keyed by the serialized DAG's hash: a new version gets a new entry

    for n in range(3):  # many rows of one DAG, masked with one lookup per request
        resp = client.post(
            "/api/v1/presets",
            json={"name": f"masked {n}", "dag_id": "script__data_generator", "params": {"api_token": "s3cret"}},
        )
        assert resp.status_code == 201, resp.text
    items = client.get("/api/v1/presets", params={"q": "masked"}).json()["items"]
    assert len(items) == 3
    assert all(p["params"] == {"api_token": "***"} for p in items)


def _blocking_compute(calls: list[int], started: threading.Event, release: threading.Event) -> Callable[[], Value]:
    """A computation that counts its calls, says it started, and waits to be released."""

    def compute() -> Value:
        calls.append(1)
        started.set()
        release.wait(10)
        return Value(n=len(calls))

    return compute


def test_concurrent_misses_compute_once_and_wait_for_the_result() -> None:
    cache = TtlCache(ttl=30)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []
    compute = _blocking_compute(calls, started, release)

    results: list[Value] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", Value, compute)))]
    threads[0].start()
    assert started.wait(10)
    threads += [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", Value, compute)))]
    threads += [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", Value, compute)))]
    for t in threads[1:]:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert calls == [1]
    assert results == [Value(n=1)] * 3
    assert cache.counters() == (2, 1)


@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize(("ttl", "computations"), [(30.0, 1), (0.0, 3)])
def test_an_answer_too_big_to_store_goes_to_the_callers_that_waited_for_it(
    backend: str, ttl: float, computations: int, request: pytest.FixtureRequest
) -> None:
    """Not stored, yet computed once for a queue of callers, if it is no older than the TTL."""
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    cache = TtlCache(ttl, url, grace=0.0, prefix=f"ylai:test:{uuid.uuid4().hex}:", max_entry_bytes=3)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []
    compute = _blocking_compute(calls, started, release)  # '{"n":1}': over the 3-byte limit

    results: list[Value] = []

    def call() -> None:
        results.append(cache.get_or_compute("k", Value, compute))

    try:
        threads = [threading.Thread(target=call) for _ in range(3)]
        threads[0].start()
        assert started.wait(10)
        for t in threads[1:]:
            t.start()
        deadline = time.monotonic() + 10
        while cache._flights["k"].waiting < 3 and time.monotonic() < deadline:  # all three queued
            time.sleep(0.01)
        release.set()
        for t in threads:
            t.join(10)
        assert len(calls) == computations
        assert sorted(r.n for r in results) == ([1, 1, 1] if computations == 1 else [1, 2, 3])
        assert cache._flights["k"].entry is None  # the queue is gone, and the answer with it
        assert cache.get_or_compute("k", Value, compute) == Value(n=computations + 1)  # never stored
        assert cache.counters() == (3 - computations, computations + 1)
    finally:
        release.set()
        cache.clear()


def test_an_expired_value_is_served_while_one_caller_refreshes_it() -> None:
    cache = TtlCache(ttl=0.0, grace=600)  # every value is expired at once, and stale for 10 min
    assert cache.get_or_compute("k", Value, lambda: Value(n=1)) == Value(n=1)
    refreshing, release = threading.Event(), threading.Event()

    def slow_refresh() -> Value:
        refreshing.set()
        release.wait(10)
        return Value(n=2)

    refresher = threading.Thread(target=lambda: cache.get_or_compute("k", Value, slow_refresh))
    refresher.start()
    assert refreshing.wait(10)
    # Another caller does not wait for the refresh: it gets the previous value at once.
    assert cache.get_or_compute("k", Value, lambda: Value(n=99)) == Value(n=1)
    release.set()
    refresher.join(10)
    assert cache.get_or_compute("k", Value, lambda: Value(n=3)) == Value(n=3)  # expired again: refreshed


def test_without_a_usable_value_there_is_no_stale_answer() -> None:
    cache = TtlCache(ttl=0.0, grace=0.0)
    assert cache.get_or_compute("k", Value, lambda: Value(n=1)) == Value(n=1)
    assert cache.get_or_compute("k", Value, lambda: Value(n=2)) == Value(n=2)
