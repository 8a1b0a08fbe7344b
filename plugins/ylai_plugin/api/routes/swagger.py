"""``/ylai/api/v1/swagger``: Swagger UI over ylai's OpenAPI document, with "Try it out".

It sits next to the static reference (``/ylai/api/v1/docs``, api/reference.py) and differs in
that it calls the API. Everything it loads is ylai's own:

- Swagger UI's files come from the UI build (``ui/dist/swagger-ui/``, copied from the npm
  package ``swagger-ui-dist`` by ``ui/scripts/copy-swagger-ui.mjs``), served by ``/ylai/static``
  behind auth like the rest of the bundle: no CDN. The online validator badge is switched off
  (``validatorUrl: null``), since it would send the document to validator.swagger.io.
- The document is ``openapi.json`` next to this page, fetched with the browser's credentials.

Authentication works as in ylai's own pages (ui/src/api/client.ts): same-origin requests carry
Airflow's ``_token`` cookie, which the page cannot read (HttpOnly) and does not need to. The
document's ``servers`` entry (``/ylai``) is relative to Airflow's base URL, which only the page
knows, so the page replaces it with its own ``<base>/ylai`` before Swagger UI starts.

An anonymous browser is sent to Airflow's login page, like the standalone view's pages.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from ylai_plugin import ui_bundle
from ylai_plugin.api.errors import ApiError
from ylai_plugin.api.security import PageUser, login_redirect

router = APIRouter(prefix="/api/v1", include_in_schema=False)

#: Where the build puts Swagger UI, under the UI's dist/ (and so under /ylai/static/).
SWAGGER_DIR = "swagger-ui"
#: The files the page loads; without them the UI was built before Swagger UI was part of it.
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
# Relative to this page (/ylai/api/v1/swagger): /ylai/static/swagger-ui/.
_STATIC = f"../../static/{SWAGGER_DIR}"

# Airflow's colour mode (next-themes' localStorage "theme", as the ylai pages read it) picks
# Swagger UI's dark stylesheet (html.dark-mode).
_INIT = """
(function () {
  var d = document.documentElement, theme = null;
  try { theme = localStorage.getItem("theme"); } catch (e) {}
  if (theme === "dark" || ((!theme || theme === "system") && window.matchMedia &&
      matchMedia("(prefers-color-scheme: dark)").matches)) d.classList.add("dark-mode");
  var status = document.getElementById("ylai-status");
  // <base>/ylai: this page is <base>/ylai/api/v1/swagger.
  var ylaiRoot = new URL("../../", location.href).href.replace(/\\/$/, "");
  fetch("openapi.json", {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then(function (r) {
      if (!r.ok) throw new Error("openapi.json: HTTP " + r.status + (r.status === 401 ? " (log in again)" : ""));
      return r.json();
    })
    .then(function (spec) {
      spec.servers = [{url: ylaiRoot, description: "ylai on this Airflow"}];
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        layout: "BaseLayout",
        presets: [SwaggerUIBundle.presets.apis],
        deepLinking: true,
        filter: true,
        displayRequestDuration: true,
        validatorUrl: null,
        requestInterceptor: function (req) {
          // Airflow's _token cookie, as ylai's pages send it (ui/src/api/client.ts).
          req.credentials = "same-origin";
          return req;
        },
      });
      status.hidden = true;
    })
    .catch(function (e) { status.textContent = String(e); status.className = "ylai-error"; });
})();
"""

_STYLE = """
body { margin: 0; font-family: system-ui, sans-serif; }
.ylai-bar { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: baseline;
  padding: .6rem 1.2rem; border-bottom: 1px solid #8884; font-size: 14px; }
.ylai-bar b { font-size: 16px; margin-right: auto; }
.ylai-note { flex-basis: 100%; color: #666; font-size: 13px; }
#ylai-status { padding: 1rem 1.2rem; } .ylai-error { color: #c62828; }
html.dark-mode body { background: #1c1c21; color: #ddd; } html.dark-mode a { color: #8ab4f8; }
"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>ylai API · Try it out</title>
<link rel="icon" type="image/png" href="{_STATIC}/favicon-32x32.png">
<link rel="stylesheet" href="{_STATIC}/swagger-ui.css">
<style>{_STYLE}</style>
</head>
<body>
<header class="ylai-bar">
<b>ylai API</b>
<a href="docs">Static reference</a>
<a href="openapi.json">openapi.json</a>
<a href="../../app/">ylai</a>
<span class="ylai-note">"Try it out" sends real requests to this ylai as you, with your Airflow login:
writes (POST, PATCH, DELETE) take effect.</span>
</header>
<div id="ylai-status">Loading the API document…</div>
<div id="swagger-ui" data-testid="swagger-ui"></div>
<script src="{_STATIC}/swagger-ui-bundle.js"></script>
<script>{_INIT}</script>
</body>
</html>
"""


@router.get("/swagger", response_class=HTMLResponse)
def swagger_page(request: Request, user: PageUser) -> Response:
    """Swagger UI for ylai's API (anonymous browsers go to the login page)."""
    if user is None:
        return login_redirect(request)
    folder = ui_bundle.UI_DIST / SWAGGER_DIR
    if not all((folder / name).is_file() for name in ASSETS):
        raise ApiError(503, "Swagger UI is not built (cd plugins/ylai_plugin/ui && npm ci && npm run build)")
    # The page names no hashed file: revalidated, so a new build shows at once.
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})
