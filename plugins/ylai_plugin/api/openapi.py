"""ylai's OpenAPI document: FastAPI's, corrected to describe what the API really answers.

- FastAPI documents its own ``HTTPValidationError`` (``{"detail": [...]}``) for every 422;
  ylai answers every error in the envelope (:mod:`ylai_plugin.api.errors`), so those 422s
  point at ``ErrorResponse`` and FastAPI's schemas are dropped.
- Every operation may answer 401 (no or bad token), 403 (the role lacks the permission),
  429 (rate limit, with ``Retry-After``) and 503 (a dependency down or the request timeout, with
  ``Retry-After``; :mod:`ylai_plugin.api.outage`): each is documented, in the envelope.
- FastAPI serializes the document with ``exclude_none``, which also drops the ``null``
  values inside schema examples (a required nullable field would go missing): each
  schema's examples are put back as its model declares them.
- Generated clients resolve paths against ``servers``: the app is mounted at ``/ylai``, so
  the document says so, and each operation's id is its route function's name (``list_tasks``,
  ``run_task``), short and stable, instead of FastAPI's path-derived default.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

ERROR_REF = "#/components/schemas/ErrorResponse"
FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
#: Where Airflow's api-server mounts the app; the document's paths are relative to it.
SERVERS = [{"url": "/ylai", "description": "ylai's app inside Airflow's api-server (relative to its base URL)"}]
COMMON_RESPONSES: dict[str, dict[str, Any]] = {
    "401": {"description": "No valid token (`Authorization: Bearer` or the `_token` cookie)."},
    "403": {"description": "The caller's roles lack the permission this operation needs."},
    "429": {
        "description": "The caller's rate limit is exhausted; retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
    "503": {
        "description": "A dependency is unavailable (`details.dependency`: `metadata_db`, `broker` or `cache`), "
        "or the answer did not start within `[ylai] request_timeout` (`details.timeout`, `dependency` null "
        "when none was found down); retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
}


def _envelope_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ERROR_REF}}}


def _replace_refs(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("$ref") == "#/components/schemas/HTTPValidationError":
            return {"$ref": ERROR_REF}
        return {key: _replace_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_refs(value) for value in node]
    return node


def _models(app: FastAPI) -> dict[str, type[BaseModel]]:
    """Every pydantic model the routes use, by its component name (``Page[TaskOut]`` -> ``Page_TaskOut_``)."""
    found: dict[str, type[BaseModel]] = {}

    def visit(annotation: Any) -> None:
        for arg in typing.get_args(annotation):
            visit(arg)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            name = re.sub(r"[^a-zA-Z0-9.\-_]", "_", annotation.__name__)
            if found.setdefault(name, annotation) is annotation and name not in visited:
                visited.add(name)
                for field in annotation.model_fields.values():
                    visit(field.annotation)

    visited: set[str] = set()
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        visit(route.response_model)
        if route.body_field is not None:
            visit(route.body_field.field_info.annotation)
        for response in route.responses.values():
            visit(response.get("model"))
    return found


def _restore_examples(schemas: dict[str, Any], app: FastAPI) -> None:
    for name, model in _models(app).items():
        if name in schemas and "examples" in schemas[name]:
            declared = model.model_json_schema().get("examples")
            if declared:
                schemas[name]["examples"] = declared


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The corrected document (cached on the app like FastAPI's own)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        servers=SERVERS,
    )
    spec = typing.cast(dict[str, Any], _replace_refs(spec))
    schemas = spec.get("components", {}).get("schemas", {})
    for name in FASTAPI_SCHEMAS:
        schemas.pop(name, None)
    _restore_examples(schemas, app)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, response in COMMON_RESPONSES.items():
                if code not in responses:
                    responses[code] = {**response, "content": _envelope_content()}
            if "422" in responses:
                responses["422"]["description"] = "Invalid input: `details` names each field and why."
    app.openapi_schema = spec
    return spec


def operation_id(route: APIRoute) -> str:
    """The operation id of a route: its function's name, which the app keeps unique."""
    return route.name


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return :func:`build_openapi`'s document."""

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
