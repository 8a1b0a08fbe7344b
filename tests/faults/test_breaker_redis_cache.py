"""The cache's Redis killed and restarted: its breaker opens, the cache serves from memory without
calling Redis, and once Redis answers a trial call closes the breaker and Redis is shared again.

A dedicated ``redis-server`` (never the shared one); the breaker's clock is injected.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from tests.faults.services import DedicatedRedis
from ylai_plugin import config
from ylai_plugin.domain import breakers
from ylai_plugin.domain.cache import TtlCache, redis_breaker


class Value(BaseModel):
    n: int


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    clock = Clock()
    breakers.reset(clock)
    yield clock
    breakers.reset()


@pytest.fixture
def redis() -> Iterator[DedicatedRedis]:
    server = DedicatedRedis()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_the_cache_bypasses_a_dead_redis_at_once_and_uses_it_again_after_the_probe(
    redis: DedicatedRedis, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = TtlCache(30, redis.url, prefix=f"ylai:test:{uuid.uuid4().hex}:")
    assert cache.get_or_compute("shared", Value, lambda: Value(n=1)) == Value(n=1)
    assert cache.counters() == (0, 1)  # read from Redis
    breaker = redis_breaker(redis.url)
    assert breaker.name == f"redis-cache:127.0.0.1:{redis.port}"
    assert breaker.state == breakers.CLOSED
    assert not cache.degraded

    redis.kill()
    threshold = config.BREAKER_FAILURE_THRESHOLD.get()
    for i in range(threshold):  # each request still gets its answer, computed in this process
        assert cache.get_or_compute(f"k{i}", Value, lambda i=i: Value(n=i)) == Value(n=i)  # type: ignore[misc]
    assert breaker.state == breakers.OPEN
    assert cache.degraded
    assert breaker.snapshot().last_error == "ConnectionError"

    # Open: no request touches Redis (so none waits on its timeouts); memory serves.
    touched: list[int] = []
    real_client = cache._client

    def counting_client() -> Any:
        touched.append(1)
        return real_client()

    monkeypatch.setattr(cache, "_client", counting_client)
    assert cache.get_or_compute("k0", Value, lambda: Value(n=99)) == Value(n=0)  # the memory entry
    assert cache.get_or_compute("new", Value, lambda: Value(n=5)) == Value(n=5)
    cache.counters()
    assert touched == []
    assert breaker.snapshot().rejected >= 3

    # Redis back; after the open period the next request is the trial: it reaches Redis and closes the breaker.
    redis.start()
    clock.now += config.BREAKER_OPEN_SECONDS.get()
    assert breaker.state == breakers.HALF_OPEN
    assert cache.get_or_compute("after", Value, lambda: Value(n=7)) == Value(n=7)
    assert touched != []
    assert breaker.state == breakers.CLOSED
    assert not cache.degraded
    other_worker = TtlCache(30, redis.url, prefix=cache.prefix)
    assert other_worker.get_or_compute("after", Value, lambda: Value(n=8)) == Value(n=7)  # shared through Redis again
