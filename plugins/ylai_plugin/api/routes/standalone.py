"""``/ylai/app/<page>``: ylai's pages as fast standalone pages, outside Airflow's UI shell.

Inside Airflow's UI every ylai page first pays for Airflow's own bundle (~2 MB of JS,
gzipped, before any page renders; Airflow's home page scores ~31 in Lighthouse), so the
same pages are also served on their own: a small HTML page that already paints the final
layout (top bar, page tabs, title) with inline CSS, then one content-hashed ES module
(``ui/dist/app/``, built by ``vite.standalone.config.ts``) with its own React.

``<base href>`` is Airflow's base URL, so the UI's relative calls (``ylai/api/v1/...``) and
links to Airflow's pages (``dags/...``) resolve as they do inside Airflow's UI.

Every route checks Airflow's auth manager. The HTML route catches the auth failure and sends
an anonymous browser to Airflow's login page (``get_url_login``) with a ``next`` back here,
instead of a bare JSON 401; the assets answer 401 like every other ylai route.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from ylai_plugin import ui_bundle
from ylai_plugin.api.errors import ApiError, not_found
from ylai_plugin.api.security import PageUser, login_redirect, rate_limited_user

router = APIRouter(prefix="/app", include_in_schema=False)

# ylai_plugin/pages.json: the one list of ylai's pages (the plugin's menu and the UI's tabs read it too).
PAGES = tuple(page["id"] for page in json.loads((Path(__file__).parents[2] / "pages.json").read_text(encoding="utf-8")))
MOUNT = "/ylai"  # the plugin's url_prefix (plugin.py)
ASSETS = "assets"
# Only Vite's content-hashed outputs ("standalone-BDrZpp7c.js"): never the manifest or shell.json.
_HASHED = re.compile(r"^[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.(?:js|css)$")
IMMUTABLE = "public, max-age=31536000, immutable"


def app_dist() -> Path:
    """Where the standalone build lives (read at call time: tests point UI_DIST elsewhere)."""
    return ui_bundle.UI_DIST / "app"


def airflow_base(request: Request) -> str:
    """Airflow's base path, as Airflow's own index.html puts it in ``<base href>``.

    Airflow mounts this app at ``<base>/ylai``, so the mount is taken off the root path.
    """
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return root.removesuffix(MOUNT) + "/"


@lru_cache(maxsize=4)
def _build(dist: Path, stamp: int) -> tuple[str, dict[str, Any]]:
    """The entry's hashed file name and the first-paint assets of one build (keyed by its mtime)."""
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    entry = next(chunk["file"] for chunk in manifest.values() if chunk.get("isEntry"))
    shell: dict[str, Any] = json.loads((dist / "shell.json").read_text(encoding="utf-8"))
    return str(entry), shell


def load_build() -> tuple[str, dict[str, Any]]:
    """The current standalone build, or a 503 when the UI was built without it."""
    dist = app_dist()
    try:
        stamp = (dist / "manifest.json").stat().st_mtime_ns
        return _build(dist, stamp)
    except (OSError, ValueError, StopIteration, KeyError):
        raise ApiError(503, "The standalone UI is not built (cd plugins/ylai_plugin/ui && npm run build)") from None


# Before the first paint: Airflow's colour mode (next-themes' localStorage "theme") and language
# (i18next's localStorage "i18nextLng"), the same settings the pages read (src/i18n).
_BOOT = (
    "(function(){var d=document.documentElement,s=null,l=null;"
    'try{s=localStorage.getItem("theme");l=localStorage.getItem("i18nextLng")}catch(e){}'
    'var k=s==="dark"||((!s||s==="system")&&!!window.matchMedia&&matchMedia("(prefers-color-scheme: dark)").matches);'
    'd.classList.add(k?"dark":"light");d.style.colorScheme=k?"dark":"light";'
    'l=(l||navigator.language||"en").toLowerCase();d.lang=l.indexOf("zh")===0?"zh-CN":"en"})();'
)

# After the skeleton: its texts in the chosen language and colour mode, still before the first paint.
_LOCALIZE = (
    "(function(){var d=document.documentElement,t=%s[d.lang]||{},"
    'r=document.getElementById("ylai-app").firstChild;r.lang=d.lang;'
    'if(d.classList.contains("dark")){r.classList.add("ylai-dark");r.querySelector("input").checked=true}'
    'r.querySelector("select").value=d.lang;'
    'r.querySelectorAll("[data-k]").forEach(function(e){var v=t[e.getAttribute("data-k")];'
    'if(v){if(e.hasAttribute("aria-label"))e.setAttribute("aria-label",v);else e.textContent=v}})})();'
)

