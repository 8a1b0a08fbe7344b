"""Browser tests of ylai's pages inside Airflow's UI, on a real ``ylai run`` platform.

The platform decides at api-server start whether the UI bundle exists (five ``react_apps``
pages) or not (one iframe page), so the bundle must be built before the platform starts:
``cd plugins/ylai_plugin/ui && npm ci && npm run build`` (``make test`` does it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.conftest import sqlite_platform  # noqa: F401  (the shared platform fixture)
from tests.integration.running_platform import RunningPlatform

UI_DIR = REPO_ROOT / "plugins" / "ylai_plugin" / "ui"
BUNDLE = UI_DIR / "dist" / "main.umd.cjs"
ARTIFACTS = Path(__file__).parent / "artifacts"
# Looked for in this order (scripts/provision-test-deps checks the same list and installs chromium as root).
BROWSERS = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
NO_BROWSER = (
    "no Chromium for the browser tests (looked for $YLAI_TEST_CHROMIUM, chromium, chromium-browser, google-chrome "
    "and Playwright's own): install it: sudo apt-get install chromium (or .venv/bin/playwright install chromium)"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "E2e-test-pw-1"
PAGE_LIST = REPO_ROOT / "plugins" / "ylai_plugin" / "pages.json"
PAGES = tuple(page["id"] for page in json.loads(PAGE_LIST.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def dictionary(lang: str) -> dict[str, str]:
    """Every UI text of ``lang``: src/i18n's and, as ``studio.<key>``, the pipeline studio's own."""
    data: dict[str, str] = json.loads((UI_DIR / "src" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    studio = json.loads((UI_DIR / "src" / "pages" / "pipelines" / f"studio.{lang}.json").read_text(encoding="utf-8"))
    data.update({f"studio.{key}": text for key, text in studio.items()})
    return data


@pytest.fixture(scope="session")
def ui_bundle() -> Path:
    """The built UI; without it the platform would only show its iframe status page."""
    if not BUNDLE.is_file():
        pytest.fail(
            f"{BUNDLE.relative_to(REPO_ROOT)} is missing: build the UI before the platform starts "
            "(cd plugins/ylai_plugin/ui && npm ci && npm run build, or make ui)",
            pytrace=False,
        )
    return BUNDLE


@pytest.fixture(scope="session")
def platform(ui_bundle: Path, sqlite_platform: RunningPlatform) -> RunningPlatform:  # noqa: F811
    p = sqlite_platform
    pages = p.request("GET", "/api/v2/plugins").json()["plugins"]
    routes = {app.get("url_route") for plugin in pages for app in plugin.get("react_apps", [])}
    assert {f"ylai-{page}" for page in PAGES} <= routes, (
        f"the platform does not serve the UI pages ({routes}); was the bundle built before it started?"
    )
    for dag_id in ("script__disk_usage", "script__quality_gate"):
        p.wait_for_dag(dag_id)
    return p


@pytest.fixture(scope="session")
def finished_run(platform: RunningPlatform) -> str:
    """A finished script run for the pages to show, shared by the modules: its run id."""
    run_id = platform.trigger("script__quality_gate", {"rows": 5})
    assert platform.wait_for_run("script__quality_gate", run_id) == "success", platform.tail()
    return run_id


def save_task(p: RunningPlatform, name: str) -> None:
    """A saved task of ``disk_usage`` named ``name`` (kept if an earlier module made it)."""
    task = p.request("POST", "/ylai/api/v1/tasks", {"name": name, "script": "disk_usage", "params": {"top": 3}})
    assert task.status in (201, 409), task.body[:300]


def create_user(p: RunningPlatform, username: str, role: str) -> None:
    p.create_user(username, role, PASSWORD)


@dataclass
class Session:
    """A logged-in browser context plus the console errors of its pages."""

    context: Any
    base_url: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def page(self) -> Any:
        page = self.context.new_page()

        def on_console(msg: Any) -> None:
            if msg.type == "error":
                loc = msg.location or {}
                self.errors.append({"text": msg.text, "url": str(loc.get("url", "")), "page": page.url})

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append({"text": f"pageerror: {exc}", "url": "", "page": page.url}))
        return page

    def goto(self, page: Any, ui_page: str, query: str = "") -> None:
        page.goto(f"{self.base_url}/plugin/ylai-{ui_page}{query}")
        page.wait_for_selector(f'[data-testid="page-{ui_page}"]', timeout=60_000)

    def own_errors(self, ignore: Callable[[dict[str, str]], bool] = lambda e: False) -> list[dict[str, str]]:
        """Console errors that come from ylai's pages (see ``is_airflow_own``)."""
        return [e for e in self.errors if not is_airflow_own(e) and not ignore(e)]


