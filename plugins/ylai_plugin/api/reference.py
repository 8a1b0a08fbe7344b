"""A dependency-free HTML reference of ylai's OpenAPI document, served at ``/ylai/api/v1/docs``."""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 1.5rem auto; max-width: 70rem; padding: 0 1rem; }
.op { border: 1px solid #8884; border-radius: 6px; margin: .8rem 0; padding: .6rem .9rem; }
.m { font-weight: 700; font-family: monospace; display: inline-block; min-width: 4.5rem; }
.get { color: #1565c0; } .post { color: #2e7d32; } .patch { color: #ef6c00; } .delete { color: #c62828; }
pre { background: #8881; padding: .5rem; overflow-x: auto; font-size: .85rem; }
code { font-size: .9rem; }
"""


def _schema_json(schema: Any) -> str:
    return html.escape(json.dumps(schema, indent=2, ensure_ascii=False))


def render_reference(spec: dict[str, Any]) -> str:
    """Render every operation and schema of ``spec`` as one HTML page."""
    info = spec.get("info", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(info.get('title', 'API'))} <small>{html.escape(str(info.get('version', '')))}</small></h1>",
        f"<p>{html.escape(info.get('description', ''))}</p>",
        "<p>Base path: <code>/ylai</code>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> "
        "(from <code>POST /auth/token</code>) or the UI's session cookie. "
        'Errors use <code>{"error": {"code", "message", "details"}}</code>. '
        "The machine-readable document is <a href='openapi.json'>openapi.json</a>; "
        "<a href='swagger' id='try-it-out'>Swagger UI</a> sends requests with your login (Try it out).</p>",
    ]
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            parts.append(
                f"<div class='op'><span class='m {method}'>{method.upper()}</span> <code>{html.escape(path)}</code>"
            )
            parts.append(f"<p><b>{html.escape(op.get('summary', ''))}</b> {html.escape(op.get('description', ''))}</p>")
            params = op.get("parameters", [])
            if params:
                rows = "".join(
                    f"<li><code>{html.escape(p['name'])}</code> ({html.escape(p.get('in', ''))})"
                    f"{' required' if p.get('required') else ''}: {html.escape(p.get('description', ''))}</li>"
                    for p in params
                )
                parts.append(f"<ul>{rows}</ul>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                parts.append(f"<details><summary>Request body</summary><pre>{_schema_json(body)}</pre></details>")
            codes = ", ".join(html.escape(c) for c in op.get("responses", {}))
            parts.append(f"<p>Responses: {codes}</p></div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        parts.append(
            f"<details><summary><code>{html.escape(name)}</code></summary><pre>{_schema_json(schema)}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
