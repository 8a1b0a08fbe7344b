"""Feedback, the usage beacon, the click heatmap and the Insights page in Chromium (issue 20 part 2).

A Viewer sends feedback from a page and the Admin handles it on the Feedback page; clicks made in the
browser reach ``GET /usage/heatmap`` through the page's own beacon, and the overlay draws them for
the Admin while a Viewer has no overlay (nor the Admin-only tabs); the Insights page shows figures.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform, wait_until

# The page whose clicks this module makes and reads (other modules click elsewhere, if at all).
CLICKED = "resources"


def not_here(error: dict[str, str]) -> bool:
    """Errors of other modules' pages (the sessions are shared): not this module's business."""
    return not re.search(r"ylai-(feedback|insights|tasks|resources)", error["page"])


def no_errors(session: Session) -> None:
    errors = session.own_errors(ignore=not_here)
    session.errors.clear()
    assert not errors, f"console errors on ylai's pages: {errors}"


def heatmap_total(p: RunningPlatform, page: str) -> int:
    resp = p.request("GET", f"/ylai/api/v1/usage/heatmap?page={page}")
    assert resp.status == 200, resp.body[:300]
    return int(resp.json()["total"])


def test_a_user_sends_feedback_and_the_admin_handles_it(
    admin: Session, viewer: Session, platform: RunningPlatform
) -> None:
    comment = f"e2e: the task list is hard to scan {int(time.time())}"
    page = viewer.page()
    viewer.goto(page, "tasks")
    page.click('[data-testid="feedback-open"]')
    assert "Tasks" in page.inner_text('[data-testid="feedback-context"]')
    assert page.is_disabled('[data-testid="feedback-send"]')  # no rating yet
    page.click('[data-testid="feedback-rating-2"]')
    page.fill('[data-testid="feedback-comment"]', comment)
    page.click('[data-testid="feedback-send"]')
    page.wait_for_selector('[data-testid="feedback-sent"]')
    assert page.query_selector('[data-testid="feedback-dialog"]') is None
    page.close()

    page = admin.page()
    admin.goto(page, "feedback")
    page.select_option('[data-testid="feedback-filter-page"]', "tasks")
    wait_for_text(page, '[data-testid="feedback-table"]', comment)
    row = page.locator('[data-testid="feedback-entry"]', has_text=comment)
    assert row.get_attribute("data-handled") == "false"
    assert row.locator('[data-testid="feedback-entry-user"]').inner_text() == "e2e_viewer"
    assert row.locator('[data-testid="feedback-entry-rating"]').inner_text() == "★★☆☆☆"
    row.locator('[data-testid="feedback-entry-edit"]').click()
    row.locator('[data-testid="feedback-entry-note-input"]').fill("Thanks: a compact view is coming")
    row.locator('[data-testid="feedback-entry-save"]').click()
    page.wait_for_function(
        """(text) => [...document.querySelectorAll('[data-testid=feedback-entry]')].some(
             r => r.textContent.includes(text) && r.dataset.handled === 'true')""",
        arg=comment,
        timeout=30_000,
    )
    assert row.locator('[data-testid="feedback-entry-note"]').inner_text() == "Thanks: a compact view is coming"
    assert page.is_enabled('[data-testid="feedback-export-csv"]')
    screenshot(page, "feedback")
    page.close()

    # The API agrees: stored with the page and ylai's version, handled by the Admin with the note.
    listed = platform.request("GET", "/ylai/api/v1/feedback?page=tasks&limit=200")
    assert listed.status == 200, listed.body[:300]
    [stored] = [f for f in listed.json()["items"] if f["comment"] == comment]
    version = platform.request("GET", "/ylai/api/v1/health").json()["version"]
    assert stored["rating"] == 2
    assert stored["user"] == "e2e_viewer"
    assert stored["app_version"] == version
    assert stored["handled"] is True
    assert stored["reply_note"] == "Thanks: a compact view is coming"
    assert stored["handled_by"] == platform.username
    no_errors(viewer)
    no_errors(admin)


RECORD_BEACON = """(() => {
  window.__ylaiBeacon = [];
  const send = window.fetch;
  window.fetch = async (input, init) => {
    if (input instanceof Request && input.url.endsWith('/ylai/api/v1/usage/events')) {
      window.__ylaiBeacon.push(await input.clone().text());
    }
    return send(input, init);
  };
})()"""

# A point of the main region, below the page's header, where a click lands on nothing that acts.
QUIET_POINT = """() => {
  const main = document.querySelector('[data-ylai-region="main"]').getBoundingClientRect();
  const header = document.querySelector('[data-ylai-region="header"]').getBoundingClientRect();
  for (let y = header.bottom + 4; y < Math.min(main.bottom, window.innerHeight) - 2; y += 7) {
    for (let x = main.left + 4; x < main.right - 4; x += 23) {
      const el = document.elementFromPoint(x, y);
      if (el && el.closest('[data-ylai-region]')?.dataset.ylaiRegion === 'main'
          && !el.closest('a, button, input, select, textarea, label, summary, [role=button], canvas')) return [x, y];
    }
  }
  return null;
}"""


def click_regions(page: Any) -> None:
    """Clicks in the page's header (its title) and in its main region (below the header)."""
    page.click("h1.y-title")
    point = page.evaluate(QUIET_POINT)
    assert point, "no quiet point in the main region"
    page.mouse.click(point[0], point[1])


