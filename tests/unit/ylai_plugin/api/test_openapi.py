"""ylai's OpenAPI document: exported and current, fit for generated clients, and every schema
in it carries an example that is valid for the schema.

A new request or response model (error envelope included) without
``model_config = ConfigDict(json_schema_extra={"examples": [...]})`` fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO_ROOT
from tests.unit.api_client import headers
from ylai_plugin.api.app import create_app
from ylai_plugin.cli import openapi_document

EXPORTED = REPO_ROOT / "docs" / "api" / "openapi.json"


def test_exported_openapi_document_is_current() -> None:
    assert EXPORTED.exists(), "run `.venv/bin/ylai openapi` to export docs/api/openapi.json"
    assert EXPORTED.read_text() == openapi_document(), (
        "docs/api/openapi.json is stale: run `.venv/bin/ylai openapi` and commit the result"
    )


def test_every_operation_and_schema_is_documented() -> None:
    spec = json.loads(openapi_document())
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") or op.get("description"), f"{method.upper()} {path} has no description"
            assert any(code.startswith("2") for code in op["responses"]), f"{method.upper()} {path}"
    inputs = [name for name in spec["components"]["schemas"] if name.endswith("In")]
    assert inputs, "request bodies are documented as components"
    for name in inputs:
        assert spec["components"]["schemas"][name].get("examples"), f"{name} has no example"


def test_docs_page_is_served_behind_auth(airflow_db: object) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/docs").status_code == 401
        page = client.get("/api/v1/docs", headers=headers())
        assert page.status_code == 200
        assert "/api/v1/tasks/{task_id}/run" in page.text
        assert "TaskIn" in page.text


def test_document_suits_generated_clients() -> None:
    spec = json.loads(openapi_document())
    # Paths are relative to where the api-server mounts the app.
    assert [server["url"] for server in spec["servers"]] == ["/ylai"]
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "operation ids are unique"
    assert all(op_id.isidentifier() and "api_v1" not in op_id for op_id in ids), ids
    assert {"list_tasks", "run_task", "run_script", "create_rule"} <= set(ids)
    # An optional body is the plain model, not ``anyOf [model, null]`` that clients must send.
    run = spec["paths"]["/api/v1/tasks/{task_id}/run"]["post"]["requestBody"]
    assert not run.get("required")
    assert run["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RunRequest"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def test_every_schema_has_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert {"ErrorResponse", "ErrorBody", "TaskIn", "TaskOut", "Page_TaskOut_", "SystemMonitor"} <= set(schemas)
    missing = sorted(name for name, schema in schemas.items() if not schema.get("examples"))
    assert not missing, (
        f"schemas without an example: {missing}; give each model "
        'model_config = ConfigDict(json_schema_extra={"examples": [...]})'
    )


def test_every_example_is_valid_for_its_schema(spec: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator, FormatChecker

    problems = []
    for name, schema in spec["components"]["schemas"].items():
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
            format_checker=FormatChecker(),
        )
        for n, example in enumerate(schema.get("examples", [])):
            problems += [f"{name} example {n}: {e.json_path}: {e.message}" for e in validator.iter_errors(example)]
    assert not problems, "\n".join(problems)


def test_errors_are_documented_in_the_envelope(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code in ("401", "403", "429"):
                assert code in operation["responses"], f"{method.upper()} {path} does not document {code}"
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, f"{method.upper()} {path} {code}"