_PAGE_CSS = (
    "html{color-scheme:light;background:#fff}html.dark{color-scheme:dark;background:#09090b}"
    'body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC",sans-serif}'
)


def _skeleton(page: str, query: str, shell: dict[str, Any]) -> str:
    """The layout React renders first (same classes, same boxes), so nothing shifts when it takes over."""
    en: dict[str, str] = shell["text"]["en"]

    def text(key: str) -> str:
        return f'<span data-k="{key}">{html.escape(en.get(key, key))}</span>'

    tabs = "".join(
        f'<a class="y-tab{" y-tab-active" if p == page else ""}" href="ylai/app/{p}">{text(f"nav.{p}")}</a>'
        for p in shell.get("pages", PAGES)
    )
    back = html.escape(f"plugin/ylai-{page}{query}")
    return (
        '<div class="ylai ylai-standalone">'
        '<div class="y-topbar"><span class="y-brand">ylai</span>'
        f'<a href="ylai/api/v1/swagger" target="_blank" rel="noopener">{text("apiDocs.link")}</a>'
        f'<a href="{back}">{text("standalone.openInAirflow")}</a>'
        f'<select class="y-input" aria-label="{html.escape(en["standalone.language"])}" data-k="standalone.language">'
        '<option value="en">English</option><option value="zh-CN">中文</option></select>'
        f'<label class="y-row"><input type="checkbox">{text("standalone.dark")}</label></div>'
        '<div><header class="y-header">'
        f'<nav class="y-tabs" aria-label="{html.escape(en["nav.label"])}" data-k="nav.label">{tabs}</nav>'
        f'<div class="y-header-row"><div><h1 class="y-title">{text(f"{page}.title")}</h1></div></div>'
        "</header></div></div>"
    )


def render_page(page: str, query: str, base: str, entry: str, shell: dict[str, Any]) -> str:
    """The standalone HTML of one page."""
    script = f"ylai/app/{ASSETS}/{entry}"
    # "</" cannot end the inline script early: JSON escapes it.
    texts = json.dumps(shell["text"], ensure_ascii=False).replace("</", "<\\/")
    title = html.escape(shell["text"]["en"].get(f"{page}.title", page))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{title} · ylai</title><base href="{html.escape(base)}">'
        f'<link rel="modulepreload" href="{script}">'
        f"<script>{_BOOT}</script>"
        f"<style data-ylai>{_PAGE_CSS}{shell['css']}</style></head><body>"
        f'<div id="ylai-app">{_skeleton(page, query, shell)}</div>'
        f"<script>{_LOCALIZE % texts}</script>"
        f'<script type="module" src="{script}"></script>'
        "</body></html>"
    )


def _page_response(page: str, request: Request, user: BaseUser | None) -> Response:
    if user is None:
        return login_redirect(request)
    if page not in PAGES:
        raise not_found("Page", page)
    entry, shell = load_build()
    query = f"?{request.url.query}" if request.url.query else ""
    body = render_page(page, query, airflow_base(request), entry, shell)
    # The HTML names the current hashed bundle: always revalidated, so a new build shows at once.
    return HTMLResponse(body, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
def standalone_home(request: Request, user: PageUser) -> Response:
    """The Overview page."""
    return _page_response("overview", request, user)


@router.get(f"/{ASSETS}/{{file_name}}", dependencies=[Depends(rate_limited_user)])
def standalone_asset(file_name: str) -> Response:
    """One content-hashed file of the standalone build: cached for a year, never revalidated."""
    root = app_dist().resolve()
    path = (root / file_name).resolve()
    if not _HASHED.fullmatch(file_name) or not path.is_relative_to(root) or not path.is_file():
        raise not_found("File", file_name)
    media_type = "text/css" if path.suffix == ".css" else "text/javascript"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": IMMUTABLE})


@router.get("/{page}", response_class=HTMLResponse)
def standalone_page(page: str, request: Request, user: PageUser) -> Response:
    """One of ylai's pages (``PAGES``: ``overview``, ``run``, ...)."""
    return _page_response(page, request, user)
