"""The api-server's start-up objects are frozen out of full garbage collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ylai_plugin.api import gc_tuning


@pytest.fixture
def unfrozen() -> Iterator[None]:
    # No automatic collection meanwhile (other threads of the test process allocate too): it
    # could collect the test's garbage before the test's own gc.collect() counts it.
    enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freezing_collects_garbage_first_then_freezes_what_is_alive(unfrozen: None) -> None:
    alive = [_Cycle() for _ in range(100)]
    for _ in range(100):
        _Cycle()  # unreachable cycles: garbage the freeze must not keep forever
    frozen = gc_tuning.freeze_startup_objects()
    assert frozen == gc.get_freeze_count() > 100
    assert sum(isinstance(o, _Cycle) for o in gc.get_objects()) == 0  # frozen objects are not tracked
    assert len(alive) == 100

    # objects made after the freeze are collected as usual
    for _ in range(10):
        _Cycle()
    assert gc.collect() >= 10
    # None of them joined the frozen objects. (The count may drop: a frozen object that other
    # threads of the test process, e.g. an HTTP receiver's, let go of is freed, not refrozen.)
    assert gc.get_freeze_count() <= frozen
    assert sum(isinstance(o, _Cycle) for o in gc.get_objects()) == 0


def test_a_second_freeze_follows(unfrozen: None) -> None:
    # The delay leaves a loaded machine ample time to make ``later`` before the second freeze.
    timer = gc_tuning.freeze_now_and_later(delay=3.0)
    first = gc.get_freeze_count()
    later = [_Cycle() for _ in range(500)]
    timer.join(30)
    assert not timer.is_alive()
    assert gc.get_freeze_count() >= first + len(later)


def test_the_app_freezes_on_start_unless_turned_off(monkeypatch: pytest.MonkeyPatch, unfrozen: None) -> None:
    from fastapi.testclient import TestClient

    from ylai_plugin.api.app import create_app

    calls: list[float] = []
    monkeypatch.setattr(gc_tuning, "freeze_now_and_later", lambda delay=60.0: calls.append(delay))
    monkeypatch.setenv("AIRFLOW__YLAI__API_GC_FREEZE", "True")
    with TestClient(create_app()):
        pass
    assert calls == [60.0]
    monkeypatch.setenv("AIRFLOW__YLAI__API_GC_FREEZE", "False")
    with TestClient(create_app()):
        pass
    assert calls == [60.0]
