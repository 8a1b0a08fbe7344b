"""Script manifests: loading, validation errors (file + field), JSON Schema and Airflow Params."""

from __future__ import annotations

import os
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ylai_operators.manifest import ParamSpec, parse_duration
from ylai_operators.param_schema import json_type, to_json_schema, to_param, validate_value
from ylai_operators.registry import Registry, Script, SpecError, load_manifest, load_registry

# Two valid scripts that live beside every broken manifest: they must keep loading.
GOOD_A = """\
name: good_a
params:
  n: {type: integer, default: 1}
"""
GOOD_B = """\
name: good_b
"""


def write(folder: Path, rel: str, text: str = "") -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def add_script(folder: Path, stem: str, manifest: str, script_suffix: str | None = ".py") -> Path:
    """Write ``<stem>.yaml`` and (unless ``script_suffix`` is None) its script; return the manifest path."""
    if script_suffix is not None:
        write(folder, stem + script_suffix, "#!/bin/sh\n")
    return write(folder, stem + ".yaml", manifest)


def add_good_neighbours(folder: Path) -> None:
    add_script(folder, "good_a", GOOD_A, ".py")
    add_script(folder, "good_b", GOOD_B, ".sh")


def load_ok(path: Path) -> Script:
    loaded = load_manifest(path)
    assert isinstance(loaded, Script), [str(e) for e in loaded] if isinstance(loaded, list) else loaded
    return loaded


def load_errors(path: Path) -> list[SpecError]:
    loaded = load_manifest(path)
    assert isinstance(loaded, list), f"expected errors, {path.name} loaded as {loaded}"
    return loaded


def spec(data: dict[str, Any]) -> ParamSpec:
    return ParamSpec.model_validate(data)


def assert_only_good_neighbours_loaded(registry: Registry) -> None:
    assert sorted(registry.scripts) == ["good_a", "good_b"]
    assert registry.scripts["good_a"].runtime == "python"
    assert registry.scripts["good_b"].runtime == "bash"


# --------------------------------------------------------------------------------------------
# Valid manifests: every parameter type -> JSON Schema and Airflow Param
# --------------------------------------------------------------------------------------------

ALL_TYPES = """\
name: all_types
title: All the types
description: |
  First line of the description.
  Second line.
owner: data-platform
tags: [data, example]
timeout: 15m
retries: 3
resources: {cpu: 2, memory_mb: 512, queue: heavy}
params:
  text:
    type: string
    title: Some text
    description: A short text.
    default: hello
    minLength: 1
    maxLength: 10
    pattern: "^h"
  notes:
    type: string
    format: multiline
  count:
    type: integer
    default: 3
    minimum: 1
    maximum: 10
  ratio:
    type: number
    default: 0.5
    minimum: 0
    maximum: 1
  flag:
    type: boolean
    default: true
  colour:
    type: enum
    enum: [red, green]
    labels: {red: Red, green: Green}
    default: red
  level:
    type: enum
    enum: [1, 2, 3]
  labels_tab:
    type: enum
    enum: [",", "\\t"]
    labels: {",": comma, "\\t": tab}
    default: ","
  words:
    type: array
    default: [a, b]
  columns:
    type: array
    items: {type: string, enum: [id, day, amount]}
    default: [id]
    minItems: 1
    maxItems: 2
  options:
    type: object
    default: {}
  day:
    type: date
    default: "2024-01-31"
  at:
    type: date-time
    required: true
  token:
    type: string
    secret: true
    description: API token.
  path:
    type: string
    required: true
outputs:
  path: {type: string, description: The file.}
  rows: {type: integer}
  anything: {}
"""

EXPECTED_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {
        "type": "string",
        "minLength": 1,
        "maxLength": 10,
        "pattern": "^h",
        "title": "Some text",
        "description": "A short text.",
    },
    "notes": {"type": ["string", "null"], "format": "multiline"},
    "count": {"type": "integer", "minimum": 1, "maximum": 10},
    "ratio": {"type": "number", "minimum": 0.0, "maximum": 1.0},
    "flag": {"type": "boolean"},
    "colour": {"type": "string", "enum": ["red", "green"], "values_display": {"red": "Red", "green": "Green"}},
    "level": {"type": ["integer", "null"], "enum": [1, 2, 3, None]},
    "labels_tab": {"type": "string", "enum": [",", "\t"], "values_display": {",": "comma", "\t": "tab"}},
    "words": {"type": "array", "items": {"type": "string"}},
    "columns": {
        "type": "array",
        "items": {"type": "string", "enum": ["id", "day", "amount"]},
        "examples": ["id", "day", "amount"],
        "minItems": 1,
        "maxItems": 2,
    },
    "options": {"type": "object"},
    "day": {"type": "string", "format": "date"},
    "at": {"type": "string", "format": "date-time"},
    "token": {"type": ["string", "null"], "description": "API token."},
    "path": {"type": "string"},
}

EXPECTED_DEFAULTS: dict[str, Any] = {
    "text": "hello",
    "notes": None,
    "count": 3,
    "ratio": 0.5,
    "flag": True,
    "colour": "red",
    "level": None,
    "labels_tab": ",",
    "words": ["a", "b"],
    "columns": ["id"],
    "options": {},
    "day": "2024-01-31",
    "token": None,
}