def test_clicks_reach_the_heatmap_and_its_overlay_is_the_admins_only(
    admin: Session, viewer: Session, platform: RunningPlatform
) -> None:
    before = heatmap_total(platform, CLICKED)
    page = viewer.page()
    # The beacon's request bodies as the page sends them (a Request's body is a stream Playwright does not show).
    page.add_init_script(RECORD_BEACON)
    viewer.goto(page, CLICKED)
    page.wait_for_selector('[data-testid="feedback-open"]')
    # A Viewer: neither the overlay's switch nor the Admin-only tabs.
    page.wait_for_selector('[data-testid="tab-overview"]')
    assert page.query_selector('[data-testid="heatmap-toggle"]') is None
    assert page.query_selector('[data-testid="heatmap-overlay"]') is None
    assert page.query_selector('[data-testid="tab-feedback"]') is None
    assert page.query_selector('[data-testid="tab-insights"]') is None
    click_regions(page)
    click_regions(page)
    # The beacon sends within its 10 s interval.
    wait_until(
        lambda: heatmap_total(platform, CLICKED) >= before + 4 or None,
        timeout=45,
        message=lambda: f"heatmap of {CLICKED} still at {heatmap_total(platform, CLICKED)} (was {before})",
    )
    # What was sent: page, region and position only; no text of the page.
    events = [e for body in page.evaluate("() => window.__ylaiBeacon") for e in json.loads(body)["events"]]
    clicks = [e for e in events if e["type"] == "click"]
    assert len(clicks) >= 4
    assert all(set(e) == {"type", "page", "region", "x", "y"} for e in clicks), clicks
    assert {e["region"] for e in clicks} >= {"header", "main"}
    assert all(e["page"] == CLICKED for e in clicks)
    assert any(e["type"] == "page_view" and e["page"] == CLICKED for e in events)
    page.close()

    page = admin.page()
    admin.goto(page, CLICKED)
    page.click('[data-testid="heatmap-toggle"]')
    page.wait_for_selector('[data-testid="heatmap-cell"]', timeout=30_000)
    total = int(page.get_attribute('[data-testid="heatmap-overlay"]', "data-total") or 0)
    assert total >= before + 4
    counts = [int(c.get_attribute("data-count") or 0) for c in page.query_selector_all('[data-testid="heatmap-cell"]')]
    assert sum(counts) >= 4
    # drawn over the page: a main region's cell lies inside that region's box
    main = page.locator('[data-ylai-region="main"]').bounding_box()
    cell = page.locator('[data-testid="heatmap-cell"][data-region="main"]').first.bounding_box()
    assert main is not None
    assert cell is not None
    assert main["x"] <= cell["x"] <= main["x"] + main["width"]
    assert main["y"] <= cell["y"] <= main["y"] + main["height"]
    screenshot(page, "heatmap-overlay")
    page.click('[data-testid="heatmap-toggle"]')
    page.wait_for_selector('[data-testid="heatmap-overlay"]', state="detached")
    page.close()
    no_errors(viewer)
    no_errors(admin)


def test_the_insights_page_shows_figures(admin: Session, platform: RunningPlatform) -> None:
    page = admin.page()
    admin.goto(page, "insights")
    page.wait_for_selector('[data-testid="insights-summary"]', timeout=60_000)
    stats = platform.request("GET", "/ylai/api/v1/usage/stats").json()
    assert stats["enabled"] is True
    views = int(re.sub(r"\D", "", page.inner_text('[data-testid="insights-views"] .y-stat-value')))
    # this module's own page views were recorded before (the beacon test waited for them)
    assert views >= 2
    assert page.inner_text('[data-testid="insights-new-users"] .y-stat-value') == str(stats["first_run"]["new_users"])
    # the charts are drawn (ECharts loaded on demand)
    page.wait_for_selector('[data-testid="insights-pages-chart"] canvas', timeout=30_000)
    page.wait_for_selector('[data-testid="insights-daily-chart"] canvas', timeout=30_000)
    page.click('[data-testid="insights-last-7"]')
    page.wait_for_selector('[data-testid="insights-summary"]')
    screenshot(page, "insights")
    page.close()
    no_errors(admin)
