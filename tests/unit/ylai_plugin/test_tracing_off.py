"""With ``[traces] otel_on`` off (the default): no ``traceparent`` header, Airflow's run carrier untouched.

A module of its own: ``test_tracing.py`` keeps tracing on for its whole module.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin import tracing
from ylai_plugin.api.app import create_app

SCRIPT = "disk_usage"
DAG = f"script__{SCRIPT}"


def test_with_tracing_off_no_traceparent_and_airflows_carrier_stays(airflow_db: object) -> None:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    sync_repo_dags()
    tracing.is_on.cache_clear()
    assert not tracing.is_on()
    with TestClient(create_app(), headers=headers("op", "tracy")) as off:
        resp = off.get(f"/api/v1/scripts/{SCRIPT}", headers={"X-Request-ID": "req-untraced"})
        assert resp.status_code == 200
        assert "traceparent" not in resp.headers
        assert resp.headers["X-Request-ID"] == "req-untraced"
        ran = off.post(f"/api/v1/scripts/{SCRIPT}/run", json={"params": {"top": 3}})
        assert ran.status_code == 201, ran.text
        assert ran.json()["trace_id"] is None
        assert "traceparent" not in ran.headers
    with create_session() as session:
        carrier = session.scalar(
            select(DagRun.context_carrier).where(DagRun.dag_id == DAG, DagRun.run_id == ran.json()["run_id"])
        )
    # Airflow's carrier of a new, unsampled trace (no SDK provider): no trace to link to.
    assert carrier
    assert carrier["traceparent"].endswith("-00")
    assert tracing.carrier_trace_id(carrier) is None


def test_me_names_the_configured_trace_link(airflow_db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(), headers=headers("viewer", "vera")) as client:
        assert client.get("/api/v1/me").json()["trace_url_template"] is None
        monkeypatch.setenv("AIRFLOW__YLAI__TRACE_URL_TEMPLATE", "http://localhost:16686/trace/{trace_id}")
        me = client.get("/api/v1/me").json()
    assert me["trace_url_template"] == "http://localhost:16686/trace/{trace_id}"
