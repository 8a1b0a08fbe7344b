"""Exports: CSV / xlsx / PDF read back (Chinese included), filters, 422s, export jobs and permissions."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

MONTH = "2025-10"
ADMIN = headers("admin", "root")
OP = headers("op", "alice")
VIEWER = headers("viewer", "vera")
ZHANG = "张三"


def _trigger(dag_id: str, username: str, state: str, day: int, seconds: float, params: dict[str, Any]) -> str:
    """A real run (with its task instances) moved into October 2025 and finished as a worker would."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain import dags as dag_service

    with create_session() as session:
        run = dag_service.trigger(dag_id, params, SimpleAuthManagerUser(username=username, role="op"), session)
        run_id = run.run_id
        start = datetime(2025, 10, day, 8, 0, tzinfo=UTC)
        run.run_after = start - timedelta(seconds=5)
        run.queued_at = start - timedelta(seconds=3)
        run.state, run.start_date, run.end_date = state, start, start + timedelta(seconds=seconds)
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)):
            ti.state = state
            ti.queued_dttm, ti.start_date, ti.end_date = start - timedelta(seconds=2), start, run.end_date
            ti.duration = seconds
        session.flush()
        assert session.scalar(select(DagRun.id).where(DagRun.run_id == run_id)) is not None
    return run_id


