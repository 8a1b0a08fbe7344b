"""Pipeline studio: validation latency, editor open + auto-layout and drag frames of a 200-node pipeline, lazy JS.

Run from the repository root after building the UI (``make ui``)::

    .venv/bin/python bench/pipeline_studio.py                  # its own platform (SQLite), ~3-4 min
    .venv/bin/python bench/pipeline_studio.py --base-url http://127.0.0.1:28080 --password PW
    .venv/bin/python bench/pipeline_studio.py --bundle-only    # only the JS bundle check, no platform

Targets (issue 17):

1. ``POST /ylai/api/v1/pipelines/validate`` of a 200-node pipeline answers in < 200 ms (p90 of
   ``--calls`` calls over one keep-alive connection, after 3 uncounted ones);
2. the editor opens that pipeline and lays it out in < 1 s: from the click on its row in the
   pipeline list to all 200 nodes in the canvas' DOM (measured in the page with
   ``performance.now()``, polled every animation frame), median of ``--rounds`` opens, each
   after going back to the list inside the app; the first open after loading the page (which
   also fetches and runs the editor's lazy chunk) is printed apart;
3. it stays interactive while a node is dragged: the p90 of the ``requestAnimationFrame``
   deltas during a 60-step drag is < 50 ms (20 frames per second);
4. the editor's JavaScript loads on demand: no file of the initial bundle of the other pages
   (the standalone view's entry and its static imports, and ``main.umd.cjs``, what ylai adds to
   Airflow's UI) contains xyflow; printed with the initial size with and without the editor
   chunk.

The pipeline (``tests/random_pipelines.py``, seeded): 200 nodes over the example scripts of
``dags/scripts`` in 20 layers of 10, each parameter a literal, a pipeline param or a
``{from: node.output}`` binding to a node of the two layers before, plus ``depends_on`` and
``edges``; no layout, so the editor lays it out itself. It is saved as a database pipeline
(``POST /ylai/api/v1/pipelines``) and opened in the standalone view
(``/ylai/app/pipelines``) in headless Chromium (``/usr/bin/chromium``, Playwright).

Prints "met" / "NOT met" per target; exits 1 only when a measurement itself failed.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO_ROOT, machine_note, remove_unless_kept, running_platform_class, verdict

UI_DIST = REPO_ROOT / "plugins" / "ylai_plugin" / "ui" / "dist"
APP_DIST = UI_DIST / "app"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# xyflow's own class names and messages: a file holding them holds the graph library.
XYFLOW = re.compile(rb"react-flow__|\[React Flow\]|xyflow")
API = "/ylai/api/v1"
NAME = "studio_bench_200"
TARGET_VALIDATE_MS = 200
TARGET_OPEN_MS = 1000
TARGET_FRAME_MS = 50
NODE_SELECTOR = ".react-flow__node"
EARLY_FRAMES = 10  # a drag's first frames, where grabbing the node (selection, inspector) costs most


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def gz_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


# --- 4. the bundle -----------------------------------------------------------------------------------


def _closure(manifest: dict[str, dict[str, Any]], roots: list[str], *, lazy: bool = False) -> list[str]:
    """``roots`` and every chunk they import statically (with ``lazy``: dynamically too), transitively."""
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in manifest:
            continue
        seen.append(name)
        todo.extend(manifest[name].get("imports", []))
        if lazy:
            todo.extend(manifest[name].get("dynamicImports", []))
    return seen


def bundle_report() -> bool | None:
    """Print the initial JS of the other pages with and without the editor chunk; whether xyflow stays out.

    ``None`` when the UI is not built.
    """
    manifest_path = APP_DIST / "manifest.json"
    main = UI_DIST / "main.umd.cjs"
    if not manifest_path.is_file() or not main.is_file():
        print(f"{UI_DIST} is missing or incomplete: run `make ui` first")
        return None
    manifest: dict[str, dict[str, Any]] = json.loads(manifest_path.read_text())
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    initial = _closure(manifest, [entry])
    everything = _closure(manifest, [entry], lazy=True)
    lazy = [key for key in everything if key not in initial]
    with_xyflow = {key for key in everything if XYFLOW.search((APP_DIST / manifest[key]["file"]).read_bytes())}
    editor = [key for key in lazy if key in with_xyflow]
    initial_kb = sum(gz_kb(APP_DIST / manifest[k]["file"]) for k in initial)
    editor_kb = sum(gz_kb(APP_DIST / manifest[k]["file"]) for k in editor)
    print("standalone view (/ylai/app/<page>), gzip:")
    print(f"  initial JS of every page (entry + static imports)   {initial_kb:7.1f} KB   "
          f"({', '.join(manifest[k]['file'] for k in initial)})")  # fmt: skip
    print(f"  editor chunks, loaded on demand (with xyflow)       {editor_kb:7.1f} KB   "
          f"({', '.join(manifest[k]['file'] for k in editor) or 'none found'})")  # fmt: skip
    print(f"  initial JS if the editor were not lazy              {initial_kb + editor_kb:7.1f} KB")
    other_lazy = [k for k in lazy if k not in editor]
    if other_lazy:
        other_kb = sum(gz_kb(APP_DIST / manifest[k]["file"]) for k in other_lazy)
        print(f"  other lazy chunks                                   {other_kb:7.1f} KB")
    initial_clean = not (set(initial) & with_xyflow)
    main_clean = not XYFLOW.search(main.read_bytes())
    print("inside Airflow's UI (/plugin/ylai-<page>), gzip:")
    print(f"  main.umd.cjs (what ylai adds to every page)          {gz_kb(main):7.1f} KB   "
          f"xyflow {'absent' if main_clean else 'PRESENT'}")  # fmt: skip
    for extra in sorted(UI_DIST.glob("*.umd.cjs")):
        if extra.name != main.name and XYFLOW.search(extra.read_bytes()):
            print(f"  {extra.name:51s}  {gz_kb(extra):7.1f} KB   (on demand, with xyflow)")
    if not editor:
        print("  (no lazy chunk holds xyflow: is the editor page built?)")
    ok = initial_clean and main_clean and bool(editor)
    print(f"target: the initial bundle of the other pages holds no xyflow, the editor loads on demand: {verdict(ok)}")
    return ok


# --- 1. validation -----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection with the admin's token (as the browser would keep one)."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        data = None if body is None else json.dumps(body).encode()
        started = time.perf_counter()
        self.conn.request(method, self.prefix + path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        elapsed = time.perf_counter() - started
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:300]
        return resp.status, parsed, elapsed


def token_for(base_url: str, username: str, password: str) -> str:
    client = Client(base_url, "")
    client.headers.pop("Authorization")
    status, body, _ = client.call("POST", "/auth/token", {"username": username, "password": password})
    if status not in (200, 201):
        raise SystemExit(f"login as {username} failed: {status} {body}")
    return str(body["access_token"])


def make_spec(nodes: int, layers: int) -> dict[str, Any]:
    from tests.random_pipelines import random_pipeline
    from ylai_operators.catalog import load_registry

    registry = load_registry(REPO_ROOT / "dags" / "scripts")
    rng = random.Random(200)  # noqa: S311 - reproducible bench data
    spec = random_pipeline(rng, registry, nodes, layers=layers, name=NAME, layout=False, shuffle=False)
    spec.pop("schedule", None)  # saved but never run by the scheduler
    spec["title"] = f"Studio benchmark ({nodes} nodes)"
    return spec


def measure_validate(client: Client, spec: dict[str, Any], calls: int) -> bool | None:
    from ylai_operators.catalog import PipelineSpec, check_pipeline, load_registry

    for _ in range(3):
        status, body, _ = client.call("POST", f"{API}/pipelines/validate", {"spec": spec})
        if status != 200 or not body.get("valid"):
            print(f"validate answered {status}: {str(body)[:500]}")
            return None
    times, pings = [], []
    for _ in range(calls):  # interleaved with the no-op, so both see the same machine
        times.append(client.call("POST", f"{API}/pipelines/validate", {"spec": spec})[2] * 1000)
        pings.append(client.call("GET", f"{API}/ping")[2] * 1000)
    registry = load_registry(REPO_ROOT / "dags" / "scripts")
    local = []
    for _ in range(calls):
        started = time.perf_counter()
        checked = check_pipeline(PipelineSpec.model_validate(spec), Path(f"{NAME}.yaml"), registry)
        assert not isinstance(checked, list), checked
        local.append((time.perf_counter() - started) * 1000)
    size = len(json.dumps({"spec": spec})) / 1024
    p50, p90 = statistics.median(times), percentile(times, 0.9)
    print(f"validate {len(spec['nodes'])} nodes ({size:.0f} KB of JSON), {calls} calls:  "
          f"p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  max {max(times):6.1f} ms")  # fmt: skip
    print(
        f"  reference: GET /ping (auth + rate limit only) p50 {statistics.median(pings):6.1f} ms; "
        f"the compiler alone (PipelineSpec + check_pipeline, in-process) p50 {statistics.median(local):6.1f} ms"
    )
    ok = p90 < TARGET_VALIDATE_MS
    print(f"target: validation p90 < {TARGET_VALIDATE_MS} ms: {verdict(ok)}")
    return ok


def save(client: Client, spec: dict[str, Any]) -> bool:
    """Store the pipeline as a database pipeline (a new version when it exists)."""
    status, body, took = client.call("POST", f"{API}/pipelines", {"spec": spec, "comment": "bench"})
    if status == 409:
        status, body, took = client.call("POST", f"{API}/pipelines/{NAME}/versions", {"spec": spec, "comment": "bench"})
    if status != 201:
        print(f"saving the pipeline failed: {status} {str(body)[:500]}")
        return False
    print(f"saved {NAME} as a database pipeline (version {body.get('current_version')}) in {took * 1000:.0f} ms")
    # The list shows a pipeline once the dag-processor has built its DAG.
    began = time.monotonic()
    while time.monotonic() - began < 600:
        if client.call("GET", f"/api/v2/dags/pipeline__{NAME}")[0] == 200:
            print(
                f"pipeline__{NAME} (200 tasks + collect_outputs) parsed {time.monotonic() - began:.0f} s after the save"
            )
            return True
        time.sleep(2)
    print(f"pipeline__{NAME} did not appear within 600 s")
    return False


# --- 2 and 3. the editor -------------------------------------------------------------------------------

COUNT_UNTIL = """([selector, want]) => {
  const n = document.querySelectorAll(selector).length;
  if (n >= want && window.__studioT1 === undefined) window.__studioT1 = performance.now();
  return n >= want;
}"""

FRAMES_START = """() => {
  window.__frames = [];
  window.__framesOn = true;
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__framesOn) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def login(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/auth/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"), timeout=60_000)


def open_once(page: Any, base_url: str, nodes: int, *, reload: bool) -> tuple[float, float, float]:
    """Show the list (``reload``: load the page), click the pipeline, wait for every node.

    :return: ms from the click to every node rendered, ms from navigation start to then, and ms from
        the click to the end of the pipeline's ``GET /pipelines/<name>`` (chunk loaded, spec fetched).
    """
    if reload:
        page.goto(f"{base_url}/ylai/app/pipelines")
    else:  # back to the list inside the app, as a user goes from one pipeline to the next
        page.click('[data-testid="studio-back"]')
    page.wait_for_selector('[data-testid="page-pipelines"]', timeout=60_000)
    row = page.locator(f'[data-testid="pipeline-{NAME}"]')
    row.wait_for(timeout=60_000)
    page.evaluate("() => { window.__studioT1 = undefined; }")
    t0 = page.evaluate("() => performance.now()")
    row.click()
    page.wait_for_function(COUNT_UNTIL, arg=[NODE_SELECTOR, nodes], polling="raf", timeout=60_000)
    t1 = float(page.evaluate("() => window.__studioT1"))
    # Laid out: the nodes are not piled up on one spot.
    spots = page.evaluate(
        "(sel) => new Set([...document.querySelectorAll(sel)].map((n) => n.style.transform)).size", NODE_SELECTOR
    )
    if spots < nodes // 2:
        raise AssertionError(f"only {spots} distinct node positions for {nodes} nodes: no layout?")
    # When the pipeline itself had arrived (GET /pipelines/<name>): the rest is the browser's work.
    fetched = page.evaluate(
        """([t0, path]) => Math.min(...performance.getEntriesByType('resource')
             .filter((e) => e.startTime >= t0 && new URL(e.name).pathname === path)
             .map((e) => e.responseEnd - t0))""",
        [t0, f"{API}/pipelines/{NAME}"],
    )
    return t1 - t0, t1, float(fetched)


def drag_frames(page: Any, steps: int = 60) -> list[float]:
    """rAF deltas (ms) while a node in the middle of the view is dragged 300 px in ``steps`` moves."""
    box = page.evaluate(
        """(sel) => {
          const w = window.innerWidth / 2, h = window.innerHeight / 2;
          const inside = (r) => r.width > 0 && r.left > 0 && r.top > 0
            && r.right < window.innerWidth && r.bottom < window.innerHeight;
          const nodes = [...document.querySelectorAll(sel)].map((n) => n.getBoundingClientRect()).filter(inside);
          nodes.sort((a, b) => Math.hypot(a.x - w, a.y - h) - Math.hypot(b.x - w, b.y - h));
          const r = nodes[0];
          return r ? { x: r.left + r.width / 2, y: r.top + Math.min(12, r.height / 2) } : null;
        }""",
        NODE_SELECTOR,
    )
    if box is None:
        raise AssertionError("no node is visible to drag")
    page.mouse.move(box["x"], box["y"])
    page.mouse.down()
    page.evaluate(FRAMES_START)
    for i in range(1, steps + 1):
        page.mouse.move(box["x"] + 300 * i / steps, box["y"] + 120 * i / steps)
    page.mouse.up()
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done(null)))")
    frames: list[float] = page.evaluate("() => { window.__framesOn = false; return window.__frames; }")
    return frames[1:]  # the first delta starts before the drag