@pytest.fixture
def all_types(tmp_path: Path) -> Script:
    return load_ok(add_script(tmp_path, "all_types", ALL_TYPES, ".py"))


class TestValidManifest:
    def test_manifest_fields(self, all_types: Script, tmp_path: Path) -> None:
        m = all_types.manifest
        assert m.name == "all_types"
        assert m.display_title == "All the types"
        assert m.description.startswith("First line of the description.\nSecond line.")
        assert m.owner == "data-platform"
        assert m.tags == ["data", "example"]
        assert m.timeout == timedelta(minutes=15)
        assert m.retries == 3
        assert (m.resources.cpu, m.resources.memory_mb, m.resources.queue) == (2, 512, "heavy")
        assert list(m.params) == list(EXPECTED_SCHEMAS)
        assert {n: o.type for n, o in m.outputs.items()} == {"path": "string", "rows": "integer", "anything": "any"}
        assert m.outputs["path"].description == "The file."
        assert m.secret_params == ["token"]
        assert all_types.path == tmp_path / "all_types.py"
        assert all_types.manifest_path == tmp_path / "all_types.yaml"
        assert all_types.runtime == "python"

    def test_defaults_of_a_minimal_manifest(self, tmp_path: Path) -> None:
        script = load_ok(add_script(tmp_path, "tiny_tool", "name: tiny_tool\n", ".sh"))
        m = script.manifest
        assert m.display_title == "Tiny tool"
        assert m.owner == "ylai"
        assert m.tags == []
        assert m.timeout == timedelta(hours=1)
        assert m.retries == 1
        assert m.resources.cpu == 1
        assert m.resources.queue is None
        assert m.params == {}
        assert m.outputs == {}
        assert m.sensitive is False

    @pytest.mark.parametrize("name", list(EXPECTED_SCHEMAS))
    def test_json_schema(self, all_types: Script, name: str) -> None:
        assert to_json_schema(all_types.manifest.params[name]) == EXPECTED_SCHEMAS[name]

    def test_integer_bounds_are_ints_in_the_schema(self, all_types: Script) -> None:
        schema = to_json_schema(all_types.manifest.params["count"])
        assert type(schema["minimum"]) is int
        assert type(schema["maximum"]) is int

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("text", "string"),
            ("notes", "string"),
            ("count", "integer"),
            ("ratio", "number"),
            ("flag", "boolean"),
            ("colour", "string"),
            ("level", "integer"),
            ("words", "array"),
            ("options", "object"),
            ("day", "string"),
            ("at", "string"),
        ],
    )
    def test_json_type(self, all_types: Script, name: str, expected: str) -> None:
        assert json_type(all_types.manifest.params[name]) == expected

    def test_json_type_of_mixed_and_numeric_enums(self) -> None:
        assert json_type(spec({"type": "enum", "enum": ["a", 1]})) is None
        assert json_type(spec({"type": "enum", "enum": [1, 2.5]})) == "number"
        assert json_type(spec({"type": "enum", "enum": [True, False]})) == "boolean"
        assert "type" not in to_json_schema(spec({"type": "enum", "enum": ["a", 1], "default": "a"}))

    def test_nullable_override(self, all_types: Script) -> None:
        count = all_types.manifest.params["count"]
        assert to_json_schema(count, nullable=True)["type"] == ["integer", "null"]
        colour = all_types.manifest.params["colour"]
        assert to_json_schema(colour, nullable=True)["enum"] == ["red", "green", None]
        notes = all_types.manifest.params["notes"]
        assert to_json_schema(notes, nullable=False)["type"] == "string"

    @pytest.mark.parametrize("name", list(EXPECTED_DEFAULTS))
    def test_param_with_default(self, all_types: Script, name: str) -> None:
        p = to_param(all_types.manifest.params[name])
        expected_schema = {k: v for k, v in EXPECTED_SCHEMAS[name].items() if k != "description"}
        if all_types.manifest.params[name].secret:
            expected_schema["x-ylai-secret"] = True  # read by ylai's API to mask the value
        assert p.schema == expected_schema
        assert p.value == EXPECTED_DEFAULTS[name]
        dumped = p.dump()
        assert dumped["value"] == EXPECTED_DEFAULTS[name]
        assert dumped["schema"] == expected_schema
        # The default always passes Airflow's own validation of the Param.
        assert p.resolve() == EXPECTED_DEFAULTS[name]

    def test_param_description_moves_out_of_the_schema(self, all_types: Script) -> None:
        p = to_param(all_types.manifest.params["text"])
        assert p.description == "A short text."
        assert "description" not in p.schema
        assert p.schema["title"] == "Some text"

    def test_secret_param_description_says_masked(self, all_types: Script) -> None:
        p = to_param(all_types.manifest.params["token"])
        assert p.description == "API token. (secret: masked in task logs)"
        bare = to_param(spec({"type": "string", "secret": True}))
        assert bare.description == "(secret: masked in task logs)"

    @pytest.mark.parametrize("name", ["at", "path"])
    def test_required_param_has_no_value(self, all_types: Script, name: str) -> None:
        from airflow.sdk.exceptions import ParamValidationError

        p = to_param(all_types.manifest.params[name])
        assert p.schema == EXPECTED_SCHEMAS[name]
        assert not p.has_value
        assert p.dump()["value"] is None
        with pytest.raises(ParamValidationError, match="No value passed"):
            p.resolve()
        with pytest.raises(ParamValidationError):
            to_param(all_types.manifest.params[name]).resolve(None)

    @pytest.mark.parametrize(
        ("name", "good", "bad"),
        [
            ("text", "hi", "bye"),
            ("text", "hi", ""),
            ("count", 10, 11),
            ("count", 1, 0),
            ("count", 2, True),
            ("ratio", 1, 1.5),
            ("flag", False, "false"),
            ("colour", "green", "blue"),
            ("level", 2, 4),
            ("columns", ["id", "day"], ["id", "day", "amount"]),
            ("columns", ["amount"], ["nope"]),
            ("columns", ["id"], []),
            ("options", {"a": 1}, [1]),
            ("day", "2024-02-29", "2024-02-30"),
            ("at", "2024-01-01T10:00:00Z", "2024-01-01 25:00"),
            ("at", "2024-01-01T10:00:00+02:00", "2024-01-01"),
            ("path", "/tmp/x", 5),
        ],
    )
    def test_airflow_param_validates_like_the_manifest(self, all_types: Script, name: str, good: Any, bad: Any) -> None:
        from airflow.sdk.exceptions import ParamValidationError

        param_spec = all_types.manifest.params[name]
        assert to_param(param_spec).resolve(good) == good
        assert validate_value(param_spec, good) is None
        with pytest.raises(ParamValidationError):
            to_param(param_spec).resolve(bad)
        assert validate_value(param_spec, bad) is not None

    def test_optional_param_without_default_accepts_null_in_airflow(self, all_types: Script) -> None:
        assert to_param(all_types.manifest.params["notes"]).resolve(None) is None
        assert to_param(all_types.manifest.params["level"]).resolve(None) is None

    def test_sensitive_manifest_makes_every_param_secret(self, tmp_path: Path) -> None:
        text = """\
        name: vault_read
        sensitive: true
        params:
          a: {type: string}
          b: {type: integer, default: 1}
        """
        script = load_ok(add_script(tmp_path, "vault_read", text))
        assert script.manifest.secret_params == ["a", "b"]

    def test_repo_manifests_all_load(self) -> None:
        from tests.conftest import REPO_ROOT

        registry = load_registry(REPO_ROOT / "dags" / "scripts")
        assert registry.errors == []
        assert sorted(registry.scripts) == [
            "csv_profiler",
            "data_generator",
            "disk_usage",
            "http_check",
            "quality_gate",
            "rotate_token",
            "table_snapshot",
            "traced_step",
        ]
        assert registry.scripts["disk_usage"].runtime == "bash"
        assert registry.scripts["csv_profiler"].runtime == "python"
        columns = to_json_schema(registry.scripts["data_generator"].manifest.params["columns"])
        assert columns["examples"] == ["id", "day", "amount", "category"]


