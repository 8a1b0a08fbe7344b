"""Queue depth, task states and scheduler lag rebuilt from the metadata database's timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.api_client import sync_repo_dags
from ylai_plugin.domain import timeline
from ylai_plugin.domain.timeline import Try, Window

T0 = datetime(2024, 3, 5, 10, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)
FANOUT = "pipeline__data_quality_fanout"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_window_points_are_aligned_and_cover_now() -> None:
    window = Window.last(15, now=datetime(2024, 3, 5, 10, 0, 7, tzinfo=UTC))
    assert window.resolution == 10
    starts = window.starts()
    assert starts[0] == datetime(2024, 3, 5, 9, 45, 0, tzinfo=UTC)
    assert starts[-1] == datetime(2024, 3, 5, 10, 0, 0, tzinfo=UTC)
    assert len(starts) == 91
    assert window.ends()[-1] == window.until
    assert window.index(window.until) == 90
    assert window.index(starts[0] - timedelta(seconds=1)) is None
    assert window.index(window.until + timedelta(seconds=1)) is None
    assert Window.last(24 * 60, now=NOW).resolution == 240
    assert timeline.resolution_seconds(60, points=60, floor=60) == 60


def test_a_try_goes_through_its_phases_and_ignores_leftovers_of_the_try_before() -> None:
    done = Try("default", "success", at(0), at(2), at(5), at(20))
    assert list(done.phases()) == [("scheduled", at(0), at(2)), ("queued", at(2), at(5)), ("running", at(5), at(20))]
    assert done.ended() == ("success", at(20))
    # Scheduled again for a second try: queued/start/end are the first try's, older than the new mark.
    again = Try("default", "scheduled", at(100), at(2), at(5), at(20))
    assert list(again.phases()) == [("scheduled", at(100), None)]
    assert again.ended() is None
    queued = Try("default", "queued", None, at(30), None, None)
    assert list(queued.phases()) == [("queued", at(30), None)]
    deferred = Try("default", "deferred", None, at(1), at(3), None)
    assert list(deferred.phases()) == [("queued", at(1), at(3)), ("deferred", at(3), None)]
    # A cleared task instance (no state) keeps old timestamps without an end: its last phase is unknown.
    cleared = Try("default", "none", None, at(1), at(3), None)
    assert list(cleared.phases()) == [("queued", at(1), at(3))]
    assert cleared.ended() is None


def test_queue_depth_takes_the_peak_of_each_point_and_counts_what_is_queued_now() -> None:
    window = Window.last(1, now=at(60))  # 10 s points from T0
    found = [
        Try("default", "success", None, at(-30), at(12), at(15)),  # queued before the window began
        Try("default", "success", None, at(13), at(18), at(19)),
        Try("default", "success", None, at(14), at(50), at(55)),  # its start ends the queued phase at 50 s
        Try("default", "success", None, at(15), at(16), at(17)),  # 3 at once at 15 s
        Try("default", "success", None, at(25), at(25), at(26)),  # queued for no time at all
        Try("heavy", "queued", None, at(41), None, None),
    ]
    queues = {q["queue"]: q for q in timeline.queue_depth(found, window)}
    assert [p["ts"] for p in queues["default"]["points"]] == [at(s) for s in range(0, 61, 10)]
    assert [p["count"] for p in queues["default"]["points"]] == [1, 3, 1, 1, 1, 0, 0]
    assert (queues["default"]["peak"], queues["default"]["now"]) == (3, 0)
    assert [p["count"] for p in queues["heavy"]["points"]] == [0, 0, 0, 0, 1, 1, 1]
    assert (queues["heavy"]["peak"], queues["heavy"]["now"]) == (1, 1)
    assert queues["heavy"]["points"][0]["ts"] == T0


def test_task_states_count_live_ones_at_each_point_and_finished_ones_within_it() -> None:
    window = Window.last(1, now=at(35))
    found = [
        Try("default", "success", at(1), at(2), at(5), at(12)),
        Try("default", "failed", None, at(8), at(9), at(25)),
        Try("default", "running", None, at(11), at(21), None),
        Try("default", "failed", None, at(0), at(1), at(3)),  # an earlier try (task_instance_history)
    ]
    points = timeline.task_states(found, window)
    assert [p["ts"] for p in points] == [at(s) for s in range(-30, 31, 10)]
    assert [p["states"] for p in points] == [
        {},
        {},
        {"queued": 1},  # at 0 s: the earlier try is queued
        {"failed": 1, "running": 2},  # at 10 s: two running; the earlier try ended at 3 s
        {"queued": 1, "running": 1, "success": 1},  # at 20 s: one queued since 11 s
        {"failed": 1, "running": 1},  # at 30 s
        {"running": 1},  # now (35 s)
    ]


def _fanout_run(trigger_at: datetime, run_type: str = "scheduled") -> str:
    """A run of the fan-out pipeline (generate -> profile, disk -> gate -> collect_outputs) due at ``trigger_at``."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain import dags

    with create_session() as session:
        run = dags.trigger(FANOUT, {}, SimpleAuthManagerUser(username="timeline", role="op"), session)
        run.run_type, run.run_after = run_type, trigger_at
        tis = {ti.task_id: ti for ti in session.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id))}
        assert set(tis) == {"generate", "profile", "disk", "gate", "collect_outputs"}
        assert all(ti.dag_version_id is not None for ti in tis.values())
        return str(run.run_id)