def measure_editor(base_url: str, username: str, password: str, nodes: int, rounds: int) -> tuple[bool, bool] | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
            context.add_init_script("localStorage.setItem('i18nextLng', 'en')")
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?" after a drag
            login(page, base_url, username, password)
            first, first_total, first_fetch = open_once(page, base_url, nodes, reload=True)
            opens, fetches, frames, early_long = [], [], [], 0
            for _ in range(rounds):
                took, _total, fetched = open_once(page, base_url, nodes, reload=False)
                opens.append(took)
                fetches.append(fetched)
                drag = drag_frames(page)
                early_long += sum(1 for f in drag[:EARLY_FRAMES] if f > TARGET_FRAME_MS)
                frames.extend(drag)
        finally:
            browser.close()
    median_open = statistics.median(opens)
    print(f"editor open + auto-layout of {nodes} nodes (click in the list -> every node in the DOM), "
          f"{rounds} rounds: median {median_open:6.0f} ms, max {max(opens):6.0f} ms")  # fmt: skip
    print(
        f"  of which until the spec had arrived (click -> end of GET /pipelines/{NAME}): median "
        f"{statistics.median(fetches):6.0f} ms; the rest is layout and React Flow's render"
    )
    print(
        f"  first open after loading the page (also loads and runs the editor chunk): {first:6.0f} ms "
        f"(spec arrived after {first_fetch:.0f} ms); from navigation start to every node {first_total:6.0f} ms"
    )
    ok_open = median_open < TARGET_OPEN_MS
    print(f"target: open + layout < {TARGET_OPEN_MS} ms: {verdict(ok_open)}")
    p90 = percentile(frames, 0.9)
    long_frames = sum(1 for f in frames if f > TARGET_FRAME_MS)
    print(f"drag a node ({rounds} drags of 60 moves, {len(frames)} frames): frame p50 "
          f"{statistics.median(frames):5.1f} ms  p90 {p90:5.1f} ms  max {max(frames):6.1f} ms  "
          f"frames > {TARGET_FRAME_MS} ms: {long_frames}")  # fmt: skip
    print(f"  of the frames > {TARGET_FRAME_MS} ms, {early_long} fell in a drag's first {EARLY_FRAMES} frames")
    ok_drag = p90 < TARGET_FRAME_MS
    print(f"target: drag frame p90 < {TARGET_FRAME_MS} ms: {verdict(ok_drag)}")
    return ok_open, ok_drag


