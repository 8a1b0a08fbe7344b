"""The Resources page in Chromium: scripts ranked by what their real runs used, and the way to a run."""

from __future__ import annotations

import re

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform

SCRIPT = "quality_gate"


def test_resources_ranks_real_runs_and_links_to_the_run(
    admin: Session, platform: RunningPlatform, finished_run: str
) -> None:
    # What the page will show: the API's own ranking of the same range.
    ranking = platform.request("GET", "/ylai/api/v1/resources/scripts?range=7d").json()
    gate = next(item for item in ranking["items"] if item["name"] == SCRIPT)
    # ScriptOperator measured the real run's process tree.
    assert gate["peak_rss_bytes"]["p95"] > 0, gate
    assert gate["cpu_seconds"]["count"] >= 1, gate
    peak_run = gate["peak_rss_bytes"]["max_run_id"]
    assert peak_run

    page = admin.page()
    admin.goto(page, "resources")
    row = f'[data-testid="resources-row-{SCRIPT}"]'
    page.wait_for_selector(row)
    assert re.fullmatch(r"[\d.,]+ (KiB|MiB|GiB)", page.inner_text(f'[data-testid="figure-peak_rss_bytes-{SCRIPT}"]'))
    page.wait_for_selector('[data-testid="chart-resources-trend"] canvas')
    assert page.get_attribute('[data-testid="sort-peak_rss_bytes"]', "aria-pressed") == "true"

    # Sort by CPU time, lowest first, then by p50; the ranking follows.
    page.click('[data-testid="sort-cpu_seconds"]')
    page.wait_for_selector('[data-testid="sort-cpu_seconds"][aria-pressed="true"]')
    page.click('[data-testid="sort-cpu_seconds"]')
    wait_for_text(page, '[data-testid="sort-cpu_seconds"]', "▲")
    page.click('[data-testid="stat-p50"]')
    wait_for_text(page, '[data-testid="sort-cpu_seconds"]', "p50")
    page.click('[data-testid="range-24h"]')
    page.wait_for_selector('[data-testid="range-24h"][aria-pressed="true"]')
    page.wait_for_selector(row)
    screenshot(page, "resources")

    # The run where memory peaked: the Run page follows it.
    page.click('[data-testid="range-7d"]')
    page.wait_for_selector('[data-testid="range-7d"][aria-pressed="true"]')
    link = f'[data-testid="peak-run-peak_rss_bytes-{SCRIPT}"]'
    page.wait_for_selector(link)
    page.click(link)
    page.wait_for_selector('[data-testid="page-run"]')
    assert "/plugin/ylai-run" in page.url
    wait_for_text(page, '[data-testid="followed-run"]', peak_run)
    # The peak may be a failed run (other modules fail quality_gate on purpose): the viewer ends on
    # whatever state Airflow has for that run.
    state = platform.request("GET", f"/api/v2/dags/script__{SCRIPT}/dagRuns/{peak_run}").json()["state"]
    assert state in ("success", "failed"), state
    page.wait_for_selector(f'[data-testid="log-viewer"][data-final-state="{state}"]', timeout=120_000)
    screenshot(page, "resources-peak-run")

    # And the script's name leads to the script with its recent runs.
    admin.goto(page, "resources")
    page.click(f'[data-testid="resources-script-{SCRIPT}"]')
    page.wait_for_selector('[data-testid="script-runs"] tbody tr')
    assert finished_run in page.inner_html('[data-testid="script-runs"]')
    page.close()
    errors = admin.own_errors(ignore=lambda e: e["url"].endswith("/ylai/api/v1/me"))
    admin.errors.clear()
    assert not errors, f"console errors on ylai's pages: {errors}"
