"""The pipeline studio (issue 17) in Chromium, on the session's running platform.

A new user builds a 3-node pipeline without writing YAML: scripts dragged from the palette,
nodes connected by dragging from a handle, an output bound to a param (only outputs of a
fitting type are offered), a problem shown on a node and fixed; saved, it becomes the DAG
``pipeline__<name>``, runs from the editor with its nodes turning green on the canvas, and a
node's logs open. The YAML tab shows the spec the server exports. A Viewer gets a read-only
editor; the studio speaks Chinese.

The studio's test hooks are listed at the top of plugins/ylai_plugin/ui/src/pages/pipelines/Studio.tsx.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Session, dictionary, login, screenshot, visible_texts
from tests.integration.running_platform import RunningPlatform
from ylai_operators.catalog import load_pipelines, load_registry

API = "/ylai/api/v1/pipelines"
NAME = "e2e_studio"
STUDIO = '[data-testid="studio-page"]'
LIST = '[data-testid="page-pipelines"]'
# The three nodes (a dropped script's node is named after it): generate -> profile -> gate.
GENERATE, PROFILE, GATE = "data_generator", "csv_profiler", "quality_gate"


def _open(session: Session, page: Any, query: str = "") -> None:
    """The Pipelines page inside Airflow's UI; with a query (``?name=``, ``?new=1``), the studio."""
    page.goto(f"{session.base_url}/plugin/ylai-pipelines{query}")
    page.wait_for_selector(STUDIO if query else LIST, timeout=60_000)


