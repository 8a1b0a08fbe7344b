from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=headers("op", "scripter")) as c:
        yield c


def _finish(dag_id: str, run_id: str, state: str, result: dict[str, object] | None, seconds: float) -> None:
    """Mark a run finished (and store its result XCom) as a worker would."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert run is not None
        start = datetime.now(UTC) - timedelta(seconds=seconds)
        run.state, run.start_date, run.end_date = state, start, start + timedelta(seconds=seconds)
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)):
            ti.state = state
            ti.queued_dttm, ti.start_date, ti.end_date = start - timedelta(seconds=2), start, run.end_date
        if result is not None:
            XComModel.set(
                key="return_value", value=result, task_id="disk_usage", dag_id=dag_id, run_id=run_id, session=session
            )


def test_list_scripts_with_schema_and_filters(client: TestClient) -> None:
    page = client.get("/api/v1/scripts").json()
    names = [s["name"] for s in page["items"]]
    assert names == sorted(names)
    assert {"csv_profiler", "data_generator", "disk_usage", "http_check", "quality_gate"} <= set(names)
    gen = next(s for s in page["items"] if s["name"] == "data_generator")
    assert (gen["dag_id"], gen["kind"]) == ("script__data_generator", "script")
    props = gen["params_schema"]["properties"]
    assert props["rows"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000000,
        "description": "Number of rows to generate.",
        "default": 1000,
    }
    assert props["api_token"]["x-ylai-secret"] is True
    assert gen["params_schema"]["required"] == []
    assert gen["outputs"]["rows"]["type"] == "integer"
    profiler = client.get("/api/v1/scripts", params={"q": "pandas"}).json()["items"]
    assert [s["name"] for s in profiler] == ["csv_profiler"]
    assert profiler[0]["params_schema"]["required"] == ["path"]
    assert [s["name"] for s in client.get("/api/v1/scripts", params={"runtime": "bash"}).json()["items"]] == [
        "disk_usage"
    ]
    assert client.get("/api/v1/scripts", params={"tag": "monitoring"}).json()["total"] == 1


def _forget_runs(dag_id: str) -> None:
    """Delete the DAG's runs: the unit DB is shared by the session and other modules run this DAG too."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.dag_id == dag_id))


def test_run_script_then_detail_shows_stats_and_resource_use(client: TestClient) -> None:
    _forget_runs("script__disk_usage")
    bad = client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 1000}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "params.top"
    runs = []
    for _ in range(3):
        resp = client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 2}})
        assert resp.status_code == 201, resp.text
        runs.append(resp.json()["run_id"])
    _finish(
        "script__disk_usage",
        runs[0],
        "success",
        {"outputs": {}, "exit_code": 0, "peak_rss_bytes": 4096, "cpu_seconds": 0.5, "duration_seconds": 1.5},
        2,
    )
    _finish("script__disk_usage", runs[1], "failed", None, 3)
    detail = client.get("/api/v1/scripts/disk_usage").json()
    assert (detail["dag_id"], detail["kind"], detail["name"]) == ("script__disk_usage", "script", "disk_usage")
    assert detail["stats"]["succeeded"] == 1
    assert detail["stats"]["failed"] == 1
    assert detail["stats"]["success_rate"] == 0.5
    by_run = {r["run_id"]: r for r in detail["recent_runs"]}
    assert by_run[runs[0]]["peak_rss_bytes"] == 4096
    assert by_run[runs[0]]["cpu_seconds"] == 0.5
    assert by_run[runs[1]]["state"] == "failed"
    assert by_run[runs[1]]["duration_seconds"] == pytest.approx(3, abs=0.01)
    assert by_run[runs[2]]["state"] == "queued"
    logs = client.get(f"/api/v1/runs/script__disk_usage/{urllib.parse.quote(runs[2], safe='')}/logs").json()
    assert (logs["dag_id"], logs["kind"], logs["name"], logs["state"]) == (
        "script__disk_usage",
        "script",
        "disk_usage",
        "queued",
    )
    assert client.get("/api/v1/scripts/nope").status_code == 404

    monitor = client.get("/api/v1/monitor/tasks", params={"window_hours": 2}).json()
    disk = next(d for d in monitor["per_dag"] if d["dag_id"] == "script__disk_usage")
    assert (disk["succeeded"], disk["failed"], disk["kind"]) == (1, 1, "script")
    assert disk["duration"]["count"] == 2
    assert disk["duration"]["p50"] == pytest.approx(2, abs=0.01)
    assert disk["duration"]["p95"] == pytest.approx(3, abs=0.01)
    assert monitor["queue_wait"]["p50"] == pytest.approx(2, abs=0.01)
    assert "script__disk_usage" in [d["dag_id"] for d in monitor["top_failing"]]
    assert sum(h["runs"] for h in monitor["runs_per_hour"]) >= 3
    assert monitor["run_states"]["failed"] >= 1


def test_logs_of_an_unknown_run_are_404(client: TestClient) -> None:
    resp = client.get("/api/v1/runs/script__disk_usage/nope/logs")
    assert resp.status_code == 404
    assert client.get("/api/v1/runs/script__disk_usage/nope/logs/stream").status_code == 404
    assert client.get("/api/v1/runs/not_a_dag/x/logs").status_code == 404


def test_sse_cursor_roundtrip() -> None:
    from ylai_plugin.domain.runs import decode_cursor, encode_cursor

    cursor = encode_cursor({"a:-1:1": 3, "b:-1:2": 10})
    assert decode_cursor(cursor) == {"a:-1:1": 3, "b:-1:2": 10}
    assert decode_cursor("garbage!!") == {}
    assert decode_cursor(None) == {}
