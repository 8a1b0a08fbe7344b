"""A TTL cache for monitor aggregates: Redis when ``[ylai] cache_url`` is set, else in-process.

With Redis, every api-server worker shares the entries and the hit/miss counters, so
``/monitor/apis`` reports the hit rate of the whole deployment.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

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


def _is_redis_error(exc: BaseException) -> bool:
    import redis

    return isinstance(exc, redis.RedisError | OSError)


class MonitorCache:
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
        self._flights: dict[str, threading.Lock] = {}
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

    def _flight(self, key: str) -> threading.Lock:
        """The lock that lets one thread of this process compute ``key``."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                if len(self._flights) > 1024:  # bound memory: forget the locks nobody holds
                    for old in [k for k, lock in self._flights.items() if not lock.locked()]:
                        del self._flights[old]
                flight = self._flights[key] = threading.Lock()
            return flight

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
                return self._redis_get(key, compute)
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
        if raw is not None and (fresh is not None or not self._redis_may_refresh(key)):
            client.incr(self.prefix + "hits")
            return _Entry(raw=raw)
        if raw is not None:  # stale, and this caller holds both the process and the deployment lock
            try:
                return self._redis_compute(key, compute)
            finally:
                self._flight(key).release()
                with contextlib.suppress(Exception):  # the lock key expires anyway
                    client.delete(self.prefix + "lock:" + key)
        with self._flight(key):
            raw, fresh = client.mget(value_key, fresh_key)
            if raw is not None and fresh is not None:  # computed while this caller waited
                client.incr(self.prefix + "hits")
                return _Entry(raw=raw)
            return self._redis_compute(key, compute)

    def _redis_may_refresh(self, key: str) -> bool:
        """Take the process's and the deployment's refresh lock of ``key``, without waiting."""
        flight = self._flight(key)
        if not flight.acquire(blocking=False):
            return False
        lock_ms = int(max(self.grace, 1.0) * 1000)
        try:
            if self._client().set(self.prefix + "lock:" + key, b"1", nx=True, px=lock_ms):
                return True
        except Exception:
            flight.release()
            raise
        flight.release()
        return False

    def _redis_compute(self, key: str, compute: Callable[[], BaseModel]) -> _Entry:
        client = self._client()
        client.incr(self.prefix + "misses")
        entry = _entry(compute())
        if not self._storable(entry):
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
        flight = self._flight(key)
        if found and age is not None and age < self.ttl + self.grace:
            if not flight.acquire(blocking=False):  # someone is refreshing it: serve the stale value
                self._count(hit=True)
                return found[1]
            try:
                return self._memory_compute(key, compute)
            finally:
                flight.release()
        with flight:
            found = self._lookup(key)
            if found and time.monotonic() - found[0] < self.ttl:  # computed while this caller waited
                self._count(hit=True)
                return found[1]
            return self._memory_compute(key, compute)

    def _memory_compute(self, key: str, compute: Callable[[], BaseModel]) -> _Entry:
        self._count(hit=False)
        entry = _entry(compute())
        if not self._storable(entry):
            return entry
        now = time.monotonic()
        with self._lock:
            self._data[key] = (now, entry)
            if len(self._data) > 256:  # bound memory: drop the oldest half
                for old in sorted(self._data, key=lambda k: self._data[k][0])[:128]:
                    del self._data[old]
        return entry

    def _storable(self, entry: _Entry) -> bool:
        return self.max_entry_bytes is None or len(entry.raw) <= self.max_entry_bytes

    def counters(self) -> tuple[int, int]:
        """(hits, misses), deployment-wide with Redis."""
        if self.url:
            try:
                hits, misses = self._client().mget(self.prefix + "hits", self.prefix + "misses")
                return int(hits or 0), int(misses or 0)
            except Exception:
                log.warning("ylai: cannot read cache counters from Redis", exc_info=True)
        return self._hits, self._misses

    def clear(self) -> None:
        """Forget every entry (tests, and after configuration changes)."""
        with self._lock:
            self._data.clear()
        if self.url:
            client = self._client()
            for key in client.scan_iter(self.prefix + "*"):
                client.delete(key)


_cache: MonitorCache | None = None


def get_cache(ttl: float = 10.0) -> MonitorCache:
    """The process's monitor cache, configured from ``[ylai] cache_url``."""
    global _cache
    if _cache is None:
        from airflow.configuration import conf

        _cache = MonitorCache(ttl, conf.get("ylai", "cache_url", fallback="") or None)
    return _cache