# --------------------------------------------------------------------------------------------
# Runtime inference and timeouts
# --------------------------------------------------------------------------------------------


class TestRuntime:
    @pytest.mark.parametrize(
        ("filename", "runtime"),
        [
            ("tool.py", "python"),
            ("tool.sh", "bash"),
            ("tool.bash", "bash"),
            ("tool", "executable"),
            ("tool.rb", "executable"),
            ("tool.exe", "executable"),
        ],
    )
    def test_inferred_from_suffix(self, tmp_path: Path, filename: str, runtime: str) -> None:
        write(tmp_path, filename, "#!/bin/sh\n")
        script = load_ok(write(tmp_path, "tool.yaml", "name: tool\n"))
        assert script.runtime == runtime
        assert script.manifest.runtime == runtime
        assert script.path == tmp_path / filename

    def test_explicit_runtime_wins_over_suffix(self, tmp_path: Path) -> None:
        script = load_ok(add_script(tmp_path, "tool", "name: tool\nruntime: bash\n", ".py"))
        assert script.runtime == "bash"

    def test_entrypoint_in_a_subfolder(self, tmp_path: Path) -> None:
        write(tmp_path, "bin/run.sh", "#!/bin/sh\n")
        script = load_ok(write(tmp_path, "tool.yaml", "name: tool\nentrypoint: bin/run.sh\n"))
        assert script.path == (tmp_path / "bin" / "run.sh").resolve()
        assert script.runtime == "bash"

    def test_entrypoint_wins_over_ambiguous_siblings(self, tmp_path: Path) -> None:
        write(tmp_path, "tool.py")
        write(tmp_path, "tool.sh")
        script = load_ok(write(tmp_path, "tool.yaml", "name: tool\nentrypoint: tool.sh\n"))
        assert script.path.name == "tool.sh"
        assert script.runtime == "bash"

    def test_unknown_runtime_is_refused(self, tmp_path: Path) -> None:
        (error,) = load_errors(add_script(tmp_path, "tool", "name: tool\nruntime: ruby\n"))
        assert error.where == "runtime"
        assert "'python', 'bash' or 'executable'" in error.reason

    def test_yml_suffix_and_subfolders_are_loaded(self, tmp_path: Path) -> None:
        write(tmp_path, "team/one.py")
        write(tmp_path, "team/one.yml", "name: one\n")
        write(tmp_path, "two.sh")
        write(tmp_path, "two.yaml", "name: two\n")
        registry = load_registry(tmp_path)
        assert registry.errors == []
        assert sorted(registry.scripts) == ["one", "two"]
        assert registry.scripts["one"].path == tmp_path / "team" / "one.py"

    def test_missing_folder_is_an_empty_registry(self, tmp_path: Path) -> None:
        registry = load_registry(tmp_path / "nope")
        assert registry.scripts == {}
        assert registry.errors == []


