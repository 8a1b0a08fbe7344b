"""Performance budget of ylai's UI pages: bundle size, route switches and Lighthouse scores.

Run from the repository root after building the UI (``make ui``)::

    .venv/bin/python bench/ui_budget.py              # all three measures
    .venv/bin/python bench/ui_budget.py --no-lighthouse

It starts the real platform (SQLite, ``tests/integration/running_platform.RunningPlatform``),
then measures:

1. **initial JS**: the gzipped size of ``plugins/ylai_plugin/ui/dist/main.umd.cjs``, the only
   file every page adds to Airflow's UI (budget: 300 KB); ECharts (``charts.umd.cjs``) is loaded
   on demand by the pages that draw charts and printed separately;
2. **route switch**: in Chromium (Debian's ``/usr/bin/chromium``, Playwright), logged in as the
   admin, the time from a click on a page tab to that page's first content, for every pair of
   pages, 3 rounds; the worst median must be < 500 ms;
3. **Lighthouse performance** of each page (npm ``lighthouse``, run with ``npx`` from the npm
   registry, ``CHROME_PATH=/usr/bin/chromium``, desktop preset, the session cookie passed as
   a header); budget: >= 90.

Prints one table and exits 1 if a budget is missed. Airflow's own UI bundle loads first on
every page, so the Lighthouse score measures Airflow plus ylai; the first two figures are ylai's.
For scale, the score of Airflow's own home page (``/``) in the same conditions is printed as a
reference (no budget).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO_ROOT, machine_note
from tests.integration.running_platform import RunningPlatform

BUNDLE = REPO_ROOT / "plugins" / "ylai_plugin" / "ui" / "dist" / "main.umd.cjs"
CHARTS = BUNDLE.with_name("charts.umd.cjs")
PAGES = ("overview", "run", "monitor", "scripts", "tasks", "alerts")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
LIGHTHOUSE = "lighthouse@12.2.3"
BUDGET_JS_KB = 300
BUDGET_SWITCH_MS = 500
BUDGET_SCORE = 90


def bundle_kb(path: Path = BUNDLE) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


def route_switches(p: RunningPlatform, rounds: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{p.base_url}/auth/login/")
        page.fill("input[name=username]", p.username)
        page.fill("input[name=password]", p.password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
        page.goto(f"{p.base_url}/plugin/ylai-overview")
        page.wait_for_selector('[data-testid="page-overview"]', timeout=60_000)
        current = "overview"
        for _ in range(rounds):
            for target in PAGES:
                if target == current:
                    continue
                started = time.perf_counter()
                page.click(f'[data-testid="tab-{target}"]')
                page.wait_for_selector(f'[data-testid="page-{target}"]')
                times.setdefault(f"{current}->{target}", []).append((time.perf_counter() - started) * 1000)
                current = target
        browser.close()
    return {k: statistics.median(v) for k, v in times.items()}


def lighthouse(p: RunningPlatform, page: str, work: Path, path: str | None = None) -> float:
    out = work / f"lh-{page}.json"
    cmd = [
        "npx",
        "--yes",
        LIGHTHOUSE,
        f"{p.base_url}{path if path is not None else f'/plugin/ylai-{page}'}",
        "--only-categories=performance",
        "--preset=desktop",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--extra-headers",
        json.dumps({"Cookie": f"_token={p.token()}"}),
    ]
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    subprocess.run(cmd, check=True, env=env, timeout=600, capture_output=True)
    report: dict[str, Any] = json.loads(out.read_text())
    return float(report["categories"]["performance"]["score"]) * 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()
    if not BUNDLE.is_file():
        print(f"{BUNDLE} is missing: run `make ui` first", file=sys.stderr)
        return 2
    print(f"# ylai UI budget ({machine_note()})")
    failed = False
    js = bundle_kb()
    print(f"initial JS (gzip)      {js:8.1f} KB   budget {BUDGET_JS_KB} KB   {'ok' if js <= BUDGET_JS_KB else 'OVER'}")
    failed |= js > BUDGET_JS_KB
    if CHARTS.is_file():
        print(f"on-demand JS (charts)  {bundle_kb(CHARTS):8.1f} KB   (Monitor and script details only)")
    with tempfile.TemporaryDirectory(prefix="ylai-ui-budget-") as tmp:
        work = Path(tmp)
        p = RunningPlatform(work / "home", {"YLAI_ADMIN_PASSWORD": "ui-budget-pw-1"})
        p.start()
        try:
            p.wait_ready()
            switches = route_switches(p, args.rounds)
            worst = max(switches.values())
            for name, ms in sorted(switches.items()):
                print(f"route switch {name:22s} {ms:7.0f} ms")
            print(f"route switch (worst median) {worst:5.0f} ms   budget {BUDGET_SWITCH_MS} ms   "
                  f"{'ok' if worst < BUDGET_SWITCH_MS else 'OVER'}")  # fmt: skip
            failed |= worst >= BUDGET_SWITCH_MS
            if not args.no_lighthouse:
                for page in PAGES:
                    score = lighthouse(p, page, work)
                    print(f"lighthouse {page:12s}      {score:5.0f}      budget {BUDGET_SCORE}      "
                          f"{'ok' if score >= BUDGET_SCORE else 'UNDER'}")  # fmt: skip
                    failed |= score < BUDGET_SCORE
                reference = lighthouse(p, "airflow-home", work, "/")
                print(f"lighthouse airflow home (/)  {reference:5.0f}      reference: Airflow's own page, no ylai code")
        finally:
            p.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
