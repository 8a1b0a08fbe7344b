"""The lifecycle listener starts the scheduler's sampler: the broker's queues with Celery, its host otherwise."""

from __future__ import annotations

import sys

import pytest


def test_the_scheduler_samples_the_celery_queues_or_its_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin import listeners
    from ylai_plugin.monitoring import queue_sampler, sampler

    started: list[str] = []

    def start_queue_sampler() -> bool:
        started.append("celery queues")
        return True

    def start_sampler(kind: str) -> bool:
        started.append(kind)
        return True

    monkeypatch.setattr(queue_sampler, "start_queue_sampler", start_queue_sampler)
    monkeypatch.setattr(sampler, "start_sampler", start_sampler)
    monkeypatch.setattr(sys, "argv", ["airflow", "scheduler"])
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    listeners.on_starting(None)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    listeners.on_starting(None)
    monkeypatch.setattr(sys, "argv", ["airflow", "triggerer"])
    listeners.on_starting(None)
    assert started == ["celery queues", "scheduler"]
