"""A TTL cache of computed answers: Redis when ``[ylai] cache_url`` is set, else in-process.

One class serves the monitor aggregates (:func:`get_cache`) and the per-user list answers
(:mod:`ylai_plugin.domain.list_cache`). With Redis, every api-server worker shares the entries
and the hit/miss counters, so ``/monitor/apis`` reports the hit rate of the whole deployment.
Redis calls go through a circuit breaker (:func:`redis_breaker`): when Redis keeps failing, the
cache serves from this process's memory without trying Redis until the breaker's probe time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from ylai_plugin import config
from ylai_plugin.domain.breakers import CLOSED, Breaker, BreakerOpen, get_breaker

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
PREFIX = "ylai:monitor:"


def cache_key(*parts: Any) -> str:
    """A short, stable key for any mix of strings, numbers and sets."""
    text = "|".join(",".join(sorted(map(str, p))) if isinstance(p, set | frozenset) else str(p) for p in parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Entry:
    """A cached value: its JSON (what responses send) and, in memory, the model itself."""

    raw: bytes
    value: BaseModel | None = None

    def model(self, model: type[M]) -> M:
        if isinstance(self.value, model):
            return self.value
        return model.model_validate_json(self.raw)


def _entry(value: BaseModel) -> _Entry:
    return _Entry(raw=value.model_dump_json().encode(), value=value)


class _Flight:
    """One key's computations in this process: the lock its callers take in turn, and a hand-off.

    An answer too big to store (``max_entry_bytes``) is kept here while callers that queued
    for it still wait, so they take it instead of computing it again one after another; the
    last caller to leave drops it, so it never outlives the queue.
    """

    __slots__ = ("entry", "lock", "stored_at", "waiting")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = 0  # callers between _joined()'s entry and exit; guarded by the cache's lock
        self.entry: _Entry | None = None
        self.stored_at = 0.0

    def shared(self, ttl: float) -> _Entry | None:
        """The handed-off answer, if it is as fresh as a stored one would have to be."""
        entry = self.entry
        if entry is not None and time.monotonic() - self.stored_at < ttl:
            return entry
        return None


def in_own_session(compute: Callable[..., BaseModel], *args: Any) -> Callable[[], BaseModel]:
    """``compute(session, *args)`` in a session of its own, for a cache to call on a miss.

    Routes answered from a cache take no session: a hit, the usual case for a polled page,
    then never opens one (with Airflow's ``SessionDep`` every request paid two more trips to
    the thread pool for its set-up and tear-down).
    """

    def run() -> BaseModel:
        from airflow.utils.session import create_session

        with create_session() as session:
            return compute(session, *args)

    return run


def redis_breaker(url: str) -> Breaker:
    """The circuit breaker of the caches' Redis at ``url``, shared by the monitor and list caches.

    Named ``redis-cache:<host>:<port>`` (never the URL: it may hold a password). While it is
    open, the caches serve from this process's memory (the degradation they always had when
    Redis failed) without calling Redis, so requests do not wait out its timeouts.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return get_breaker(f"redis-cache:{parts.hostname or 'localhost'}:{parts.port or 6379}", dependency="redis")


def _is_redis_error(exc: BaseException) -> bool:
    import redis

    return isinstance(exc, redis.RedisError | OSError)


