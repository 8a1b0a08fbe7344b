"""A TTL cache for monitor aggregates: Redis when ``[ylai] cache_url`` is set, else in-process.

With Redis, every api-server worker shares the entries and the hit/miss counters, so
``/monitor/apis`` reports the hit rate of the whole deployment.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
PREFIX = "ylai:monitor:"


def cache_key(*parts: Any) -> str:
    """A short, stable key for any mix of strings, numbers and sets."""
    text = "|".join(",".join(sorted(map(str, p))) if isinstance(p, set | frozenset) else str(p) for p in parts)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class MonitorCache:
    """``get_or_compute`` with a TTL and hit/miss counters."""

    def __init__(self, ttl: float, url: str | None = None) -> None:
        self.ttl = ttl
        self.url = url
        self._hits = 0
        self._misses = 0
        self._data: dict[str, tuple[float, BaseModel]] = {}
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

    def get_or_compute(self, key: str, model: type[M], compute: Callable[[], M]) -> M:
        """Return the cached value or compute, store and return it."""
        if self.url:
            try:
                return self._redis_get_or_compute(key, model, compute)
            except Exception:  # Redis down: serve from this process rather than fail
                log.warning("ylai: monitor cache in Redis unavailable; using memory", exc_info=True)
        return self._memory_get_or_compute(key, compute)

    def _redis_get_or_compute(self, key: str, model: type[M], compute: Callable[[], M]) -> M:
        client = self._client()
        raw = client.get(PREFIX + key)
        if raw is not None:
            client.incr(PREFIX + "hits")
            return model.model_validate_json(raw)
        client.incr(PREFIX + "misses")
        value = compute()
        client.set(PREFIX + key, value.model_dump_json(), px=int(self.ttl * 1000))
        return value

    def _memory_get_or_compute(self, key: str, compute: Callable[[], M]) -> M:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                self._hits += 1
                return hit[1]  # type: ignore[return-value]
            self._misses += 1
        value = compute()
        with self._lock:
            self._data[key] = (now, value)
            if len(self._data) > 256:  # bound memory: drop the oldest half
                for old in sorted(self._data, key=lambda k: self._data[k][0])[:128]:
                    del self._data[old]
        return value

    def counters(self) -> tuple[int, int]:
        """(hits, misses), deployment-wide with Redis."""
        if self.url:
            try:
                hits, misses = self._client().mget(PREFIX + "hits", PREFIX + "misses")
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
            for key in client.scan_iter(PREFIX + "*"):
                client.delete(key)


_cache: MonitorCache | None = None


def get_cache(ttl: float = 10.0) -> MonitorCache:
    """The process's monitor cache, configured from ``[ylai] cache_url``."""
    global _cache
    if _cache is None:
        from airflow.configuration import conf

        _cache = MonitorCache(ttl, conf.get("ylai", "cache_url", fallback="") or None)
    return _cache
