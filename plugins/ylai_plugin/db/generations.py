"""Change counters for groups of ylai's tables (``ylai_generation``), raised on every write.

An ``after_flush`` listener notes which groups a transaction wrote (any insert, update or
delete of one of their tables, whatever code path did it), and a ``before_commit`` listener
raises those counters in the same transaction. Readers put the counters in cache keys: a list
cached before a write is never served after it, on any api-server worker (see
:mod:`ylai_plugin.domain.list_cache`).

The listeners apply to every ORM ``Session`` of the process, so importing this module does not
install them: a process that writes ylai's tables calls :func:`install_listeners` once at
start-up. The API's app factory (:func:`ylai_plugin.api.app.create_app`, every api-server
worker) does; so must a script of one's own that writes tasks, presets or scripts.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from ylai_plugin.db.models import Generation

# Which counter a table's writes raise. A task's last run lives in ylai_task_run, so a new run
# of a task changes the task list too.
TABLE_GROUPS = {
    "ylai_task": "tasks",
    "ylai_task_run": "tasks",
    "ylai_preset": "presets",
    "ylai_script": "scripts",
    "ylai_script_version": "scripts",
    "ylai_pipeline": "pipelines",
    "ylai_pipeline_version": "pipelines",
}
# Where a session keeps the groups its transaction changed, until it commits.
PENDING = "ylai_changed_groups"


def changed_groups(objects: Iterable[Any]) -> set[str]:
    """The groups whose tables hold any of ``objects`` (ORM instances)."""
    return {g for obj in objects if (g := TABLE_GROUPS.get(getattr(obj, "__tablename__", ""))) is not None}


def mark_changed(session: Session, *groups: str) -> None:
    """Have the session's commit raise the counters of ``groups``.

    For changes the flush listener cannot see, such as a DAG run a route triggers.
    """
    session.info.setdefault(PENDING, set()).update(groups)


def bump(session: Session, *groups: str) -> None:
    """Raise the counters of ``groups`` now, in the session's transaction."""
    conn = session.connection()
    for name in sorted(set(groups)):
        done = conn.execute(update(Generation).where(Generation.name == name).values(value=Generation.value + 1))
        if not done.rowcount:  # the migration seeds every group; this covers a database seeded before a new group
            conn.execute(insert(Generation).values(name=name, value=1))


def current(session: Session, groups: Iterable[str]) -> tuple[int, ...]:
    """The counters of ``groups``, in the order given (0 for a group without a row)."""
    names = list(groups)
    return _ordered(names, session.execute(_query(tuple(names))).all())


class _SharedRead:
    """Concurrent callers share one query, without ever getting an answer older than their call.

    A caller may take the result of a query that *started after* it arrived: that query saw
    every write committed before the caller asked. Callers queue for the lock; the one that
    gets it either finds such a result or runs the query for everyone behind it. Under load,
    a burst of list requests costs one or two queries instead of one per request, and no
    more than one pooled connection (16 requests each taking a connection overflowed
    Airflow's pool of 5: a new Postgres connection per request).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, ...], tuple[float, tuple[int, ...]]] = {}

    def __call__(self, names: tuple[str, ...], query: Callable[[list[str]], tuple[int, ...]]) -> tuple[int, ...]:
        arrived = time.monotonic()
        with self._lock:
            last = self._last.get(names)
            if last is not None and last[0] > arrived:
                return last[1]
            started = time.monotonic()
            values = query(list(names))
            self._last[names] = (started, values)
            return values


_shared_read = _SharedRead()


def read(groups: Iterable[str]) -> tuple[int, ...]:
    """:func:`current` for a cached list request: shared by concurrent callers, on a bare connection.

    Every cached list request asks for the counters, so this skips the ORM session, its
    commit and the listeners above (a read needs none of them), and concurrent requests share
    one query (:class:`_SharedRead`).
    """
    return _shared_read(tuple(groups), _query_engine)


def _query_engine(names: list[str]) -> tuple[int, ...]:
    from airflow import settings

    if settings.engine is None:  # not configured in this process (some CLI paths): use a session
        from airflow.utils.session import create_session

        with create_session() as session:
            return current(session, names)
    with settings.engine.connect() as conn:
        return _ordered(names, conn.execute(_query(tuple(names))).all())


@functools.lru_cache(maxsize=64)
def _query(names: tuple[str, ...]) -> Any:
    # One statement object per set of groups: SQLAlchemy memoizes a statement's cache key on the
    # object, and building a new select per request recomputed it, a third of the read's cost.
    return select(Generation.name, Generation.value).where(Generation.name.in_(names))


def _ordered(names: list[str], rows: Iterable[Any]) -> tuple[int, ...]:
    found = {row[0]: row[1] for row in rows}
    return tuple(int(found.get(name, 0)) for name in names)


def _note_changes(session: Session, _flush_context: Any) -> None:
    # In after_flush, new/dirty/deleted still list what this flush wrote.
    groups = changed_groups(itertools.chain(session.new, session.dirty, session.deleted))
    if groups:
        session.info.setdefault(PENDING, set()).update(groups)


def _bump_before_commit(session: Session) -> None:
    # Raised last, just before COMMIT, in name order: the counter rows are the last locks a
    # writer takes, so two writers cannot deadlock on them (raising them in after_flush could,
    # in a transaction that flushes twice). The commit's own flush runs after this event, so
    # flush first to see everything.
    session.flush()
    groups = session.info.pop(PENDING, None)
    if groups:
        bump(session, *groups)


def _forget_changes(session: Session) -> None:
    session.info.pop(PENDING, None)


_LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("after_flush", _note_changes),
    ("before_commit", _bump_before_commit),
    ("after_rollback", _forget_changes),
)


def install_listeners() -> None:
    """Have every ORM session of this process raise the counters of the groups it writes.

    Call at start-up of a process that writes ylai's tables; calling it again does nothing.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def listeners_installed() -> bool:
    """Whether :func:`install_listeners` ran in this process."""
    return all(event.contains(Session, name, listener) for name, listener in _LISTENERS)
