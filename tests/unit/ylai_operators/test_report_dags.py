"""Scheduled reports: a YAML spec becomes a DAG whose run e-mails the PDF to a real SMTP server (aiosmtpd)
and posts a summary to a Slack-compatible webhook receiver, both on 127.0.0.1, using ylai's API over HTTP.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.unit.api_client import sync_repo_dags, token
from tests.unit.ylai_plugin.api.routes.test_exports import _trigger

SPEC = """
name: nightly_check
description: 昨日运行报告
schedule: "0 6 * * *"
kind: runs
format: pdf
language: zh-CN
period: previous_day
filters:
  dag_id: [script__disk_usage]
api_conn_id: ylai_api_test
email:
  conn_id: smtp_test
  to: [ops@example.com, data-team@example.com]
slack:
  conn_id: slack_hook_test
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A local HTTP server in a thread; yields its port."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def api_server(airflow_db: object) -> Iterator[str]:
    """ylai's API served by uvicorn on 127.0.0.1, over the unit tests' database."""
    import uvicorn
    from fastapi import FastAPI

    from ylai_plugin.api.app import create_app

    sync_repo_dags()
    port = _free_port()
    root = FastAPI()
    root.mount("/ylai", create_app())  # as Airflow's api-server mounts the plugin app
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _connect_to_api(monkeypatch: pytest.MonkeyPatch, api_server: str) -> None:
    """The ``ylai_api_test`` connection a report DAG reads the local API through, as the reporter (Op)."""
    port = int(api_server.rsplit(":", 1)[1])
    connection = {"conn_type": "http", "host": "127.0.0.1", "port": port, "password": token("op", "reporter")}
    monkeypatch.setenv("AIRFLOW_CONN_YLAI_API_TEST", json.dumps(connection))


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def slack_receiver() -> Iterator[tuple[list[dict[str, Any]], int]]:
    received: list[dict[str, Any]] = []

    class Hook(_QuietHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

    with _serving(Hook) as port:
        yield received, port


def test_spec_becomes_a_dag_and_bad_specs_name_the_field(tmp_path: Path) -> None:
    from ylai_operators.report_dags import report_dags
    from ylai_operators.report_spec import ReportSpecError, parse_spec, period_bounds

    (tmp_path / "nightly.yaml").write_text(SPEC)
    dags = report_dags(tmp_path)
    dag = dags["report__nightly_check"]
    assert dag.tags == {"ylai", "report"} or set(dag.tags) == {"ylai", "report"}
    assert [t.task_id for t in dag.tasks] == ["report"]
    with pytest.raises(ReportSpecError, match=r"x.yaml: 'format' must be one of csv, xlsx, pdf"):
        parse_spec({"name": "a", "kind": "runs", "format": "docx"}, "x.yaml")
    with pytest.raises(ReportSpecError, match=r"'email\.to' must list e-mail addresses"):
        parse_spec({"name": "a", "kind": "runs", "email": {"to": ["nobody"]}}, "x.yaml")
    with pytest.raises(ReportSpecError, match="unknown field"):
        parse_spec({"name": "a", "kind": "runs", "colour": 1}, "x.yaml")
    end = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
    assert period_bounds("previous_day", end) == (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))
    assert period_bounds("previous_month", end) == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert period_bounds("previous_week", end) == (datetime(2026, 2, 23, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))


