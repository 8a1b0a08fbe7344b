"""Celery queue lengths: read from a real Redis as kombu stores them, stored, and served with their gaps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ylai_plugin.domain.timeline import Window
from ylai_plugin.monitoring import figures, queue_sampler, sampler

T0 = datetime(2024, 4, 2, 8, 0, 0, tzinfo=UTC)


def test_queue_keys_follow_kombu() -> None:
    assert queue_sampler.queue_keys("default", {}) == [
        "default",
        "default\x06\x163",
        "default\x06\x166",
        "default\x06\x169",
    ]
    options = {"global_keyprefix": "af:", "priority_steps": "[0, 5]", "sep": ":"}
    assert queue_sampler.queue_keys("q", options) == ["af:q", "af:q:5"]


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    import redis

    name = f"ylai-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    client.delete(*queue_sampler.queue_keys(name, {}))
    client.close()


def test_lengths_sum_a_queues_priority_lists(redis_url: str, queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.rpush(queue_name, "a", "b", "c")
    client.rpush(f"{queue_name}\x06\x166", "d", "e")
    client.close()
    empty = f"{queue_name}-empty"
    assert queue_sampler.read_lengths(redis_url, [queue_name, empty], {}) == {queue_name: 5, empty: 0}
    rows = queue_sampler.sample_rows(redis_url, [queue_name, queue_name], {}, now=T0)
    assert rows == [{"ts": T0, "queue": queue_name, "length": 5, "error": None}]


def test_a_broker_that_is_down_or_not_redis_gives_rows_without_length() -> None:
    down = queue_sampler.sample_rows("redis://:secret@127.0.0.1:1/0", ["default", "heavy"], {}, now=T0)
    assert down == [
        {"ts": T0, "queue": "default", "length": None, "error": "ConnectionError"},
        {"ts": T0, "queue": "heavy", "length": None, "error": "ConnectionError"},
    ]
    amqp = queue_sampler.sample_rows("amqp://guest:guest@localhost:5672//", ["default"], {}, now=T0)
    assert amqp == [{"ts": T0, "queue": "default", "length": None, "error": "UnsupportedBroker"}]
    assert "secret" not in str(down)


def test_sample_once_reads_the_configured_broker_and_stores_the_rows(
    airflow_db: object, redis_url: str, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    from ylai_plugin.db.models import QueueSample

    redis.Redis.from_url(redis_url).rpush(queue_name, "x", "y")
    monkeypatch.setenv("AIRFLOW__CELERY__BROKER_URL", redis_url)
    seen = {queue_name}
    rows = queue_sampler.sample_once(seen)
    assert {r["queue"]: r["length"] for r in rows}[queue_name] == 2
    assert "default" in seen  # the default queue is always read
    with create_session() as session:
        stored = session.execute(
            select(QueueSample.queue, QueueSample.length).where(QueueSample.queue == queue_name)
        ).all()
        session.execute(delete(QueueSample).where(QueueSample.ts == rows[0]["ts"]))
    assert [tuple(r) for r in stored] == [(queue_name, 2)]


@pytest.fixture
def samples(airflow_db: object) -> Iterator[Any]:
    """Store rows of ``(seconds after T0, queue, length, error)``; removed afterwards."""
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import QueueSample

    def clear() -> None:
        with create_session() as session:
            session.execute(delete(QueueSample).where(QueueSample.ts < T0 + timedelta(days=1)))

    def add(*rows: tuple[float, str, int | None, str | None]) -> None:
        with create_session() as session:
            queue_sampler.store_samples(
                [{"ts": T0 + timedelta(seconds=s), "queue": q, "length": n, "error": e} for s, q, n, e in rows],
                session,
            )

    clear()
    yield add
    clear()


def _celery(now_seconds: float) -> dict[str, Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return figures.celery_queue_figures(
            session, Window.last(1, now=T0 + timedelta(seconds=now_seconds)), "CeleryExecutor"
        )


def test_celery_figures_keep_the_gaps_and_say_why(samples: Any) -> None:
    samples(
        (1, "default", 3, None),
        (5, "default", 4, None),  # the highest of the point wins
        (21, "default", None, "ConnectionError"),  # the broker was down: a gap
        (41, "default", 2, None),
        (41, "heavy", 7, None),
    )
    body = _celery(50)
    assert (body["status"], body["detail"], body["last_sample"]) == ("ok", None, T0 + timedelta(seconds=41))
    queues = {q["queue"]: q for q in body["queues"]}
    assert [p["length"] for p in queues["default"]["points"]] == [None, 4, None, None, None, 2, None]
    assert queues["default"]["points"][0]["ts"] == T0 - timedelta(seconds=10)
    assert [p["length"] for p in queues["heavy"]["points"]] == [None, None, None, None, None, 7, None]
    assert (queues["default"]["latest"], queues["heavy"]["latest"]) == (2, 7)

    samples((51, "default", None, "TimeoutError"), (51, "heavy", None, "TimeoutError"))
    down = _celery(55)
    assert (down["status"], down["detail"]) == ("unreachable", "TimeoutError")
    assert [q["latest"] for q in down["queues"]] == [None, None]
    assert _celery(51 + 31)["status"] == "no_samples"


def test_celery_figures_without_celery_or_samples(samples: Any) -> None:
    from airflow.utils.session import create_session

    with create_session() as session:
        local = figures.celery_queue_figures(session, Window.last(15, now=T0), "LocalExecutor")
    assert local == {
        "status": "not_configured",
        "detail": "executor is LocalExecutor",
        "last_sample": None,
        "queues": [],
    }
    none = _celery(0)
    assert (none["status"], none["queues"]) == ("no_samples", [])
    assert "scheduler" in none["detail"]


def test_store_purges_samples_past_the_retention(samples: Any) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.db.models import QueueSample

    samples((0, "default", 1, None), (60, "default", 1, None))
    later = T0 + sampler.RETENTION + timedelta(seconds=30)
    with create_session() as session:
        row = {"ts": later, "queue": "default", "length": 0, "error": None}
        queue_sampler.store_samples([row], session, purge=True)
    with create_session() as session:
        kept = session.scalars(select(QueueSample.ts).where(QueueSample.ts < T0 + timedelta(days=2))).all()
    assert sorted(kept) == [T0 + timedelta(seconds=60), later]


def test_the_sampler_thread_starts_once_and_survives_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    calls: list[set[str]] = []
    twice = threading.Event()

    def sample_once(seen: set[str]) -> list[dict[str, Any]]:
        calls.append(seen)
        if len(calls) >= 2:
            twice.set()
        raise RuntimeError("the metadata database is gone")

    monkeypatch.setattr(queue_sampler, "sample_once", sample_once)
    assert queue_sampler.start_queue_sampler(interval=0.01) is True
    try:
        assert queue_sampler.start_queue_sampler(interval=0.01) is False
        assert twice.wait(5), "the loop stopped after an error"
    finally:
        assert queue_sampler.stop_queue_sampler() is True
    assert "ylai-queue-sampler" not in [t.name for t in threading.enumerate()]
    assert queue_sampler.stop_queue_sampler() is False
    assert calls[0] is calls[1]  # the queues seen so far are kept between samples