def is_airflow_own(error: dict[str, str]) -> bool:
    """Errors of requests only Airflow's own UI makes: its private ``/ui`` API, which ylai never calls."""
    return bool(re.search(r"/ui/", error["url"])) and "/ylai/" not in error["url"]


def find_chromium(own: str) -> str | None:
    """``$YLAI_TEST_CHROMIUM``, else the first of ``BROWSERS`` on PATH, else Playwright's own build at ``own``."""
    configured = os.environ.get("YLAI_TEST_CHROMIUM")
    candidates = [configured] if configured else [*(shutil.which(name) for name in BROWSERS), own]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report every "no Chromium" skip at one place, so pytest's summary folds them into one line."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(NO_BROWSER):
        report.longrepr = (__file__, find_chromium.__code__.co_firstlineno, report.longrepr[2])
    return report


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """The browser, looked for before any platform starts; without one each browser test skips with one line."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        path = find_chromium(pw.chromium.executable_path)
    if path is None:
        pytest.skip(NO_BROWSER)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def login(browser: Any, p: RunningPlatform, username: str, password: str, init_script: str | None = None) -> Session:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    if init_script:
        context.add_init_script(init_script)
    session = Session(context, p.base_url)
    # Not session.page(): FAB's own login page logs a script error ("reading 'tz'") of its own.
    page = context.new_page()
    page.goto(f"{p.base_url}/auth/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"), timeout=60_000)
    page.close()
    return session


@pytest.fixture(scope="session")
def admin(browser: Any, platform: RunningPlatform) -> Iterator[Session]:
    session = login(browser, platform, platform.username, platform.password, "localStorage.setItem('i18nextLng', 'en')")
    yield session
    session.context.close()


def wait_for_text(page: Any, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the element matching ``selector`` contains ``text``.

    For content a page re-renders after a refetch: the element can already exist with the old text.
    """
    page.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel); return !!el && el.textContent.includes(text); }",
        arg=[selector, text],
        timeout=timeout,
    )


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def viewer(browser: Any, platform: RunningPlatform) -> Iterator[Session]:
    create_user(platform, "e2e_viewer", "Viewer")
    session = login(browser, platform, "e2e_viewer", PASSWORD, "localStorage.setItem('i18nextLng', 'en')")
    yield session
    session.context.close()


def visible_texts(page: Any) -> list[str]:
    """Every visible text node, placeholder, title and aria-label inside ylai's root (for translation checks)."""
    result: list[str] = page.evaluate(
        """() => {
        const root = document.querySelector('[data-testid="ylai-root"]');
        const out = [];
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          const el = node.parentElement;
          // translate="no" marks data shown as is (a role's or user's name), not text to translate.
          if (el && el.closest('[translate="no"]')) continue;
          if (el && el.offsetParent !== null && node.textContent.trim()) out.push(node.textContent.trim());
        }
        for (const el of root.querySelectorAll('[placeholder],[title],[aria-label]')) {
          for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
        }
        for (const o of root.querySelectorAll('option, optgroup')) out.push(o.label || o.textContent.trim());
        return out;
    }"""
    )
    return result