def _set(run_id: str, **times: tuple[Any, ...]) -> None:
    """Give task instances of a run ``(state, queue, queued, start, end)`` like a worker would."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)):
            if ti.task_id in times:
                state, queue, queued, start, end = times[ti.task_id]
                ti.state, ti.queue, ti.queued_dttm, ti.start_date, ti.end_date = state, queue, queued, start, end
                ti.try_number = 1
        run = session.scalar(select(DagRun).where(DagRun.run_id == run_id))
        assert run is not None
        run.start_date = min(t[2] for t in times.values())  # the run starts as its first task is queued
        run.state = "running"


@pytest.fixture(scope="module")
def fanout(airflow_db: object) -> dict[str, str]:
    """Two runs in March 2024: one that ran, one still queued with a retried task."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    sync_repo_dags()
    with create_session() as session:
        for model in (TaskInstanceHistory, TaskInstance, DagRun):
            session.execute(delete(model).where(model.dag_id == FANOUT))
    ran = _fanout_run(at(-2))
    _set(
        ran,
        generate=("success", "default", at(0), at(5), at(20)),
        profile=("success", "default", at(21), at(23), at(40)),  # 3 s after generate
        disk=("success", "default", at(22), at(30), at(35)),  # 10 s after generate
        gate=("success", "default", at(42), at(45), at(50)),  # 5 s after profile, the later of its two
        collect_outputs=("running", "default", at(51), at(52), None),  # 2 s after gate
    )
    waiting = _fanout_run(at(30), run_type="manual")
    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance).where(TaskInstance.run_id == waiting, TaskInstance.task_id == "generate")
        )
        assert ti is not None
        ti.state, ti.queue, ti.try_number = "failed", "heavy", 1
        ti.queued_dttm, ti.start_date, ti.end_date = at(60), at(70), at(80)
        session.flush()
        ti.prepare_db_for_next_try(session)  # what Airflow does before a retry: the try goes to the history
        ti.state, ti.try_number, ti.queued_dttm, ti.start_date, ti.end_date = "queued", 2, at(120), None, None
        # A retry is no hand-off: its gap is not counted.
        retried = session.scalar(
            select(TaskInstance).where(TaskInstance.run_id == waiting, TaskInstance.task_id == "profile")
        )
        assert retried is not None
        retried.state, retried.try_number, retried.start_date, retried.end_date = "running", 2, at(130), None
    return {"ran": ran, "waiting": waiting}