def _clear_october() -> None:
    """Remove runs other modules left in October 2025 (``_trigger`` is shared), so counts are this module's."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    window = (datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC))
    with create_session() as session:
        old = select(DagRun.run_id).where(DagRun.start_date >= window[0], DagRun.start_date < window[1])
        session.execute(delete(TaskInstance).where(TaskInstance.run_id.in_(old)))
        session.execute(delete(DagRun).where(DagRun.start_date >= window[0], DagRun.start_date < window[1]))


@pytest.fixture(scope="module")
def runs(airflow_db: object) -> dict[str, str]:
    sync_repo_dags()
    _clear_october()
    made = {
        "ok1": _trigger("script__disk_usage", "alice", "success", 3, 10, {"top": 2}),
        "ok2": _trigger("script__disk_usage", "alice", "success", 4, 30, {"top": 2}),
        "bad": _trigger("script__disk_usage", "bob", "failed", 5, 5, {"top": 2}),
        "gen_ok": _trigger("script__data_generator", ZHANG, "success", 6, 20, {"rows": 5}),
        "gen_bad": _trigger("script__data_generator", ZHANG, "failed", 7, 40, {"rows": 5}),
    }
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        for i, (event, owner) in enumerate([("trigger", "alice"), ("trigger", ZHANG), ("clear", "bob")]):
            entry = Log(event=event, owner=owner, dag_id="script__disk_usage", extra='{"note": "导出测试"}')
            entry.dttm = datetime(2025, 10, 10 + i, tzinfo=UTC)
            session.add(entry)
        global_entry = Log(event="cli_users_create", owner="admin")
        global_entry.dttm = datetime(2025, 10, 20, tzinfo=UTC)
        session.add(global_entry)
    return made


@pytest.fixture(scope="module")
def client(runs: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _csv(resp: Any) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text
    text = resp.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_csv_covers_the_month_with_filters(client: TestClient, runs: dict[str, str]) -> None:
    resp = client.get("/api/v1/exports/runs", params={"month": MONTH}, headers=OP)
    assert resp.headers["content-type"].startswith("text/csv")
    assert 'filename="ylai-runs-20251001-20251101.csv"' in resp.headers["content-disposition"]
    rows = _csv(resp)
    assert sorted(r["Run"] for r in rows) == sorted(runs.values())
    first = next(r for r in rows if r["Run"] == runs["ok2"])
    assert first["DAG"] == "script__disk_usage"
    assert first["State"] == "success"
    assert first["User"] == "alice"
    assert first["Started"] == "2025-10-04T08:00:00+00:00"
    assert float(first["Duration (s)"]) == 30.0

    failed = _csv(client.get("/api/v1/exports/runs", params={"month": MONTH, "state": "failed"}, headers=OP))
    assert sorted(r["Run"] for r in failed) == sorted([runs["bad"], runs["gen_bad"]])
    by_user = _csv(client.get("/api/v1/exports/runs", params={"month": MONTH, "user": ZHANG}, headers=OP))
    assert sorted(r["Run"] for r in by_user) == sorted([runs["gen_ok"], runs["gen_bad"]])
    by_script = _csv(
        client.get("/api/v1/exports/runs", params={"month": MONTH, "script": "data_generator"}, headers=OP)
    )
    assert {r["DAG"] for r in by_script} == {"script__data_generator"}
    two = client.get(
        "/api/v1/exports/runs",
        params=[("since", "2025-10-04T00:00:00Z"), ("until", "2025-10-06T00:00:00Z"), ("dag_id", "script__disk_usage")],
        headers=OP,
    )
    assert sorted(r["Run"] for r in _csv(two)) == sorted([runs["ok2"], runs["bad"]])
    both = _csv(
        client.get(
            "/api/v1/exports/runs",
            params={"month": MONTH, "dag_id": "script__disk_usage,script__data_generator", "state": "success"},
            headers=OP,
        )
    )
    assert len(both) == 3


def test_chinese_csv_has_a_bom_and_chinese_headers(client: TestClient, runs: dict[str, str]) -> None:
    resp = client.get("/api/v1/exports/tasks", params={"month": MONTH, "language": "zh-CN", "user": ZHANG}, headers=OP)
    assert resp.content.startswith("\ufeff".encode())
    rows = _csv(resp)
    assert rows
    assert {r["用户"] for r in rows} == {ZHANG}
    assert {r["状态"] for r in rows} == {"success", "failed"}
    assert {r["任务"] for r in rows} == {"data_generator"}
    assert all(float(r["排队等待（秒）"]) == 2.0 for r in rows)  # noqa: RUF001


def test_xlsx_has_a_summary_and_a_frozen_details_sheet_in_chinese(client: TestClient, runs: dict[str, str]) -> None:
    from openpyxl import load_workbook

    resp = client.get(
        "/api/v1/exports/runs", params={"month": MONTH, "format": "xlsx", "language": "zh-CN"}, headers=OP
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames == ["摘要", "明细"]
    details = wb["明细"]
    assert details.freeze_panes == "A2"
    values = list(details.iter_rows(values_only=True))
    assert values[0][:4] == ("DAG", "运行 ID", "运行类型", "状态")
    assert len(values) == 1 + len(runs)
    assert sorted(v[1] for v in values[1:]) == sorted(runs.values())
    assert {v[5] for v in values[1:]} == {"alice", "bob", ZHANG}
    started = next(v for v in values[1:] if v[1] == runs["ok1"])[8]
    assert started == datetime(2025, 10, 3, 8, 0)  # a real date cell (UTC)
    assert details.column_dimensions["B"].width >= 40
    assert details["A1"].font.b
    assert details.auto_filter.ref == f"A1:K{1 + len(runs)}"

    summary = {row[0]: row[1] for row in wb["摘要"].iter_rows(values_only=True) if row and row[0]}
    assert summary["运行报告"] is None
    assert summary["运行次数"] == 5
    assert summary["成功"] == 3
    assert summary["失败"] == 2
    assert summary["成功率"] == 0.6
    assert summary["开始"] == "2025-10-01 00:00:00 UTC"
    cells = [c for row in wb["摘要"].iter_rows() for c in row if c.value == 0.6]
    assert cells[0].number_format == "0.0%"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            ["Runs report", "Summary", "Runs per day", "Runs by state", "script__disk_usage", ZHANG, "Success rate"],
        ),
        ("zh-CN", ["运行报告", "筛选条件", "每日运行次数", "运行状态分布", "成功率", ZHANG, "明细"]),
    ],
)
def test_runs_pdf_has_title_filters_summary_charts_and_rows(
    client: TestClient, runs: dict[str, str], language: str, expected: list[str]
) -> None:
    from pypdf import PdfReader

    resp = client.get(
        "/api/v1/exports/runs", params={"month": MONTH, "format": "pdf", "language": language}, headers=OP
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for needle in expected:
        assert needle in text, needle
    assert runs["gen_bad"][:20] in text
    fonts: set[str] = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in (resources.get("/Font") or {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    # Both languages list 张三, so both embed the CJK font ylai ships (a system one only as a fallback).
    assert any(f.endswith("+WenQuanYiMicroHei-0") for f in fonts), fonts


def test_monitor_pdf_in_chinese_has_its_charts_and_statistics(client: TestClient, runs: dict[str, str]) -> None:
    from pypdf import PdfReader

    resp = client.get(
        "/api/v1/exports/monitor", params={"month": MONTH, "format": "pdf", "language": "zh-CN"}, headers=OP
    )
    assert resp.status_code == 200, resp.text
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.content)).pages)
    for needle in [
        "监控统计报告",
        "每日运行次数",
        "失败次数最多的 DAG",
        "各 DAG 成功率",
        "任务实例状态分布",
        "排队等待 p95",
    ]:
        assert needle in text, needle
    assert "script__data_generator" in text
    rows = _csv(client.get("/api/v1/exports/monitor", params={"month": MONTH}, headers=OP))
    gen = next(r for r in rows if r["DAG"] == "script__data_generator")
    assert (gen["Runs"], gen["Succeeded"], gen["Failed"], gen["Success rate"]) == ("2", "1", "1", "0.5")
    assert gen["Kind"] == "script"
    assert float(gen["Duration p95 (s)"]) == 40.0


def test_scripts_audit_and_alerts_exports(client: TestClient, runs: dict[str, str]) -> None:
    scripts = _csv(client.get("/api/v1/exports/scripts", params={"month": MONTH}, headers=OP))
    disk = next(r for r in scripts if r["Name"] == "disk_usage")
    assert (disk["Runs"], disk["Succeeded"], disk["Failed"]) == ("3", "2", "1")
    assert disk["Last state"] == "failed"

    audit = _csv(client.get("/api/v1/exports/audit", params={"month": MONTH}, headers=OP))
    assert [r["Event"] for r in audit] == ["trigger", "trigger", "clear", "cli_users_create"]
    assert audit[0]["Extra"] == '{"note": "导出测试"}'
    mine = _csv(client.get("/api/v1/exports/audit", params={"month": MONTH, "user": ZHANG}, headers=OP))
    assert [r["User"] for r in mine] == [ZHANG]
    scoped = _csv(
        client.get("/api/v1/exports/audit", params={"month": MONTH, "dag_id": "script__disk_usage"}, headers=OP)
    )
    assert len(scoped) == 3  # the DAG-less CLI entry is left out when a DAG is asked for

    from airflow.utils.session import create_session

    from ylai_plugin.db.alert_models import Alert

    with create_session() as session:
        for i, state in enumerate(["resolved", "firing"]):
            session.add(
                Alert(
                    rule_name="夜间流水线失败",
                    condition_type="run_failed",
                    dedup_key=f"export-test-{i}",
                    state=state,
                    severity="critical",
                    title=f"script__disk_usage failed {i}",
                    details={},
                    dag_id="script__disk_usage",
                    started_at=datetime(2025, 10, 5 + i, tzinfo=UTC),
                )
            )
    alerts = _csv(client.get("/api/v1/exports/alerts", params={"month": MONTH, "language": "zh-CN"}, headers=OP))
    assert [(a["状态"], a["规则"]) for a in alerts] == [("resolved", "夜间流水线失败"), ("firing", "夜间流水线失败")]
    firing = _csv(client.get("/api/v1/exports/alerts", params={"month": MONTH, "state": "firing"}, headers=OP))
    assert len(firing) == 1

    from openpyxl import load_workbook

    xlsx = client.get("/api/v1/exports/alerts", params={"month": MONTH, "format": "xlsx"}, headers=OP)
    summary = {r[0]: r[1] for r in load_workbook(io.BytesIO(xlsx.content))["Summary"].iter_rows(values_only=True) if r}
    assert (summary["Alerts"], summary["Firing"], summary["Resolved"]) == (2, 1, 1)


def test_scripts_export_has_the_resource_page_figures(client: TestClient, runs: dict[str, str]) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from ylai_plugin.reports import i18n

    # What ScriptOperator returned for the two successful disk_usage runs (the failed one has nothing).
    with create_session() as session:
        for run, rss, cpu in ((runs["ok1"], 10 * 2**20, 1.5), (runs["ok2"], 30 * 2**20 + 2**19, 4.25)):
            result = {"outputs": {}, "exit_code": 0, "peak_rss_bytes": rss, "cpu_seconds": cpu}
            XComModel.set(
                key="return_value",
                value=result,
                task_id="disk_usage",
                dag_id="script__disk_usage",
                run_id=run,
                session=session,
            )
    scripts = _csv(client.get("/api/v1/exports/scripts", params={"month": MONTH}, headers=OP))
    disk = next(r for r in scripts if r["Name"] == "disk_usage")
    assert (disk["Peak RSS p95 (MiB)"], disk["CPU time p95 (s)"]) == ("30.5", "4.25")
    gen = next(r for r in scripts if r["Name"] == "data_generator")
    assert (gen["Peak RSS p95 (MiB)"], gen["CPU time p95 (s)"]) == ("", "")  # runs, none measured
    chinese = _csv(client.get("/api/v1/exports/scripts", params={"month": MONTH, "language": "zh-CN"}, headers=OP))
    disk = next(r for r in chinese if r["名称"] == "disk_usage")
    labels = [i18n.t(key, "zh-CN") for key in ("col.peak_rss_p95", "col.cpu_p95")]
    assert [disk[label] for label in labels] == ["30.5", "4.25"]
    assert labels[0].startswith("峰值内存")


def test_summary_json(client: TestClient, runs: dict[str, str]) -> None:
    resp = client.get("/api/v1/exports/runs/summary", params={"month": MONTH, "language": "zh-CN"}, headers=OP)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["title"] == "运行报告"
    assert body["rows"] == 5
    overview = {row[0]: row[1] for row in body["tables"][0]["rows"]}
    assert overview["运行次数"] == 5
    assert overview["成功率"] == 0.6
    chart = next(c for c in body["charts"] if c["title"] == "每日运行次数")
    assert sum(chart["series"]["失败"]) == 2


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("runs", {"month": "2025-13"}, "query.month"),
        ("runs", {"since": "2025-10-05T00:00:00Z", "until": "2025-10-01T00:00:00Z"}, "query"),
        ("runs", {"month": MONTH, "since": "2025-10-01T00:00:00Z"}, "query"),
        ("runs", {"since": "yesterday"}, "query.since"),
        ("runs", {"state": "exploded"}, "query.state.0"),
        ("tasks", {"state": "success,nope"}, "query.state.1"),
        ("audit", {"state": "failed"}, "query.state"),
        ("monitor", {"user": "alice"}, "query.user"),
        ("runs", {"format": "docx"}, "query.format"),
        ("runs", {"language": "fr"}, "query.language"),
        ("runs", {"colour": "red"}, "query.colour"),
        ("runs", {"rating": "3"}, "query.rating"),
        ("audit", {"page": "run"}, "query.page"),
        ("feedback", {"rating": "7"}, "query.rating.0"),
        ("feedback", {"rating": "4,0"}, "query.rating.1"),
        ("feedback", {"rating": "x"}, "query.rating.0"),
        ("feedback", {"page": "p" * 201}, "query.page"),
        ("nothing", {}, "path.kind"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    resp = client.get(f"/api/v1/exports/{path}", params=params, headers=OP)
    assert resp.status_code == 422, resp.text
    fields = [d["field"] for d in resp.json()["error"]["details"]]
    assert field in fields, fields


def test_bad_job_body_is_422_naming_the_field(client: TestClient) -> None:
    resp = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"state": ["sleeping"]}}, headers=OP)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "body.filters.state.0"
    resp = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"month": "10/2025"}}, headers=OP)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "body.filters.month"
    resp = client.post("/api/v1/exports/jobs", json={"kind": "runs", "format": "doc"}, headers=OP)
    assert resp.json()["error"]["details"][0]["field"] == "body.format"
    resp = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"page": "run"}}, headers=OP)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "body.filters.page"
    resp = client.post("/api/v1/exports/jobs", json={"kind": "feedback", "filters": {"rating": [6]}}, headers=OP)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "body.filters.rating.0"


RATER = "rita_rates"


@pytest.fixture(scope="module")
def rated(client: TestClient) -> None:
    """Feedback of one user (so other modules' feedback stays out): ratings 1, 2 and 5 on run, logs and run."""
    for rating, page in [(1, "run"), (2, "logs"), (5, "run")]:
        body = {"rating": rating, "comment": f"{rating} on {page}", "page": page, "app_version": "0.9.0"}
        assert client.post("/api/v1/feedback", json=body, headers=headers("user", RATER)).status_code == 201


def _feedback(client: TestClient, **params: Any) -> list[tuple[str, str]]:
    rows = _csv(client.get("/api/v1/exports/feedback", params={"user": RATER, **params}, headers=ADMIN))
    return [(r["Rating"], r["Page"]) for r in rows]


def test_feedback_export_filters_by_rating_and_page_like_the_list(client: TestClient, rated: None) -> None:
    assert _feedback(client) == [("1", "run"), ("2", "logs"), ("5", "run")]
    assert _feedback(client, page="run") == [("1", "run"), ("5", "run")]
    assert _feedback(client, rating="2") == [("2", "logs")]
    assert _feedback(client, rating="1,2") == [("1", "run"), ("2", "logs")]
    assert _feedback(client, rating=["5", "2"], page="run") == [("5", "run")]
    assert _feedback(client, page="monitor") == []
    listed = client.get("/api/v1/feedback", params={"page": "run", "rating": 5}, headers=ADMIN).json()["items"]
    assert [(str(f["rating"]), f["page"]) for f in listed if f["user"] == RATER] == [("5", "run")]


def test_feedback_job_shows_its_rating_and_page_filters_in_the_header(
    client: TestClient, rated: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import load_workbook

    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path / "exports"))
    filters = {"user": RATER, "rating": [1, 5], "page": "run"}
    resp = client.post(
        "/api/v1/exports/jobs",
        json={"kind": "feedback", "format": "xlsx", "language": "zh-CN", "filters": filters},
        headers=ADMIN,
    )
    assert resp.status_code == 202, resp.text
    job = _wait(client, resp.json()["id"], ADMIN)
    assert job["state"] == "success", job
    assert job["filters"] == filters
    book = load_workbook(io.BytesIO(client.get(job["download_url"], headers=ADMIN).content))
    assert _filters_section(book["摘要"], "筛选条件")[-2:] == [("评分", "1, 5"), ("页面", "run")]
    assert [r[3] for r in book["明细"].iter_rows(min_row=2, values_only=True)] == [1, 5]
    # Without them, the header has no rating or page line (as runs never do).
    plain = client.get("/api/v1/exports/feedback", params={"user": RATER, "format": "xlsx"}, headers=ADMIN)
    lines = _filters_section(load_workbook(io.BytesIO(plain.content))["Summary"], "Filters")
    assert [name for name, _ in lines] == ["From", "Until", "DAG", "Script", "State", "User"]