class TtlCache:
    """``get_or_compute`` with a TTL, single-flight computation and hit/miss counters.

    Single flight: when a key is missing, one caller per process computes it and the others
    wait for that result instead of running the same aggregate query in parallel (a stampede
    when a dashboard's entry expires under load). Stale while revalidate: for ``grace``
    seconds after the TTL an expired value is still served to everyone but the one caller
    that refreshes it (with Redis, one caller per deployment, through a short lock key), so
    only that caller waits for the query. Served values are thus at most ``ttl`` old, or
    ``ttl`` plus one computation while a refresh runs.

    Values are kept as JSON too: :meth:`get_or_compute_json` hands a route the bytes to send,
    so a hit costs neither a query nor a serialization.
    """

    def __init__(
        self,
        ttl: float,
        url: str | None = None,
        grace: float | None = None,
        prefix: str = PREFIX,
        max_entry_bytes: int | None = None,
    ) -> None:
        self.ttl = ttl
        self.prefix = prefix
        # Answers bigger than this are computed each time, not stored: a run's logs can be
        # megabytes, and the in-process store keeps up to 256 entries.
        self.max_entry_bytes = max_entry_bytes
        self.grace = 6 * ttl if grace is None else grace
        self.url = url
        self._hits = 0
        self._misses = 0
        self._data: dict[str, tuple[float, _Entry]] = {}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        self._redis: Any = None

    @property
    def backend(self) -> Literal["redis", "memory"]:
        """``redis`` or ``memory``."""
        return "redis" if self.url else "memory"

    def _client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.url or "", socket_timeout=1, socket_connect_timeout=1)
        return self._redis

    @contextlib.contextmanager
    def _joined(self, key: str) -> Iterator[_Flight]:
        """The flight of ``key``, counted as waited on by this caller until the block ends."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                if len(self._flights) > 1024:  # bound memory: forget the flights nobody is in
                    for old in [k for k, f in self._flights.items() if not f.waiting]:
                        del self._flights[old]
                flight = self._flights[key] = _Flight()
            flight.waiting += 1
        try:
            yield flight
        finally:
            with self._lock:
                flight.waiting -= 1
                if not flight.waiting:
                    flight.entry = None  # nobody left to hand it to

    def _count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1

    def get_or_compute(self, key: str, model: type[M], compute: Callable[[], M]) -> M:
        """Return the cached value or compute, store and return it."""
        return self._get(key, compute).model(model)

    def get_or_compute_json(self, key: str, compute: Callable[[], BaseModel]) -> bytes:
        """Like :meth:`get_or_compute`, but the value's JSON, ready to send."""
        return self._get(key, compute).raw

    def _get(self, key: str, compute: Callable[[], BaseModel]) -> _Entry:
        if self.url:
            try:
                with redis_breaker(self.url).guard(counts=_is_redis_error):
                    return self._redis_get(key, compute)
            except BreakerOpen:
                pass  # Redis keeps failing: go straight to this process's cache, no wait on Redis timeouts
            except Exception as exc:  # Redis down: serve from this process rather than fail
                if not _is_redis_error(exc):
                    raise  # the computation's own error (a 404, a 422): the caller's to see
                log.warning("ylai: monitor cache in Redis unavailable; using memory", exc_info=True)
        return self._memory_get(key, compute)

    # --- Redis: the value lives ttl + grace, a "fresh" marker ttl; counters are shared ---

    def _redis_get(self, key: str, compute: Callable[[], BaseModel]) -> _Entry:
        client = self._client()
        value_key, fresh_key = self.prefix + key, self.prefix + "fresh:" + key
        raw, fresh = client.mget(value_key, fresh_key)
        if raw is not None and fresh is not None:
            client.incr(self.prefix + "hits")
            return _Entry(raw=raw)
        with self._joined(key) as flight:
            if raw is not None:  # stale: one caller per process and per deployment refreshes it
                if flight.lock.acquire(blocking=False):
                    try:
                        if self._redis_lock(key):
                            try:
                                return self._redis_compute(key, compute, flight)
                            finally:
                                with contextlib.suppress(Exception):  # the lock key expires anyway
                                    client.delete(self.prefix + "lock:" + key)
                    finally:
                        flight.lock.release()
                client.incr(self.prefix + "hits")
                return _Entry(raw=raw)
            with flight.lock:
                raw, fresh = client.mget(value_key, fresh_key)
                shared = flight.shared(self.ttl)
                if (raw is not None and fresh is not None) or shared is not None:  # computed meanwhile
                    client.incr(self.prefix + "hits")
                    return _Entry(raw=raw) if shared is None else shared
                return self._redis_compute(key, compute, flight)

    def _redis_lock(self, key: str) -> bool:
        """Take the deployment's refresh lock of ``key``, without waiting."""
        lock_ms = int(max(self.grace, 1.0) * 1000)
        return bool(self._client().set(self.prefix + "lock:" + key, b"1", nx=True, px=lock_ms))

    def _redis_compute(self, key: str, compute: Callable[[], BaseModel], flight: _Flight) -> _Entry:
        client = self._client()
        client.incr(self.prefix + "misses")
        entry = _entry(compute())
        if not self._storable(entry, flight):
            return entry
        pipe = client.pipeline(transaction=False)
        pipe.set(self.prefix + key, entry.raw, px=int((self.ttl + self.grace) * 1000))
        pipe.set(self.prefix + "fresh:" + key, b"1", px=int(self.ttl * 1000))
        pipe.execute()
        return entry

    # --- in-process ---

    def _lookup(self, key: str) -> tuple[float, _Entry] | None:
        with self._lock:
            return self._data.get(key)

    def _memory_get(self, key: str, compute: Callable[[], BaseModel]) -> _Entry:
        found = self._lookup(key)
        age = time.monotonic() - found[0] if found else None
        if found and age is not None and age < self.ttl:
            self._count(hit=True)
            return found[1]
        with self._joined(key) as flight:
            if found and age is not None and age < self.ttl + self.grace:
                if not flight.lock.acquire(blocking=False):  # someone is refreshing it: serve it stale
                    self._count(hit=True)
                    return found[1]
                try:
                    return self._memory_compute(key, compute, flight)
                finally:
                    flight.lock.release()
            with flight.lock:
                found = self._lookup(key)
                shared = flight.shared(self.ttl)
                if found and time.monotonic() - found[0] < self.ttl:  # computed while this caller waited
                    shared = found[1]
                if shared is not None:
                    self._count(hit=True)
                    return shared
                return self._memory_compute(key, compute, flight)

    def _memory_compute(self, key: str, compute: Callable[[], BaseModel], flight: _Flight) -> _Entry:
        self._count(hit=False)
        entry = _entry(compute())
        if not self._storable(entry, flight):
            return entry
        now = time.monotonic()
        with self._lock:
            self._data[key] = (now, entry)
            if len(self._data) > 256:  # bound memory: drop the oldest half
                for old in sorted(self._data, key=lambda k: self._data[k][0])[:128]:
                    del self._data[old]
        return entry

    def _storable(self, entry: _Entry, flight: _Flight) -> bool:
        """Whether to store ``entry``; if it is too big, hand it to the callers queued behind."""
        if self.max_entry_bytes is None or len(entry.raw) <= self.max_entry_bytes:
            return True
        with self._lock:
            if flight.waiting > 1:  # not just this caller
                flight.entry, flight.stored_at = entry, time.monotonic()
        return False

    def counters(self) -> tuple[int, int]:
        """(hits, misses), deployment-wide with Redis."""
        if self.url:
            try:
                with redis_breaker(self.url).guard(counts=_is_redis_error):
                    hits, misses = self._client().mget(self.prefix + "hits", self.prefix + "misses")
                return int(hits or 0), int(misses or 0)
            except BreakerOpen:
                pass
            except Exception:
                log.warning("ylai: cannot read cache counters from Redis", exc_info=True)
        return self._hits, self._misses

    @property
    def degraded(self) -> bool:
        """Whether Redis is configured but its circuit breaker is open: this process's cache serves."""
        return bool(self.url) and redis_breaker(self.url or "").state != CLOSED

    def clear(self) -> None:
        """Forget every entry (tests, and after configuration changes)."""
        with self._lock:
            self._data.clear()
        if self.url:
            client = self._client()
            for key in client.scan_iter(self.prefix + "*"):
                client.delete(key)


_cache: TtlCache | None = None


def get_cache(ttl: float = 10.0) -> TtlCache:
    """The process's monitor cache, configured from ``[ylai] cache_url``."""
    global _cache
    if _cache is None:
        _cache = TtlCache(ttl, config.CACHE_URL.get() or None)
    return _cache
