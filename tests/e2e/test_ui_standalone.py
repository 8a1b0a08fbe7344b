"""ylai's fast standalone view (``/ylai/app/<page>``) in Chromium on a real platform (FAB auth)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import PAGES, Session, dictionary, login, save_task, screenshot, visible_texts
from tests.integration.running_platform import RunningPlatform

CHARTS = ("chart-cpu", "chart-memory", "chart-disk", "chart-runs-per-hour", "chart-durations", "chart-api")


@pytest.fixture(scope="module")
def seeded(platform: RunningPlatform, finished_run: str) -> dict[str, Any]:
    """Real data for the pages: a finished script run and a saved task."""
    save_task(platform, "e2e standalone task")
    return {"run_id": finished_run}


def goto(session: Session, page: Any, ui_page: str, query: str = "") -> None:
    page.goto(f"{session.base_url}/ylai/app/{ui_page}{query}")
    page.wait_for_selector(f'[data-testid="page-{ui_page}"]', timeout=60_000)


def _no_errors(session: Session) -> None:
    errors = session.own_errors()
    session.errors.clear()
    assert not errors, f"console errors on ylai's standalone pages: {errors}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_standalone_page_renders_real_data_without_airflow_ui(
    admin: Session, platform: RunningPlatform, seeded: dict[str, Any]
) -> None:
    page = admin.page()
    scripts: list[str] = []
    page.on("request", lambda req: scripts.append(req.url) if req.resource_type == "script" else None)

    goto(admin, page, "overview")
    page.wait_for_selector('[data-testid="runs-table"] tbody tr')
    assert "quality_gate" in page.inner_text('[data-testid="runs-table"]')
    # links to Airflow's own pages go to Airflow, not into the standalone view
    run_link = page.get_attribute('[data-testid="runs-table"] a[href*="/dags/"]', "href") or ""
    assert "/ylai/app/" not in run_link
    screenshot(page, "standalone-overview")

    goto(admin, page, "run")
    page.wait_for_selector('[data-testid="target-select"] option[value="script__disk_usage"]', state="attached")
    screenshot(page, "standalone-run")

    goto(admin, page, "monitor")
    for chart in CHARTS:  # ECharts, loaded on demand
        page.wait_for_selector(f'[data-testid="{chart}"] canvas', timeout=30_000)
    screenshot(page, "standalone-monitor")

    goto(admin, page, "resources")
    page.wait_for_selector('[data-testid="resources-row-quality_gate"]')
    page.wait_for_selector('[data-testid="chart-resources-trend"] canvas', timeout=30_000)
    screenshot(page, "standalone-resources")

    goto(admin, page, "scripts")
    page.wait_for_selector('[data-testid="scripts-table"]')
    assert "disk_usage" in page.inner_text('[data-testid="scripts-table"]')
    screenshot(page, "standalone-scripts")

    goto(admin, page, "tasks")
    page.wait_for_selector("text=e2e standalone task")
    screenshot(page, "standalone-tasks")

    goto(admin, page, "alerts")
    page.wait_for_selector('[data-testid="rules-table"], [data-testid="rules-empty"]', timeout=30_000)
    screenshot(page, "standalone-alerts")

    # Only ylai's scripts: the standalone module and ECharts; none of Airflow's UI bundle.
    assert scripts, "no script loaded"
    outside = [u for u in scripts if "/ylai/" not in urlsplit(u).path]
    assert not outside, outside
    assert any(re.search(r"/ylai/app/assets/standalone-[\w-]{8}\.js$", u) for u in scripts), scripts
    page.close()
    _no_errors(admin)


def test_tabs_stay_in_the_standalone_view_and_lead_back_to_airflow(
    admin: Session, platform: RunningPlatform, seeded: dict[str, Any]
) -> None:
    page = admin.page()
    goto(admin, page, "overview")
    page.evaluate("() => { window.__sameDocument = true; }")
    for target in ("tasks", "scripts", "monitor", "alerts", "run", "overview"):
        page.click(f'[data-testid="tab-{target}"]')
        page.wait_for_selector(f'[data-testid="page-{target}"]')
        assert urlsplit(page.url).path == f"/ylai/app/{target}"
    assert page.evaluate("() => window.__sameDocument === true"), "a tab reloaded the page"

    page.click('[data-testid="tab-run"]')
    page.wait_for_selector('[data-testid="page-run"]')
    back = page.get_attribute('[data-testid="open-in-airflow"]', "href") or ""
    assert _path(back) == "/plugin/ylai-run"
    page.click('[data-testid="open-in-airflow"]')
    page.wait_for_url(re.compile(r"/plugin/ylai-run$"))
    page.wait_for_selector('[data-testid="page-run"]', timeout=60_000)  # now inside Airflow's UI
    assert page.query_selector('[data-testid="standalone-bar"]') is None
    fast = page.get_attribute('[data-testid="open-standalone"]', "href") or ""
    assert _path(fast) == "/ylai/app/run"
    page.click('[data-testid="open-standalone"]')
    page.wait_for_url(re.compile(r"/ylai/app/run$"))
    page.wait_for_selector('[data-testid="standalone-bar"]')
    page.close()
    _no_errors(admin)


def test_chinese_translates_and_the_switches_write_airflow_settings(
    browser: Any, platform: RunningPlatform, seeded: dict[str, Any]
) -> None:
    en, zh = dictionary("en"), dictionary("zh-CN")
    english = {re.sub(r"\{\w+\}", "", v).strip() for k, v in en.items() if v != zh[k]}
    english = {e for e in english if len(e) > 1}
    session = login(browser, platform, platform.username, platform.password, None)
    try:
        page = session.page()
        page.goto(f"{session.base_url}/ylai/app/overview")
        page.evaluate("() => { localStorage.setItem('i18nextLng', 'en'); localStorage.setItem('theme', 'light'); }")
        goto(session, page, "overview")
        assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "en"
        page.select_option('[data-testid="lang-select"]', "zh-CN")
        page.wait_for_selector('[data-testid="ylai-root"][lang="zh-CN"]')
        assert page.evaluate("() => localStorage.getItem('i18nextLng')") == "zh-CN"
        page.check('[data-testid="dark-toggle"]')
        page.wait_for_selector('[data-testid="ylai-root"].ylai-dark')
        assert page.evaluate("() => localStorage.getItem('theme')") == "dark"
        assert page.evaluate("() => document.documentElement.classList.contains('dark')")
        for ui_page in PAGES:
            goto(session, page, ui_page)  # a fresh load: the server's first paint and React agree
            page.wait_for_timeout(1500)  # let every request settle
            assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "zh-CN"
            assert "ylai-dark" in (page.get_attribute('[data-testid="ylai-root"]', "class") or "")
            # the language menu names each language in its own language ("English", "中文")
            texts = [t for t in visible_texts(page) if t != "English"]
            leftovers = sorted({t for t in texts if t in english})
            assert not leftovers, f"{ui_page}: untranslated {leftovers}"
            assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
            screenshot(page, f"standalone-{ui_page}-zh")
        # Airflow's own UI follows the same settings
        page.goto(f"{session.base_url}/plugin/ylai-overview")
        page.wait_for_selector('[data-testid="page-overview"]', timeout=60_000)
        assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "zh-CN"
        assert page.inner_text('[data-testid="open-standalone"]') == zh["standalone.fastView"]
        page.close()
        _no_errors(session)
    finally:
        session.context.close()


def test_anonymous_browser_logs_in_and_comes_back(browser: Any, platform: RunningPlatform) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{platform.base_url}/ylai/app/tasks?new=1")
        page.wait_for_url(re.compile(r"/auth/login"), timeout=60_000)
        assert "next=" in page.url
        page.fill("input[name=username]", platform.username)
        page.fill("input[name=password]", platform.password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(r"/ylai/app/tasks\?new=1$"), timeout=60_000)
        page.wait_for_selector('[data-testid="page-tasks"]', timeout=60_000)
        # the hashed assets are not public either
        anonymous = browser.new_context()
        try:
            src = page.get_attribute('script[type="module"]', "src") or ""
            assert anonymous.request.get(f"{platform.base_url}/ylai/app/{src.split('ylai/app/')[-1]}").status == 401
        finally:
            anonymous.close()
    finally:
        context.close()
