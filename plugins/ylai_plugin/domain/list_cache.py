"""A short-lived cache of list and item answers, per user, that a write through ylai never outlives.

A list answer (``GET /tasks``, ``/presets``, ``/scripts``, ``/scripts/{name}``) costs several
queries and 50 serialized items; a single item (``GET /tasks/{id}``, ``/tasks/{id}/runs``,
``/presets/{id}``) costs fewer, but still the DAG-permission check, the secret-param lookup and
its run queries; a dashboard or a script polling one asks for the same answer again and again.
The cache keeps the JSON of each answer for ``[ylai] list_cache_seconds``
(default 2 s; 0 turns it off) under a key made of:

- the user (type and id), so nobody is ever served another user's answer;
- the route and its query string;
- the change counters of the tables the answer reads (:mod:`ylai_plugin.db.generations`),
  which every insert, update or delete raises in its own transaction.

So a task, preset or script created, edited, deleted or run through ylai shows in the very
next list, on every api-server worker. What the counters do not see is at most the TTL old:
run states the scheduler writes, and permission or role changes (FAB itself caches a user's
permissions for 30 s). Entries live in Redis when ``[ylai] cache_url`` is set, shared by every
worker, else in each process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from ylai_plugin import config
from ylai_plugin.domain.cache import TtlCache, cache_key, in_own_session

PREFIX = "ylai:lists:"
MAX_ENTRY_BYTES = 1024 * 1024  # a bigger answer (a long log, a page of 500) is computed each time

_cache: TtlCache | None = None


def get_list_cache() -> TtlCache | None:
    """The process's list cache, or None when ``[ylai] list_cache_seconds`` is 0."""
    global _cache
    if _cache is None:
        ttl = config.LIST_CACHE_SECONDS.get()
        if ttl <= 0:
            return None
        # No grace: an expired entry is never served, so an answer is at most the TTL old. Single
        # flight still holds: when it expires under load, one request recomputes, the rest wait.
        _cache = TtlCache(
            ttl,
            config.CACHE_URL.get() or None,
            grace=0.0,
            prefix=PREFIX,
            max_entry_bytes=MAX_ENTRY_BYTES,
        )
    return _cache


def reset() -> None:
    """Forget the configured cache (tests change ``list_cache_seconds``)."""
    global _cache
    _cache = None


def cached_json(
    path: str,
    query: Iterable[tuple[str, str]],
    user: Any,
    groups: Iterable[str],
    compute: Callable[[Any], BaseModel],
) -> bytes:
    """The JSON of ``compute(session)``, from the cache when an entry for this request is fresh.

    :param path: the request's path and ``query`` its parameters: with the user, they name the answer.
    :param groups: the change-counter groups (tables) the answer reads.

    ``compute`` opens no session of its own: it gets one, only on a miss. Errors it raises
    (:class:`~ylai_plugin.domain.errors.Invalid` for an unknown field, ``NotFound``) reach the
    caller and are never cached.
    """
    cache = get_list_cache()
    if cache is None:
        return in_own_session(compute)().model_dump_json().encode()
    from ylai_plugin.db.generations import read

    names = sorted(set(groups))
    counters = read(names) if names else ()
    key = cache_key(path, sorted(query), type(user).__name__, user.get_id(), names, counters)
    return cache.get_or_compute_json(key, in_own_session(compute))
