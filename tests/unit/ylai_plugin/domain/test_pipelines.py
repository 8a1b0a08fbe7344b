"""The pipeline service: the validator's problems and their positions, params schema, YAML round trip."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from tests.conftest import REPO_ROOT
from ylai_operators.catalog import PipelineSpec, Registry, load_pipelines, load_registry, pipeline_yaml
from ylai_plugin.domain import pipelines

EXAMPLES = sorted((REPO_ROOT / "dags" / "pipelines").glob("*.yaml"))


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REPO_ROOT / "dags" / "scripts")


def _spec(**changes: Any) -> dict[str, Any]:
    """A valid two-node spec (generate → profile), with ``changes`` on top."""
    spec: dict[str, Any] = {
        "name": "gp",
        "params": {"rows": {"type": "integer", "default": 10, "minimum": 1}},
        "nodes": {
            "generate": {"script": "data_generator", "params": {"rows": {"param": "rows"}}},
            "profile": {"script": "csv_profiler", "params": {"path": {"from": "generate.path"}}},
        },
    }
    spec.update(changes)
    return spec


def _problems(result: pipelines.Validation) -> list[tuple[str | None, str]]:
    assert result["valid"] is False
    assert result["params_schema"] is None
    return [(p["node"], p["field"]) for p in result["problems"]]


def test_a_valid_spec_gets_its_params_schema(registry: Registry) -> None:
    result = pipelines.validate(_spec(), registry)
    assert result == {
        "valid": True,
        "problems": [],
        "params_schema": {
            "type": "object",
            "properties": {"rows": {"type": "integer", "minimum": 1, "default": 10}},
            "required": [],
            "additionalProperties": False,
        },
    }


def test_a_required_param_is_required_in_the_schema(registry: Registry) -> None:
    spec = _spec(params={"rows": {"type": "integer", "required": True}})
    schema = pipelines.validate(spec, registry)["params_schema"]
    assert schema is not None
    assert schema["required"] == ["rows"]


def test_a_layout_is_accepted_and_ignored(registry: Registry) -> None:
    spec = _spec(layout={"generate": {"x": 0, "y": 0}, "profile": {"x": 240.5, "y": -10}})
    assert pipelines.validate(spec, registry)["valid"] is True
    bad = _spec(layout={"generate": {"x": "left", "y": 0}})
    assert _problems(pipelines.validate(bad, registry)) == [(None, "layout.generate.x")]


def test_an_unknown_script_is_put_on_its_node(registry: Registry) -> None:
    spec = _spec()
    spec["nodes"]["profile"]["script"] = "no_such_script"
    result = pipelines.validate(spec, registry)
    assert _problems(result) == [("profile", "script")]
    assert "unknown script 'no_such_script'" in result["problems"][0]["reason"]


def test_a_missing_required_param_names_the_node_and_param(registry: Registry) -> None:
    spec = _spec()
    spec["nodes"]["profile"]["params"] = {}
    result = pipelines.validate(spec, registry)
    assert _problems(result) == [("profile", "params.path")]
    assert "required parameter" in result["problems"][0]["reason"]


def test_an_output_of_the_wrong_type_is_a_mismatch(registry: Registry) -> None:
    spec = _spec()
    spec["nodes"]["profile"]["params"]["path"] = {"from": "generate.rows"}  # integer into a string
    result = pipelines.validate(spec, registry)
    assert _problems(result) == [("profile", "params.path")]
    assert result["problems"][0]["reason"].startswith("type mismatch: generate.rows is integer")


def test_an_unknown_output_names_the_binding(registry: Registry) -> None:
    spec = _spec()
    spec["nodes"]["profile"]["params"]["path"] = {"from": "generate.nope"}
    result = pipelines.validate(spec, registry)
    assert _problems(result) == [("profile", "params.path")]
    assert "has no output 'nope'" in result["problems"][0]["reason"]


def test_a_bad_schedule_is_a_pipeline_problem(registry: Registry) -> None:
    result = pipelines.validate(_spec(schedule="every tuesday"), registry)
    assert _problems(result) == [(None, "schedule")]


def test_a_cycle_is_put_on_its_first_node(registry: Registry) -> None:
    spec = _spec()
    spec["nodes"]["generate"]["depends_on"] = ["profile"]
    result = pipelines.validate(spec, registry)
    assert _problems(result) == [("generate", "depends_on")]
    assert result["problems"][0]["reason"] == "cycle: generate -> profile -> generate"


def test_every_problem_is_reported_at_once(registry: Registry) -> None:
    spec = _spec(schedule="nope")
    spec["nodes"]["profile"]["params"] = {"path": {"from": "generate.nope"}, "bogus": 1}
    spec["nodes"]["generate"]["script"] = "missing"
    found = _problems(pipelines.validate(spec, registry))
    assert found == [(None, "schedule"), ("generate", "script"), ("profile", "params.bogus")]
    # generate's script is unknown, so its outputs cannot be checked: no problem invented for them.


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"name": "Bad Name"}, [(None, "name")], id="name"),
        pytest.param({"nodes": {}}, [(None, "nodes")], id="no-nodes"),
        pytest.param({"colour": "red"}, [(None, "colour")], id="unknown-field"),
        pytest.param({"retries": 99}, [(None, "retries")], id="retries"),
        pytest.param(
            {"nodes": {"a": {"script": "disk_usage", "retries": -1, "timeout": "soon"}}},
            [("a", "retries"), ("a", "timeout")],
            id="node-fields",
        ),
        pytest.param({"nodes": {"a": {}}}, [("a", "script")], id="node-without-script"),
        pytest.param(
            {"nodes": {"a": {"script": "disk_usage", "resources": {"cpu": 0, "memory_mb": 8}}}},
            [("a", "resources.cpu"), ("a", "resources.memory_mb")],
            id="node-resources",
        ),
        pytest.param(
            {"nodes": {"a": {"script": "disk_usage", "resources": {"gpu": 1, "queue": ""}}}},
            [("a", "resources.queue"), ("a", "resources.gpu")],
            id="node-resources-unknown-field-and-empty-queue",
        ),
        pytest.param({"params": {"rows": {"type": "colour"}}}, [(None, "params.rows.type")], id="param-type"),
    ],
)
def test_schema_errors_are_mapped_to_their_field(
    registry: Registry, change: dict[str, Any], expected: list[tuple[str | None, str]]
) -> None:
    assert _problems(pipelines.validate(_spec(**change), registry)) == expected


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_is_valid(registry: Registry, path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert pipelines.validate(data, registry)["valid"] is True


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_yaml_export_round_trips_and_the_loader_accepts_it(registry: Registry, path: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    data["layout"] = {node: {"x": 200.0 * i, "y": 40.5} for i, node in enumerate(data["nodes"])}
    spec = PipelineSpec.model_validate(data)
    exported = pipeline_yaml(spec)
    again = PipelineSpec.model_validate(yaml.safe_load(exported))
    assert again == spec
    assert again.layout == spec.layout
    # What was written stays written, nothing else is added (apart from key order).
    assert yaml.safe_load(exported).keys() == data.keys()
    (tmp_path / path.name).write_text(exported)
    loaded, errors = load_pipelines(tmp_path, registry, use_cache=False)
    assert errors == []
    assert loaded[spec.name].spec == spec


def test_export_keeps_timeouts_edges_and_dates(registry: Registry, tmp_path: Path) -> None:
    data = _spec(edges=[["generate", "profile"]])
    data["nodes"]["generate"].update(timeout="90s", retries=3)
    data["nodes"]["generate"]["params"]["start_date"] = "2024-01-31"
    data["nodes"]["profile"]["timeout"] = 1.5
    spec = PipelineSpec.model_validate(copy.deepcopy(data))
    text = pipeline_yaml(spec)
    exported = yaml.safe_load(text)
    assert exported["nodes"]["generate"]["timeout"] == "90s"
    assert exported["nodes"]["profile"]["timeout"] == 1.5
    assert exported["edges"] == [["generate", "profile"]]
    assert "layout" not in exported
    assert PipelineSpec.model_validate(exported) == spec
    assert pipelines.validate(exported, registry)["valid"] is True


def test_export_keeps_node_resources(registry: Registry) -> None:
    data = _spec()
    data["nodes"]["generate"]["resources"] = {"cpu": 2, "memory_mb": 512, "queue": "heavy"}
    data["nodes"]["profile"]["resources"] = {"queue": "light"}
    spec = PipelineSpec.model_validate(copy.deepcopy(data))
    exported = yaml.safe_load(pipeline_yaml(spec))
    assert exported["nodes"]["generate"]["resources"] == {"cpu": 2, "memory_mb": 512, "queue": "heavy"}
    # Only what was written: the fields left to the manifest stay out.
    assert exported["nodes"]["profile"]["resources"] == {"queue": "light"}
    assert PipelineSpec.model_validate(exported) == spec
    assert pipelines.validate(exported, registry)["valid"] is True


def test_node_resources_override_the_manifest_for_that_node_only(registry: Registry, tmp_path: Path) -> None:
    from ylai_operators.pipeline_dags import build_pipeline_dag
    from ylai_operators.script_operator import ScriptOperator

    data = _spec(
        nodes={
            "generate": {
                "script": "data_generator",
                "params": {"rows": {"param": "rows"}},
                "resources": {"cpu": 3, "memory_mb": 512, "queue": "heavy"},
            },
            "profile": {
                "script": "csv_profiler",
                "params": {"path": {"from": "generate.path"}},
                "resources": {"queue": "light"},
            },
            "again": {"script": "csv_profiler", "params": {"path": {"from": "generate.path"}}},
        }
    )
    (tmp_path / "gp.yaml").write_text(yaml.safe_dump(data))
    loaded, errors = load_pipelines(tmp_path, registry, use_cache=False)
    assert errors == []
    dag = build_pipeline_dag(loaded["gp"], registry)
    tasks = {t: dag.get_task(t) for t in ("generate", "profile", "again")}
    assert all(isinstance(t, ScriptOperator) for t in tasks.values())
    generate, profile, again = (cast(ScriptOperator, tasks[t]) for t in ("generate", "profile", "again"))
    assert (generate.pool_slots, generate.memory_limit_mb, generate.queue) == (3, 512, "heavy")
    # csv_profiler's manifest: cpu 1, memory_mb 1024, no queue; only the queue is overridden.
    assert (profile.pool_slots, profile.memory_limit_mb, profile.queue) == (1, 1024, "light")
    assert (again.pool_slots, again.memory_limit_mb) == (1, 1024)
    assert again.queue not in ("heavy", "light")


def test_the_layout_stays_out_of_the_dag(registry: Registry, tmp_path: Path) -> None:
    from ylai_operators.pipeline_dags import build_pipeline_dag

    data = _spec(layout={"generate": {"x": 1, "y": 2}})
    (tmp_path / "gp.yaml").write_text(yaml.safe_dump(data))
    loaded, errors = load_pipelines(tmp_path, registry, use_cache=False)
    assert errors == []
    dag = build_pipeline_dag(loaded["gp"], registry)
    assert sorted(dag.task_ids) == ["collect_outputs", "generate", "profile"]
    assert "layout" not in (dag.doc_md or "")


def test_spec_json_splits_off_the_layout() -> None:
    spec = PipelineSpec.model_validate(_spec(layout={"generate": {"x": 1, "y": 2}}))
    data, layout = pipelines.spec_json(spec)
    assert "layout" not in data
    assert layout == {"generate": {"x": 1.0, "y": 2.0}}
    assert data["nodes"]["profile"]["params"] == {"path": {"from": "generate.path"}}


def test_load_folder_hashes_each_file(registry: Registry, tmp_path: Path) -> None:
    for path in EXAMPLES:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "broken.yaml").write_text("name: broken\nnodes: {a: {script: nope}}\n")
    found = pipelines.load_folder(tmp_path, registry)
    assert sorted(found) == sorted(yaml.safe_load(p.read_text())["name"] for p in EXAMPLES)
    first = found["generate_and_profile"]
    assert (first.source, len(first.version or "")) == ("repository", 16)
    (tmp_path / "generate_and_profile.yaml").write_text(
        (tmp_path / "generate_and_profile.yaml").read_text() + "\n# changed\n"
    )
    assert pipelines.load_folder(tmp_path, registry)["generate_and_profile"].version != first.version


def test_all_pipelines_follows_files_added_and_deleted(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.domain import scripts

    monkeypatch.setattr(pipelines, "folder", lambda: tmp_path)
    monkeypatch.setattr(scripts, "repository", lambda: registry)
    for path in EXAMPLES:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert set(pipelines.all_pipelines()) == {"data_quality_fanout", "generate_and_profile"}
    assert pipelines.all_pipelines() is pipelines.all_pipelines()  # not parsed again while nothing changed
    (tmp_path / "data_quality_fanout.yaml").unlink()
    assert set(pipelines.all_pipelines()) == {"generate_and_profile"}
