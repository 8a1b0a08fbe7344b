"""``options_from`` and ``depends_on`` of manifest and pipeline params: validation and schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ylai_operators.manifest import ScriptManifest
from ylai_operators.param_schema import LIVE_OPTIONS_NOTE, OPTIONS_KEYWORD, form_schema, to_param
from ylai_operators.pipeline_spec import PipelineSpec

SQL = {"source": "sql", "conn_id": "pg", "query": "select datname from pg_database"}


def _manifest(params: dict[str, Any]) -> ScriptManifest:
    return ScriptManifest.model_validate({"name": "x", "params": params})


def test_schema_names_the_source_and_dependencies_but_no_query() -> None:
    manifest = _manifest(
        {
            "database": {"options_from": SQL},
            "table": {"depends_on": ["database"], "options_from": {**SQL, "database_param": "database"}},
            "schema_of": {"options_from": {**SQL, "database_param": "database"}},
        }
    )
    props = form_schema(manifest.params)["properties"]
    assert props["database"][OPTIONS_KEYWORD] == {"source": "sql", "depends_on": []}
    assert props["table"][OPTIONS_KEYWORD] == {"source": "sql", "depends_on": ["database"]}
    # A database_param is a dependency even when depends_on leaves it out.
    assert props["schema_of"][OPTIONS_KEYWORD] == {"source": "sql", "depends_on": ["database"]}
    assert "enum" not in props["table"]
    assert "pg_database" not in str(props)
    assert "pg" not in str(props["table"][OPTIONS_KEYWORD])


def test_airflows_trigger_form_gets_a_plain_field_with_a_note() -> None:
    manifest = _manifest({"conn": {"description": "Where to write.", "options_from": {"source": "connections"}}})
    param = to_param(manifest.params["conn"])
    assert param.description == f"Where to write. ({LIVE_OPTIONS_NOTE})"
    assert param.schema[OPTIONS_KEYWORD] == {"source": "connections", "depends_on": []}
    param.resolve("any_connection_id")  # Airflow validates only the type: the live check is ylai's


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"a": {"depends_on": ["a"], "options_from": {"source": "pools"}}},
            "params.a.depends_on: a parameter cannot depend on itself",
        ),
        (
            {"a": {"depends_on": ["b"], "options_from": {"source": "pools"}}},
            "params.a.depends_on: 'b' is not a parameter of this form",
        ),
        (
            {
                "a": {"depends_on": ["b"], "options_from": {"source": "pools"}},
                "b": {"depends_on": ["a"], "options_from": {"source": "pools"}},
            },
            "a cycle: a -> b -> a",
        ),
        ({"a": {"options_from": {**SQL, "database_param": "nope"}}}, "params.a.options_from.database_param: 'nope'"),
        ({"a": {"enum": ["x"], "options_from": {"source": "pools"}}}, "'options_from' replaces a static 'enum'"),
        ({"a": {"depends_on": ["b"]}, "b": {}}, "'depends_on' only applies to a parameter with 'options_from'"),
        ({"a": {"options_from": {"source": "nope"}}}, "does not match any of the expected tags"),
        ({"a": {"options_from": {"source": "sql", "conn_id": "pg"}}}, "params.a.options_from.sql.query"),
        ({"a": {"options_from": {"source": "http", "conn_id": "api", "endpoint": "/x"}}}, "values"),
        ({"a": {"options_from": {"source": "pools", "query": "x"}}}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_options_from_names_the_field(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        _manifest(params)
    assert message in str(err.value)


def test_pipeline_params_take_options_from_and_check_dependencies() -> None:
    nodes = {"n": {"script": "disk_usage"}}
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "params": {
                "region": {"options_from": {"source": "variables", "prefix": "region_"}},
                "cluster": {"depends_on": ["region"], "options_from": {"source": "script", "script": "clusters"}},
            },
            "nodes": nodes,
        }
    )
    assert spec.params["cluster"].option_dependencies == ["region"]
    with pytest.raises(ValidationError, match="'zone' is not a parameter of this form"):
        PipelineSpec.model_validate(
            {
                "name": "p",
                "params": {"c": {"depends_on": ["zone"], "options_from": {"source": "pools"}}},
                "nodes": nodes,
            }
        )
