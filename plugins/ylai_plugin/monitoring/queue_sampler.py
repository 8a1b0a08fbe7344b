"""Celery queue lengths, read from the broker every few seconds by the scheduler.

Task instances say when they were queued and started, so the queue depth Airflow sees is
rebuilt from the metadata database (:mod:`ylai_plugin.domain.timeline`). How many task
messages wait in the broker for a Celery worker only the broker knows, and only now: so with
the CeleryExecutor the scheduler (a lifecycle listener starts this) reads each queue's length
and keeps it in ``ylai_queue_sample``.

Redis brokers only (``redis://``, ``rediss://``, ``unix://``): the length of a queue is the
``LLEN`` of kombu's list for it, summed over its priority lists. A read that fails (the broker
down, another broker) is stored as a row without a length and with the error's type: a gap in
the chart, and the reason in the API. The broker URL holds a password and is never stored or
logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ylai_plugin.monitoring.sampler import INTERVAL_SECONDS, RETENTION

log = logging.getLogger(__name__)
# A broker that does not answer within this long counts as down for this sample.
TIMEOUT_SECONDS = 2.0
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
# kombu's Redis transport: a queue is one list per priority step (kombu.transport.redis).
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)
KOMBU_SEP = "\x06\x16"
_started: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


class UnsupportedBroker(Exception):
    """The broker is not Redis: its queue lengths are not read."""


def celery_configured(executor: str) -> bool:
    """Whether ``[core] executor`` (one executor or a list) includes the CeleryExecutor."""
    return "CeleryExecutor" in executor


def queue_keys(queue: str, options: Mapping[str, Any]) -> list[str]:
    """The Redis lists that hold ``queue``'s messages, as kombu names them."""
    prefix = str(options.get("global_keyprefix") or "")
    sep = str(options.get("sep") or KOMBU_SEP)
    steps = options.get("priority_steps") or KOMBU_PRIORITY_STEPS
    if isinstance(steps, str):
        steps = json.loads(steps)
    return [f"{prefix}{queue}"] + [f"{prefix}{queue}{sep}{step}" for step in steps if int(step)]


def read_lengths(
    broker_url: str, queues: Sequence[str], options: Mapping[str, Any], timeout: float = TIMEOUT_SECONDS
) -> dict[str, int]:
    """The number of messages waiting in each of ``queues``; raises when the broker cannot be read."""
    scheme = urlsplit(broker_url).scheme
    if scheme not in REDIS_SCHEMES:
        raise UnsupportedBroker(scheme)
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        keys = {queue: queue_keys(queue, options) for queue in queues}
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for key in keys[queue]:
                    pipe.llen(key)
            sizes = iter(pipe.execute())
    finally:
        client.close()
    return {queue: sum(int(next(sizes)) for _ in keys[queue]) for queue in queues}


def sample_rows(
    broker_url: str, queues: Iterable[str], options: Mapping[str, Any], now: datetime | None = None
) -> list[dict[str, Any]]:
    """One ``ylai_queue_sample`` row per queue: its length, or no length and the error's type."""
    ts = now or datetime.now(UTC)
    wanted = sorted(set(queues))
    try:
        lengths = read_lengths(broker_url, wanted, options)
    except Exception as exc:  # any failure is a gap, never a crash; the URL is never part of it
        return [{"ts": ts, "queue": q, "length": None, "error": type(exc).__name__} for q in wanted]
    return [{"ts": ts, "queue": q, "length": lengths[q], "error": None} for q in wanted]


def queues_to_sample(session: Any, seen: Iterable[str] = ()) -> list[str]:
    """The default queue, the queues of task instances queued now, and those sampled before."""
    from airflow.configuration import conf
    from airflow.models import TaskInstance
    from sqlalchemy import select

    queued = session.scalars(
        select(TaskInstance.queue).where(TaskInstance.state == "queued", TaskInstance.queue.is_not(None)).distinct()
    ).all()
    return sorted({conf.get("operators", "default_queue"), *queued, *seen})


def broker_options() -> dict[str, Any]:
    """``[celery_broker_transport_options]``: the key prefix and priority steps kombu uses."""
    from airflow.configuration import conf

    return dict(conf.getsection("celery_broker_transport_options") or {})


def store_samples(rows: Sequence[dict[str, Any]], session: Any, *, purge: bool | None = None) -> None:
    """Insert the rows; purge the samples older than :data:`RETENTION` (by default once every 10 minutes)."""
    from sqlalchemy import delete

    from ylai_plugin.db.models import QueueSample

    session.add_all(QueueSample(**row) for row in rows)
    if purge is None:
        purge = int(time.time()) % 600 < INTERVAL_SECONDS
    if rows and purge:
        session.execute(delete(QueueSample).where(QueueSample.ts < rows[0]["ts"] - RETENTION))


def sample_once(seen: set[str]) -> list[dict[str, Any]]:
    """Read the broker once and store what it said (or that it did not answer)."""
    from airflow.configuration import conf
    from airflow.utils.session import create_session

    with create_session() as session:
        queues = queues_to_sample(session, seen)
    rows = sample_rows(conf.get("celery", "broker_url"), queues, broker_options())
    with create_session() as session:
        store_samples(rows, session)
    seen.update(queues)
    return rows


def _loop(interval: float, stop: threading.Event) -> None:
    seen: set[str] = set()
    while not stop.is_set():
        try:
            sample_once(seen)
        except Exception:  # monitoring must never take the scheduler down
            log.warning("ylai: could not store a Celery queue sample", exc_info=True)
        stop.wait(interval)


def start_queue_sampler(interval: float = INTERVAL_SECONDS) -> bool:
    """Start this process's broker sampling thread once; return whether it was started now."""
    with _lock:
        running = _started.get("celery")
        if running is not None and running[0].is_alive():
            return False
        stop = threading.Event()
        thread = threading.Thread(target=_loop, args=(interval, stop), name="ylai-queue-sampler", daemon=True)
        thread.start()
        _started["celery"] = (thread, stop)
        return True


def stop_queue_sampler(timeout: float = 5.0) -> bool:
    """Stop the sampling thread (it ends with its process otherwise); whether it has ended."""
    with _lock:
        running = _started.pop("celery", None)
    if running is None:
        return False
    running[1].set()
    running[0].join(timeout)
    return not running[0].is_alive()