def test_shipped_example_is_disabled_until_configured() -> None:
    from tests.conftest import REPO_ROOT
    from ylai_operators.report_dags import report_dags

    dag = report_dags(REPO_ROOT / "dags" / "reports")["report__daily_runs"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # enabled: false -> triggered by hand only


def test_scheduled_report_is_emailed_and_posted(
    api_server: str,
    smtp: tuple[Inbox, int],
    slack_receiver: tuple[list[dict[str, Any]], int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pypdf import PdfReader

    from ylai_operators.report_dags import report_dags

    inbox, smtp_port = smtp
    posts, slack_port = slack_receiver
    ran = _trigger("script__disk_usage", "小王", "failed", 1, 12, {"top": 2})
    # _trigger puts runs in October 2025; the report covers 2025-10-01 (previous day of 10-02 06:00).
    _connect_to_api(monkeypatch, api_server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_TEST",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "ylai@example.com"}}),
    )  # fmt: skip
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_HOOK_TEST",
        json.dumps({"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{slack_port}/hook"}),
    )
    (tmp_path / "nightly.yaml").write_text(SPEC)
    dag = report_dags(tmp_path)["report__nightly_check"]
    operator: Any = dag.get_task("report")
    context: Any = {"data_interval_end": datetime(2025, 10, 2, 6, 0, tzinfo=UTC)}
    result = operator.execute(context)

    assert result["rows"] == 1
    assert result["since"] == "2025-10-01T00:00:00+00:00"
    assert result["delivered"] == ["email:ops@example.com", "email:data-team@example.com", "slack:slack_hook_test"]

    assert len(inbox.messages) == 1
    mail_from, rcpt, raw = inbox.messages[0]
    assert mail_from == "ylai@example.com"
    assert sorted(rcpt) == sorted(["ops@example.com", "data-team@example.com"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert "运行报告" in str(message["Subject"])
    html_part = message.get_body(("html",))
    assert html_part is not None
    assert "运行次数" in html_part.get_content()
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["ylai-runs-20251001-20251002.pdf"]
    pdf = attachments[0].get_payload(decode=True)
    assert isinstance(pdf, bytes)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "运行报告" in text
    assert "小王" in text
    assert ran[:20] in text

    assert len(posts) == 1
    assert "运行报告" in posts[0]["text"]
    assert f"{api_server}/ylai/api/v1/exports/runs?" in posts[0]["text"]
    assert "format=pdf" in posts[0]["text"]


@pytest.fixture
def slack_api() -> Iterator[tuple[dict[str, Any], int]]:
    """A Slack Web API stand-in on 127.0.0.1 for files_upload_v2 (get URL, upload, complete)."""
    import urllib.parse

    seen: dict[str, Any] = {"uploads": [], "completed": []}

    class Api(_QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            port: Any = self.server.server_address[1]  # type: ignore[index]
            if self.path.endswith("/files.getUploadURLExternal"):
                form = urllib.parse.parse_qs(raw.decode())
                seen["filename"] = form.get("filename", [""])[0]
                body: dict[str, Any] = {
                    "ok": True, "upload_url": f"http://127.0.0.1:{port}/upload/F1", "file_id": "F1",
                }  # fmt: skip
            elif self.path.startswith("/upload/"):
                seen["uploads"].append(raw)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")
                return
            elif self.path.endswith("/files.completeUploadExternal"):
                form = urllib.parse.parse_qs(raw.decode())
                seen["completed"].append({k: v[0] for k, v in form.items()})
                body = {"ok": True, "files": [{"id": "F1"}]}
            else:
                body = {"ok": False, "error": f"unexpected {self.path}"}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with _serving(Api) as port:
        yield seen, port


def test_report_is_uploaded_with_a_slack_api_connection(
    api_server: str, slack_api: tuple[dict[str, Any], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import load_workbook

    from ylai_operators.report_operator import ReportOperator

    seen, port = slack_api
    _trigger("script__http_check", "alice", "success", 9, 3, {"url": "http://127.0.0.1:1/"})
    _connect_to_api(monkeypatch, api_server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_API_TEST",
        json.dumps(
            {"conn_type": "slack", "password": "xoxb-test", "extra": {"base_url": f"http://127.0.0.1:{port}/api/"}}
        ),
    )
    operator = ReportOperator(
        task_id="r", kind="runs", format="xlsx", language="en", period="previous_day",
        filters={"dag_id": ["script__http_check"]}, api_conn_id="ylai_api_test",
        slack_conn_id="slack_api_test", slack_channel="C0123",
    )  # fmt: skip
    context: Any = {"data_interval_end": datetime(2025, 10, 10, 6, 0, tzinfo=UTC)}
    result = operator.execute(context)
    assert result["delivered"] == ["slack:slack_api_test"]
    assert seen["filename"] == "ylai-runs-20251009-20251010.xlsx"
    details = load_workbook(io.BytesIO(seen["uploads"][0]))["Details"]
    assert [r[0] for r in details.iter_rows(min_row=2, values_only=True)] == ["script__http_check"]
    assert seen["completed"][0]["channel_id"] == "C0123"
    assert "Runs report" in seen["completed"][0]["initial_comment"]


@pytest.fixture
def spans() -> Iterator[Any]:
    """A global SDK tracer provider recording in memory, as Airflow's ``[traces] otel_on`` sets one in a task."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.unit.ylai_operators.test_script_tracing import _set_global_provider

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _set_global_provider(provider)
    yield exporter
    _set_global_provider(None)
    provider.shutdown()


def test_a_report_is_a_span_under_the_tasks_and_its_api_calls_carry_the_trace(
    api_server: str,
    smtp: tuple[Inbox, int],
    spans: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry import trace

    from ylai_operators.report_dags import report_dags
    from ylai_operators.report_operator import ReportApi

    _inbox, smtp_port = smtp
    _connect_to_api(monkeypatch, api_server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_TEST",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "ylai@example.com"}}),
    )  # fmt: skip
    (tmp_path / "nightly.yaml").write_text(SPEC.split("slack:")[0])
    operator: Any = report_dags(tmp_path)["report__nightly_check"].get_task("report")
    context: Any = {"data_interval_end": datetime(2025, 10, 2, 6, 0, tzinfo=UTC)}
    with trace.get_tracer("test").start_as_current_span("worker.report"):  # the task runner's span
        result = operator.execute(context)
    by_name = {s.name: s for s in spans.get_finished_spans()}
    report, task = by_name["ylai.report runs"], by_name["worker.report"]
    assert report.parent is not None
    assert report.parent.span_id == task.context.span_id
    assert report.attributes["ylai.report.format"] == "pdf"
    assert report.attributes["ylai.report.rows"] == result["rows"]
    assert list(report.attributes["ylai.report.delivered"]) == result["delivered"]

    # The API calls of a report send its traceparent, so the api-server's export span joins the trace.
    seen: list[str | None] = []

    class Api(_QuietHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("traceparent"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

    with _serving(Api) as port:
        monkeypatch.setenv(
            "AIRFLOW_CONN_YLAI_TRACE_PROBE",
            json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port, "password": "t"}),
        )
        api = ReportApi("ylai_trace_probe")
        api.get("/exports/runs/summary", {})
        with trace.get_tracer("test").start_as_current_span("ylai.report probe") as current:
            api.get("/exports/runs/summary", {})
    assert seen[0] is None  # no span, no header
    assert seen[1] is not None
    assert seen[1].split("-")[1:3] == [
        format(current.get_span_context().trace_id, "032x"),
        format(current.get_span_context().span_id, "016x"),
    ]