def run(base_url: str, username: str, password: str, args: argparse.Namespace) -> bool:
    spec = make_spec(args.nodes, args.layers)
    client = Client(base_url, token_for(base_url, username, password))
    measured = measure_validate(client, spec, args.calls) is not None
    if args.no_browser:
        return measured
    if not save(client, spec):
        return False
    return measure_editor(base_url, username, password, args.nodes, args.rounds) is not None and measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--calls", type=int, default=30, help="validate calls measured")
    parser.add_argument("--rounds", type=int, default=5, help="editor opens (and drags) measured")
    parser.add_argument("--base-url", help="a running platform instead of one of our own")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", help="with --base-url: the admin's password")
    parser.add_argument("--no-browser", action="store_true", help="only the bundle and the validator")
    parser.add_argument("--bundle-only", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the platform's folder (logs)")
    args = parser.parse_args()
    print(f"# ylai pipeline studio ({machine_note()})")
    bundle_ok = bundle_report()
    if args.bundle_only:
        return 0 if bundle_ok is not None else 1
    if args.base_url:
        if not args.password:
            parser.error("--base-url needs --password")
        return 0 if run(args.base_url.rstrip("/"), args.username, args.password, args) else 1
    platform_class = running_platform_class()
    work = Path(tempfile.mkdtemp(prefix="ylai-studio-bench-"))
    platform = platform_class(work / "home", {"YLAI_ADMIN_PASSWORD": "studio-bench-pw-1"})
    began = time.monotonic()
    platform.start()
    try:
        platform.wait_ready()
        print(f"platform up after {time.monotonic() - began:.0f} s: {platform.base_url}")
        ok = run(platform.base_url, platform.username, platform.password, args)
    finally:
        platform.kill()
        remove_unless_kept(work, args.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