class TestTimeout:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ('"90s"', timedelta(seconds=90)),
            ('"15m"', timedelta(minutes=15)),
            ("15m", timedelta(minutes=15)),
            ("300", timedelta(seconds=300)),
            ("2.5", timedelta(seconds=2.5)),
            ('"2h"', timedelta(hours=2)),
            ('"1.5h"', timedelta(minutes=90)),
            ('"1d"', timedelta(days=1)),
            ('"500ms"', timedelta(milliseconds=500)),
            ('" 10 s "', timedelta(seconds=10)),
        ],
    )
    def test_valid(self, tmp_path: Path, raw: str, expected: timedelta) -> None:
        script = load_ok(add_script(tmp_path, "t", f"name: t\ntimeout: {raw}\n"))
        assert script.manifest.timeout == expected

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ('"soon"', "expected a duration such as 300, '90s', '15m' or '2h', got 'soon'"),
            ('"15 minutes"', "got '15 minutes'"),
            ('"1w"', "got '1w'"),
            ('"-5s"', "got '-5s'"),
            ("-5", "must be positive"),
            ("0", "must be positive"),
            ('"0s"', "must be positive"),
            ("true", "expected a duration"),
        ],
    )
    def test_invalid_names_the_file_and_field(self, tmp_path: Path, raw: str, reason: str) -> None:
        path = add_script(tmp_path, "t", f"name: t\ntimeout: {raw}\n")
        errors = load_errors(path)
        assert [(e.path, e.where) for e in errors] == [(path, "timeout")]
        assert reason in errors[0].reason
        assert str(errors[0]).startswith(f"{path}: timeout: ")

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("timeout: [1]\n", id="list"),
            pytest.param("timeout: {m: 5}\n", id="mapping"),
        ],
    )
    def test_non_scalar_timeout_is_a_spec_error_not_a_crash(self, tmp_path: Path, raw: str) -> None:
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", "name: broken\n" + raw)
        registry = load_registry(tmp_path)
        assert [(e.path, e.where) for e in registry.errors] == [(broken, "timeout")]
        assert_only_good_neighbours_loaded(registry)

    @pytest.mark.parametrize(
        "raw", [pytest.param("timeout:\n", id="empty"), pytest.param("timeout: null\n", id="null")]
    )
    def test_empty_timeout_does_not_crash_the_loader(self, tmp_path: Path, raw: str) -> None:
        """``timeout:`` with no value may mean the default or be refused, but must not break the whole folder."""
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", "name: broken\n" + raw)
        registry = load_registry(tmp_path)
        if registry.errors:
            assert [(e.path, e.where) for e in registry.errors] == [(broken, "timeout")]
            assert_only_good_neighbours_loaded(registry)
        else:
            assert registry.scripts["broken"].manifest.timeout == timedelta(hours=1)
            assert sorted(registry.scripts) == ["broken", "good_a", "good_b"]

    def test_parse_duration_directly(self) -> None:
        assert parse_duration(90) == timedelta(seconds=90)
        assert parse_duration(0.25) == timedelta(milliseconds=250)
        assert parse_duration("3m") == timedelta(minutes=3)
        with pytest.raises(ValueError, match="expected a duration"):
            parse_duration(True)
        with pytest.raises(ValueError, match="must be positive"):
            parse_duration(0)


# --------------------------------------------------------------------------------------------
# Invalid manifests: one SpecError per problem, naming the file and the field; neighbours load
# --------------------------------------------------------------------------------------------

