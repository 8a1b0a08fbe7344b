"""Script versions in Chromium (issue 19): the diff of two versions, restoring one, and the version a run ran."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform, wait_until

NAME = "e2e_versions"
DAG = f"script__{NAME}"
MANIFEST: dict[str, Any] = {"title": "E2E versions", "outputs": {"which": {"type": "string"}}}


def content(which: str) -> str:
    return f'echo "running {which}"\necho \'{{"which": "{which}"}}\' > "$YLAI_RESULT_FILE"\n'


def _dag_at_version(p: RunningPlatform, version: int) -> str | None:
    """The DAG is parsed with ``version`` of the script (its doc says which version it runs)."""
    resp = p.request("GET", f"/api/v2/dags/{DAG}/details")
    doc = (resp.json().get("doc_md") or "") if resp.status == 200 else ""
    return "ok" if f"version {version} " in doc else None


def test_diff_restore_and_the_restored_version_runs(admin: Session, platform: RunningPlatform) -> None:
    body = {"name": NAME, "runtime": "bash", "content": content("one"), "manifest": MANIFEST, "comment": "first"}
    created = platform.request("POST", "/ylai/api/v1/scripts", body)
    assert created.status == 201, created.body[:300]
    v2 = {"content": content("two"), "manifest": MANIFEST, "comment": "second"}
    added = platform.request("POST", f"/ylai/api/v1/scripts/{NAME}/versions", v2)
    assert added.status == 201, added.body[:300]
    platform.wait_for_dag(DAG)  # the Scripts page lists what the caller may read: the DAG must exist

    page = admin.page()
    admin.goto(page, "scripts", f"?name={NAME}")
    page.wait_for_selector('[data-testid="versions-table"]', timeout=60_000)
    assert "current" in page.inner_text('[data-testid="version-2"]')
    # the two newest versions side by side: the changed lines face each other
    page.wait_for_selector('[data-testid="diff-content"] tr[data-kind="changed"]')
    changed = page.locator('[data-testid="diff-content"] tr[data-kind="changed"]').first.inner_text()
    assert "one" in changed
    assert "two" in changed
    screenshot(page, "script-versions-diff")

    page.once("dialog", lambda d: d.accept())
    page.click('[data-testid="version-restore-1"]')
    wait_for_text(page, '[data-testid="version-restored"]', "Version 1 restored as version 3.")
    wait_for_text(page, '[data-testid="version-3"]', "current")
    page.wait_for_selector('[data-testid="diff-content-same"]')  # v1 against v3: identical
    assert "Restore of version 1" in page.inner_text('[data-testid="version-3"]')

    restored = platform.request("GET", f"/ylai/api/v1/scripts/{NAME}/versions/3").json()
    assert restored["content"] == content("one")
    wait_until(lambda: _dag_at_version(platform, 3), 180, lambda: f"{DAG} never showed version 3:\n{platform.tail()}")
    started = platform.request("POST", f"/ylai/api/v1/scripts/{NAME}/run", {})
    assert started.status == 201, started.body[:300]
    run_id = started.json()["run_id"]
    assert platform.wait_for_run(DAG, run_id) == "success", platform.tail()
    assert platform.xcom(DAG, run_id, NAME)["outputs"] == {"which": "one"}
    quoted = urllib.parse.quote(run_id, safe="")
    assert platform.request("GET", f"/ylai/api/v1/runs/{DAG}/{quoted}").json()["script_version"] == "3"

    # the script's page shows the version each run ran
    deadline = time.monotonic() + 60
    while True:
        admin.goto(page, "scripts", f"?name={NAME}")
        page.wait_for_selector('[data-testid="script-runs"]')
        if "v3" in page.inner_text('[data-testid="script-runs"]') or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert "v3" in page.inner_text('[data-testid="script-runs"]')
    screenshot(page, "script-versions-run")
    assert not admin.own_errors(), admin.own_errors()
