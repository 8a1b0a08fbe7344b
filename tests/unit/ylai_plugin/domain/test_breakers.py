"""The circuit breaker's state machine on an injected clock (no sleeps), and its published rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ylai_plugin.domain import breakers
from ylai_plugin.domain.breakers import CLOSED, HALF_OPEN, OPEN, Breaker, BreakerOpen


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(clock: Clock, threshold: int = 3, open_seconds: float = 30.0, trials: int = 1) -> Breaker:
    return Breaker(
        "test",
        dependency="http",
        failure_threshold=threshold,
        open_seconds=open_seconds,
        half_open_calls=trials,
        clock=clock,
    )


def fail(breaker: Breaker, exc: Exception | None = None) -> None:
    breaker.admit().failure(exc or ConnectionError("refused"))


def test_consecutive_failures_open_it_and_a_success_in_between_resets_the_count() -> None:
    clock = Clock()
    breaker = make(clock)
    fail(breaker)
    fail(breaker)
    assert breaker.admit().success() is False  # still closed: nothing to close
    fail(breaker)
    fail(breaker)
    assert breaker.state == CLOSED
    fail(breaker)
    assert breaker.state == OPEN
    snap = breaker.snapshot()
    assert (snap.failures, snap.successes, snap.times_opened) == (5, 1, 1)
    assert snap.last_error == "ConnectionError"
    assert snap.opened_at == clock.now
    assert snap.next_probe_at == clock.now + 30


def test_an_open_breaker_fails_fast_until_its_probe_time() -> None:
    clock = Clock()
    breaker = make(clock)
    for _ in range(3):
        fail(breaker)
    clock.advance(29.9)
    calls: list[int] = []
    with pytest.raises(BreakerOpen) as raised:
        breaker.call(calls.append, 1)
    assert calls == []  # the dependency was not called
    assert raised.value.retry_at == clock.now + 0.1
    assert raised.value.name == "test"
    assert breaker.snapshot().rejected == 1


def test_half_open_lets_the_trial_calls_through_and_closes_when_they_all_succeed() -> None:
    clock = Clock()
    breaker = make(clock, trials=2)
    for _ in range(3):
        fail(breaker)
    clock.advance(30)
    assert breaker.state == HALF_OPEN
    first, second = breaker.admit(), breaker.admit()
    assert first.trial
    assert second.trial
    with pytest.raises(BreakerOpen):  # only two trials at a time
        breaker.admit()
    assert first.success() is False
    assert breaker.state == HALF_OPEN
    assert second.success() is True  # this one closed it
    assert breaker.state == CLOSED
    assert breaker.snapshot().consecutive_failures == 0
    assert breaker.snapshot().opened_at is None


def test_a_failed_trial_opens_it_again_for_a_new_period() -> None:
    clock = Clock()
    breaker = make(clock)
    for _ in range(3):
        fail(breaker)
    clock.advance(31)
    fail(breaker)
    assert breaker.state == OPEN
    snap = breaker.snapshot()
    assert snap.times_opened == 2
    assert snap.next_probe_at == clock.now + 30


def test_a_late_answer_from_before_the_change_does_not_steer_the_state() -> None:
    clock = Clock()
    breaker = make(clock, threshold=1)
    slow = breaker.admit()  # admitted while closed, answers after the breaker opened
    fail(breaker)
    assert breaker.state == OPEN
    assert slow.success() is False
    assert breaker.state == OPEN
    clock.advance(30)
    trial = breaker.admit()
    slow.failure(RuntimeError("late"))  # already reported: ignored
    assert trial.success() is True
    assert breaker.state == CLOSED


def test_guard_counts_only_the_dependencys_errors() -> None:
    clock = Clock()
    breaker = make(clock, threshold=1)
    with pytest.raises(KeyError), breaker.guard(counts=lambda exc: isinstance(exc, OSError)):
        raise KeyError("the caller's own error")
    assert breaker.state == CLOSED
    assert breaker.snapshot().successes == 1
    with pytest.raises(OSError, match="timed out"), breaker.guard(counts=lambda exc: isinstance(exc, OSError)):
        raise OSError("timed out")
    assert breaker.state == OPEN


def test_threads_share_one_breaker() -> None:
    clock = Clock()
    breaker = make(clock, threshold=1000)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for i in range(250):
            ticket = breaker.admit()
            ticket.success() if i % 2 else ticket.failure(OSError())

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = breaker.snapshot()
    assert (snap.successes, snap.failures) == (1000, 1000)
    assert snap.state == CLOSED


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    monkeypatch.setenv("AIRFLOW__YLAI__BREAKER_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("AIRFLOW__YLAI__BREAKER_OPEN_SECONDS", "10")
    clock = Clock()
    breakers.reset(clock)
    yield clock
    breakers.reset()


def test_the_registry_builds_breakers_from_the_config_once_per_name(registry: Clock) -> None:
    a = breakers.get_breaker("slack:x", dependency="slack")
    assert breakers.get_breaker("slack:x", dependency="slack") is a
    assert (a.failure_threshold, a.open_seconds, a.half_open_calls) == (2, 10.0, 1)
    assert [b.name for b in breakers.all_breakers()] == ["slack:x"]


def test_published_states_list_this_and_other_processes(registry: Clock, airflow_db: object) -> None:
    from datetime import UTC, datetime, timedelta

    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.breaker_models import BreakerState

    with create_session() as session:
        session.execute(delete(BreakerState))
    mine = breakers.get_breaker("redis-cache", dependency="redis")
    fail(mine)
    fail(mine)
    assert breakers.publish_now() == 1
    now = datetime.now(UTC)
    with create_session() as session:
        row = session.query(BreakerState).one()
        assert (row.state, row.failures, row.last_error) == ("open", 2, "ConnectionError")
        assert row.process == breakers.process_id()
        # Another process's breaker (open, probe time passed) and a gone process's.
        for process, updated in (("other:1", now), ("gone:2", now - timedelta(hours=1))):
            session.add(
                BreakerState(
                    process=process,
                    component="ylai alerts",
                    name="slack:ylai_slack",
                    dependency="slack",
                    state="open",
                    consecutive_failures=5,
                    failures=5,
                    successes=0,
                    rejected=3,
                    times_opened=1,
                    opened_at=now - timedelta(minutes=2),
                    next_probe_at=now - timedelta(minutes=1),
                    updated_at=updated,
                )
            )
    with create_session() as session:
        listed = breakers.states(session, now)
    assert [(p, s.name, s.state) for p, _c, s, _u in listed] == [
        (breakers.process_id(), "redis-cache", "open"),
        ("other:1", "slack:ylai_slack", "half-open"),
    ]
    with create_session() as session:
        session.execute(delete(BreakerState))
