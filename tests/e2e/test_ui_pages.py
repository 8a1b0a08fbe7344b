"""ylai's five pages in Airflow's UI, driven by Chromium on a real platform (FAB auth)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import PAGES, Session, dictionary, login, save_task, screenshot, visible_texts
from tests.integration.running_platform import RunningPlatform

LOG_LINE = ".y-logline"


@pytest.fixture(scope="module")
def seeded(platform: RunningPlatform, finished_run: str) -> dict[str, Any]:
    """Real data for the pages: a finished script run and a saved task."""
    save_task(platform, "e2e nightly check")
    return {"run_id": finished_run}


def _no_errors(session: Session, **kwargs: Any) -> None:
    errors = session.own_errors(**kwargs)
    session.errors.clear()  # each test answers for its own pages (sessions are shared)
    assert not errors, f"console errors on ylai's pages: {errors}"


def _me_exists(p: RunningPlatform) -> bool:
    return p.request("GET", "/ylai/api/v1/me").status == 200


def _missing_me(error: dict[str, str]) -> bool:
    """Until the server has GET /ylai/api/v1/me, the browser logs its 404 (the UI falls back)."""
    return error["url"].endswith("/ylai/api/v1/me")


def test_every_page_renders_real_data(admin: Session, platform: RunningPlatform, seeded: dict[str, Any]) -> None:
    page = admin.page()
    admin.goto(page, "overview")
    page.wait_for_selector('[data-testid="runs-table"] tbody tr')
    assert "quality_gate" in page.inner_text('[data-testid="runs-table"]')
    page.wait_for_function(
        "() => /\\d/.test(document.querySelector('[data-testid=stat-succeeded]').textContent)"
        " && document.querySelector('[data-testid=stat-succeeded]').textContent.trim() !== '0'"
    )
    assert "Last updated" in page.inner_text('[data-testid="last-updated"]')
    page.click('[data-testid="pause"]')
    assert page.inner_text('[data-testid="pause"]') == "Resume"
    screenshot(page, "overview")

    started = time.monotonic()
    page.click('[data-testid="tab-scripts"]')
    page.wait_for_selector('[data-testid="scripts-table"]')
    switch = time.monotonic() - started
    assert switch < 5, switch  # route switches stay in the SPA (bench/ui_budget.py measures < 500 ms)
    table = page.inner_text('[data-testid="scripts-table"]')
    assert "disk_usage" in table
    assert "quality_gate" in table
    page.fill('[data-testid="script-search"]', "disk")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=scripts-table]').innerText.includes('quality_gate')"
    )
    screenshot(page, "scripts")
    page.click('[data-testid="script-disk_usage"]')
    page.wait_for_selector('[data-testid="script-detail"]')
    assert "top" in page.inner_text('[data-testid="script-params"]')
    screenshot(page, "script-detail")

    admin.goto(page, "scripts", "?name=quality_gate")
    page.wait_for_selector('[data-testid="script-runs"] tbody tr')

    admin.goto(page, "tasks")
    page.wait_for_selector('[data-testid="tasks-table"]')
    assert "e2e nightly check" in page.inner_text('[data-testid="tasks-table"]')
    page.select_option('[data-testid="kind-filter"]', "pipeline")
    page.wait_for_function("() => !document.body.innerText.includes('e2e nightly check')")
    page.select_option('[data-testid="kind-filter"]', "")
    page.wait_for_selector("text=e2e nightly check")
    screenshot(page, "tasks")
    page.click("text=e2e nightly check")
    page.wait_for_selector('[data-testid="task-detail"]')
    assert '"top": 3' in page.inner_text('[data-testid="task-params"]')

    admin.goto(page, "monitor")
    for chart in ("chart-cpu", "chart-memory", "chart-disk", "chart-runs-per-hour", "chart-durations", "chart-api"):
        page.wait_for_selector(f'[data-testid="{chart}"] canvas', timeout=30_000)
    page.click('[data-testid="range-15m"]')
    page.wait_for_selector('[data-testid="range-15m"][aria-pressed="true"]')
    page.wait_for_selector('[data-testid="chart-api"] canvas')
    screenshot(page, "monitor")

    admin.goto(page, "run")
    page.wait_for_selector('[data-testid="target-select"] option[value="script__disk_usage"]', state="attached")
    options = page.eval_on_selector_all('[data-testid="target-select"] option', "els => els.map(e => e.value)")
    assert "script__disk_usage" in options
    assert "pipeline__generate_and_profile" in options
    screenshot(page, "run")
    page.close()
    _no_errors(admin, ignore=_missing_me)


def _history(response: Any) -> dict[str, Any]:
    assert response.ok, response.url
    body: dict[str, Any] = json.loads(response.text())
    return body


def test_monitor_shows_queue_depth_and_scheduler_lag_from_history(
    admin: Session, platform: RunningPlatform, seeded: dict[str, Any]
) -> None:
    """Runs that ended before the page opened fill its queue, lag and task-state charts, and the Overview's cards."""
    pipeline = platform.trigger("pipeline__generate_and_profile", {"rows": 50})
    assert platform.wait_for_run("pipeline__generate_and_profile", pipeline) == "success", platform.tail()
    opened = datetime.now(UTC)
    page = admin.page()
    with (
        page.expect_response(lambda r: "/ylai/api/v1/monitor/queues" in r.url) as queues_answer,
        page.expect_response(lambda r: "/ylai/api/v1/monitor/lag" in r.url) as lag_answer,
        page.expect_response(lambda r: "/ylai/api/v1/monitor/task-states" in r.url) as states_answer,
    ):
        admin.goto(page, "monitor")
    queues, lag, states = (_history(a.value) for a in (queues_answer, lag_answer, states_answer))

    def before_opening(ts: str) -> bool:
        return datetime.fromisoformat(ts) < opened

    # The first answers already hold what happened before the page was open.
    queued = [p for q in queues["queued"] for p in q["points"] if p["count"] and before_opening(p["ts"])]
    assert queued, queues["queued"]
    assert queues["celery"]["status"] == "not_configured"  # the SQLite platform runs the LocalExecutor
    assert lag["run_delay"]["count"] >= 2, lag  # the script run and the pipeline run
    assert lag["task_gap"]["count"] >= 2, lag  # profile after generate, collect_outputs after profile
    assert any(p["states"].get("success") and before_opening(p["ts"]) for p in states["points"]), states

    for chart in ("chart-task-states", "chart-queue-depth", "chart-scheduler-lag"):
        page.wait_for_selector(f'[data-testid="{chart}"] canvas', timeout=30_000)  # a chart, not "No ..."
    assert page.get_attribute('[data-testid="celery-status"]', "data-status") == "not_configured"
    note = page.inner_text('[data-testid="lag-note"]')
    runs = re.search(r"Runs started: (\d+); tasks started after upstream tasks: (\d+)", note)
    assert runs is not None, note
    assert min(int(runs.group(1)), int(runs.group(2))) >= 2, note
    with page.expect_response(lambda r: "/ylai/api/v1/monitor/lag?window_minutes=15" in r.url):
        page.click('[data-testid="range-15m"]')
    page.wait_for_selector('[data-testid="range-15m"][aria-pressed="true"]')
    page.wait_for_selector('[data-testid="chart-scheduler-lag"] canvas')
    page.wait_for_timeout(500)  # let ECharts draw the new range before the screenshot
    screenshot(page, "monitor-history")

    admin.goto(page, "overview")
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stat-run-delay] .y-stat-value');"
        " return !!v && /\\d/.test(v.textContent); }"
    )
    assert page.inner_text('[data-testid="stat-queued-now"] .y-stat-value').strip().isdigit()
    assert page.query_selector('[data-testid="stat-celery"]') is None  # no Celery here
    assert page.get_attribute('[data-testid="spark-queues"] path', "d")
    assert page.get_attribute('[data-testid="spark-lag"] path', "d")
    screenshot(page, "overview-cards")
    page.close()
    _no_errors(admin, ignore=_missing_me)


