"""Every schema of ylai's OpenAPI document carries an example that is valid for the schema.

A new request or response model (error envelope included) without
``model_config = ConfigDict(json_schema_extra={"examples": [...]})`` fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from ylai_plugin.api.app import create_app


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
