"""Per-user token buckets: in Redis when ``[ylai] cache_url`` is set, in process otherwise.

In Redis the buckets are shared by every api-server worker and pod.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a second; a request takes
one. In process, each api-server worker has its own buckets, so with ``N`` workers (and pods) a
user gets up to ``N`` times the rate: :class:`RedisBucket` keeps one bucket per user for the
whole deployment instead. One Lua script reads, refills and takes atomically on the Redis
server, with the server's clock (``TIME``), so workers with skewed clocks agree.

Redis failing (down, slow beyond the short socket timeout) never fails a request: the limiter
degrades to the in-process buckets and says so once in the log; a circuit breaker stops it
trying Redis on every request until a trial call finds it back. No HTTP here: the API turns a
wait into its 429.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from ylai_plugin import config
from ylai_plugin.domain import breakers
from ylai_plugin.domain.breakers import Breaker

T = TypeVar("T")

log = logging.getLogger(__name__)

KEY_PREFIX = "ylai:ratelimit:"
# Redis must answer within this or the request goes on with the in-process bucket: a rate limit
# may never make the API slow.
SOCKET_TIMEOUT = 0.5
BREAKER_NAME = "redis-rate-limit"
CLIENT_NAME = "ylai-rate-limit"

# KEYS[1]: the bucket (a hash of tokens and the time they were counted).
# ARGV: rate (tokens/s), burst, and optionally "now" in seconds (tests); else the server's TIME.
# Returns the wait in seconds as a string (Lua numbers become integers in a reply), "0" = taken.
# The key expires once a full bucket would have refilled, so idle users leave nothing behind.
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


class MemoryBucket:
    """Per-key token buckets in this process: ``rate`` tokens per second, up to ``burst``."""

    backend: Literal["memory"] = "memory"

    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            if len(self._state) > 100_000:  # bound memory: forget the full (idle) buckets
                full = [k for k, (t, _) in self._state.items() if t >= self.burst - 1]
                for old in full:
                    del self._state[old]
            return (1 - tokens) / self.rate


class RedisBucket:
    """Per-key token buckets in Redis, taken atomically by :data:`TAKE_SCRIPT`.

    :param client: a ``redis.Redis`` client (with short socket timeouts).
    :param prefix: prepended to each key, so deployments (and tests) sharing a Redis never mix.
    """

    backend: Literal["redis"] = "redis"

    def __init__(self, *, client: Any, rate: float, burst: int, prefix: str = KEY_PREFIX) -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self.client = client  # other per-user counters of the same Redis (the beacon's daily cap)
        self._script = client.register_script(TAKE_SCRIPT)

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token; 0 when allowed, else the seconds until one is available.

        :param now: seconds on any clock, for tests; by default the Redis server's clock.
        :raises redis.RedisError: Redis did not answer (the caller degrades).
        """
        args: list[Any] = [repr(self.rate), self.burst]
        if now is not None:
            args.append(repr(now))
        return float(self._script(keys=[self.prefix + key], args=args))


class RateLimiter:
    """Redis buckets when configured, the in-process ones otherwise or while Redis fails.

    Calls to Redis go through a circuit breaker (:mod:`ylai_plugin.domain.breakers`, named
    ``redis-rate-limit``): after ``[ylai] breaker_failure_threshold`` failures in a row it opens
    and requests take their tokens in process without trying Redis (no socket timeout paid per
    request) until a trial call after ``breaker_open_seconds`` finds Redis back.

    :param redis_url: Redis URL, or empty for in-process buckets only.
    :param breaker: the breaker to use (tests); by default the process's ``redis-rate-limit``.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        redis_url: str = "",
        prefix: str = KEY_PREFIX,
        breaker: Breaker | None = None,
    ) -> None:
        self.memory = MemoryBucket(rate=rate, burst=burst)
        self.redis: RedisBucket | None = None
        self.breaker: Breaker | None = None
        if redis_url:
            import redis

            # Named per process, so Redis's CLIENT LIST shows which api-server workers share the buckets.
            client = redis.Redis.from_url(
                redis_url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                client_name=f"{CLIENT_NAME}-{os.getpid()}",
            )
            self.redis = RedisBucket(client=client, rate=rate, burst=burst, prefix=prefix)
            self.breaker = breaker or breakers.get_breaker(BREAKER_NAME, dependency="redis")
        self._degraded = False

    @property
    def backend(self) -> Literal["redis", "memory"]:
        """Where the buckets are now: ``redis``, or ``memory`` (not configured, or degraded)."""
        if self.redis is None or self._degraded:
            return "memory"
        return "redis"

    def take(self, key: str) -> float:
        """Take a token of ``key``; 0 when allowed, else the seconds until one is available."""
        wait = self.through_redis(lambda bucket: bucket.take(key))
        return self.memory.take(key) if wait is None else wait

    def through_redis(self, call: Callable[[RedisBucket], T]) -> T | None:
        """``call(redis bucket)`` through the breaker; ``None`` when Redis is not configured or away.

        For every counter that is shared in Redis and kept per process while Redis is away (the
        buckets, the usage beacon's daily cap): one breaker and one log line per outage for all.
        """
        if self.redis is None or self.breaker is None:
            return None
        try:
            with self.breaker.guard(counts=is_redis_error):
                result = call(self.redis)
        except breakers.BreakerOpen:
            return None  # Redis is known to be away: no socket timeout paid per call
        except Exception as exc:
            if not is_redis_error(exc):
                raise
            self._degrade(exc)
            return None
        self._recover()
        return result

    def _degrade(self, exc: BaseException) -> None:
        if not self._degraded:  # once per outage, not once per request
            self._degraded = True
            log.warning(
                "ylai: rate limit buckets in Redis unavailable (%s); using per-process buckets (and per-process "
                "usage caps) until Redis answers",
                type(exc).__name__,
            )

    def _recover(self) -> None:
        if self._degraded:
            self._degraded = False
            log.warning("ylai: rate limit buckets back in Redis")


def is_redis_error(exc: BaseException) -> bool:
    """Whether ``exc`` says Redis did not answer (the caller degrades), not a bug of ours."""
    import redis

    return isinstance(exc, redis.RedisError | OSError)


_limiter: RateLimiter | None = None
_limiter_lock = threading.Lock()


def get_limiter() -> RateLimiter:
    """The process's limiter, from ``[ylai] rate_limit_per_minute``, ``rate_limit_burst`` and ``cache_url``.

    Values below 1 count as 1.
    """
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            _limiter = RateLimiter(
                rate=max(config.RATE_LIMIT_PER_MINUTE.get(), 1) / 60.0,
                burst=max(config.RATE_LIMIT_BURST.get(), 1),
                redis_url=config.CACHE_URL.get(),
            )
        return _limiter


def set_limiter(limiter: RateLimiter | None) -> RateLimiter | None:
    """Replace the process's limiter (tests; ``None`` reads the configuration again); the previous one."""
    global _limiter
    with _limiter_lock:
        previous, _limiter = _limiter, limiter
    return previous