def _node(page: Any, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def _center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not visible"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drop(page: Any, script: str, x: int, y: int) -> None:
    """Drag a script from the palette onto the canvas at (x, y) of the canvas (HTML5 drag and drop)."""
    page.drag_and_drop(
        f'[data-testid="palette-item-{script}"]', '[data-testid="studio-canvas"]', target_position={"x": x, "y": y}
    )
    _node(page, script).wait_for()


SETTLED = """() => {
  const c = document.querySelector('[data-testid="studio-canvas"]').getBoundingClientRect();
  const rects = [...document.querySelectorAll('.react-flow__node')].map((n) => n.getBoundingClientRect());
  const key = rects.map((r) => `${r.x},${r.y},${r.width},${r.height}`).join(';');
  const inside = rects.every((r) => r.left >= c.left && r.right <= c.right && r.top >= c.top && r.bottom <= c.bottom);
  const same = window.__studioLast === key;
  window.__studioLast = key;
  return rects.length > 0 && inside && same;
}"""


def _auto_layout(page: Any) -> None:
    """Lay the nodes out (the studio's button also fits the view) and wait until all are in sight and still."""
    page.click('[data-testid="studio-layout"]')
    page.wait_for_function(SETTLED, polling="raf")


def _connect(page: Any, source: str, target: str) -> None:
    """Drag from ``source``'s output handle to ``target``'s input handle, as a user draws an edge."""
    sx, sy = _center(_node(page, source).locator(".react-flow__handle.source"))
    tx, ty = _center(_node(page, target).locator(".react-flow__handle.target"))
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move((sx + tx) / 2, (sy + ty) / 2, steps=5)
    page.mouse.move(tx, ty, steps=5)
    page.mouse.up()


def _select(page: Any, node_id: str) -> None:
    """Click a node; its inspector opens."""
    _node(page, node_id).locator(f'[data-testid="studio-node-{node_id}"]').click()
    page.wait_for_selector(f'[data-testid="inspector"][data-node="{node_id}"]')


def _options(page: Any, selector: str) -> list[str]:
    values: list[str] = page.eval_on_selector_all(f"{selector} option", "els => els.map((e) => e.value)")
    return values


def _same_spec(data: dict[str, Any]) -> dict[str, Any]:
    """A spec without its layout, and without empty node ``params`` (the editor leaves ``params: {}`` out)."""
    nodes = {
        node_id: {k: v for k, v in node.items() if not (k == "params" and v == {})}
        for node_id, node in data["nodes"].items()
    }
    return {**{k: v for k, v in data.items() if k != "layout"}, "nodes": nodes}


def _edges(page: Any) -> int:
    count: int = page.locator(".react-flow__edge").count()
    return count


@pytest.fixture(scope="module")
def saved() -> dict[str, bool]:
    """Whether the build test saved its pipeline, which the run test runs (one module, in order)."""
    return {}


def test_build_a_pipeline_by_dragging_scripts(
    admin: Session, platform: RunningPlatform, saved: dict[str, bool]
) -> None:
    page = admin.page()
    _open(admin, page, "?new=1")
    page.wait_for_selector(f'[data-testid="palette-item-{GATE}"]')
    assert page.get_attribute(STUDIO, "data-readonly") == "false"

    # the pipeline's name, in the settings
    page.click('[data-testid="studio-settings-tab"]')
    page.fill('[data-testid="settings-name"]', NAME)
    page.click('[data-testid="studio-canvas-tab"]')
    page.wait_for_selector('[data-testid="studio-canvas"]')

    # the palette searches by name, tag and owner
    page.fill('[data-testid="palette-search"]', "quality")
    page.wait_for_selector(f'[data-testid="palette-item-{GENERATE}"]', state="detached")
    assert page.locator(f'[data-testid="palette-item-{GATE}"]').is_visible()
    page.fill('[data-testid="palette-search"]', "")
    page.wait_for_selector(f'[data-testid="palette-item-{GENERATE}"]')

    # three scripts dragged onto the canvas, then laid out left to right
    _drop(page, GENERATE, 100, 100)
    _drop(page, PROFILE, 200, 300)
    _drop(page, GATE, 300, 500)
    assert page.locator(".react-flow__node").count() == 3
    _auto_layout(page)

    # a required param that is not set: the validator's problem shows on the node (debounced)
    page.wait_for_selector(f'[data-testid="node-problem-{PROFILE}"]', timeout=30_000)
    page.wait_for_selector(f'[data-testid="node-problem-{GATE}"]', timeout=30_000)

    # connect them by dragging from a node's handle to the next one's
    _connect(page, GENERATE, PROFILE)
    page.wait_for_function("() => document.querySelectorAll('.react-flow__edge').length >= 1")
    _connect(page, PROFILE, GATE)
    page.wait_for_function("() => document.querySelectorAll('.react-flow__edge').length >= 2")

    # a cycle is refused as it is drawn
    edges_before = _edges(page)
    sx, sy = _center(_node(page, GATE).locator(".react-flow__handle.source"))
    tx, ty = _center(_node(page, GENERATE).locator(".react-flow__handle.target"))
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(tx, ty, steps=10)
    page.mouse.up()
    page.wait_for_selector('[data-testid="studio-notice"]')
    assert GATE in page.inner_text('[data-testid="studio-notice"]')
    assert _edges(page) == edges_before

    # bind an output to a param: only outputs whose type fits are offered
    _select(page, PROFILE)
    offered = _options(page, '[data-testid="binding-path"]')
    assert f"from:{GENERATE}.path" in offered  # string -> string
    assert f"from:{GENERATE}.rows" not in offered  # integer -> string: filtered out
    page.select_option('[data-testid="binding-path"]', f"from:{GENERATE}.path")
    page.wait_for_selector(f'[data-testid="node-problem-{PROFILE}"]', state="detached", timeout=30_000)

    _select(page, GATE)
    offered = _options(page, '[data-testid="binding-rows"]')
    assert f"from:{PROFILE}.rows" in offered
    assert f"from:{PROFILE}.profile_path" not in offered
    assert not any(o.startswith(f"from:{GATE}.") for o in offered)  # never its own outputs
    page.select_option('[data-testid="binding-rows"]', f"from:{PROFILE}.rows")
    page.wait_for_selector(f'[data-testid="node-problem-{GATE}"]', state="detached", timeout=30_000)
    page.wait_for_selector('[data-testid="studio-valid"]', timeout=30_000)
    assert page.locator('[data-testid^="node-problem-"]').count() == 0
    screenshot(page, "studio-built")

    # save: the first version of a database pipeline
    page.fill('[data-testid="studio-comment"]', "built in the browser")
    page.click('[data-testid="studio-save"]')
    # saved, the studio shows the stored pipeline
    page.wait_for_url(re.compile(rf"[?&]name={NAME}(&|$)"), timeout=60_000)
    _node(page, GATE).wait_for()
    versions = platform.request("GET", f"{API}/{NAME}/versions")
    assert versions.status == 200, versions.body[:300]
    assert versions.json()["current_version"] == 1
    stored = platform.request("GET", f"{API}/{NAME}").json()
    nodes = stored["spec"]["nodes"]
    assert set(nodes) == {GENERATE, PROFILE, GATE}
    assert nodes[PROFILE]["params"]["path"] == {"from": f"{GENERATE}.path"}
    assert nodes[GATE]["params"]["rows"] == {"from": f"{PROFILE}.rows"}
    assert set(stored["layout"]) == {GENERATE, PROFILE, GATE}
    saved["pipeline"] = True
    page.close()
    errors = admin.own_errors()
    admin.errors.clear()
    assert not errors, errors


def test_the_saved_pipeline_runs_from_the_editor_and_its_nodes_turn_green(
    admin: Session, platform: RunningPlatform, saved: dict[str, bool], tmp_path: Path
) -> None:
    if not saved.get("pipeline"):
        pytest.fail("the build test did not save the pipeline", pytrace=False)
    page = admin.page()
    # the DAG the dag-processor builds from the saved pipeline
    platform.wait_for_dag(f"pipeline__{NAME}", timeout=240)
    _open(admin, page, f"?name={NAME}")
    _node(page, GATE).wait_for()
    page.wait_for_selector('[data-testid="studio-run"]:not([disabled])', timeout=60_000)
    page.click('[data-testid="studio-run"]')
    page.wait_for_selector('[data-testid="studio-run-dialog"]')
    page.click('[data-testid="studio-run-start"]')
    page.wait_for_selector('[data-testid="studio-run-state"]', timeout=60_000)
    # live states on the canvas, until every node is green
    for node_id in (GENERATE, PROFILE, GATE):
        page.wait_for_selector(f'[data-testid="studio-node-{node_id}"][data-state="success"]', timeout=300_000)
    page.wait_for_selector('[data-testid="studio-run-state"][data-state="success"]', timeout=120_000)
    # green: the node's border is the theme's "ok" colour
    ok, border = page.eval_on_selector(
        f'[data-testid="studio-node-{GATE}"]',
        """el => {
          const probe = document.createElement('span');
          probe.style.color = 'var(--y-ok)';
          el.appendChild(probe);
          const ok = getComputedStyle(probe).color;
          probe.remove();
          return [ok, getComputedStyle(el).borderTopColor];
        }""",
    )
    assert border == ok, (border, ok)
    assert page.inner_text(f'[data-testid="node-state-{GATE}"]').strip()
    screenshot(page, "studio-run-success")

    # a click on a node opens its outputs and the run's logs
    _node(page, PROFILE).locator(f'[data-testid="studio-node-{PROFILE}"]').click()
    page.wait_for_selector('[data-testid="studio-run-node"]')
    page.wait_for_selector('[data-testid="studio-node-outputs"]', timeout=60_000)
    assert "rows" in page.inner_text('[data-testid="studio-node-outputs"]')
    page.wait_for_selector('[data-testid="studio-run-node"] [data-testid="log-viewer"]')
    page.wait_for_function(
        "() => /\\d+ rows, \\d+ columns/.test(document.querySelector("
        "'[data-testid=\"studio-run-node\"] [data-testid=\"log-lines\"]')?.textContent ?? '')",
        timeout=120_000,
    )
    screenshot(page, "studio-node-logs")

    # the YAML tab shows the spec, as the server exports it
    page.click('[data-testid="studio-yaml-tab"]')
    shown = yaml.safe_load(page.input_value('[data-testid="studio-yaml"]'))
    export = platform.request("GET", f"{API}/{NAME}/yaml")
    assert export.status == 200, export.body[:300]
    exported = yaml.safe_load(export.body)
    assert _same_spec(shown) == _same_spec(exported), (shown, exported)
    assert set(shown.get("layout", {})) == set(exported.get("layout", {}))
    # ... and that export, put in a repository unchanged, loads and checks like any file there
    repository = tmp_path / "pipelines"
    repository.mkdir()
    (repository / f"{NAME}.yaml").write_bytes(export.body)
    loaded, problems = load_pipelines(repository, load_registry(REPO_ROOT / "dags" / "scripts"), use_cache=False)
    assert not problems, problems
    assert sorted(loaded[NAME].spec.nodes) == sorted(shown["nodes"])
    page.close()
    errors = admin.own_errors()
    admin.errors.clear()
    assert not errors, errors


def test_a_viewer_sees_a_read_only_editor(viewer: Session, platform: RunningPlatform) -> None:
    spec = yaml.safe_load(
        "name: e2e_studio_viewer\n"
        "nodes:\n"
        "  generate: {script: data_generator, params: {rows: 5}}\n"
        "  profile: {script: csv_profiler, params: {path: {from: generate.path}}}\n"
    )
    created = platform.request("POST", API, {"spec": spec})
    assert created.status in (201, 409), created.body[:300]
    page = viewer.page()
    _open(viewer, page, "?name=e2e_studio_viewer")
    _node(page, "profile").wait_for()
    page.wait_for_selector(f'{STUDIO}[data-readonly="true"]')
    page.wait_for_selector('[data-testid="studio-readonly"]')
    assert page.is_disabled('[data-testid="studio-save"]')
    assert page.is_disabled('[data-testid="studio-run"]')
    assert page.is_disabled('[data-testid="studio-undo"]')
    assert page.get_attribute('[data-testid="palette-item-disk_usage"]', "draggable") == "false"
    # the nodes can still be inspected, not changed
    _select(page, "profile")
    assert page.is_disabled('[data-testid="binding-path"]')
    assert page.is_disabled('[data-testid="inspector-delete"]')
    # a drop does nothing
    page.drag_and_drop(
        '[data-testid="palette-item-disk_usage"]', '[data-testid="studio-canvas"]', target_position={"x": 300, "y": 300}
    )
    assert page.locator(".react-flow__node").count() == 2
    page.click('[data-testid="studio-yaml-tab"]')
    assert page.get_attribute('[data-testid="studio-yaml"]', "readonly") is not None
    screenshot(page, "studio-viewer")
    page.close()
    forbidden = [e for e in viewer.own_errors() if "403" not in e["text"]]
    viewer.errors.clear()
    assert not forbidden, forbidden


def test_the_studio_in_chinese(browser: Any, platform: RunningPlatform) -> None:
    session = login(
        browser, platform, platform.username, platform.password, "localStorage.setItem('i18nextLng', 'zh-CN')"
    )
    en, zh = dictionary("en"), dictionary("zh-CN")
    english = {re.sub(r"\{\w+\}", "", v).strip() for k, v in en.items() if v != zh.get(k)}
    english = {e for e in english if len(e) > 1}
    try:
        page = session.page()
        # a repository pipeline: read-only even for the admin, who may save a copy
        _open(session, page, "?name=generate_and_profile")
        _node(page, "profile").wait_for()
        assert page.get_attribute('[data-testid="ylai-root"]', "lang") == "zh-CN"
        assert page.get_attribute(STUDIO, "data-readonly") == "true"
        page.wait_for_selector('[data-testid="studio-save-copy"]')
        assert zh["studio.palette"] in page.inner_text('[data-testid="palette"]')
        # React Flow's own controls speak Chinese too (their labels are English unless the studio sets them)
        labels = page.eval_on_selector_all(
            ".react-flow__controls button, .react-flow__minimap",
            "els => els.flatMap((el) => [el.getAttribute('title'), el.getAttribute('aria-label')]).filter(Boolean)",
        )
        assert labels, "no React Flow controls"
        assert not [label for label in labels if re.fullmatch(r"[A-Za-z ]+", label)], labels
        for tab in ("canvas", "yaml", "settings"):
            page.click(f'[data-testid="studio-{tab}-tab"]')
            texts = visible_texts(page)
            leftovers = sorted({t for t in texts if t in english})
            assert not leftovers, f"studio {tab} tab: untranslated {leftovers}"
            assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
        screenshot(page, "studio-zh")
        _open(session, page)
        page.wait_for_selector('[data-testid="pipeline-generate_and_profile"]')
        leftovers = sorted({t for t in visible_texts(page) if t in english})
        assert not leftovers, f"pipelines list: untranslated {leftovers}"
        page.close()
        errors = session.own_errors()
        assert not errors, errors
    finally:
        session.context.close()