INVALID = [
    pytest.param("name: broken\ncolour: red\n", "colour", "unknown field", id="unknown-field"),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, colour: red}\n",
        "params.p.colour",
        "unknown field",
        id="unknown-param-field",
    ),
    pytest.param("name: broken\nresources: {gpu: 1}\n", "resources.gpu", "unknown field", id="unknown-resource"),
    pytest.param("name: Broken-Name\n", "name", "should match pattern", id="bad-slug"),
    pytest.param("name: 1broken\n", "name", "should match pattern", id="slug-starts-with-digit"),
    pytest.param("name: " + "b" * 64 + "\n", "name", "should match pattern", id="slug-too-long"),
    pytest.param("title: no name\n", "name", "Field required", id="missing-name"),
    pytest.param(
        "name: broken\nparams:\n  p: {type: enum}\n",
        "params.p",
        "type 'enum' needs a non-empty 'enum' list",
        id="enum-no-values",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: enum, enum: []}\n",
        "params.p",
        "type 'enum' needs a non-empty 'enum' list",
        id="enum-empty",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: enum, enum: [x, y], labels: {x: X, z: Z}}\n",
        "params.p",
        "'labels' has keys that are not enum values: ['z']",
        id="labels-not-in-enum",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, labels: {x: X}}\n",
        "params.p",
        "'labels' only apply to a parameter with 'enum'",
        id="labels-without-enum",
    ),
    pytest.param(
        "name: broken\nparams:\n  rows: {type: integer, minimum: 10, maximum: 1}\n",
        "params.rows",
        "'minimum' is greater than 'maximum'",
        id="min-gt-max",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, minLength: 5, maxLength: 2}\n",
        "params.p",
        "'minLength' is greater than 'maxLength'",
        id="minlength-gt-maxlength",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, minLength: -1}\n",
        "params.p.minLength",
        "greater than or equal to 0",
        id="negative-minlength",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, minimum: 1}\n",
        "params.p",
        "'minimum'/'maximum' need type integer or number, not string",
        id="min-on-string",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: boolean, maximum: 1}\n",
        "params.p",
        "'minimum'/'maximum' need type integer or number, not boolean",
        id="max-on-boolean",
    ),
    pytest.param(
        "name: broken\nparams:\n  rows: {type: integer, maximum: lots}\n",
        "params.rows.maximum",
        "valid number",
        id="maximum-not-a-number",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: integer, maximum: 3, default: 5}\n",
        "params.p",
        "default 5 is invalid: 5 is greater than the maximum of 3",
        id="default-above-maximum",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: integer, default: '3'}\n",
        "params.p",
        "default '3' is invalid: '3' is not of type 'integer'",
        id="default-wrong-type",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: integer, default: true}\n",
        "params.p",
        "default True is invalid: True is not of type 'integer'",
        id="default-bool-for-integer",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: enum, enum: [a, b], default: c}\n",
        "params.p",
        "default 'c' is invalid: 'c' is not one of ['a', 'b']",
        id="default-not-in-enum",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, pattern: '^[a-z]+$', default: ABC}\n",
        "params.p",
        "does not match",
        id="default-breaks-pattern",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: date, default: '2024-02-30'}\n",
        "params.p",
        "is not a 'date'",
        id="default-bad-date",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: array, items: {type: string, enum: [a]}, default: [b]}\n",
        "params.p",
        "'b' is not one of ['a']",
        id="default-bad-array-item",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: integer, required: true, default: 5}\n",
        "params.p",
        "a required parameter cannot have a default",
        id="required-with-default",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, pattern: '([a-z'}\n",
        "params.p.pattern",
        "not a valid regular expression",
        id="invalid-regex",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: str}\n",
        "params.p.type",
        "Input should be 'string', 'integer'",
        id="unknown-param-type",
    ),
    pytest.param(
        "name: broken\nparams:\n  p: {type: string, format: colour}\n",
        "params.p.format",
        "Input should be 'multiline'",
        id="unknown-format",
    ),
    pytest.param(
        "name: broken\nparams:\n  bad-name: {type: string}\n",
        "params",
        "name 'bad-name' must be letters, digits and underscores",
        id="bad-param-name",
    ),
    pytest.param(
        "name: broken\noutputs:\n  o: {type: float}\n",
        "outputs.o.type",
        "Input should be 'string'",
        id="bad-output-type",
    ),
    pytest.param(
        "name: broken\noutputs:\n  'x y': {type: string}\n",
        "outputs",
        "name 'x y' must be letters, digits and underscores",
        id="bad-output-name",
    ),
    pytest.param("name: broken\nretries: 50\n", "retries", "less than or equal to 20", id="retries-too-high"),
    pytest.param("name: broken\nresources: {cpu: 0}\n", "resources.cpu", "greater than or equal to 1", id="cpu-zero"),
    pytest.param("name: broken\ntags: oops\n", "tags", "valid list", id="tags-not-a-list"),
]


