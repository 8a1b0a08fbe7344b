"""Scripts ranked by resource use (``ylai_plugin.domain.resources``) over real runs, task instances and XComs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.api_client import sync_repo_dags
from ylai_plugin.domain import resources, stats
from ylai_plugin.domain.errors import Invalid

# Runs live in June 2023, which no other test module uses, ranked as of NOW.
NOW = datetime(2023, 6, 15, 12, 0, tzinfo=UTC)
MIB = 2**20
PARAMS: dict[str, dict[str, Any]] = {
    "script__disk_usage": {"top": 2},
    "script__csv_profiler": {"path": "/tmp/data.csv"},
    "script__data_generator": {"rows": 5},
    "script__http_check": {"url": "http://127.0.0.1/"},
}
READABLE = frozenset({"script__disk_usage", "script__csv_profiler", "script__http_check", "dag_of_someone_else"})


def _clear_june() -> None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    june = (datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC))
    with create_session() as session:
        old = select(DagRun.run_id).where(DagRun.run_after >= june[0], DagRun.run_after < june[1])
        session.execute(delete(TaskInstance).where(TaskInstance.run_id.in_(old)))
        session.execute(delete(DagRun).where(DagRun.run_after >= june[0], DagRun.run_after < june[1]))


def _run(
    dag_id: str,
    due: datetime,
    state: str,
    seconds: float,
    result: dict[str, Any] | None = None,
    *,
    as_object: bool = False,
    key: str = "return_value",
) -> str:
    """A real run (and its script task instance) due at ``due``, finished as a worker would.

    ``result`` becomes the task's ``return_value`` XCom: as ``XComModel.set`` stores it (a JSON
    string), or ``as_object`` as the Execution API does (a JSON object).
    """
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain import dags

    with create_session() as session:
        run = dags.trigger(dag_id, PARAMS[dag_id], SimpleAuthManagerUser(username="alice", role="op"), session)
        start = due + timedelta(seconds=1)
        run.run_after, run.state = due, state
        run.start_date, run.end_date = start, start + timedelta(seconds=seconds + 1)
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).one()
        ti.state, ti.start_date, ti.end_date = state, start, start + timedelta(seconds=seconds)
        session.flush()
        if result is not None and as_object:
            session.add(
                XComModel(
                    dag_run_id=run.id,
                    task_id=ti.task_id,
                    map_index=-1,
                    key=key,
                    dag_id=dag_id,
                    run_id=run.run_id,
                    value=result,
                )
            )
        elif result is not None:
            XComModel.set(key=key, value=result, task_id=ti.task_id, dag_id=dag_id, run_id=run.run_id, session=session)
        return str(run.run_id)


def _result(rss_mib: float, cpu: float) -> dict[str, Any]:
    return {"outputs": {}, "exit_code": 0, "peak_rss_bytes": int(rss_mib * MIB), "cpu_seconds": cpu}


@pytest.fixture(scope="module")
def runs(airflow_db: object) -> dict[str, str]:
    sync_repo_dags()
    _clear_june()
    day = timedelta(days=1)
    return {
        # disk_usage: two successes and a failure this week, one success the week before.
        "disk_small": _run("script__disk_usage", NOW - 6 * day, "success", 10, _result(10, 1.0)),
        "disk_big": _run("script__disk_usage", NOW - 2 * day, "success", 30, _result(30, 3.0), as_object=True),
        "disk_failed": _run("script__disk_usage", NOW - 2 * day, "failed", 5),
        "disk_before": _run("script__disk_usage", NOW - 9 * day, "success", 20, _result(20, 2.0)),
        # csv_profiler: big and slow, nothing the week before.
        "csv": _run("script__csv_profiler", NOW - 1 * day, "success", 60, _result(100, 9.0)),
        "csv_running": _run("script__csv_profiler", NOW - 1 * day, "running", 1),
        # http_check: failed only, so no memory or CPU figure.
        "http": _run("script__http_check", NOW - 3 * day, "failed", 2),
        # data_generator: not readable by the caller.
        "gen": _run("script__data_generator", NOW - 1 * day, "success", 5, _result(500, 50.0)),
        # Older than both ranges: ignored.
        "disk_old": _run("script__disk_usage", NOW - 20 * day, "success", 99, _result(999, 99.0)),
    }


@pytest.fixture
def session(runs: dict[str, str]) -> Any:
    from airflow.utils.session import create_session

    with create_session() as s:
        yield s


def test_windows_cover_the_range_the_one_before_and_their_buckets() -> None:
    week = resources.window("7d", NOW)
    assert (week.since, week.until, week.previous_since) == (
        NOW - timedelta(days=7),
        NOW,
        NOW - timedelta(days=14),
    )
    assert week.bucket == "day"
    days = week.buckets()
    assert (days[0], days[-1], len(days)) == (datetime(2023, 6, 8, tzinfo=UTC), datetime(2023, 6, 15, tzinfo=UTC), 8)
    day = resources.window("24h", NOW)
    hours = day.buckets()
    assert day.bucket == "hour"
    assert (hours[0], hours[-1], len(hours)) == (NOW - timedelta(hours=24), NOW, 25)
    assert day.bucket_of(NOW + timedelta(minutes=59)) == NOW
    assert len(resources.window("30d", NOW).buckets()) == 31
    with pytest.raises(Invalid) as caught:
        resources.window("1y", NOW)
    assert caught.value.problems == [{"field": "query.range", "reason": "must be one of 24h, 7d, 30d"}]


def test_ranking_by_peak_rss_with_percentiles_peaks_and_the_previous_range(session: Any, runs: dict[str, str]) -> None:
    ranked = resources.ranking(session, READABLE, "7d", "-peak_rss_bytes_p95", now=NOW)
    assert (ranked["range"], ranked["bucket"], ranked["total"], ranked["truncated"]) == ("7d", "day", 3, False)
    # DAG-level access: data_generator ran, but the caller may not read its DAG.
    assert [item["name"] for item in ranked["items"]] == ["csv_profiler", "disk_usage", "http_check"]
    csv, disk, http = ranked["items"]
    assert (csv["runs"], csv["failed"]) == (1, 0)  # the running one is not finished yet

    assert (disk["dag_id"], disk["kind"], disk["title"], disk["runs"], disk["failed"]) == (
        "script__disk_usage",
        "script",
        "Disk usage report",
        3,
        1,
    )
    rss = disk["peak_rss_bytes"]
    # Both XCom forms (XComModel.set's JSON string, the Execution API's object) are read.
    assert (rss["count"], rss["p50"], rss["p95"]) == (2, 10 * MIB, 30 * MIB)
    assert (rss["max"], rss["max_run_id"]) == (30 * MIB, runs["disk_big"])
    assert rss["previous"] == {"count": 1, "p50": 20 * MIB, "p95": 20 * MIB}
    assert (rss["change_p50"], rss["change_p95"]) == (-0.5, 0.5)
    cpu = disk["cpu_seconds"]
    assert (cpu["count"], cpu["p50"], cpu["p95"], cpu["change_p95"]) == (2, 1.0, 3.0, 0.5)
    # Durations are the task instance's, failed runs included.
    duration = disk["duration"]
    assert (duration["count"], duration["p50"], duration["p95"]) == (3, 10.0, 30.0)
    assert (duration["max"], duration["max_run_id"]) == (30.0, runs["disk_big"])
    assert duration["previous"]["p95"] == 20.0

    # No previous range for csv_profiler: no change.
    assert csv["peak_rss_bytes"]["previous"] == {"count": 0, "p50": None, "p95": None}
    assert csv["peak_rss_bytes"]["change_p95"] is None
    # A script that only failed has a duration but no memory or CPU figure.
    assert http["duration"]["p95"] == 2.0
    assert (http["peak_rss_bytes"]["count"], http["peak_rss_bytes"]["p95"], http["cpu_seconds"]["max"]) == (
        0,
        None,
        None,
    )


def test_the_trend_has_every_day_of_the_range(session: Any, runs: dict[str, str]) -> None:
    disk = next(
        i for i in resources.ranking(session, READABLE, "7d", "name", now=NOW)["items"] if i["name"] == "disk_usage"
    )
    trend = {point["start"].date().isoformat(): point for point in disk["trend"]}
    assert len(trend) == 8
    assert [(day, p["runs"]) for day, p in trend.items() if p["runs"]] == [("2023-06-09", 1), ("2023-06-13", 2)]
    busy = trend["2023-06-13"]
    assert busy["duration"] == {"count": 2, "p50": 5.0, "p95": 30.0}
    assert busy["peak_rss_bytes"] == {"count": 1, "p50": 30 * MIB, "p95": 30 * MIB}
    assert trend["2023-06-10"]["cpu_seconds"] == {"count": 0, "p50": None, "p95": None}

    hourly = resources.ranking(session, READABLE, "24h", "name", now=NOW)
    assert [i["name"] for i in hourly["items"]] == ["csv_profiler"]
    points = hourly["items"][0]["trend"]
    assert len(points) == 25
    assert [(p["start"], p["runs"]) for p in points if p["runs"]] == [(NOW - timedelta(days=1), 1)]


@pytest.mark.parametrize(
    ("order_by", "names"),
    [
        ("-peak_rss_bytes_p95", ["csv_profiler", "disk_usage", "http_check"]),
        # Without the figure (only failed runs) a script is last in either direction.
        ("peak_rss_bytes_p95", ["disk_usage", "csv_profiler", "http_check"]),
        ("-cpu_seconds_p50", ["csv_profiler", "disk_usage", "http_check"]),
        ("duration_p95", ["http_check", "disk_usage", "csv_profiler"]),
        ("-duration_p50", ["csv_profiler", "disk_usage", "http_check"]),
        ("-runs", ["disk_usage", "csv_profiler", "http_check"]),
        ("-name", ["http_check", "disk_usage", "csv_profiler"]),
    ],
)
def test_sorted_by_each_figure(session: Any, order_by: str, names: list[str]) -> None:
    ranked = resources.ranking(session, READABLE, "7d", order_by, now=NOW)
    assert [item["name"] for item in ranked["items"]] == names
    assert ranked["order_by"] == order_by


def test_limit_truncation_and_bad_input(session: Any) -> None:
    first = resources.ranking(session, READABLE, "7d", "-duration_p95", limit=1, now=NOW)
    assert (first["total"], [i["name"] for i in first["items"]]) == (3, ["csv_profiler"])
    cut = resources.ranking(session, READABLE, "7d", "name", now=NOW, max_runs=2)
    assert cut["truncated"] is True
    assert sum(item["runs"] for item in cut["items"]) == 2
    assert resources.ranking(session, frozenset(), "7d", now=NOW)["items"] == []
    with pytest.raises(Invalid) as caught:
        resources.ranking(session, READABLE, "7d", "-memory", now=NOW)
    assert caught.value.problems[0]["field"] == "query.order_by"


def test_samples_by_dag_gives_the_exports_their_figures(session: Any) -> None:
    found, truncated = resources.samples_by_dag(
        session, ["script__disk_usage", "script__data_generator"], NOW - timedelta(days=14), NOW
    )
    assert truncated is False
    assert set(found) == {"script__disk_usage", "script__data_generator"}
    disk = found["script__disk_usage"]
    assert (disk.runs, disk.failed) == (4, 1)
    assert disk.percentiles("peak_rss_bytes").p95 == 30 * MIB
    assert disk.percentiles("cpu_seconds") == stats.Percentiles(count=3, p50=2.0, p95=3.0)
    assert resources.samples_by_dag(session, [], NOW - timedelta(days=14), NOW) == ({}, False)


def test_a_failed_script_is_ranked_by_what_it_left_measured(session: Any, runs: dict[str, str]) -> None:
    """A script stopped at its memory limit (or failing otherwise) leaves its figures under their own key."""
    from ylai_operators.catalog import MEASUREMENTS_XCOM_KEY

    now = datetime(2023, 5, 12, tzinfo=UTC)
    left = {"duration_seconds": 3.0, "peak_rss_bytes": 700 * MIB, "cpu_seconds": 2.5}
    failed = _run("script__csv_profiler", now - timedelta(days=1), "failed", 3, left, key=MEASUREMENTS_XCOM_KEY)
    (csv,) = [i for i in resources.ranking(session, READABLE, "7d", "name", now=now)["items"] if i["runs"]]
    assert (csv["name"], csv["runs"], csv["failed"]) == ("csv_profiler", 1, 1)
    assert (csv["peak_rss_bytes"]["p95"], csv["peak_rss_bytes"]["max_run_id"]) == (700 * MIB, failed)
    assert csv["cpu_seconds"]["p95"] == 2.5
