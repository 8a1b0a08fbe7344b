"""What the OpenAPI document promises about every response, checked on the unit tests' SQLite DB.

- every ``date-time`` carries its UTC offset (SQLite has no time zone type);
- a body that is not UTF-8 is invalid input (422 in the envelope), not an undocumented 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

ADMIN = headers("admin", "tz-admin")


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    sync_repo_dags()
    with TestClient(create_app(), headers=ADMIN) as c:
        yield c


def _aware_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value!r} has no UTC offset"
    assert parsed.utcoffset() == timedelta(0), f"{value!r} is not UTC"
    return parsed


def test_ylai_tables_give_back_aware_utc_datetimes_on_sqlite(airflow_db: object) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.db.models import WorkerSample

    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 1, 2, 13, 0, 0, tzinfo=paris)
    with create_session() as session:
        assert session.get_bind().dialect.name == "sqlite"
        for host, ts in (("tz-aware", local), ("tz-naive", datetime(2026, 1, 2, 12, 0, 0))):
            session.add(
                WorkerSample(
                    host=host, kind="celery-worker", pid=1, ts=ts, cpu_percent=1.0, cpu_count=2, mem_percent=1.0,
                    mem_used_bytes=1, mem_total_bytes=2, disk_percent=1.0, disk_free_bytes=1, load1=0.1,
                    load5=0.1, load15=0.1, running_tasks=0,
                )
            )  # fmt: skip
    with create_session() as session:
        stored = dict(
            session.execute(
                select(WorkerSample.host, WorkerSample.ts).where(WorkerSample.host.in_(["tz-aware", "tz-naive"]))
            ).all()
        )
        # A bound datetime is converted to UTC, so comparisons against UTC values hold on SQLite too.
        later = session.scalars(
            select(WorkerSample.host).where(
                WorkerSample.host.in_(["tz-aware", "tz-naive"]),
                WorkerSample.ts >= datetime(2026, 1, 2, 11, 30, tzinfo=UTC),
            )
        ).all()
        session.query(WorkerSample).filter(WorkerSample.host.in_(["tz-aware", "tz-naive"])).delete()
    assert stored["tz-aware"] == datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)
    assert stored["tz-aware"].tzinfo is UTC
    assert stored["tz-naive"] == datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)  # naive is taken as UTC
    assert sorted(later) == ["tz-aware", "tz-naive"]


def test_task_preset_and_script_version_timestamps_carry_utc_offsets(client: TestClient) -> None:
    task = client.post("/api/v1/tasks", json={"name": "tz task", "script": "disk_usage", "params": {"top": 1}})
    assert task.status_code == 201, task.text
    for field in ("created_at", "updated_at"):
        _aware_utc(task.json()[field])
    listed = client.get("/api/v1/tasks", params={"q": "tz task"}).json()["items"][0]
    _aware_utc(listed["created_at"])
    _aware_utc(client.get(f"/api/v1/tasks/{task.json()['id']}").json()["updated_at"])

    preset = client.post("/api/v1/presets", json={"name": "tz preset", "dag_id": "script__disk_usage"})
    assert preset.status_code == 201, preset.text
    _aware_utc(preset.json()["created_at"])
    _aware_utc(client.get(f"/api/v1/presets/{preset.json()['id']}").json()["updated_at"])

    script = client.post(
        "/api/v1/scripts",
        json={"name": "tz_script", "runtime": "bash", "content": "echo hi\n", "manifest": {}},
    )
    assert script.status_code == 201, script.text
    _aware_utc(script.json()["versions"][0]["created_at"])


def test_system_monitor_sample_timestamps_carry_utc_offsets(client: TestClient) -> None:
    from ylai_plugin.domain.cache import get_cache
    from ylai_plugin.monitoring.sampler import store_sample, take_sample

    store_sample({**take_sample("celery-worker"), "host": "tz-worker", "ts": datetime.now(UTC)})
    get_cache().clear()
    body = client.get("/api/v1/monitor/system").json()
    host = next(h for h in body["hosts"] if h["host"] == "tz-worker")
    _aware_utc(host["last_heartbeat"])
    _aware_utc(host["latest"]["ts"])
    for sample in host["history"]:
        _aware_utc(sample["ts"])
    _aware_utc(body["generated_at"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/tasks"), ("POST", "/api/v1/presets"), ("PATCH", "/api/v1/presets/1")],
)
def test_a_body_that_is_not_utf8_is_invalid_input(client: TestClient, method: str, path: str) -> None:
    body = '{"name": "caf\u00e9", "dag_id": "script__disk_usage"}'.encode("latin-1")
    resp = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"] == [
        {"field": "body", "reason": "the request body could not be read: send JSON encoded in UTF-8"}
    ]


def test_broken_json_is_still_a_422_naming_the_body(client: TestClient) -> None:
    resp = client.post("/api/v1/tasks", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"].startswith("body")


def test_every_ylai_datetime_column_gives_back_aware_utc() -> None:
    # A plain DateTime(timezone=True) comes back naive from SQLite, and the API then breaks its
    # documented date-time format (an export-jobs column once did): every table must use UtcDateTime.
    from sqlalchemy import DateTime

    from ylai_plugin.db.models import UtcDateTime, metadata

    plain = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, UtcDateTime)
    ]
    assert len(metadata.tables) >= 10
    assert plain == []


@pytest.mark.parametrize(
    ("error", "status", "code", "details", "headers"),
    [
        pytest.param("not_found", 404, "not_found", None, {}, id="not-found"),
        pytest.param(
            "invalid", 422, "invalid_input", [{"field": "body.name", "reason": "cannot be null"}], {}, id="invalid"
        ),
        pytest.param("invalid_whole", 422, "invalid_input", None, {}, id="invalid-without-field"),
        pytest.param("conflict", 409, "conflict", None, {}, id="conflict"),
        pytest.param("forbidden", 403, "forbidden", None, {}, id="forbidden"),
        pytest.param("unavailable", 503, "unavailable", None, {"retry-after": "7"}, id="unavailable"),
    ],
)
def test_domain_errors_answer_in_the_envelope(
    error: str, status: int, code: str, details: object, headers: dict[str, str]
) -> None:
    from fastapi import FastAPI

    from ylai_plugin.api.errors import install_error_handlers
    from ylai_plugin.domain import errors

    raised = {
        "not_found": errors.not_found("Task", 42),
        "invalid": errors.Invalid.at("body.name", "cannot be null"),
        "invalid_whole": errors.Invalid(message="run_id already exists"),
        "conflict": errors.Conflict("A task named 'x' already exists"),
        "forbidden": errors.Forbidden("You may not create ylai Tasks"),
        "unavailable": errors.Unavailable("Redis is down", dependency="redis", retry_after=7),
    }[error]
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise raised

    resp = TestClient(app).get("/boom")
    assert resp.status_code == status
    assert resp.json() == {"error": {"code": code, "message": raised.message, "details": details}}
    for name, value in headers.items():
        assert resp.headers[name] == value
    if not headers:
        assert "retry-after" not in resp.headers