class TestInvalidManifest:
    @pytest.mark.parametrize(("text", "where", "reason"), INVALID)
    def test_error_names_file_and_field_and_others_still_load(
        self, tmp_path: Path, text: str, where: str, reason: str
    ) -> None:
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", text, ".py")
        registry = load_registry(tmp_path)
        assert [(e.path, e.where) for e in registry.errors] == [(broken, where)], [str(e) for e in registry.errors]
        error = registry.errors[0]
        assert reason in error.reason
        assert error.line is None
        assert str(error) == f"{broken}: {where}: {error.reason}"
        assert_only_good_neighbours_loaded(registry)

    @pytest.mark.parametrize(
        ("items", "default"),
        [
            pytest.param("{type: nope}", "[1]", id="unknown-type"),
            pytest.param("{type: string, pattern: '('}", "[x]", id="bad-regex"),
            pytest.param("{type: integer, minimum: x}", "[1]", id="non-numeric-minimum"),
        ],
    )
    def test_invalid_items_schema_is_a_spec_error_not_a_crash(self, tmp_path: Path, items: str, default: str) -> None:
        """The ``items`` sub-schema is used to check the default: a broken one must not crash the loader."""
        add_good_neighbours(tmp_path)
        text = f"name: broken\nparams:\n  p: {{type: array, items: {items}, default: {default}}}\n"
        broken = add_script(tmp_path, "broken", text)
        registry = load_registry(tmp_path)
        assert [e.path for e in registry.errors] == [broken], [str(e) for e in registry.errors]
        assert registry.errors[0].where.startswith("params.p")
        assert_only_good_neighbours_loaded(registry)

    def test_every_problem_of_one_manifest_is_reported(self, tmp_path: Path) -> None:
        text = """\
        name: broken
        retries: -1
        params:
          p: {type: enum}
          q: {type: string, pattern: '('}
        """
        path = add_script(tmp_path, "broken", text)
        errors = load_errors(path)
        assert sorted(e.where for e in errors) == ["params.p", "params.q.pattern", "retries"]
        assert {e.path for e in errors} == {path}

    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            pytest.param("name: broken\ntitle: x: y\n", 2, "mapping values are not allowed", id="mapping-value"),
            pytest.param("name: broken\ntags: [a, b\nowner: x\n", 3, "expected ',' or ']'", id="unclosed-list"),
            pytest.param("name: broken\nparams:\n\t p: 1\n", 3, "cannot start any token", id="tab"),
        ],
    )
    def test_bad_yaml_gives_the_line(self, tmp_path: Path, text: str, line: int, problem: str) -> None:
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", text)
        registry = load_registry(tmp_path)
        (error,) = registry.errors
        assert error.path == broken
        assert error.line == line
        assert error.reason.startswith("invalid YAML: ")
        assert problem in error.reason
        assert str(error).startswith(f"{broken}:{line}: invalid YAML: ")
        assert_only_good_neighbours_loaded(registry)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("- a\n- b\n", id="list"),
            pytest.param("just some text\n", id="scalar"),
            pytest.param("", id="empty"),
            pytest.param("# only a comment\n", id="comment"),
        ],
    )
    def test_non_mapping_yaml(self, tmp_path: Path, text: str) -> None:
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", text)
        registry = load_registry(tmp_path)
        assert [(e.path, e.where, e.reason) for e in registry.errors] == [
            (broken, "", "a manifest must be a YAML mapping")
        ]
        assert str(registry.errors[0]) == f"{broken}: a manifest must be a YAML mapping"
        assert_only_good_neighbours_loaded(registry)

    def test_undecodable_file(self, tmp_path: Path) -> None:
        add_good_neighbours(tmp_path)
        write(tmp_path, "broken.py")
        broken = tmp_path / "broken.yaml"
        broken.write_bytes(b"name: \xff\xfe broken\n")
        registry = load_registry(tmp_path)
        (error,) = registry.errors
        assert error.path == broken
        assert error.reason.startswith("cannot read: ")
        assert_only_good_neighbours_loaded(registry)

    def test_missing_script_file(self, tmp_path: Path) -> None:
        add_good_neighbours(tmp_path)
        broken = add_script(tmp_path, "broken", "name: broken\n", script_suffix=None)
        registry = load_registry(tmp_path)
        (error,) = registry.errors
        assert (error.path, error.where) == (broken, "entrypoint")
        assert "expected exactly one script named broken.* beside the manifest (found: none)" in error.reason
        assert "set 'entrypoint'" in error.reason
        assert_only_good_neighbours_loaded(registry)

    def test_ambiguous_siblings(self, tmp_path: Path) -> None:
        add_good_neighbours(tmp_path)
        write(tmp_path, "broken.sh")
        broken = add_script(tmp_path, "broken", "name: broken\n", ".py")
        registry = load_registry(tmp_path)
        (error,) = registry.errors
        assert (error.path, error.where) == (broken, "entrypoint")
        assert "(found: broken.py, broken.sh)" in error.reason
        assert_only_good_neighbours_loaded(registry)

    def test_a_folder_named_like_the_manifest_is_not_a_script(self, tmp_path: Path) -> None:
        (tmp_path / "tool").mkdir()
        script = load_ok(add_script(tmp_path, "tool", "name: tool\n", ".py"))
        assert script.path == tmp_path / "tool.py"

    @pytest.mark.parametrize(
        ("entrypoint", "reason"),
        [
            pytest.param("../outside.py", "must stay inside the scripts folder", id="parent"),
            pytest.param("/etc/hostname", "must stay inside the scripts folder", id="absolute"),
            pytest.param("sub/../../outside.py", "must stay inside the scripts folder", id="sneaky"),
            pytest.param("nope.py", "file 'nope.py' does not exist", id="missing"),
            pytest.param("sub", "file 'sub' does not exist", id="directory"),
        ],
    )
    def test_bad_entrypoint(self, tmp_path: Path, entrypoint: str, reason: str) -> None:
        scripts = tmp_path / "scripts"
        write(tmp_path, "outside.py")
        (scripts / "sub").mkdir(parents=True)
        add_good_neighbours(scripts)
        broken = write(scripts, "broken.yaml", f"name: broken\nentrypoint: {entrypoint}\n")
        registry = load_registry(scripts)
        assert [(e.path, e.where, e.reason) for e in registry.errors] == [(broken, "entrypoint", reason)]
        assert_only_good_neighbours_loaded(registry)

    def test_entrypoint_symlink_leaving_the_folder(self, tmp_path: Path) -> None:
        scripts = tmp_path / "scripts"
        outside = write(tmp_path, "outside.py")
        scripts.mkdir()
        os.symlink(outside, scripts / "link.py")
        broken = write(scripts, "broken.yaml", "name: broken\nentrypoint: link.py\n")
        (error,) = load_errors(broken)
        assert (error.where, error.reason) == ("entrypoint", "must stay inside the scripts folder")

    def test_duplicate_names(self, tmp_path: Path) -> None:
        add_good_neighbours(tmp_path)
        first = add_script(tmp_path, "a_dup", "name: dup\ntitle: first\n")
        second = add_script(tmp_path, "b_dup", "name: dup\ntitle: second\n")
        registry = load_registry(tmp_path)
        assert [(e.path, e.where, e.reason) for e in registry.errors] == [
            (second, "name", "'dup' is already used by a_dup.yaml")
        ]
        assert sorted(registry.scripts) == ["dup", "good_a", "good_b"]
        assert registry.scripts["dup"].manifest_path == first
        assert registry.scripts["dup"].manifest.title == "first"

    def test_several_broken_manifests_are_all_reported(self, tmp_path: Path) -> None:
        add_good_neighbours(tmp_path)
        one = add_script(tmp_path, "one", "name: one\nbogus: 1\n")
        two = add_script(tmp_path, "two", "name: two\nparams:\n  p: {type: enum}\n")
        three = add_script(tmp_path, "three", "- not a mapping\n")
        registry = load_registry(tmp_path)
        assert sorted((e.path.name, e.where) for e in registry.errors) == [
            (one.name, "bogus"),
            (three.name, ""),
            (two.name, "params.p"),
        ]
        assert_only_good_neighbours_loaded(registry)


