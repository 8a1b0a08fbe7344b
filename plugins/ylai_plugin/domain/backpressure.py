"""Backpressure: a limit on the task instances waiting in each executor queue.

A run request through ylai (``POST /scripts/{name}/run``, ``POST /tasks/{id}/run``) adds task
instances to the queues of its DAG's tasks. Once a queue already holds its limit, the request is
refused with :class:`~ylai_plugin.domain.errors.Overloaded` (the API's 429 with ``Retry-After``)
instead of piling more work on a backlog the workers cannot drain.

What counts as waiting in a queue (its *depth*): the task instances of that queue that wait for a
worker, that is those

- ``queued``: handed to the executor (with Celery: a message in the broker), not started yet;
- ``scheduled``: ready to run, waiting for a pool slot or the DAG's ``max_active_tasks``;
- of runs not started yet (run state ``queued``, task state none): runs accepted but held back
  by the DAG's ``max_active_runs`` or a paused DAG, each of whose task instances will need the queue.

Running task instances, those waiting for a retry, and the later tasks of a running pipeline
(task state none in a running run) do not count. Runs Airflow's scheduler creates on a schedule
are never refused or dropped: they count towards the depth and wait their turn through Airflow's
own pools, ``max_active_runs`` and ``max_active_tasks``.

The depth is read from the metadata database with one grouped count and kept per process for
:data:`DEPTH_TTL_SECONDS`, so a storm of run requests does not hammer the database; runs admitted
by this process are added to it at once, so requests through one worker never overshoot. Other
workers' runs show after at most :data:`DEPTH_TTL_SECONDS`: the limit is exact per process and
may be passed by what other workers admit within that time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ylai_plugin import config
from ylai_plugin.domain.errors import Overloaded, text

log = logging.getLogger(__name__)

DEPTH_TTL_SECONDS = 2.0


@dataclass(frozen=True)
class QueueLoad:
    """One queue's depth and limit (``0``: no limit)."""

    queue: str
    depth: int
    limit: int

    @property
    def full(self) -> bool:
        """Whether a run request that adds to this queue is refused now."""
        return self.limit > 0 and self.depth >= self.limit


def default_queue() -> str:
    """Airflow's ``[operators] default_queue``: the queue of tasks that name none."""
    from airflow.configuration import conf

    return str(conf.get("operators", "default_queue", fallback="default"))


def parse_limits(raw: str) -> dict[str, int]:
    """``"gpu=10, default=500"`` as ``{"gpu": 10, "default": 500}``; malformed pairs are logged and skipped."""
    limits: dict[str, int] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        queue, sep, value = part.partition("=")
        try:
            if not sep or not queue.strip():
                raise ValueError(part)
            limits[queue.strip()] = max(int(value.strip()), 0)
        except ValueError:
            log.warning("ylai: [ylai] queue_limits: ignoring %r (expected queue=number)", part.strip())
    return limits


def limit_of(queue: str) -> int:
    """The limit of ``queue``: its entry in ``[ylai] queue_limits``, else ``max_queued_per_queue``; 0 = none."""
    overrides = parse_limits(config.QUEUE_LIMITS.get())
    if queue in overrides:
        return overrides[queue]
    return max(config.MAX_QUEUED_PER_QUEUE.get(), 0)


def count_waiting(session: Any) -> dict[str, int]:
    """Each queue's depth now, read from the metadata database (queues with none are left out)."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import and_, func, select

    ti = TaskInstance
    # Two grouped counts, each on an indexed state column (ti_state, dag_run's state index).
    ready = (
        select(ti.queue, func.count())
        .where(ti.state.in_([TaskInstanceState.SCHEDULED, TaskInstanceState.QUEUED]))
        .group_by(ti.queue)
    )
    not_started = (
        select(ti.queue, func.count())
        .join(DagRun, and_(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id))
        .where(DagRun.state == DagRunState.QUEUED, ti.state.is_(None))
        .group_by(ti.queue)
    )
    depths: Counter[str] = Counter()
    for statement in (ready, not_started):
        for queue, count in session.execute(statement):
            depths[str(queue)] += int(count)
    return dict(depths)


def queues_of(dag: Any) -> dict[str, int]:
    """How many task instances a new run of ``dag`` adds to each queue."""
    fallback = default_queue()
    return dict(Counter(str(getattr(task, "queue", None) or fallback) for task in dag.tasks))


class DepthCache:
    """The depths of the queues, read at most once per ``ttl`` per process, plus this process's admissions."""

    def __init__(self, *, ttl: float = DEPTH_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._depths: dict[str, int] = {}
        self._read_at: float | None = None
        # Held while reading the database too: concurrent requests wait for one count instead of
        # each running it (the point of the cache under a storm).
        self._lock = threading.Lock()

    def _fresh(self, session: Any) -> dict[str, int]:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.ttl:
            self._depths = count_waiting(session)
            self._read_at = now
        return self._depths

    def depths(self, session: Any) -> dict[str, int]:
        """Each queue's depth, at most ``ttl`` old."""
        with self._lock:
            return dict(self._fresh(session))

    @contextmanager
    def admission(self, session: Any, adds: Mapping[str, int]) -> Iterator[None]:
        """Refuse with :class:`Overloaded` when a queue of ``adds`` is full; else count ``adds`` in.

        The check and the count are one step, so concurrent requests in this process cannot
        both take the last place. When the block raises (the run was not created after all),
        the places are given back.
        """
        with self._lock:
            depths = self._fresh(session)
            for queue in sorted(adds):
                load = QueueLoad(queue=queue, depth=depths.get(queue, 0), limit=limit_of(queue))
                if load.full:
                    raise queue_full(load)
            for queue, count in adds.items():
                depths[queue] = depths.get(queue, 0) + count
        try:
            yield
        except BaseException:
            with self._lock:
                for queue, count in adds.items():
                    if queue in self._depths:
                        self._depths[queue] = max(self._depths[queue] - count, 0)
            raise

    def clear(self) -> None:
        """Forget the depths read (tests, and after configuration changes)."""
        with self._lock:
            self._depths, self._read_at = {}, None


def queue_full(load: QueueLoad) -> Overloaded:
    """The error refusing a run because ``load``'s queue is full."""
    seconds = max(config.QUEUE_FULL_RETRY_AFTER.get(), 1)
    message = text(
        "queue_full",
        "Queue {queue!r} is full: {depth} task instances are waiting and its limit is {limit}; retry in {seconds} s",
        queue=load.queue,
        depth=load.depth,
        limit=load.limit,
        seconds=seconds,
    )
    details = {"queue": load.queue, "depth": load.depth, "limit": load.limit, "retry_after": seconds}
    return Overloaded(message, retry_after=seconds, details=details)


_cache = DepthCache()


def admission(session: Any, dag: Any) -> Any:
    """Context manager around creating a run of ``dag``: :class:`Overloaded` when one of its queues is full."""
    return _cache.admission(session, queues_of(dag))


def loads(session: Any) -> list[QueueLoad]:
    """Depth and limit of the default queue, every queue with a limit of its own and every queue in use.

    Read fresh from the database (the Monitor page's figures), sorted by queue name.
    """
    depths = count_waiting(session)
    names = {default_queue(), *parse_limits(config.QUEUE_LIMITS.get()), *depths}
    return [QueueLoad(queue=name, depth=depths.get(name, 0), limit=limit_of(name)) for name in sorted(names)]


def clear() -> None:
    """Forget the cached depths of this process."""
    _cache.clear()
