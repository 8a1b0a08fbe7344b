"""Which dependency an error says is down: the one place that maps driver errors to an outage.

A request that meets a dead metadata database, Celery broker or Redis cache gets a driver
error (SQLAlchemy's ``OperationalError``, redis' ``ConnectionError``, kombu's
``OperationalError``...). :func:`outage_of` recognises them and :func:`unavailable` builds the
:class:`~ylai_plugin.domain.errors.Unavailable` that names the dependency, which the API answers
as 503 with ``Retry-After`` (``ylai_plugin.api.outage``). Nothing here knows HTTP.

The drivers are imported only when an error is checked, and one that is not installed is
skipped: a deployment without Celery has no kombu to ask about.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache
from typing import Literal

from ylai_plugin import config
from ylai_plugin.domain.errors import Text, Unavailable, text

Dependency = Literal["metadata_db", "broker", "cache"]

#: ``(module, class, dependency)``: the errors that mean a dependency does not answer. A subclass
#: counts too (psycopg2's ``QueryCanceled`` is an ``OperationalError``: a statement timeout is
#: the database not answering in time).
OUTAGE_ERRORS: tuple[tuple[str, str, Dependency], ...] = (
    # SQLAlchemy wraps the driver's error; ylai's tables are in Airflow's metadata database.
    ("sqlalchemy.exc", "OperationalError", "metadata_db"),
    ("sqlalchemy.exc", "InterfaceError", "metadata_db"),
    ("sqlalchemy.exc", "DisconnectionError", "metadata_db"),
    ("sqlalchemy.exc", "TimeoutError", "metadata_db"),  # no pooled connection came free in time
    # The drivers' own, when code talks to them directly.
    ("psycopg2", "OperationalError", "metadata_db"),
    ("psycopg2", "InterfaceError", "metadata_db"),
    ("psycopg", "OperationalError", "metadata_db"),
    ("psycopg", "InterfaceError", "metadata_db"),
    # Kombu wraps the broker transport's errors (Redis or RabbitMQ); checked before redis'
    # own, which ylai's API meets only through its cache (and the shared rate limit).
    ("kombu.exceptions", "OperationalError", "broker"),
    ("redis.exceptions", "ConnectionError", "cache"),
    ("redis.exceptions", "TimeoutError", "cache"),
)

#: What each dependency is called, for people (``{seconds}``: when to retry).
MESSAGES: dict[Dependency, Text] = {
    "metadata_db": text(
        "unavailable.metadata_db", "The metadata database is unavailable; retry in {seconds} s", seconds=0
    ),
    "broker": text("unavailable.broker", "The Celery broker is unavailable; retry in {seconds} s", seconds=0),
    "cache": text("unavailable.cache", "Redis (cache) is unavailable; retry in {seconds} s", seconds=0),
}
TIMED_OUT = text(
    "unavailable.timeout", "The request did not finish within {timeout} s; retry in {seconds} s", timeout=0, seconds=0
)


@cache
def error_classes() -> tuple[tuple[type[BaseException], Dependency], ...]:
    """The installed classes of :data:`OUTAGE_ERRORS` with their dependency."""
    found: list[tuple[type[BaseException], Dependency]] = []
    for module_name, class_name, dependency in OUTAGE_ERRORS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):  # that driver is not installed here
            continue
        found.append((cls, dependency))
    return tuple(found)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it was raised from, and the errors of an exception group, depth first."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(getattr(current, "exceptions", ()) or ())  # an ExceptionGroup from a task group
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _direct(exc: BaseException) -> Dependency | None:
    from sqlalchemy.exc import DBAPIError

    for cls, dependency in error_classes():
        if isinstance(exc, cls):
            return dependency
    # Any driver error on a connection SQLAlchemy found dead (and dropped from the pool).
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "metadata_db"
    return None


def outage_of(exc: BaseException, *, follow: bool = False) -> Dependency | None:
    """The dependency ``exc`` says is unavailable, or None for any other error.

    :param follow: also look at what ``exc`` was raised from (an unexpected error whose cause is
        a dropped connection is still the database's outage).
    """
    if isinstance(exc, Unavailable):
        return _known(exc.dependency)
    for found in _chain(exc) if follow else (exc,):
        dependency = _direct(found)
        if dependency is not None:
            return dependency
    return None


def _known(dependency: str | None) -> Dependency | None:
    for known in MESSAGES:
        if dependency == known:
            return known
    return None


def retry_after() -> int:
    """Seconds a client should wait before it retries (``[ylai] retry_after_seconds``)."""
    return max(1, config.RETRY_AFTER_SECONDS.get())


def unavailable(dependency: Dependency) -> Unavailable:
    """The error that says ``dependency`` is unavailable, with when to retry."""
    seconds = retry_after()
    message = Text(MESSAGES[dependency].key, MESSAGES[dependency].template, {"seconds": seconds})
    details = {"dependency": dependency, "retry_after": seconds}
    return Unavailable(message, dependency=dependency, retry_after=seconds, details=details)


def timed_out(timeout: float, dependency: Dependency | None) -> Unavailable:
    """The error of a request that took longer than ``timeout`` s; ``dependency`` when one was found down.

    ``details`` says both: ``{"dependency": "metadata_db" or None, "retry_after": 5, "timeout": 30.0}``.
    """
    seconds = retry_after()
    details = {"dependency": dependency, "retry_after": seconds, "timeout": timeout}
    if dependency is not None:
        message = Text(MESSAGES[dependency].key, MESSAGES[dependency].template, {"seconds": seconds})
    else:
        message = Text(TIMED_OUT.key, TIMED_OUT.template, {"timeout": f"{timeout:g}", "seconds": seconds})
    return Unavailable(message, dependency=dependency, retry_after=seconds, details=details)