# --------------------------------------------------------------------------------------------
# validate_value edge cases
# --------------------------------------------------------------------------------------------


class TestValidateValue:
    @pytest.mark.parametrize("value", ["2024-01-31", "2024-02-29", "1999-12-31"])
    def test_valid_dates(self, value: str) -> None:
        assert validate_value(spec({"type": "date"}), value) is None

    @pytest.mark.parametrize("value", ["2024-02-30", "2023-02-29", "20240131", "2024-1-1", "31/01/2024", "yesterday"])
    def test_invalid_dates(self, value: str) -> None:
        assert validate_value(spec({"type": "date"}), value) == f"{value!r} is not a 'date'"

    def test_date_must_be_a_string(self) -> None:
        assert validate_value(spec({"type": "date"}), 20240131) == "20240131 is not of type 'string'"

    @pytest.mark.parametrize(
        "value",
        ["2024-01-01T10:00:00Z", "2024-01-01T10:00:00+02:00", "2024-01-01T23:59:59.123Z", "2024-01-01t10:00:00z"],
    )
    def test_valid_date_times(self, value: str) -> None:
        assert validate_value(spec({"type": "date-time"}), value) is None

    @pytest.mark.parametrize(
        "value",
        [
            "2024-01-01 25:00",
            "2024-01-01T25:00:00Z",
            "2024-01-01T10:61:00Z",
            "2024-01-01T10:00:00",  # no offset
            "2024-01-01",
            "now",
        ],
    )
    def test_invalid_date_times(self, value: str) -> None:
        assert validate_value(spec({"type": "date-time"}), value) == f"{value!r} is not a 'date-time'"

    @pytest.mark.parametrize("value", [True, False])
    def test_booleans_are_not_integers_or_numbers(self, value: bool) -> None:
        assert validate_value(spec({"type": "integer"}), value) == f"{value!r} is not of type 'integer'"
        assert validate_value(spec({"type": "number"}), value) == f"{value!r} is not of type 'number'"
        assert validate_value(spec({"type": "enum", "enum": [0, 1]}), value) is not None

    def test_numbers_are_not_booleans(self) -> None:
        assert validate_value(spec({"type": "boolean"}), 1) == "1 is not of type 'boolean'"
        assert validate_value(spec({"type": "boolean"}), "true") == "'true' is not of type 'boolean'"
        assert validate_value(spec({"type": "boolean"}), False) is None

    def test_integer_and_number(self) -> None:
        assert validate_value(spec({"type": "integer"}), 1.5) == "1.5 is not of type 'integer'"
        assert validate_value(spec({"type": "integer"}), "1") == "'1' is not of type 'integer'"
        assert validate_value(spec({"type": "number"}), 1) is None
        assert validate_value(spec({"type": "number"}), "1.5") == "'1.5' is not of type 'number'"

    def test_bounds_are_inclusive(self) -> None:
        s = spec({"type": "integer", "minimum": 1, "maximum": 10})
        assert [validate_value(s, v) is None for v in (0, 1, 10, 11)] == [False, True, True, False]
        assert validate_value(s, 0) == "0 is less than the minimum of 1"
        assert validate_value(s, 11) == "11 is greater than the maximum of 10"

    def test_number_bounds_keep_fractions(self) -> None:
        s = spec({"type": "number", "minimum": 0.1, "maximum": 0.9})
        assert validate_value(s, 0.05) is not None
        assert validate_value(s, 0.95) is not None
        assert validate_value(s, 0.5) is None

    @pytest.mark.parametrize(
        ("bounds", "inside", "outside"),
        [
            pytest.param({"minimum": 1.5}, 2, 1, id="fractional-minimum"),
            pytest.param({"maximum": -1.5}, -2, -1, id="negative-fractional-maximum"),
        ],
    )
    def test_fractional_bounds_on_an_integer_are_not_loosened(
        self, tmp_path: Path, bounds: dict[str, float], inside: int, outside: int
    ) -> None:
        """An integer param with ``minimum: 1.5`` must not accept 1 (refusing the manifest is fine too)."""
        items = ", ".join(f"{k}: {v}" for k, v in bounds.items())
        loaded = load_manifest(add_script(tmp_path, "frac", f"name: frac\nparams:\n  p: {{type: integer, {items}}}\n"))
        if isinstance(loaded, list):
            assert [e.where for e in loaded] == ["params.p"]
            return
        p = loaded.manifest.params["p"]
        assert validate_value(p, inside) is None
        assert validate_value(p, outside) is not None, f"{outside} accepted by schema {to_json_schema(p)}"

    def test_pattern(self) -> None:
        s = spec({"type": "string", "pattern": "^https?://"})
        assert validate_value(s, "https://example.com") is None
        assert validate_value(s, "ftp://example.com") == "'ftp://example.com' does not match '^https?://'"

    def test_pattern_is_a_search_not_a_full_match(self) -> None:
        # JSON Schema patterns are unanchored: document that a bare pattern matches anywhere.
        s = spec({"type": "string", "pattern": "[0-9]"})
        assert validate_value(s, "abc1def") is None
        assert validate_value(s, "abcdef") is not None

    def test_lengths(self) -> None:
        s = spec({"type": "string", "minLength": 2, "maxLength": 4})
        assert validate_value(s, "a") == "'a' is too short"
        assert validate_value(s, "abcde") == "'abcde' is too long"
        assert validate_value(s, "ab") is None
        assert validate_value(s, "abcd") is None

    def test_array_items(self) -> None:
        s = spec({"type": "array", "items": {"type": "string", "enum": ["x", "y"]}, "minItems": 1, "maxItems": 2})
        assert validate_value(s, ["x", "y"]) is None
        assert validate_value(s, ["x", "z"]) == "'z' is not one of ['x', 'y']"
        assert validate_value(s, []) == "[] should be non-empty"
        assert validate_value(s, ["x", "y", "x"]) == "['x', 'y', 'x'] is too long"
        assert validate_value(s, "x") == "'x' is not of type 'array'"

    def test_array_items_default_to_strings(self) -> None:
        s = spec({"type": "array"})
        assert validate_value(s, ["a", "b"]) is None
        assert validate_value(s, ["a", 1]) == "1 is not of type 'string'"

    def test_array_of_integers(self) -> None:
        s = spec({"type": "array", "items": {"type": "integer", "minimum": 0}})
        assert validate_value(s, [0, 3]) is None
        assert validate_value(s, [1, -1]) == "-1 is less than the minimum of 0"
        assert validate_value(s, [True]) == "True is not of type 'integer'"

    def test_object(self) -> None:
        s = spec({"type": "object"})
        assert validate_value(s, {"a": [1]}) is None
        assert validate_value(s, []) == "[] is not of type 'object'"

    def test_enum(self) -> None:
        s = spec({"type": "enum", "enum": ["a", "b"], "labels": {"a": "A"}})
        assert validate_value(s, "a") is None
        assert validate_value(s, "c") == "'c' is not one of ['a', 'b']"
        mixed = spec({"type": "enum", "enum": ["a", 1]})
        assert validate_value(mixed, 1) is None
        assert validate_value(mixed, "1") == "'1' is not one of ['a', 1]"

    def test_null_is_not_a_value_even_for_an_optional_param(self) -> None:
        s = spec({"type": "string"})
        assert to_json_schema(s)["type"] == ["string", "null"]
        assert validate_value(s, None) == "None is not of type 'string'"