def test_form_validation_errors_show(admin: Session, platform: RunningPlatform) -> None:
    page = admin.page()
    admin.goto(page, "run", "?dag_id=script__disk_usage")
    page.wait_for_selector('[data-testid="field-top"]')
    page.fill('[data-testid="field-top"]', "0")
    assert page.inner_text('[data-testid="error-top"]') == "Must be at least 1"
    page.fill('[data-testid="field-top"]', "101")
    assert page.inner_text('[data-testid="error-top"]') == "Must be at most 100"
    before = platform.request("GET", "/api/v2/dags/script__disk_usage/dagRuns?limit=1").json()["total_entries"]
    page.click('[data-testid="run-button"]')
    page.wait_for_selector('[data-testid="form-invalid"]')
    assert platform.request("GET", "/api/v2/dags/script__disk_usage/dagRuns?limit=1").json()["total_entries"] == before
    page.fill('[data-testid="field-top"]', "5")
    assert page.query_selector('[data-testid="error-top"]') is None
    assert '"top": 5' in page.inner_text('[data-testid="conf-preview"]')

    admin.goto(page, "tasks", "?new=1")
    page.fill('[data-testid="task-name"]', "-bad name")
    page.click('[data-testid="task-save"]')
    assert "starting with a letter" in page.inner_text('[data-testid="task-name-error"]')
    assert page.inner_text('[data-testid="task-target-error"]') == "Required"
    page.fill('[data-testid="task-name"]', "e2e scheduled")
    page.select_option('[data-testid="task-target"]', "disk_usage")
    page.wait_for_selector('[data-testid="field-top"]')
    page.fill('[data-testid="task-schedule"]', "not a cron")
    page.click('[data-testid="task-save"]')
    page.wait_for_selector('[data-testid="task-schedule-error"]')  # the server's answer, next to its field
    page.fill('[data-testid="task-schedule"]', "")
    page.click('[data-testid="task-save"]')
    page.wait_for_selector('[data-testid="task-detail"]')
    assert "e2e scheduled" in page.inner_text("h1")
    screenshot(page, "task-created")
    page.close()
    # The 422 the test provoked on purpose (Chromium logs every 4xx answer to fetch).
    _no_errors(
        admin, ignore=lambda e: _missing_me(e) or ("422" in e["text"] and e["url"].endswith("/ylai/api/v1/tasks"))
    )