def test_queue_history_from_task_instances_and_their_earlier_tries(fanout: dict[str, str]) -> None:
    from airflow.utils.session import create_session

    window = Window.last(15, now=NOW)
    with create_session() as session:
        body = timeline.queue_history(session, frozenset({FANOUT}), window)
        assert timeline.queue_history(session, frozenset({"script__disk_usage"}), window)["queued"] == []
    assert (body["window_minutes"], body["resolution_seconds"], body["generated_at"]) == (15, 10, NOW)
    queues = {q["queue"]: q for q in body["queued"]}
    assert set(queues) == {"default", "heavy"}
    default = {p["ts"]: p["count"] for p in queues["default"]["points"]}
    assert default[at(0)] == 1  # generate, 0-5 s
    assert default[at(20)] == 2  # profile (21-23 s) and disk (22-30 s) at once
    assert default[at(40)] == 1  # gate, 42-45 s
    assert (queues["default"]["peak"], queues["default"]["now"]) == (2, 0)
    heavy = {p["ts"]: p["count"] for p in queues["heavy"]["points"]}
    assert heavy[at(60)] == 1  # the first try, now in task_instance_history
    assert heavy[at(90)] == 0
    assert heavy[at(120)] == 1  # the second try, queued since
    assert (queues["heavy"]["peak"], queues["heavy"]["now"]) == (1, 1)


def test_task_state_history_from_the_metadata_database(fanout: dict[str, str]) -> None:
    from airflow.utils.session import create_session

    window = Window.last(15, now=NOW)
    with create_session() as session:
        body = timeline.task_state_history(session, frozenset({FANOUT}), window)
    points = {p["ts"]: p["states"] for p in body["points"]}
    assert len(body["points"]) == 91
    assert points[at(0)] == {"running": 1}  # generate at 10 s
    assert points[at(20)] == {"running": 2, "success": 1}  # profile and disk at 30 s; generate ended at 20 s
    assert points[at(50)] == {"queued": 1, "running": 1, "success": 1}  # gate ended at 50 s
    assert points[at(60)] == {"running": 2}  # collect_outputs, and the 2nd run's generate from 70 s
    assert points[at(80)] == {"failed": 1, "running": 1}  # that first try failed at 80 s
    assert points[at(120)] == {"queued": 1, "running": 2}  # its second try; profile's retry runs from 130 s
    assert points[at(-300)] == {}


def test_scheduler_lag_of_runs_and_of_task_hand_offs(fanout: dict[str, str]) -> None:
    from airflow.utils.session import create_session

    window = Window.last(15, now=NOW, points=timeline.LAG_POINTS, floor=timeline.LAG_MIN_RESOLUTION_SECONDS)
    with create_session() as session:
        lag = timeline.scheduler_lag(session, frozenset({FANOUT}), window)
    assert lag["resolution_seconds"] == 60
    assert lag["run_delay"] == {"count": 1, "p50": 2.0, "p95": 2.0}
    # Hand-offs of 3, 10, 5 and 2 s: nearest-rank p50 is the 2nd of 4, p95 the 4th.
    assert lag["task_gap"] == {"count": 4, "p50": 3.0, "p95": 10.0}
    assert lag["waiting_runs"] == 1
    assert lag["longest_wait_seconds"] == pytest.approx(270.0)
    assert lag["points"] == [
        {
            "ts": T0,
            "runs": 1,
            "run_delay_p50": 2.0,
            "run_delay_p95": 2.0,
            "tasks": 4,
            "task_gap_p50": 3.0,
            "task_gap_p95": 10.0,
        }
    ]
    with create_session() as session:
        other = timeline.scheduler_lag(session, frozenset({"script__disk_usage"}), window)
    assert (other["run_delay"]["count"], other["task_gap"]["count"], other["points"]) == (0, 0, [])


def test_upstream_task_ids_come_from_the_version_the_task_ran_with(fanout: dict[str, str]) -> None:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain.dags import upstream_task_ids

    with create_session() as session:
        version = session.scalar(select(TaskInstance.dag_version_id).where(TaskInstance.run_id == fanout["ran"]))
        by_version = upstream_task_ids(FANOUT, version, session)
        latest = upstream_task_ids(FANOUT, None, session)
        assert upstream_task_ids("no_such_dag", None, session) == {}
    assert by_version["gate"] == frozenset({"profile", "disk"})
    assert by_version["generate"] == frozenset()
    assert latest == by_version