def _filters_section(sheet: Any, title: str) -> list[tuple[Any, Any]]:
    """The (label, value) lines under the Summary sheet's filters title, up to the blank row after them."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and r[0] == title) + 1
    end = next(i for i in range(start, len(rows)) if not rows[i] or rows[i][0] is None)
    return [(r[0], r[1]) for r in rows[start:end]]


def _wait(client: TestClient, job_id: int, hdrs: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/exports/jobs/{job_id}", headers=hdrs).json()
        if job["state"] in {"success", "failed"} or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_export_job_lifecycle(
    client: TestClient, runs: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path / "exports"))
    resp = client.post(
        "/api/v1/exports/jobs",
        json={"kind": "runs", "format": "xlsx", "language": "zh-CN", "filters": {"month": MONTH}},
        headers=OP,
    )
    assert resp.status_code == 202, resp.text
    created = resp.json()
    assert created["state"] in {"queued", "running", "success"}
    assert created["download_url"] is None or created["state"] == "success"
    job = _wait(client, created["id"], OP)
    assert job["state"] == "success", job
    assert (job["rows_done"], job["rows_total"], job["progress"]) == (5, 5, 1.0)
    assert job["download_url"] == f"/api/v1/exports/jobs/{created['id']}/download"
    assert job["file_name"] == f"ylai-runs-20251001-20251101-job{created['id']}.xlsx"
    assert (tmp_path / "exports" / job["file_name"]).is_file()

    download = client.get(job["download_url"], headers=OP)
    assert download.status_code == 200
    assert len(download.content) == job["size_bytes"]
    from openpyxl import load_workbook

    details = load_workbook(io.BytesIO(download.content))["明细"]
    assert sorted(r[1] for r in details.iter_rows(min_row=2, values_only=True)) == sorted(runs.values())

    listed = client.get("/api/v1/exports/jobs", headers=OP).json()
    assert created["id"] in [j["id"] for j in listed["items"]]
    other = headers("op", "otto")
    assert client.get(f"/api/v1/exports/jobs/{created['id']}", headers=other).status_code == 404
    assert client.get(job["download_url"], headers=other).status_code == 404
    assert created["id"] not in [j["id"] for j in client.get("/api/v1/exports/jobs", headers=other).json()["items"]]


def test_failed_job_keeps_its_reason(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the export folder should be")
    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(blocker / "exports"))
    resp = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"month": MONTH}}, headers=OP)
    job = _wait(client, resp.json()["id"], OP)
    assert job["state"] == "failed"
    assert "not-a-dir" in job["error"]
    assert job["download_url"] is None
    assert client.get(f"/api/v1/exports/jobs/{job['id']}/download", headers=OP).status_code == 409


def test_job_left_running_by_a_dead_process_is_marked_failed(client: TestClient) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.export_models import ExportJob

    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with create_session() as session:
        job = ExportJob(
            kind="runs", format="csv", language="en", filters={}, dag_ids=[], include_global=False,
            state="running", rows_done=10, rows_total=100, created_by="alice", worker="gone-host:4242",
            started_at=long_ago, heartbeat_at=long_ago,
        )  # fmt: skip
        session.add(job)
        session.flush()
        job_id = job.id
    seen = client.get(f"/api/v1/exports/jobs/{job_id}", headers=OP).json()
    assert seen["state"] == "failed"
    assert seen["error"].startswith("Interrupted: the api-server process running this export stopped")
    assert seen["rows_done"] == 10


def test_job_writes_through_object_storage(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", f"file://{tmp_path}/shared")
    resp = client.post(
        "/api/v1/exports/jobs", json={"kind": "audit", "format": "csv", "filters": {"month": MONTH}}, headers=OP
    )
    job = _wait(client, resp.json()["id"], OP)
    assert job["state"] == "success", job
    assert (tmp_path / "shared" / job["file_name"]).is_file()
    rows = _csv(client.get(job["download_url"], headers=OP))
    assert [r["Event"] for r in rows] == ["trigger", "trigger", "clear", "cli_users_create"]


def test_streamed_batches_return_every_row_once_in_order(
    client: TestClient, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    from ylai_plugin.reports import datasets

    with create_session() as session:
        for i in range(1234):
            entry = Log(event=f"bulk-{i:05d}", owner="bulk", dag_id="script__http_check")
            entry.dttm = datetime(2025, 9, 1, tzinfo=UTC) + timedelta(seconds=i)
            session.add(entry)
    monkeypatch.setattr(datasets, "BATCH", 100)
    rows = _csv(client.get("/api/v1/exports/audit", params={"month": "2025-09", "user": "bulk"}, headers=OP))
    assert [r["Event"] for r in rows] == [f"bulk-{i:05d}" for i in range(1234)]


def test_direct_xlsx_is_bounded_and_points_to_jobs(
    client: TestClient, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIRECT_MAX_ROWS", "3")
    resp = client.get("/api/v1/exports/runs", params={"month": MONTH, "format": "xlsx"}, headers=OP)
    assert resp.status_code == 413
    assert "POST /exports/jobs" in resp.json()["error"]["message"]
    assert len(_csv(client.get("/api/v1/exports/runs", params={"month": MONTH}, headers=OP))) == 5  # CSV streams


def test_missing_font_is_a_clear_error(
    client: TestClient, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__REPORT_FONT", "/nonexistent/font.ttc")
    resp = client.get("/api/v1/exports/runs", params={"month": MONTH, "format": "pdf"}, headers=OP)
    assert resp.status_code == 503
    assert "paperang-p2-fonts-cjk" in resp.json()["error"]["message"]
    assert "/nonexistent/font.ttc" in resp.json()["error"]["message"]
    # An English PDF without Chinese text (a month without runs) needs no CJK font at all.
    resp = client.get("/api/v1/exports/runs", params={"month": "2024-01", "format": "pdf"}, headers=OP)
    assert resp.status_code == 200, resp.text
    assert resp.content.startswith(b"%PDF")
    # A Chinese PDF job is refused before it is queued.
    body = {"kind": "runs", "format": "pdf", "language": "zh-CN", "filters": {"month": MONTH}}
    resp = client.post("/api/v1/exports/jobs", json=body, headers=OP)
    assert resp.status_code == 503
    assert "report_font" in resp.json()["error"]["message"]


class FabGrants:
    """SimpleAuthManager lets every role use custom views; this applies ylai's FAB role grants instead."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def is_authorized_custom_view(self, *, method: str, resource_name: str, user: Any) -> bool:
        from ylai_plugin.permissions import ROLE_GRANTS

        action = {"GET": "can_read", "POST": "can_create", "PATCH": "can_edit", "DELETE": "can_delete"}[method]
        return action in ROLE_GRANTS[str(user.role).capitalize()].get(resource_name, ())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_permissions(client: TestClient, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    grants = FabGrants(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: grants)
    assert client.get("/api/v1/exports/runs").status_code == 401
    assert client.get("/api/v1/exports/jobs").status_code == 401
    assert client.post("/api/v1/exports/jobs", json={"kind": "runs"}).status_code == 401
    assert client.get("/api/v1/exports/runs", params={"month": MONTH}, headers=VIEWER).status_code == 200
    assert client.get("/api/v1/exports/jobs", headers=VIEWER).status_code == 200
    denied = client.post("/api/v1/exports/jobs", json={"kind": "runs"}, headers=VIEWER)
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "You may not create ylai Reports"
    allowed = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"month": MONTH}}, headers=OP)
    assert allowed.status_code == 202
    assert _wait(client, allowed.json()["id"], OP)["state"] == "success"