def test_run_from_the_run_page_streams_logs_until_success(admin: Session, platform: RunningPlatform) -> None:
    page = admin.page()
    admin.goto(page, "run")
    page.select_option('[data-testid="target-select"]', "script__disk_usage")
    page.wait_for_selector('[data-testid="field-top"]')
    page.fill('[data-testid="field-top"]', "2")
    page.click('[data-testid="run-button"]')
    page.wait_for_selector('[data-testid="log-viewer"]')
    run_id = page.inner_text('[data-testid="followed-run"]')
    # Lines arrive while the run is still going: the stream is live, not a final dump.
    page.wait_for_selector(f"{LOG_LINE}", timeout=240_000)
    page.wait_for_selector('[data-testid="log-viewer"][data-final-state="success"]', timeout=240_000)
    logs = page.inner_text('[data-testid="log-lines"]')
    assert "bytes free" in logs
    assert page.get_attribute('[data-task="disk_usage"]', "data-state") == "success"
    page.wait_for_selector('[data-testid="output-disk_usage"]')
    assert "free_bytes" in page.inner_text('[data-testid="output-disk_usage"]')
    screenshot(page, "run-finished")
    assert platform.wait_for_run("script__disk_usage", run_id) == "success"
    conf = platform.request("GET", f"/api/v2/dags/script__disk_usage/dagRuns/{run_id}").json()["conf"]
    assert conf == {"top": 2}

    # copy params from that run into a fresh form
    admin.goto(page, "run", "?dag_id=script__disk_usage")
    page.wait_for_selector(f'[data-testid="previous-run-select"] option[value="{run_id}"]', state="attached")
    page.select_option('[data-testid="previous-run-select"]', run_id)
    assert page.input_value('[data-testid="field-top"]') == "2"
    page.close()
    _no_errors(admin, ignore=_missing_me)


