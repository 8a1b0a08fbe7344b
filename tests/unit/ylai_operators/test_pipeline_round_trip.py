"""Pipeline spec ↔ YAML ↔ editor JSON round trips, and the validator's problem positions, on random DAGs.

The examples of ``dags/pipelines`` and seeded random valid DAGs (``tests/random_pipelines.py``:
literals, ``{param:}`` and ``{from:}`` bindings, ``depends_on``, ``edges``, timeouts, resources, layouts)
go YAML → spec → YAML and must come back byte for byte; the repository loader must accept the
export as it is. The editor's path (``GET /pipelines/{name}`` answers the spec without its
layout and the layout beside it; the editor sends both back) must give the same file too.

The validator tests break one thing in a random valid DAG and expect exactly one problem, on
the node and field that was broken (``POST /pipelines/validate`` answers these problems).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.random_pipelines import fits, random_pipeline
from ylai_operators.catalog import PipelineSpec, Registry, load_pipelines, load_registry, pipeline_yaml
from ylai_operators.param_schema import json_type
from ylai_plugin.domain import pipelines

EXAMPLES = sorted((REPO_ROOT / "dags" / "pipelines").glob("*.yaml"))
SEEDS = range(150)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REPO_ROOT / "dags" / "scripts")


def _draw(registry: Registry, seed: int, **kwargs: Any) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - seeded test data
    return random_pipeline(rng, registry, rng.randint(1, 25), name=f"random_{seed}", **kwargs)


def _editor_round_trip(spec: PipelineSpec) -> PipelineSpec:
    """What the editor gets from ``GET /pipelines/{name}`` (over JSON) and sends back to save it."""
    data, layout = pipelines.spec_json(spec)
    sent = json.loads(json.dumps({"spec": data, "layout": layout}))
    body = sent["spec"] | ({"layout": sent["layout"]} if sent["layout"] else {})
    return PipelineSpec.model_validate(body)


def _assert_round_trip(registry: Registry, data: dict[str, Any], tmp_path: Path) -> None:
    assert pipelines.validate(data, registry)["valid"] is True
    spec = PipelineSpec.model_validate(data)
    text = pipeline_yaml(spec)
    # What was written comes back, nothing is added or lost; the text is a fixed point.
    assert yaml.safe_load(text) == data
    again = PipelineSpec.model_validate(yaml.safe_load(text))
    assert again == spec
    assert pipeline_yaml(again) == text
    # The editor's JSON path writes the same file.
    assert pipeline_yaml(_editor_round_trip(spec)) == text
    # The repository loader accepts the export unchanged.
    (tmp_path / f"{spec.name}.yaml").write_text(text, encoding="utf-8")
    loaded, errors = load_pipelines(tmp_path, registry, use_cache=False)
    assert errors == []
    assert loaded[spec.name].spec == spec
    assert pipeline_yaml(loaded[spec.name].spec) == text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips_through_yaml_and_the_editor(registry: Registry, path: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    _assert_round_trip(registry, data, tmp_path)
    # And with a layout, as the editor saves it.
    data["layout"] = {node: {"x": 120.5 * i, "y": -40.0} for i, node in enumerate(data["nodes"])}
    _assert_round_trip(registry, data, tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_dags_round_trip_through_yaml_and_the_editor(registry: Registry, seed: int, tmp_path: Path) -> None:
    _assert_round_trip(registry, _draw(registry, seed), tmp_path)


def test_the_random_dags_cover_every_kind_of_value(registry: Registry) -> None:
    """The generator really draws what the round trip claims to cover (a guard on the generator)."""
    seen: set[str] = set()
    for seed in SEEDS:
        data = _draw(registry, seed)
        seen |= {key for key in ("layout", "edges", "schedule", "params", "description") if key in data}
        for node in data["nodes"].values():
            seen |= {key for key in ("depends_on", "timeout", "retries", "resources") if key in node}
            for value in node.get("params", {}).values():
                if isinstance(value, dict) and set(value) in ({"from"}, {"param"}):
                    seen |= set(value)
                elif isinstance(value, str) and "\n" in value:
                    seen.add("multi-line string")
    assert seen == {
        "layout", "edges", "schedule", "params", "description", "depends_on", "timeout", "retries", "resources",
        "from", "param", "multi-line string",
    }  # fmt: skip


def test_a_200_node_layered_dag_round_trips(registry: Registry, tmp_path: Path) -> None:
    rng = random.Random(17)  # noqa: S311 - seeded test data
    data = random_pipeline(rng, registry, 200, layers=20, name="big", layout=True, shuffle=False)
    assert len(data["nodes"]) == len(data["layout"]) == 200
    _assert_round_trip(registry, data, tmp_path)


def test_a_spec_without_layout_exports_none(registry: Registry, tmp_path: Path) -> None:
    data = _draw(registry, 3, layout=False)
    assert "layout" not in yaml.safe_load(pipeline_yaml(PipelineSpec.model_validate(data)))
    _assert_round_trip(registry, data, tmp_path)


# --- The validator's problem positions, one fault in a random valid DAG -----------------------------


def _nodes_with(data: dict[str, Any], test: Any) -> list[tuple[str, str, Any]]:
    """``(node, param, value)`` of every node parameter for which ``test(value)`` holds."""
    return [
        (node_id, name, value)
        for node_id, node in data["nodes"].items()
        for name, value in node.get("params", {}).items()
        if test(value)
    ]


def _binding(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"from"}


def _only_problem(registry: Registry, data: dict[str, Any]) -> tuple[str | None, str, str]:
    result = pipelines.validate(data, registry)
    assert result["valid"] is False
    assert result["params_schema"] is None
    assert len(result["problems"]) == 1, result["problems"]
    problem = result["problems"][0]
    return problem["node"], problem["field"], problem["reason"]


def _rng_and_data(registry: Registry, seed: int) -> tuple[random.Random, dict[str, Any]]:
    rng = random.Random(10_000 + seed)  # noqa: S311 - seeded test data
    data = random_pipeline(rng, registry, rng.randint(4, 25), name=f"broken_{seed}")
    assert pipelines.validate(data, registry)["valid"] is True
    return rng, data


def _rng_and_bound_data(registry: Registry, seed: int) -> tuple[random.Random, dict[str, Any]]:
    """Like :func:`_rng_and_data`, a pipeline with at least one binding: the first such of the seed's draws.

    Which pipelines a seed draws depends on the catalog (a new example script changes them), so a
    seed that draws none tries the next draws (seed + 1000, + 2000, ...) rather than failing.
    """
    for attempt in range(20):
        rng, data = _rng_and_data(registry, seed + 1000 * attempt)
        if _nodes_with(data, _binding):
            return rng, data
    raise AssertionError(f"no pipeline with a binding in 20 draws of seed {seed}: the generator binds nothing")


@pytest.mark.parametrize("seed", range(40))
def test_an_unknown_script_is_put_on_its_node(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_data(registry, seed)
    node = rng.choice(sorted(data["nodes"]))
    data["nodes"][node]["script"] = "no_such_script"
    where = _only_problem(registry, data)
    assert where[:2] == (node, "script")
    assert "unknown script 'no_such_script'" in where[2]


@pytest.mark.parametrize("seed", range(40))
def test_a_missing_required_param_is_put_on_its_node_and_param(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_data(registry, seed)
    required = [
        (node_id, name)
        for node_id, node in data["nodes"].items()
        for name, pspec in registry.scripts[node["script"]].manifest.params.items()
        if pspec.required
    ]
    if not required:  # no node of this draw has a required param: add one that has
        data["nodes"]["extra_gate"] = {"script": "quality_gate", "params": {"rows": 1}}
        required = [("extra_gate", "rows")]
    node, name = rng.choice(required)
    del data["nodes"][node]["params"][name]
    where = _only_problem(registry, data)
    assert where[:2] == (node, f"params.{name}")
    assert "required parameter" in where[2]


@pytest.mark.parametrize("seed", range(40))
def test_an_unknown_output_is_put_on_the_bound_param(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_bound_data(registry, seed)
    bound = _nodes_with(data, _binding)
    node, name, value = rng.choice(bound)
    source = value["from"].split(".")[0]
    data["nodes"][node]["params"][name] = {"from": f"{source}.no_such_output"}
    where = _only_problem(registry, data)
    assert where[:2] == (node, f"params.{name}")
    assert "has no output 'no_such_output'" in where[2]


@pytest.mark.parametrize("seed", range(40))
def test_a_type_mismatch_is_put_on_the_bound_param(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_data(registry, seed)
    nodes = data["nodes"]
    mismatches = [
        (node_id, name, other, output)
        for node_id, node in nodes.items()
        for name, pspec in registry.scripts[node["script"]].manifest.params.items()
        for other in nodes
        if other != node_id
        for output, ospec in registry.scripts[nodes[other]["script"]].manifest.outputs.items()
        if not fits(ospec.type, json_type(pspec))
    ]
    node, name, other, output = rng.choice(mismatches)
    nodes[node].setdefault("params", {})[name] = {"from": f"{other}.{output}"}
    where = _only_problem(registry, data)
    assert where[:2] == (node, f"params.{name}")
    assert where[2].startswith(f"type mismatch: {other}.{output} is ")


@pytest.mark.parametrize("seed", range(40))
def test_a_cycle_is_put_on_one_of_its_nodes_under_depends_on(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_bound_data(registry, seed)
    bound = _nodes_with(data, _binding)
    downstream, _name, value = rng.choice(bound)
    upstream = value["from"].split(".")[0]
    data["nodes"][upstream].setdefault("depends_on", []).append(downstream)
    node, field, reason = _only_problem(registry, data)
    assert field == "depends_on"
    assert reason.startswith("cycle: ")
    cycle = reason.removeprefix("cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1] == node
    assert {upstream, downstream} <= set(cycle)


@pytest.mark.parametrize("seed", range(20))
def test_a_bad_schedule_is_a_pipeline_problem(registry: Registry, seed: int) -> None:
    _rng, data = _rng_and_data(registry, seed)
    data["schedule"] = "every other tuesday"
    where = _only_problem(registry, data)
    assert where[:2] == (None, "schedule")
    assert "neither a cron expression" in where[2]


@pytest.mark.parametrize("seed", range(20))
def test_an_unknown_pipeline_param_is_put_on_its_node_and_param(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_data(registry, seed)
    node = rng.choice(sorted(data["nodes"]))
    name = rng.choice(sorted(registry.scripts[data["nodes"][node]["script"]].manifest.params))
    data["nodes"][node].setdefault("params", {})[name] = {"param": "no_such_param"}
    where = _only_problem(registry, data)
    assert where[:2] == (node, f"params.{name}")
    assert "'param: no_such_param' is not a pipeline param" in where[2]


@pytest.mark.parametrize("seed", range(20))
def test_an_unknown_upstream_is_put_on_depends_on(registry: Registry, seed: int) -> None:
    rng, data = _rng_and_data(registry, seed)
    node = rng.choice(sorted(data["nodes"]))
    data["nodes"][node]["depends_on"] = [*data["nodes"][node].get("depends_on", []), "no_such_node"]
    where = _only_problem(registry, data)
    assert where[:2] == (node, "depends_on")
    assert "'no_such_node' is not another node" in where[2]
