"""``/ylai/static/...``: the UI bundle, behind auth like every ylai route, with cache validators.

The bundle's file names are stable (``main.umd.cjs``: Airflow's ``react_apps`` needs a
fixed ``bundle_url``), so responses carry ``Cache-Control: no-cache`` plus an ``ETag``:
browsers keep the file and revalidate it with a cheap 304.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from ylai_plugin import ui_bundle
from ylai_plugin.api.errors import not_found

# Starlette would serve .cjs as text/plain, which browsers refuse to import as a module.
mimetypes.add_type("application/javascript", ".cjs")

router = APIRouter(prefix="/static", include_in_schema=False)


def _etag(path: Path) -> str:
    stat = path.stat()
    return '"' + hashlib.sha1(f"{stat.st_mtime_ns}:{stat.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'


@router.get("/{file_path:path}")
def static_file(file_path: str, request: Request) -> Response:
    """Serve one file of the built UI."""
    root = ui_bundle.UI_DIST.resolve()
    path = (root / file_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise not_found("File", file_path)
    etag = _etag(path)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, headers=headers)