def test_chinese_and_dark_mode_follow_airflow(browser: Any, platform: RunningPlatform, seeded: dict[str, Any]) -> None:
    # Airflow's language (i18next) and colour mode (next-themes) as its own selectors store them.
    chinese_dark = "localStorage.setItem('i18nextLng', 'zh-CN'); localStorage.setItem('theme', 'dark')"
    session = login(browser, platform, platform.username, platform.password, chinese_dark)
    en, zh = dictionary("en"), dictionary("zh-CN")
    english = {re.sub(r"\{\w+\}", "", v).strip() for k, v in en.items() if v != zh[k]}
    english = {e for e in english if len(e) > 1}
    try:
        page = session.page()
        for ui_page in PAGES:
            session.goto(page, ui_page)
            page.wait_for_timeout(1500)  # let every request settle
            assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "zh-CN"
            assert "ylai-dark" in (page.get_attribute('[data-testid="ylai-root"]', "class") or "")
            texts = visible_texts(page)
            leftovers = sorted({t for t in texts if t in english})
            assert not leftovers, f"{ui_page}: untranslated {leftovers}"
            assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
            screenshot(page, f"{ui_page}-zh")
        # the Alerts page's other views: the rule form, silences, history
        for query in ("?new=1", "?tab=silences", "?tab=history"):
            session.goto(page, "alerts", query)
            page.wait_for_timeout(1500)
            leftovers = sorted({t for t in visible_texts(page) if t in english})
            assert not leftovers, f"alerts{query}: untranslated {leftovers}"
        screenshot(page, "alerts-history-zh")
        session.goto(page, "run", "?dag_id=script__disk_usage")
        page.wait_for_selector('[data-testid="field-top"]')
        page.fill('[data-testid="field-top"]', "0")
        assert page.inner_text('[data-testid="error-top"]') == "不能小于 1"
        assert not {t for t in visible_texts(page) if t in english}
        page.close()
        _no_errors(session, ignore=_missing_me)
    finally:
        session.context.close()


def test_viewer_sees_disabled_controls(viewer: Session, platform: RunningPlatform, seeded: dict[str, Any]) -> None:
    page = viewer.page()
    viewer.goto(page, "run", "?dag_id=script__disk_usage")
    page.wait_for_selector('[data-testid="field-top"]')
    if _me_exists(platform):
        # The notes appear once GET /ylai/api/v1/me has answered.
        assert "may not start runs" in page.inner_text('[data-testid="run-permission"]')
        assert page.is_disabled('[data-testid="run-button"]')
        page.wait_for_selector('[data-testid="preset-permission"]', state="attached")
        assert page.is_disabled('[data-testid="preset-save"]')
        viewer.goto(page, "tasks")
        assert "may not create tasks" in page.inner_text('[data-testid="permission-note"]')
        assert page.is_disabled('[data-testid="task-new"]')
        screenshot(page, "tasks-viewer")
    else:
        # Without GET /ylai/api/v1/me the UI cannot know up front: the server's 403 is shown.
        page.click('[data-testid="run-button"]')
        page.wait_for_selector('[data-testid="run-error"]')
        assert "Not allowed" in page.inner_text('[data-testid="run-error"]')
    screenshot(page, "run-viewer")
    viewer.goto(page, "overview")
    page.wait_for_selector('[data-testid="runs-table"] tbody tr')
    page.close()
    forbidden = [e for e in viewer.own_errors(ignore=_missing_me) if "403" not in e["text"]]
    assert not forbidden, forbidden


def test_monitor_shows_a_failed_scripts_error_signature(
    admin: Session, platform: RunningPlatform, seeded: dict[str, Any]
) -> None:
    """A failing script run shows in the Monitor's error trends: its normalised last stderr line, new, linked."""
    import urllib.parse

    run_id = platform.trigger("script__csv_profiler", {"path": "/tmp/ylai-e2e-7/missing-42.csv"})
    assert platform.wait_for_run("script__csv_profiler", run_id, timeout=300) == "failed", platform.tail()
    page = admin.page()
    admin.goto(page, "monitor")
    page.wait_for_selector('[data-testid="error-trends"] canvas', timeout=30_000)  # failures per hour
    # The card polls every 30 s: an answer cached before the failure is replaced by the next one.
    row = page.wait_for_selector(
        '[data-testid="error-signature"]:has(code:text-is("csv_profiler: no such file: <path>"))', timeout=60_000
    )
    assert row is not None
    assert row.get_attribute("data-new") == "true"  # first seen after the platform deployed the script
    assert row.query_selector('[data-testid="error-new"]') is not None
    link = row.query_selector('[data-testid="error-latest-run"]')
    assert link is not None
    href = link.get_attribute("href") or ""
    quoted = urllib.parse.quote(run_id, safe="")
    assert href.endswith(f"dags/script__csv_profiler/runs/{quoted}/tasks/csv_profiler"), href
    row.scroll_into_view_if_needed()
    screenshot(page, "monitor-errors")
    page.close()
    _no_errors(admin, ignore=_missing_me)
