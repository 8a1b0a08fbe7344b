"""The Logs page in Chromium: a query typed in the search box finds a real run's line, highlighted."""

from __future__ import annotations

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform


def test_a_typed_query_finds_a_real_runs_line_highlighted(
    admin: Session, platform: RunningPlatform, finished_run: str
) -> None:
    page = admin.page()
    admin.goto(page, "logs")
    page.wait_for_selector('[data-testid="page-logs"]')
    # quality_gate prints "rows=5 null_ratio=... -> pass" (dags/scripts/quality_gate.py)
    page.fill('[data-testid="log-q"]', "NULL_RATIO")
    page.select_option('[data-testid="log-scope"]', "script")
    page.fill('[data-testid="log-target"]', "quality_gate")
    page.click('[data-testid="log-submit"]')
    page.wait_for_selector('[data-testid="log-hit"]')
    # Case-insensitive: the mark holds the line's own spelling.
    wait_for_text(page, '[data-testid="log-match"]', "null_ratio")
    hits = page.query_selector_all('[data-testid="log-hit"]')
    ours = [h for h in hits if finished_run in h.inner_text()]
    assert ours, [h.inner_text() for h in hits]
    # The script's own output line (the run's other lines name max_null_ratio, a parameter).
    line = next((h for h in ours if "rows=5 null_ratio=" in h.inner_text()), None)
    assert line is not None, [h.inner_text() for h in ours]
    assert line.query_selector('[data-testid="log-match"]').inner_text() == "null_ratio"
    href = line.query_selector('[data-testid="log-run-link"]').get_attribute("href")
    assert href.endswith("/dags/script__quality_gate/runs/" + finished_run.replace(":", "%3A").replace("+", "%2B"))
    screenshot(page, "logs")

    # A catastrophic regex is refused with the server's reason, next to the search box.
    page.check('[data-testid="log-regex"]')
    page.fill('[data-testid="log-q"]', "(a+)+b")
    page.click('[data-testid="log-submit"]')
    wait_for_text(page, '[data-testid="log-q-error"]', "may not repeat a repetition")
    page.close()
    errors = admin.own_errors(
        ignore=lambda e: "/ylai/api/v1/logs/search" in e["url"] or e["url"].endswith("/ylai/api/v1/me")
    )
    admin.errors.clear()
    assert not errors, f"console errors on ylai's pages: {errors}"
