"""The rate limit's token buckets: in process, and in the real Redis through the Lua script."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from ylai_plugin.domain import rate_limit
from ylai_plugin.domain.breakers import Breaker
from ylai_plugin.domain.rate_limit import MemoryBucket, RateLimiter, RedisBucket


def test_memory_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    bucket = MemoryBucket(rate=2.0, burst=3)
    assert [bucket.take("u", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("u", now=0.0) == pytest.approx(0.5)
    assert bucket.take("other", now=0.0) == 0.0  # buckets are per user
    assert bucket.take("u", now=0.5) == 0.0
    assert bucket.take("u", now=0.5) > 0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url, socket_timeout=2)
    yield c
    c.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    p = f"ylai-test:ratelimit:{uuid.uuid4().hex[:10]}:"
    yield p
    for key in client.scan_iter(p + "*"):
        client.delete(key)


def test_redis_bucket_allows_a_burst_then_refills_at_the_rate(client: redis.Redis, prefix: str) -> None:
    bucket = RedisBucket(client=client, rate=2.0, burst=3, prefix=prefix)
    assert [bucket.take("u", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("u", now=100.0) == pytest.approx(0.5)
    assert bucket.take("other", now=100.0) == 0.0  # buckets are per user
    assert bucket.take("u", now=100.5) == 0.0  # half a second refilled one token
    assert bucket.take("u", now=100.5) == pytest.approx(0.5)
    assert bucket.take("u", now=200.0) == 0.0  # refilled, but never above the burst:
    assert [bucket.take("u", now=200.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]
    # The key expires once the bucket would be full again: idle users leave nothing behind.
    ttl_ms = int(client.pttl(prefix + "u"))  # type: ignore[arg-type]
    assert 0 < ttl_ms <= 3 / 2.0 * 1000 + 1000


def test_redis_bucket_uses_the_server_clock_by_default(client: redis.Redis, prefix: str) -> None:
    bucket = RedisBucket(client=client, rate=1 / 60, burst=2, prefix=prefix)
    assert bucket.take("u") == 0.0
    assert bucket.take("u") == 0.0
    wait = bucket.take("u")
    assert 55 < wait <= 60  # the next token is about a minute away on the server's clock


def test_redis_bucket_is_one_bucket_for_many_clients_taking_at_once(redis_url: str, prefix: str) -> None:
    """Several processes' clients taking at the same moment never get more than the burst."""
    results: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        c = redis.Redis.from_url(redis_url, socket_timeout=5)
        bucket = RedisBucket(client=c, rate=0.001, burst=25, prefix=prefix)
        got = [bucket.take("shared") for _ in range(10)]
        with lock:
            results.extend(got)
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert sum(1 for wait in results if wait == 0.0) == 25


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed on return: nothing listens there


def test_limiter_uses_redis_when_configured(redis_url: str, prefix: str, client: redis.Redis) -> None:
    limiter = RateLimiter(rate=1.0, burst=2, redis_url=redis_url, prefix=prefix, breaker=_breaker([0.0]))
    other_worker = RateLimiter(rate=1.0, burst=2, redis_url=redis_url, prefix=prefix, breaker=_breaker([0.0]))
    assert limiter.backend == "redis"
    assert limiter.take("u") == 0.0
    assert other_worker.take("u") == 0.0
    assert limiter.take("u") > 0  # the second worker took from the same bucket
    assert client.exists(prefix + "u")


def test_limiter_without_redis_keeps_buckets_in_process() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, redis_url="")
    assert limiter.backend == "memory"
    assert limiter.take("u") == 0.0
    assert limiter.take("u") > 0


def _breaker(clock: list[float]) -> Breaker:
    return Breaker(
        "test-rate-limit",
        dependency="redis",
        failure_threshold=2,
        open_seconds=30,
        half_open_calls=1,
        clock=lambda: clock[0],
    )


def test_limiter_degrades_to_memory_when_redis_is_down_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = [1000.0]
    breaker = _breaker(clock)
    limiter = RateLimiter(rate=1.0, burst=2, redis_url=f"redis://127.0.0.1:{_dead_port()}/0", breaker=breaker)
    with caplog.at_level(logging.WARNING, logger=rate_limit.__name__):
        assert limiter.take("u") == 0.0  # the request goes on
        assert limiter.backend == "memory"
        assert limiter.take("u") == 0.0
        assert limiter.take("u") > 0  # still limited, per process
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    # Two failures opened the breaker: the third request did not try Redis at all.
    snapshot = breaker.snapshot()
    assert breaker.state == "open"
    assert snapshot.failures == 2
    assert snapshot.rejected == 1


def test_limiter_goes_back_to_redis_once_the_breaker_lets_a_trial_through(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [1000.0]
    breaker = _breaker(clock)
    limiter = RateLimiter(rate=1.0, burst=5, redis_url=redis_url, prefix=prefix, breaker=breaker)
    for _ in range(2):
        breaker.admit().failure(ConnectionError("test"))
    limiter._degraded = True
    assert breaker.snapshot().state == "open"
    assert limiter.take("u") == 0.0  # from memory: the breaker is open
    assert limiter.backend == "memory"
    clock[0] += 31  # the open period is over: the next request is the trial call
    with caplog.at_level(logging.WARNING, logger=rate_limit.__name__):
        assert limiter.take("u") == 0.0
    assert breaker.snapshot().state == "closed"
    assert str(limiter.backend) == "redis"  # str(): mypy narrowed it to "memory" above
    assert any("back in Redis" in r.getMessage() for r in caplog.records)


def test_get_limiter_reads_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("AIRFLOW__YLAI__RATE_LIMIT_BURST", "7")
    monkeypatch.setenv("AIRFLOW__YLAI__CACHE_URL", "")
    previous = rate_limit.set_limiter(None)
    try:
        limiter = rate_limit.get_limiter()
        assert limiter.memory.rate == pytest.approx(1 / 60)  # below 1 counts as 1
        assert limiter.memory.burst == 7
        assert limiter.backend == "memory"
        assert rate_limit.get_limiter() is limiter
    finally:
        rate_limit.set_limiter(previous)