class OnlyDiskUsage:
    """An auth manager for user "dora" who may read script__disk_usage only (everything else as usual)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        ids = set(self.real.get_authorized_dag_ids(user=user, method=method, **kw))
        return ids & {"script__disk_usage"} if user.get_name() == "dora" else ids

    def is_authorized_dag(self, *, method: str, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == "dora" and (details is None or details.id != "script__disk_usage"):
            return False
        return bool(self.real.is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_exports_only_cover_dags_the_user_may_read(
    client: TestClient, runs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import access

    real = access.auth_manager()
    restricted = OnlyDiskUsage(real)
    monkeypatch.setattr(access, "auth_manager", lambda: restricted)
    dora = headers("op", "dora")
    rows = _csv(client.get("/api/v1/exports/runs", params={"month": MONTH}, headers=dora))
    assert sorted(r["Run"] for r in rows) == sorted([runs["ok1"], runs["ok2"], runs["bad"]])
    hidden = client.get(
        "/api/v1/exports/runs", params={"month": MONTH, "dag_id": "script__data_generator"}, headers=dora
    )
    assert hidden.status_code == 404
    assert (
        client.get(
            "/api/v1/exports/runs", params={"month": MONTH, "script": "data_generator"}, headers=dora
        ).status_code
        == 404
    )
    monitor = _csv(client.get("/api/v1/exports/monitor", params={"month": MONTH}, headers=dora))
    assert [r["DAG"] for r in monitor] == ["script__disk_usage"]
    assert client.get("/api/v1/exports/audit", params={"month": MONTH}, headers=dora).status_code == 403
    job = client.post("/api/v1/exports/jobs", json={"kind": "tasks", "filters": {"month": MONTH}}, headers=dora).json()
    done = _wait(client, job["id"], dora)
    assert done["state"] == "success", done
    tasks = _csv(client.get(done["download_url"], headers=dora))
    assert {r["DAG"] for r in tasks} == {"script__disk_usage"}


def test_files_are_deleted_after_the_retention_period(
    client: TestClient, runs: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.export_models import ExportJob
    from ylai_plugin.reports.jobs import runner

    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path / "exports"))
    created = client.post("/api/v1/exports/jobs", json={"kind": "runs", "filters": {"month": MONTH}}, headers=OP)
    job = _wait(client, created.json()["id"], OP)
    assert job["state"] == "success"
    stored = tmp_path / "exports" / job["file_name"]
    assert stored.is_file()
    with create_session() as session:
        row = session.get(ExportJob, job["id"])
        assert row is not None
        row.finished_at = datetime.now(UTC) - timedelta(days=8)
    monkeypatch.setattr(runner, "_last_expiry", -1e9)  # expiry runs at most once a minute per process
    seen = client.get(f"/api/v1/exports/jobs/{job['id']}", headers=OP).json()
    assert not stored.exists()
    assert seen["state"] == "success"
    assert seen["download_url"] is None
    assert "deleted 7 days after" in seen["error"]
    gone = client.get(f"/api/v1/exports/jobs/{job['id']}/download", headers=OP)
    assert gone.status_code == 404
    assert "no longer available" in gone.json()["error"]["message"]
