"""Managing presets on the Run page and creating a script on the Scripts page, in Chromium."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import Session, screenshot, wait_for_text
from tests.integration.running_platform import RunningPlatform

DAG = "script__disk_usage"


def _presets(p: RunningPlatform) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = p.request("GET", f"/ylai/api/v1/presets?dag_id={DAG}&limit=200").json()["items"]
    return items


def _preset(p: RunningPlatform, name: str, shared_with_role: str | None = None) -> dict[str, Any]:
    body = {"name": name, "dag_id": DAG, "params": {"top": 4}, "shared_with_role": shared_with_role}
    resp = p.request("POST", "/ylai/api/v1/presets", body)
    assert resp.status in (201, 409), resp.body[:300]
    return next(x for x in _presets(p) if x["name"] == name)


def test_edit_and_delete_a_preset_on_the_run_page(admin: Session, platform: RunningPlatform) -> None:
    preset = _preset(platform, "e2e edit me")
    page = admin.page()
    admin.goto(page, "run", f"?dag_id={DAG}")
    page.wait_for_selector('[data-testid="field-top"]')
    page.click('[data-testid="manage-presets"] summary')
    page.click(f'[data-testid="preset-edit-{preset["id"]}"]')
    page.wait_for_selector('[data-testid="preset-editor"]')

    # the client checks the name like the server does, before sending anything
    page.fill('[data-testid="preset-edit-name"]', "/bad")
    page.click('[data-testid="preset-edit-save"]')
    assert "starting with a letter or digit" in page.inner_text('[data-testid="preset-edit-name-error"]')

    # rename, share with Admin, and take the params from the form
    page.fill('[data-testid="preset-edit-name"]', "e2e renamed")
    page.select_option('[data-testid="preset-edit-share"]', "Admin")
    page.fill('[data-testid="field-top"]', "7")
    page.click('[data-testid="preset-edit-use-form"]')
    assert json.loads(page.input_value('[data-testid="preset-edit-params"]')) == {"top": 7}
    page.click('[data-testid="preset-edit-save"]')
    page.wait_for_selector('[data-testid="preset-manage-done"]')
    assert "e2e renamed" in page.inner_text('[data-testid="preset-manage-done"]')
    stored = next(x for x in _presets(platform) if x["id"] == preset["id"])
    assert (stored["name"], stored["shared_with_role"], stored["params"]) == ("e2e renamed", "Admin", {"top": 7})
    # the "updated" note shows before the page's preset list has been fetched again
    wait_for_text(page, f'[data-testid="preset-select"] option[value="{preset["id"]}"]', "e2e renamed")
    screenshot(page, "run-preset-edit")

    # a name another preset of mine has: the server's 409 next to the name
    _preset(platform, "e2e other")
    page.click(f'[data-testid="preset-edit-{preset["id"]}"]')
    page.fill('[data-testid="preset-edit-name"]', "e2e other")
    page.click('[data-testid="preset-edit-save"]')
    page.wait_for_selector('[data-testid="preset-edit-name-error"]')
    assert "already have a preset" in page.inner_text('[data-testid="preset-edit-name-error"]')

    page.once("dialog", lambda d: d.accept())
    page.click(f'[data-testid="preset-delete-{preset["id"]}"]')
    page.wait_for_selector(f'[data-testid="preset-row-{preset["id"]}"]', state="detached")
    assert preset["id"] not in {x["id"] for x in _presets(platform)}
    assert platform.request("GET", f"/ylai/api/v1/presets/{preset['id']}").status == 404
    page.close()
    errors = [e for e in admin.own_errors() if not ("409" in e["text"] and "/ylai/api/v1/presets/" in e["url"])]
    admin.errors.clear()
    assert not errors, errors


def test_create_a_script_on_the_scripts_page(admin: Session, platform: RunningPlatform) -> None:
    page = admin.page()
    admin.goto(page, "scripts")
    page.click('[data-testid="script-new"]')
    page.wait_for_selector('[data-testid="script-form"]')
    page.fill('[data-testid="script-name"]', "e2e_greeter")
    manifest: dict[str, Any] = {
        "title": "E2E greeter",
        "params": {"who": {"type": "no-such-type"}},
        "outputs": {"greeting": {"type": "string"}},
    }
    page.fill('[data-testid="script-manifest"]', json.dumps(manifest))
    page.click('[data-testid="script-save"]')
    # the server's 422 for the manifest, shown next to the manifest with its path
    page.wait_for_selector('[data-testid="script-manifest-error"]')
    assert "params.who" in page.inner_text('[data-testid="script-manifest-error"]')
    assert platform.request("GET", "/ylai/api/v1/scripts/e2e_greeter").status == 404

    manifest["params"] = {"who": {"type": "string", "default": "world"}}
    page.fill('[data-testid="script-manifest"]', json.dumps(manifest))
    page.fill('[data-testid="script-comment"]', "first version")
    page.click('[data-testid="script-save"]')
    page.wait_for_selector('[data-testid="script-created"]')
    page.wait_for_selector('[data-testid="script-detail"]')
    assert "E2E greeter" in page.inner_text("h1")
    assert "who" in page.inner_text('[data-testid="script-params"]')
    screenshot(page, "script-created")
    stored = platform.request("GET", "/ylai/api/v1/scripts/e2e_greeter").json()
    assert (stored["source"], stored["version"], stored["runtime"]) == ("database", 1, "python")

    # the same name again: 409 next to the name
    admin.goto(page, "scripts", "?new=1")
    page.fill('[data-testid="script-name"]', "e2e_greeter")
    page.click('[data-testid="script-save"]')
    page.wait_for_selector('[data-testid="script-name-error"]')
    assert "already exists" in page.inner_text('[data-testid="script-name-error"]')

    # With the UI in Chinese the server's answer is Chinese too (the client sends Accept-Language).
    # Set before any script of the page runs, as Airflow's language selector stores it.
    page.add_init_script("localStorage.setItem('i18nextLng', 'zh-CN')")
    try:
        admin.goto(page, "scripts", "?new=1")
        page.fill('[data-testid="script-name"]', "e2e_greeter")
        page.click('[data-testid="script-save"]')
        page.wait_for_selector('[data-testid="script-name-error"]')
        assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "zh-CN"
        assert "名为 'e2e_greeter' 的脚本已存在" in page.inner_text('[data-testid="script-name-error"]')
    finally:
        page.evaluate("() => localStorage.setItem('i18nextLng', 'en')")
    page.close()
    provoked = ("422", "409")
    errors = [
        e
        for e in admin.own_errors()
        if not (any(code in e["text"] for code in provoked) and e["url"].endswith("/ylai/api/v1/scripts"))
    ]
    admin.errors.clear()
    assert not errors, errors


def test_viewer_cannot_change_presets_or_create_scripts(viewer: Session, platform: RunningPlatform) -> None:
    shared = _preset(platform, "e2e shared with viewers", "Viewer")
    page = viewer.page()
    viewer.goto(page, "run", f"?dag_id={DAG}")
    page.wait_for_selector('[data-testid="field-top"]')
    page.click('[data-testid="manage-presets"] summary')
    page.wait_for_selector(f'[data-testid="preset-edit-{shared["id"]}"]')
    page.wait_for_selector('[data-testid="preset-manage-permission"]')
    assert page.is_disabled(f'[data-testid="preset-edit-{shared["id"]}"]')
    assert page.is_disabled(f'[data-testid="preset-delete-{shared["id"]}"]')
    assert "may not edit or delete presets" in page.inner_text('[data-testid="preset-manage-permission"]')

    viewer.goto(page, "scripts")
    page.wait_for_selector('[data-testid="script-permission"]')
    assert page.is_disabled('[data-testid="script-new"]')
    viewer.goto(page, "scripts", "?new=1")
    page.wait_for_selector('[data-testid="script-permission"]')
    assert "may not create scripts" in page.inner_text('[data-testid="script-permission"]')
    assert page.is_disabled('[data-testid="script-save"]')
    screenshot(page, "script-new-viewer")
    page.close()
    errors = viewer.own_errors()
    viewer.errors.clear()
    assert not errors, errors
