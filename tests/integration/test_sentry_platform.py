"""A task's error reaches Sentry through Airflow's own integration, on Postgres + Celery (issue 18, point 5).

``celery_platform`` runs with ``SENTRY_DSN`` pointing at a real envelope receiver on 127.0.0.1
(tests/sentry_receiver.py): ``ylai run`` turns it into Airflow's ``[sentry]`` settings, the Celery
worker's task process initialises Sentry through the Task SDK and reports the failed try, tagged
by Airflow with the DAG, task and try. ylai's API half is tests/unit/ylai_plugin/api/test_sentry.py.

Runs on the shared ``celery_platform`` before ``test_celery_platform.py``, whose last test stops it
(tests/integration/conftest.py orders the modules).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.running_platform import RunningPlatform
from tests.sentry_receiver import SentryReceiver, exception_values

DAG_ID = "script__quality_gate"


@pytest.fixture(scope="module")
def platform(celery_platform: RunningPlatform) -> RunningPlatform:
    return celery_platform


def test_a_failing_task_reaches_sentry_through_airflows_integration(
    platform: RunningPlatform, sentry_receiver: SentryReceiver
) -> None:
    platform.wait_for_dag(DAG_ID)
    before = len(sentry_receiver.events)
    run_id = platform.trigger(DAG_ID, {"rows": 0, "fail_on_violation": True})
    assert platform.wait_for_run(DAG_ID, run_id, timeout=300) == "failed", platform.tail()

    def from_this_dag(event: dict[str, Any]) -> bool:
        return bool(event.get("tags", {}).get("dag_id") == DAG_ID)

    event = sentry_receiver.wait_for_event(from_this_dag, timeout=120, after=before)
    tags = event["tags"]
    assert tags["task_id"] == "quality_gate"
    assert tags["operator"] == "ScriptOperator"
    assert str(tags["try_number"]) == "1"
    assert any(v.startswith("ScriptFailedError") for v in exception_values(event)), exception_values(event)
    assert event["level"] == "error"
    # What ylai run asked of Airflow's [sentry]: no PII, no local variables of the frames.
    assert "user" not in event
    frames = [f for value in event["exception"]["values"] for f in value.get("stacktrace", {}).get("frames", [])]
    assert not any("vars" in frame for frame in frames)
    envelope = next(env for env in sentry_receiver.envelopes if any(h["type"] == "event" for h, _ in env["items"]))
    assert envelope["project"] == "1"
    assert "sentry_key=public" in envelope["auth"]


def test_the_api_server_workers_report_to_sentry_without_logging_the_dsn(
    platform: RunningPlatform, sentry_receiver: SentryReceiver
) -> None:
    """Each api-server worker started ylai's Sentry client in its lifespan, from ylai run's [sentry] settings."""
    output = platform.output()
    assert "ylai API reports unhandled errors to Sentry" in output, platform.tail()
    assert sentry_receiver.dsn() not in output
