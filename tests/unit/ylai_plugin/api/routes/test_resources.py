"""/resources API: scripts ranked by resource use, behind login, "ylai Monitor" and DAG-level access."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app
from ylai_plugin.api.datamodels.resources import OrderBy, RangeId
from ylai_plugin.domain import access, resources

URL = "/api/v1/resources/scripts"
VIEWER = headers("viewer", "vera")
MIB = 2**20


def _forget_runs(*dag_ids: str) -> None:
    """Delete the DAGs' runs: the unit DB is shared, and other modules run these DAGs now too."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.dag_id.in_(dag_ids)))


def _finished_run(dag_id: str, params: dict[str, Any], hours_ago: float, seconds: float, rss_mib: int) -> str:
    """A real run of ``dag_id`` due ``hours_ago``, its script task succeeded with this peak RSS."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain import dags

    with create_session() as session:
        run = dags.trigger(dag_id, params, SimpleAuthManagerUser(username="alice", role="op"), session)
        due = datetime.now(UTC) - timedelta(hours=hours_ago)
        run.run_after, run.state, run.start_date, run.end_date = due, "success", due, due + timedelta(seconds=seconds)
        ti = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id)).one()
        ti.state, ti.start_date, ti.end_date = "success", due, due + timedelta(seconds=seconds)
        result = {"outputs": {}, "exit_code": 0, "peak_rss_bytes": rss_mib * MIB, "cpu_seconds": seconds / 2}
        XComModel.set(
            key="return_value", value=result, task_id=ti.task_id, dag_id=dag_id, run_id=run.run_id, session=session
        )
        return str(run.run_id)


@pytest.fixture(scope="module")
def runs(airflow_db: object) -> dict[str, str]:
    sync_repo_dags()
    _forget_runs("script__quality_gate", "script__data_generator")
    return {
        "gate_small": _finished_run("script__quality_gate", {"rows": 5}, 2, 4, 40),
        "gate_big": _finished_run("script__quality_gate", {"rows": 5}, 30, 8, 80),
        "gen": _finished_run("script__data_generator", {"rows": 5}, 3, 2, 300),
    }


@pytest.fixture(scope="module")
def client(runs: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in body["items"]}


def test_a_viewer_sees_scripts_ranked_with_their_trend(client: TestClient, runs: dict[str, str]) -> None:
    resp = client.get(URL, params={"range": "7d", "order_by": "-peak_rss_bytes_p95"}, headers=VIEWER)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["range"], body["bucket"], body["order_by"], body["truncated"]) == (
        "7d",
        "day",
        "-peak_rss_bytes_p95",
        False,
    )
    names = [item["name"] for item in body["items"]]
    assert names.index("data_generator") < names.index("quality_gate")
    gate = _by_name(body)["quality_gate"]
    assert (gate["dag_id"], gate["kind"], gate["runs"]) == ("script__quality_gate", "script", 2)
    rss = gate["peak_rss_bytes"]
    assert (rss["p50"], rss["p95"], rss["max"], rss["max_run_id"]) == (40 * MIB, 80 * MIB, 80 * MIB, runs["gate_big"])
    assert gate["cpu_seconds"]["p95"] == 4.0
    assert gate["duration"]["p50"] == 4.0
    assert len(gate["trend"]) == 8
    assert sum(point["runs"] for point in gate["trend"]) == 2

    # The last 24 hours hold only the recent run, in hourly buckets.
    day = _by_name(client.get(URL, params={"range": "24h"}, headers=VIEWER).json())["quality_gate"]
    assert (day["runs"], day["peak_rss_bytes"]["p95"], len(day["trend"])) == (1, 40 * MIB, 25)
    first = client.get(URL, params={"order_by": "-duration_p95", "limit": 1}, headers=VIEWER).json()
    assert len(first["items"]) == 1
    assert first["total"] >= 2


def test_login_and_the_monitor_permission_are_required(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer not-a-token"}).status_code in (401, 403)

    class NoMonitor:
        def __init__(self, real: Any) -> None:
            self.real = real

        def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
            return resource_name != "ylai Monitor"

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    denied = NoMonitor(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: denied)
    resp = client.get(URL, headers=VIEWER)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "You may not read ylai Monitor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "1y"}, "query.range"),
        ({"range": ""}, "query.range"),
        ({"order_by": "-memory"}, "query.order_by"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    resp = client.get(URL, params=params, headers=VIEWER)
    assert resp.status_code == 422, resp.text
    assert [d["field"] for d in resp.json()["error"]["details"]] == [field]


def test_only_dags_the_user_may_read(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    class OnlyQualityGate:
        def __init__(self, real: Any) -> None:
            self.real = real

        def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
            return {"script__quality_gate", "some_other_dag"}

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    restricted = OnlyQualityGate(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: restricted)
    body = client.get(URL, headers=headers("viewer", "dora")).json()
    assert [item["name"] for item in body["items"]] == ["quality_gate"]
    assert body["total"] == 1


def test_the_query_enums_are_the_domain_s() -> None:
    assert set(get_args(RangeId)) == set(resources.RANGES)
    assert set(get_args(OrderBy)) == {f"{sign}{key}" for key in resources.SORT_KEYS for sign in ("", "-")}
