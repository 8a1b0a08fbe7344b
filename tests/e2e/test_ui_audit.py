"""The Audit page in Chromium: a write through ylai shows as an entry, filtered by action and object.

The same entry is in Airflow's own audit log, as its REST API (``GET /api/v2/eventLogs``) shows.
"""

from __future__ import annotations

import time

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform


def test_a_saved_task_shows_on_the_audit_page_and_in_airflows_audit_log(
    admin: Session, platform: RunningPlatform
) -> None:
    name = f"audited e2e {int(time.time())}"
    made = platform.request("POST", "/ylai/api/v1/tasks", {"name": name, "script": "disk_usage", "params": {"top": 2}})
    assert made.status == 201, made.body[:300]
    task_id = made.json()["id"]
    renamed = platform.request("PATCH", f"/ylai/api/v1/tasks/{task_id}", {"description": "audited"})
    assert renamed.status == 200, renamed.body[:300]

    page = admin.page()
    admin.goto(page, "audit")
    page.fill('[data-testid="audit-action"]', "ylai.task")
    page.fill('[data-testid="audit-object"]', f"task:{task_id}")
    page.click('[data-testid="audit-submit"]')
    wait_for_text(page, '[data-testid="audit-table"]', name)
    # The unfiltered list shown before the filtered answer arrives has this task's entries too: wait until
    # every row is about this task.
    page.wait_for_function(
        """(label) => { const rows = [...document.querySelectorAll('[data-testid=audit-entry]')];
          return rows.length > 0 && rows.every(
            r => r.querySelector('[data-testid=audit-entry-object]')?.textContent === label); }""",
        arg=f"Task {task_id}",
        timeout=60_000,
    )
    rows = page.query_selector_all('[data-testid="audit-entry"]')
    assert [r.get_attribute("data-action") for r in rows] == ["ylai.task.update", "ylai.task.create"]
    newest = rows[0]
    assert newest.query_selector('[data-testid="audit-entry-user"]').inner_text() == platform.username
    assert newest.query_selector('[data-testid="audit-entry-object"]').inner_text() == f"Task {task_id}"
    assert newest.query_selector('[data-testid="audit-entry-summary"]').inner_text() == (
        f"changed description of task '{name}'"
    )
    assert page.query_selector('[data-testid="audit-export-csv"]').is_enabled()
    screenshot(page, "audit")
    page.close()

    logs = platform.request("GET", "/api/v2/eventLogs?event=ylai.task.create&order_by=-id&limit=50")
    assert logs.status == 200, logs.body[:300]
    ours = [e for e in logs.json()["event_logs"] if f'"object": "task:{task_id}"' in (e.get("extra") or "")]
    assert len(ours) == 1, logs.json()
    assert ours[0]["owner"] == platform.username
    assert ours[0]["dag_id"] == "script__disk_usage"

    errors = admin.own_errors()
    admin.errors.clear()
    assert not errors, f"console errors on ylai's pages: {errors}"
