"""The Alerts page and the download buttons, in Chromium against a real platform."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Session, screenshot
from tests.integration.running_platform import RunningPlatform, wait_until

TWICE = "more than 2 \N{MULTIPLICATION SIGN} its usual time"
SLACK = {"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}


def _rules(p: RunningPlatform) -> dict[str, dict[str, Any]]:
    items = p.request("GET", "/ylai/api/v1/alerts/rules?limit=500").json()["items"]
    return {r["name"]: r for r in items}


def test_create_a_rule_on_the_alerts_page(admin: Session, platform: RunningPlatform) -> None:
    """'Tell #data-alerts on Slack when any nightly pipeline fails or runs twice as long as usual.'"""
    page = admin.page()
    admin.goto(page, "alerts")
    page.click('[data-testid="rule-new"]')
    page.wait_for_selector('[data-testid="rule-form"]')

    # nothing filled in: the client's errors next to their fields, nothing sent
    page.click('[data-testid="rule-save"]')
    assert page.inner_text('[data-testid="rule-name-error"]') == "Required"
    assert page.inner_text('[data-testid="channels-0-target-error"]') == "Required"

    page.fill('[data-testid="rule-name"]', "e2e nightly")
    page.select_option('[data-testid="rule-severity"]', "critical")
    page.check('[data-testid="scope-some"]')
    page.fill('[data-testid="scope-tags"]', "nightly")
    page.click('[data-testid="condition-add"]')
    assert page.input_value('[data-testid="condition-1-type"]') == "duration"
    assert page.input_value('[data-testid="condition-1-p95_factor"]') == "2"
    page.fill('[data-testid="channels-0-target"]', "#data-alerts")
    summary = page.inner_text('[data-testid="rule-summary"]')
    assert "A run failed" in summary
    assert TWICE in summary
    assert "#data-alerts" in summary
    screenshot(page, "alerts-new-rule")
    page.click('[data-testid="rule-save"]')
    page.wait_for_selector('[data-testid="rules-table"]')

    rules = _rules(platform)
    failed, slow = rules["e2e nightly · A run failed"], rules["e2e nightly · A run takes too long"]
    for rule in (failed, slow):
        assert rule["scope"]["tags"] == ["nightly"]
        assert rule["severity"] == "critical"
        assert rule["channels"] == [
            {"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}
        ]
    assert failed["condition"] == {"type": "run_failed"}
    assert slow["condition"]["type"] == "duration"
    assert slow["condition"]["p95_factor"] == 2
    table = page.inner_text('[data-testid="rules-table"]')
    assert TWICE in table
    assert "tagged nightly" in table
    screenshot(page, "alerts-rules")

    # a server-side 422: a webhook channel whose target is not a URL
    admin.goto(page, "alerts", f"?rule={failed['id']}")
    page.wait_for_selector('[data-testid="rule-form"]')
    page.select_option('[data-testid="channels-0-type"]', "webhook")
    page.fill('[data-testid="channels-0-target"]', "https://example.invalid/hook")
    page.click('[data-testid="rule-save"]')
    page.wait_for_selector('[data-testid="rules-table"]')
    assert _rules(platform)["e2e nightly · A run failed"]["channels"][0]["type"] == "webhook"

    # silence the slow rule for a few hours, then end the silence
    admin.goto(page, "alerts", f"?tab=silences&silence_rule={slow['id']}")
    page.wait_for_selector('[data-testid="silence-form"]')
    page.fill('[data-testid="silence-comment"]', "e2e maintenance")
    page.click('[data-testid="silence-save"]')
    page.wait_for_selector('[data-testid="silences-table"]')
    silences = platform.request("GET", f"/ylai/api/v1/alerts/silences?rule_id={slow['id']}").json()["items"]
    assert [s["comment"] for s in silences] == ["e2e maintenance"]
    assert silences[0]["active"]
    page.click(f'[data-testid="silence-delete-{silences[0]["id"]}"]')
    page.wait_for_selector(f'[data-testid="silence-row-{silences[0]["id"]}"]', state="detached")

    admin.goto(page, "alerts", "?tab=history")
    page.wait_for_selector('[data-testid="history-table"], [data-testid="history-empty"]')
    screenshot(page, "alerts-history")
    page.close()
    errors = admin.own_errors()
    admin.errors.clear()
    assert not errors, errors


def test_download_exports_from_the_list_pages(admin: Session, platform: RunningPlatform) -> None:
    from openpyxl import load_workbook

    run_id = platform.trigger("script__quality_gate", {"rows": 5})
    assert platform.wait_for_run("script__quality_gate", run_id) == "success", platform.tail()
    page = admin.page()
    admin.goto(page, "scripts", "?name=quality_gate")
    page.wait_for_selector('[data-testid="script-runs"] tbody tr')
    with page.expect_download() as info:
        page.click('[data-testid="export-script-runs-xlsx"]')
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    # openpyxl goes by the file name's extension, and Playwright's temporary file has none
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert any(run_id in c for c in cells), cells[:40]

    admin.goto(page, "tasks")
    page.wait_for_selector('[data-testid="export-tasks-csv"]')
    with page.expect_download() as info:
        page.click('[data-testid="export-tasks-csv"]')
    assert info.value.suggested_filename.endswith(".csv")
    assert "script__quality_gate" in Path(info.value.path()).read_text(encoding="utf-8-sig")

    # a background job: progress, then a download link
    admin.goto(page, "overview")
    page.click('[data-testid="export-runs-job"]')
    page.wait_for_selector('[data-testid="export-runs-download"]', timeout=120_000)
    with page.expect_download() as info:
        page.click('[data-testid="export-runs-download"]')
    assert info.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "overview-export-job")
    page.close()
    errors = admin.own_errors()
    admin.errors.clear()
    assert not errors, errors


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is sent."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_fired_alert_and_its_delivery_show_in_the_history(admin: Session, platform: RunningPlatform) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    rule = platform.request(
        "POST",
        "/ylai/api/v1/alerts/rules",
        {
            "name": "e2e quality gate fails",
            "severity": "critical",
            "scope": {"scripts": ["quality_gate"]},
            "condition": {"type": "run_failed"},
            "channels": [{"type": "webhook", "target": url, "language": "zh-CN"}],
        },
    )
    assert rule.status == 201, rule.body[:300]
    rule_id = rule.json()["id"]
    try:
        run_id = platform.trigger("script__quality_gate", {"rows": 0, "min_rows": 1, "fail_on_violation": True})
        assert platform.wait_for_run("script__quality_gate", run_id, timeout=300) == "failed"
        wait_until(lambda: _Receiver.bodies or None, 180, lambda: f"no webhook delivery:\n{platform.tail()}")
        alerts = platform.request("GET", f"/ylai/api/v1/alerts/events?rule_id={rule_id}").json()["items"]
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert["run_id"] == run_id

        page = admin.page()
        admin.goto(page, "alerts", "?tab=history")
        page.click(f'[data-testid="alert-{alert["id"]}"]')
        page.wait_for_selector('[data-testid="alert-detail"]')
        delivery = page.locator('[data-testid^="delivery-"]').first
        delivery.wait_for()
        text = delivery.inner_text()
        assert url in text
        assert "Chinese (Simplified)" in text
        assert delivery.get_attribute("data-status") == "sent"
        assert "script__quality_gate" in page.inner_text('[data-testid="alert-detail"]')
        screenshot(page, "alert-detail")
        assert "quality gate failed" in page.inner_text('[data-testid="alert-summary"]')  # the error tail
        page.click('[data-testid="alert-logs"]')  # the run, followed on ylai's Run page
        page.wait_for_selector(f'[data-testid="followed-run"]:text("{run_id}")')
        page.close()
        errors = admin.own_errors()
        admin.errors.clear()
        assert not errors, errors
    finally:
        platform.request("DELETE", f"/ylai/api/v1/alerts/rules/{rule_id}")
        server.shutdown()
