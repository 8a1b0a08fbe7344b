"""The landing page behind the "ylai" nav entry (rendered in Airflow's UI iframe).

It is a deliberately small static page: it fetches ``api/v1/health`` with the
UI's ``_token`` cookie (same origin, relative URL) and shows the result.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ylai</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 1.5rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; }
  dt { font-weight: 600; }
  .healthy { color: #2e7d32; } .unhealthy { color: #c62828; } .not_configured { color: #757575; }
</style>
</head>
<body>
<h1>ylai</h1>
<p>Scripts, pipelines and monitoring on Airflow.</p>
<dl id="health"><dt>status</dt><dd>loading…</dd></dl>
<script>
  const target = document.getElementById("health");
  function row(label, value, cls) {
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = value;
    if (cls) dd.className = cls;
    target.append(dt, dd);
  }
  fetch("api/v1/health", {credentials: "same-origin"})
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then((h) => {
      target.replaceChildren();
      row("version", h.version);
      row("executor", h.executor);
      row("metadata DB", h.metadata_db.status, h.metadata_db.status);
      row("broker", h.broker.status, h.broker.status);
    })
    .catch((e) => { target.replaceChildren(); row("error", String(e), "unhealthy"); });
</script>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse)
def landing_page() -> str:
    """Serve the landing page."""
    return _PAGE