class TestScriptLocation:
    def test_entrypoint_may_use_a_shared_file_elsewhere_in_the_scripts_folder(self, tmp_path: Path) -> None:
        from ylai_operators.registry import load_registry

        (tmp_path / "shared.py").write_text("print('hi')\n")
        (tmp_path / "team").mkdir()
        (tmp_path / "team" / "x.yaml").write_text("name: x\nentrypoint: ../shared.py\n")
        registry = load_registry(tmp_path)
        assert registry.errors == []
        assert registry.scripts["x"].path == (tmp_path / "shared.py").resolve()

    def test_sibling_symlink_to_outside_the_folder_is_refused(self, tmp_path: Path) -> None:
        from ylai_operators.registry import load_registry

        outside = tmp_path / "outside.py"
        outside.write_text("print('hi')\n")
        scripts = tmp_path / "scripts"
        scripts.mkdir()
        (scripts / "t.py").symlink_to(outside)
        (scripts / "t.yaml").write_text("name: t\n")
        registry = load_registry(scripts)
        assert registry.scripts == {}
        assert [(e.where, "outside the scripts folder" in e.reason) for e in registry.errors] == [("entrypoint", True)]

    def test_unquoted_yaml_dates_and_integer_enum_labels(self, tmp_path: Path) -> None:
        from ylai_operators.param_schema import to_json_schema
        from ylai_operators.registry import load_registry

        (tmp_path / "d.py").write_text("")
        (tmp_path / "d.yaml").write_text(
            "name: d\nparams:\n  day: {type: date, default: 2024-01-01}\n"
            "  level: {type: enum, enum: [1, 2], labels: {1: one, 2: two}, default: 1}\n"
        )
        registry = load_registry(tmp_path)
        assert registry.errors == []
        params = registry.scripts["d"].manifest.params
        assert params["day"].default == "2024-01-01"
        assert to_json_schema(params["level"])["values_display"] == {"1": "one", "2": "two"}
