"""``ylai_operators.catalog``: the one module the plugin imports from ``ylai_operators``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import ylai_operators.catalog as catalog
from ylai_operators.manifest import ScriptManifest


def test_every_public_name_is_the_object_of_its_home_module() -> None:
    for name in catalog.__all__:
        value = getattr(catalog, name)
        module, attribute = catalog._LAZY.get(name, ("ylai_operators.naming", name))
        assert value is getattr(importlib.import_module(module), attribute), name
    assert set(catalog._LAZY) <= set(catalog.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'load_everything'"):
        catalog.load_everything  # noqa: B018


def test_importing_the_catalog_imports_only_the_naming_module() -> None:
    code = (
        "import sys, ylai_operators.catalog; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ylai_operators', 'pydantic', 'airflow', 'yaml')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['ylai_operators', 'ylai_operators.catalog', 'ylai_operators.naming']"


def test_form_schema_is_the_object_schema_of_all_params() -> None:
    manifest = ScriptManifest.model_validate(
        {
            "name": "s",
            "params": {
                "path": {"type": "string", "required": True, "minLength": 1},
                "rows": {"type": "integer", "default": 10, "minimum": 1},
                "token": {"type": "string", "secret": True},
            },
        }
    )
    schema = catalog.form_schema(manifest.params, sensitive=manifest.sensitive)
    assert schema == {
        "type": "object",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "rows": {"type": "integer", "minimum": 1, "default": 10},
            "token": {"type": ["string", "null"], "x-ylai-secret": True},
        },
        "required": ["path"],
        "additionalProperties": False,
    }
    sensitive = catalog.form_schema(manifest.params, sensitive=True)
    assert all(prop["x-ylai-secret"] for prop in sensitive["properties"].values())
