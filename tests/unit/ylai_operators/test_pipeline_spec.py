"""YAML pipelines (order, bindings, errors naming file + node) and the DAGs built from a DAGs folder."""

from __future__ import annotations

import inspect
import itertools
import shutil
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from ylai_operators import dag_factory as dag_factory_module
from ylai_operators import registry as registry_module
from ylai_operators.dag_factory import PIPELINE_SHARDS, SCRIPT_SHARDS, pipeline_dags, script_dags, shard_of
from ylai_operators.param_schema import to_param
from ylai_operators.pipeline_spec import (
    COLLECT_TASK_ID,
    Pipeline,
    PipelineSpec,
    check_pipeline,
    load_pipeline,
    load_pipelines,
)
from ylai_operators.registry import Registry, SpecError, load_registry

# A small, fully controlled script registry.
SCRIPTS: dict[str, tuple[str, str]] = {
    "gen": (
        ".py",
        """\
        name: gen
        params:
          rows: {type: integer, default: 10, minimum: 1}
          seed: {type: integer, default: 1}
          fmt: {type: enum, enum: [csv, jsonl], default: csv}
        outputs:
          path: {type: string}
          rows: {type: integer}
          ratio: {type: number}
          cols: {type: array}
          blob: {}
        """,
    ),
    "profile": (
        ".py",
        """\
        name: profile
        params:
          path: {type: string, required: true}
          limit: {type: integer, minimum: 1}
        outputs:
          rows: {type: integer}
          nulls: {type: integer}
          mean: {type: number}
          stats: {type: object}
        """,
    ),
    "measure": (
        ".sh",
        """\
        name: measure
        params:
          path: {type: string, default: /tmp}
          top: {type: integer, default: 10, minimum: 1, maximum: 100}
        outputs:
          bytes: {type: integer}
        """,
    ),
    "gate": (
        ".py",
        """\
        name: gate
        params:
          rows: {type: integer, required: true}
          nulls: {type: integer, default: 0}
          bytes: {type: integer, default: 0}
          ratio: {type: number, default: 0.1}
          mode: {type: enum, enum: [strict, lax], default: lax}
          day: {type: date}
          strict: {type: boolean, default: false}
        outputs:
          verdict: {type: string}
        """,
    ),
}


def write(folder: Path, rel: str, text: str = "") -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    folder = tmp_path / "scripts"
    for name, (suffix, manifest) in SCRIPTS.items():
        write(folder, name + suffix, "#!/bin/sh\n")
        write(folder, name + ".yaml", manifest)
    reg = load_registry(folder)
    assert reg.errors == []
    assert sorted(reg.scripts) == ["gate", "gen", "measure", "profile"]
    return reg


@pytest.fixture
def pipelines_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pipelines"
    folder.mkdir()
    return folder


def load_ok(folder: Path, registry: Registry, text: str, filename: str = "p.yaml") -> Pipeline:
    loaded = load_pipeline(write(folder, filename, text), registry)
    assert isinstance(loaded, Pipeline), [str(e) for e in loaded] if isinstance(loaded, list) else loaded
    return loaded


def load_errors(folder: Path, registry: Registry, text: str, filename: str = "p.yaml") -> list[SpecError]:
    loaded = load_pipeline(write(folder, filename, text), registry)
    assert isinstance(loaded, list), f"expected errors, got pipeline {loaded}"
    return loaded


def assert_topological(pipeline: Pipeline) -> None:
    assert sorted(pipeline.order) == sorted(pipeline.spec.nodes)
    position = {n: i for i, n in enumerate(pipeline.order)}
    for node, ups in pipeline.upstream.items():
        for up in ups:
            assert position[up] < position[node], f"{up} must run before {node}: {pipeline.order}"


LINEAR = """\
name: linear
nodes:
  gen:
    script: gen
    params: {rows: 5}
  profile:
    script: profile
    params:
      path: {from: gen.path}
"""

FAN = """\
name: fan
title: Fan out, fan in
params:
  rows: {type: integer, default: 100, minimum: 1}
  ratio: {type: number, default: 0.05}
nodes:
  gen:
    script: gen
    params:
      rows: {param: rows}
      fmt: jsonl
  profile:
    script: profile
    params:
      path: {from: gen.path}
  measure:
    script: measure
    params: {top: 5}
    depends_on: [gen]
  gate:
    script: gate
    params:
      rows: {from: profile.rows}
      nulls: {from: profile.nulls}
      bytes: {from: measure.bytes}
      ratio: {param: ratio}
"""

FAN_UPSTREAM = {"gen": set(), "profile": {"gen"}, "measure": {"gen"}, "gate": {"profile", "measure"}}


class TestValidPipelines:
    def test_linear(self, pipelines_dir: Path, registry: Registry) -> None:
        p = load_ok(pipelines_dir, registry, LINEAR)
        assert p.name == "linear"
        assert p.path == pipelines_dir / "p.yaml"
        assert p.order == ["gen", "profile"]
        assert p.upstream == {"gen": set(), "profile": {"gen"}}
        assert p.leaves == ["profile"]

    def test_fan_out_fan_in(self, pipelines_dir: Path, registry: Registry) -> None:
        p = load_ok(pipelines_dir, registry, FAN)
        assert p.order == ["gen", "profile", "measure", "gate"]
        assert p.upstream == FAN_UPSTREAM
        assert p.leaves == ["gate"]
        assert p.spec.title == "Fan out, fan in"
        assert list(p.spec.params) == ["rows", "ratio"]

    def test_order_does_not_depend_on_declaration_order(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: reversed
        nodes:
          gate:
            script: gate
            params: {rows: {from: profile.rows}, bytes: {from: measure.bytes}}
          measure:
            script: measure
            depends_on: [gen]
          profile:
            script: profile
            params: {path: {from: gen.path}}
          gen:
            script: gen
        """
        p = load_ok(pipelines_dir, registry, text)
        assert p.upstream == FAN_UPSTREAM
        assert p.order[0] == "gen"
        assert p.order[-1] == "gate"
        assert_topological(p)
        assert p.leaves == ["gate"]

    def test_several_leaves_and_independent_nodes(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: leaves
        nodes:
          gen: {script: gen}
          profile:
            script: profile
            params: {path: {from: gen.path}}
          measure:
            script: measure
            params: {path: {from: gen.path}}
          alone: {script: measure}
        """
        p = load_ok(pipelines_dir, registry, text)
        assert p.order == ["gen", "profile", "measure", "alone"]
        assert p.leaves == ["profile", "measure", "alone"]

    def test_edges_add_ordering_without_data(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: edges
        nodes:
          second: {script: measure}
          first: {script: measure}
          third: {script: measure}
        edges:
          - [first, second]
          - [second, third]
        """
        p = load_ok(pipelines_dir, registry, text)
        assert p.upstream == {"first": set(), "second": {"first"}, "third": {"second"}}
        assert p.order == ["first", "second", "third"]
        assert p.leaves == ["third"]

    def test_compatible_types(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: compat
        params:
          n: {type: integer, default: 1}
          when: {type: string, default: "2024-01-01"}
        nodes:
          gen: {script: gen}
          profile:
            script: profile
            params:
              path: {from: gen.blob}          # any -> string
          gate:
            script: gate
            params:
              rows: {from: gen.rows}          # integer -> integer
              ratio: {from: profile.rows}     # integer -> number is allowed
              nulls: {param: n}
              day: {param: when}              # string -> date (a string)
              mode: strict
              strict: true
        """
        p = load_ok(pipelines_dir, registry, text)
        assert p.upstream == {"gen": set(), "profile": {"gen"}, "gate": {"gen", "profile"}}

    def test_integer_pipeline_param_into_number_parameter(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: compat2
        params: {r: {type: integer, default: 1}}
        nodes:
          gate:
            script: gate
            params: {rows: 1, ratio: {param: r}}
        """
        load_ok(pipelines_dir, registry, text)

    def test_node_retries_and_timeout(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: knobs
        retries: 3
        nodes:
          a: {script: measure, retries: 0, timeout: 90s}
          b: {script: measure, timeout: 300}
          c: {script: measure}
        """
        p = load_ok(pipelines_dir, registry, text)
        nodes = p.spec.nodes
        assert (nodes["a"].retries, nodes["a"].timeout) == (0, timedelta(seconds=90))
        assert nodes["b"].timeout == timedelta(seconds=300)
        assert (nodes["c"].retries, nodes["c"].timeout) == (None, None)
        assert p.spec.retries == 3

    def test_check_pipeline_on_a_spec_object(self, registry: Registry) -> None:
        spec = PipelineSpec.model_validate(
            {
                "name": "direct",
                "nodes": {"g": {"script": "gen"}, "p": {"script": "profile", "params": {"path": {"from": "g.path"}}}},
            }
        )
        p = check_pipeline(spec, Path("direct.yaml"), registry)
        assert isinstance(p, Pipeline)
        assert p.order == ["g", "p"]
        assert p.path == Path("direct.yaml")

    def test_repo_pipelines_load_against_repo_scripts(self) -> None:
        dags = REPO_ROOT / "dags"
        pipelines, errors = load_pipelines(dags / "pipelines", load_registry(dags / "scripts"))
        assert errors == []
        assert sorted(pipelines) == ["data_quality_fanout", "generate_and_profile"]
        fan = pipelines["data_quality_fanout"]
        assert fan.order == ["generate", "profile", "disk", "gate"]
        assert fan.upstream == {
            "generate": set(),
            "profile": {"generate"},
            "disk": {"generate"},
            "gate": {"profile", "disk"},
        }
        assert fan.leaves == ["gate"]
        assert pipelines["generate_and_profile"].leaves == ["profile"]


# --------------------------------------------------------------------------------------------
# Errors: each names the file and the node
# --------------------------------------------------------------------------------------------

NODE_ERRORS = [
    pytest.param(
        "nodes:\n  x: {script: nope}\n",
        "x",
        "script",
        "unknown script 'nope' (known: gate, gen, measure, profile)",
        id="unknown-script",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    params: {colour: red}\n",
        "a",
        "params.colour",
        "script 'measure' has no parameter 'colour'",
        id="unknown-param",
    ),
    pytest.param(
        "nodes:\n  b:\n    script: profile\n    params: {path: {from: ghost.path}}\n",
        "b",
        "params.path",
        "'from: ghost.path' names no other node",
        id="unknown-upstream-node",
    ),
    pytest.param(
        "nodes:\n  b:\n    script: profile\n    params: {path: {from: b.rows}}\n",
        "b",
        "params.path",
        "'from: b.rows' names no other node",
        id="from-itself",
    ),
    pytest.param(
        "nodes:\n  gen: {script: gen}\n  b:\n    script: profile\n    params: {path: {from: gen.file}}\n",
        "b",
        "params.path",
        "node 'gen' (script 'gen') has no output 'file' (declared: path, rows, ratio, cols, blob)",
        id="unknown-output",
    ),
    pytest.param(
        "nodes:\n  m: {script: measure}\n  b:\n    script: profile\n    params: {path: {from: m}}\n",
        "b",
        "params.path",
        "node 'm' (script 'measure') has no output '' (declared: bytes)",
        id="from-without-output",
    ),
    pytest.param(
        "nodes:\n  b: {script: profile}\n",
        "b",
        "params.path",
        "required parameter of script 'profile' is not set",
        id="missing-required",
    ),
    pytest.param(
        "nodes:\n  gen: {script: gen}\n  b:\n    script: profile\n    params: {path: {from: gen.rows}}\n",
        "b",
        "params.path",
        "type mismatch: gen.rows is integer but parameter 'path' expects string",
        id="integer-into-string",
    ),
    pytest.param(
        "nodes:\n  gen: {script: gen}\n  g:\n    script: gate\n    params: {rows: {from: gen.ratio}}\n",
        "g",
        "params.rows",
        "type mismatch: gen.ratio is number but parameter 'rows' expects integer",
        id="number-into-integer",
    ),
    pytest.param(
        "nodes:\n  gen: {script: gen}\n  b:\n    script: profile\n    params: {path: {from: gen.cols}}\n",
        "b",
        "params.path",
        "type mismatch: gen.cols is array but parameter 'path' expects string",
        id="array-into-string",
    ),
    pytest.param(
        "nodes:\n  p: {script: profile, params: {path: x}}\n"
        "  g:\n    script: gate\n    params: {rows: 1, strict: {from: p.rows}}\n",
        "g",
        "params.strict",
        "type mismatch: p.rows is integer but parameter 'strict' expects boolean",
        id="integer-into-boolean",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    params: {top: 500}\n",
        "a",
        "params.top",
        "500 is greater than the maximum of 100",
        id="literal-out-of-range",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    params: {top: ten}\n",
        "a",
        "params.top",
        "'ten' is not of type 'integer'",
        id="literal-wrong-type",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    params: {top: true}\n",
        "a",
        "params.top",
        "True is not of type 'integer'",
        id="literal-bool-for-integer",
    ),
    pytest.param(
        "nodes:\n  g:\n    script: gate\n    params: {rows: 1, mode: medium}\n",
        "g",
        "params.mode",
        "'medium' is not one of ['strict', 'lax']",
        id="literal-not-in-enum",
    ),
    pytest.param(
        "nodes:\n  g:\n    script: gate\n    params: {rows: 1, day: '2024-13-01'}\n",
        "g",
        "params.day",
        "'2024-13-01' is not a 'date'",
        id="literal-bad-date",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    params: {top: {param: nope}}\n",
        "a",
        "params.top",
        "'param: nope' is not a pipeline param",
        id="unknown-pipeline-param",
    ),
    pytest.param(
        "params: {p: {type: string, default: x}}\nnodes:\n  a:\n    script: measure\n    params: {top: {param: p}}\n",
        "a",
        "params.top",
        "type mismatch: pipeline param 'p' is string but parameter 'top' expects integer",
        id="pipeline-param-type-mismatch",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    depends_on: [zzz]\n",
        "a",
        "depends_on",
        "'zzz' is not another node of this pipeline",
        id="depends-on-unknown",
    ),
    pytest.param(
        "nodes:\n  a:\n    script: measure\n    depends_on: [a]\n",
        "a",
        "depends_on",
        "'a' is not another node of this pipeline",
        id="depends-on-itself",
    ),
]


class TestPipelineErrors:
    @pytest.mark.parametrize(("body", "node", "where", "reason"), NODE_ERRORS)
    def test_error_names_file_and_node(
        self, pipelines_dir: Path, registry: Registry, body: str, node: str, where: str, reason: str
    ) -> None:
        path = pipelines_dir / "broken.yaml"
        errors = load_errors(pipelines_dir, registry, "name: broken\n" + body, "broken.yaml")
        assert [(e.path, e.where, e.reason) for e in errors] == [(path, f"node {node!r}: {where}", reason)]
        assert str(errors[0]) == f"{path}: node {node!r}: {where}: {reason}"

    @pytest.mark.parametrize(
        ("body", "where", "reason"),
        [
            pytest.param(
                "nodes:\n  a: {script: measure}\nedges: [[a, zz]]\n", "edges.0", "unknown node 'zz'", id="edge-unknown"
            ),
            pytest.param(
                "nodes:\n  a: {script: measure}\nedges: [[zz, a]]\n",
                "edges.0",
                "unknown node 'zz'",
                id="edge-unknown-src",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure}\n  b: {script: measure}\nedges: [[a, b], [b, b]]\n",
                "edges.1",
                "node 'b' cannot depend on itself",
                id="edge-self",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure}\nedges: [[a]]\n", "edges.0.1", "Field required", id="edge-too-short"
            ),
            pytest.param("nodes:\n  a: {script: measure}\nedges: [a]\n", "edges.0", "valid", id="edge-not-a-pair"),
            pytest.param(
                "nodes:\n  collect_outputs: {script: measure}\n",
                "nodes",
                "node id 'collect_outputs' is reserved",
                id="reserved-node-id",
            ),
            pytest.param(
                "nodes:\n  1a: {script: measure}\n",
                "nodes",
                "node id '1a' must start with a letter",
                id="bad-node-id",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure, colour: red}\n",
                "nodes.a.colour",
                "unknown field",
                id="unknown-node-field",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure, timeout: forever}\n",
                "nodes.a.timeout",
                "got 'forever'",
                id="bad-node-timeout",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure, retries: 21}\n",
                "nodes.a.retries",
                "less than or equal to 20",
                id="node-retries",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure, resources: {cpu: 0}}\n",
                "nodes.a.resources.cpu",
                "greater than or equal to 1",
                id="node-resources-cpu",
            ),
            pytest.param(
                "nodes:\n  a: {script: measure, resources: {memory_mb: 8}}\n",
                "nodes.a.resources.memory_mb",
                "greater than or equal to 16",
                id="node-resources-memory",
            ),
            pytest.param("nodes:\n  a: {params: {}}\n", "nodes.a.script", "Field required", id="node-without-script"),
            pytest.param("nodes: {}\n", "nodes", "at least 1 item", id="no-nodes"),
            pytest.param("title: x\n", "nodes", "Field required", id="missing-nodes"),
            pytest.param("bogus: 1\nnodes:\n  a: {script: measure}\n", "bogus", "unknown field", id="unknown-field"),
            pytest.param(
                "params:\n  p: {type: integer, minimum: 5, maximum: 1}\nnodes:\n  a: {script: measure}\n",
                "params.p",
                "'minimum' is greater than 'maximum'",
                id="bad-pipeline-param",
            ),
        ],
    )
    def test_spec_level_errors(
        self, pipelines_dir: Path, registry: Registry, body: str, where: str, reason: str
    ) -> None:
        path = pipelines_dir / "broken.yaml"
        errors = load_errors(pipelines_dir, registry, "name: broken\n" + body, "broken.yaml")
        assert [(e.path, e.where) for e in errors] == [(path, where)], [str(e) for e in errors]
        assert reason in errors[0].reason
        assert str(errors[0]).startswith(f"{path}: {where}: ")

    @pytest.mark.parametrize("timeout", ["[1]", "{m: 5}"])
    def test_non_scalar_node_timeout_is_a_spec_error_not_a_crash(
        self, pipelines_dir: Path, registry: Registry, timeout: str
    ) -> None:
        write(pipelines_dir, "a_linear.yaml", LINEAR)
        text = f"name: broken\nnodes:\n  a: {{script: measure, timeout: {timeout}}}\n"
        write(pipelines_dir, "broken.yaml", text)
        pipelines, errors = load_pipelines(pipelines_dir, registry)
        assert [(e.path.name, e.where) for e in errors] == [("broken.yaml", "nodes.a.timeout")]
        assert sorted(pipelines) == ["linear"]

    def test_bad_pipeline_name(self, pipelines_dir: Path, registry: Registry) -> None:
        (error,) = load_errors(pipelines_dir, registry, "name: Bad Name\nnodes:\n  a: {script: measure}\n")
        assert (error.where, error.path.name) == ("name", "p.yaml")
        assert "should match pattern" in error.reason

    def test_invalid_yaml_gives_the_line(self, pipelines_dir: Path, registry: Registry) -> None:
        text = "name: broken\nnodes:\n  a:\n    script: [measure\n  b: {script: measure}\n"
        (error,) = load_errors(pipelines_dir, registry, text, "broken.yaml")
        assert error.path == pipelines_dir / "broken.yaml"
        assert error.line == 5
        assert error.reason.startswith("invalid YAML: ")
        assert str(error).startswith(f"{pipelines_dir / 'broken.yaml'}:5: invalid YAML: ")

    @pytest.mark.parametrize("text", ["- a\n", "42\n", ""])
    def test_non_mapping(self, pipelines_dir: Path, registry: Registry, text: str) -> None:
        (error,) = load_errors(pipelines_dir, registry, text)
        assert (error.where, error.reason) == ("", "a pipeline must be a YAML mapping")

    def test_every_problem_is_reported(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: many
        nodes:
          a: {script: nope}
          b:
            script: profile
            params: {colour: red}
          c:
            script: measure
            params: {top: 0}
            depends_on: [zz]
        edges: [[a, yy]]
        """
        errors = load_errors(pipelines_dir, registry, text)
        assert sorted(e.where for e in errors) == [
            "edges.0",
            "node 'a': script",
            "node 'b': params.colour",
            "node 'b': params.path",
            "node 'c': depends_on",
            "node 'c': params.top",
        ]
        assert {e.path for e in errors} == {pipelines_dir / "p.yaml"}

    def test_binding_to_a_node_with_unknown_script_is_reported_once(
        self, pipelines_dir: Path, registry: Registry
    ) -> None:
        text = """\
        name: once
        nodes:
          x: {script: nope}
          y:
            script: profile
            params: {path: {from: x.path}}
        """
        errors = load_errors(pipelines_dir, registry, text)
        assert [e.where for e in errors] == ["node 'x': script"]


class TestCycles:
    @staticmethod
    def assert_cycle(error: SpecError, path: Path, upstream: dict[str, set[str]], members: set[str]) -> None:
        assert (error.path, error.where) == (path, "nodes")
        assert error.reason.startswith("cycle: ")
        chain = error.reason.removeprefix("cycle: ").split(" -> ")
        assert chain[0] == chain[-1], chain
        assert set(chain) == members
        assert len(chain) == len(members) + 1
        for before, after in itertools.pairwise(chain):
            assert before in upstream[after], f"{after} does not depend on {before}: {error.reason}"
        assert str(error) == f"{path}: nodes: {error.reason}"

    def test_cycle_through_depends_on(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: loop
        nodes:
          e: {script: measure}
          a: {script: measure, depends_on: [c, e]}
          b: {script: measure, depends_on: [a]}
          c: {script: measure, depends_on: [b]}
          d: {script: measure, depends_on: [a]}
        """
        (error,) = load_errors(pipelines_dir, registry, text)
        upstream = {"e": set(), "a": {"c", "e"}, "b": {"a"}, "c": {"b"}, "d": {"a"}}
        self.assert_cycle(error, pipelines_dir / "p.yaml", upstream, {"a", "b", "c"})

    def test_cycle_through_bindings(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: loop
        nodes:
          p:
            script: profile
            params: {path: {from: g.verdict}}
          g:
            script: gate
            params: {rows: {from: p.rows}}
        """
        (error,) = load_errors(pipelines_dir, registry, text)
        self.assert_cycle(error, pipelines_dir / "p.yaml", {"p": {"g"}, "g": {"p"}}, {"p", "g"})

    def test_cycle_through_edges(self, pipelines_dir: Path, registry: Registry) -> None:
        text = """\
        name: loop
        nodes:
          a: {script: measure}
          b: {script: measure}
        edges: [[a, b], [b, a]]
        """
        (error,) = load_errors(pipelines_dir, registry, text)
        self.assert_cycle(error, pipelines_dir / "p.yaml", {"a": {"b"}, "b": {"a"}}, {"a", "b"})


class TestLoadPipelines:
    def test_broken_pipelines_do_not_stop_the_others(self, pipelines_dir: Path, registry: Registry) -> None:
        write(pipelines_dir, "a_linear.yaml", LINEAR)
        write(pipelines_dir, "team/fan.yml", FAN)
        write(pipelines_dir, "b_unknown_script.yaml", "name: unknown\nnodes:\n  x: {script: nope}\n")
        write(pipelines_dir, "c_bad_yaml.yaml", "name: bad\nnodes: [\n")
        write(pipelines_dir, "d_cycle.yaml", "name: cyc\nnodes:\n  a: {script: measure}\nedges: [[a, a]]\n")
        write(pipelines_dir, "e_list.yaml", "- 1\n")
        write(pipelines_dir, "f_dup.yaml", LINEAR.replace("profile:\n", "profile2:\n", 1))
        write(pipelines_dir, "notes.txt", "not a pipeline")
        pipelines, errors = load_pipelines(pipelines_dir, registry)
        assert sorted(pipelines) == ["fan", "linear"]
        assert pipelines["linear"].path == pipelines_dir / "a_linear.yaml"
        assert pipelines["fan"].path == pipelines_dir / "team" / "fan.yml"
        assert [(e.path.name, e.where) for e in errors] == [
            ("b_unknown_script.yaml", "node 'x': script"),
            ("c_bad_yaml.yaml", ""),
            ("d_cycle.yaml", "edges.0"),
            ("e_list.yaml", ""),
            ("f_dup.yaml", "name"),
        ]
        assert errors[1].line == 3
        assert errors[-1].reason == "'linear' is already used by a_linear.yaml"

    def test_missing_folder(self, tmp_path: Path, registry: Registry) -> None:
        assert load_pipelines(tmp_path / "nope", registry) == ({}, [])


# --------------------------------------------------------------------------------------------
# dag_factory through a real DagBag
# --------------------------------------------------------------------------------------------

SCRIPT_FILES = tuple(f"ylai_scripts_{i}.py" for i in range(SCRIPT_SHARDS))
PIPELINE_FILES = tuple(f"ylai_pipelines_{i}.py" for i in range(PIPELINE_SHARDS))
DAG_FILES = (*SCRIPT_FILES, *PIPELINE_FILES, "ylai_spec_errors.py", ".airflowignore")
REPO_SCRIPT_NAMES = ("csv_profiler", "data_generator", "disk_usage", "http_check", "quality_gate")

NOTIFY = """\
name: notify
title: Notify
description: Sends a message.
owner: sre
tags: [ops]
retries: 4
timeout: 30s
resources: {cpu: 2, memory_mb: 256, queue: alerts}
params:
  message: {type: string, required: true}
  channel: {type: enum, enum: [ops, dev], labels: {ops: Operations}, default: ops}
  token: {type: string, secret: true}
outputs:
  sent: {type: boolean}
"""

CUSTOM_PIPELINE = """\
name: custom
title: Custom pipeline
description: Checks, then measures; notifies in parallel.
owner: sre
tags: [ops]
retries: 2
params:
  top: {type: integer, default: 3, minimum: 1}
nodes:
  check:
    script: http_check
    params: {url: "https://example.com", expected_status: 204}
    retries: 5
    timeout: 90s
  disk:
    script: disk_usage
    params: {top: {param: top}}
  notify:
    script: notify
    params: {message: hello}
edges: [[check, disk]]
"""


def make_dags_folder(root: Path, extra: dict[str, str]) -> Path:
    """A DAGs folder with ylai's DAG files, the repo's scripts and pipelines, plus ``extra`` files."""
    repo_dags = REPO_ROOT / "dags"
    root.mkdir(parents=True, exist_ok=True)
    for name in DAG_FILES:
        shutil.copy2(repo_dags / name, root / name)
    for name in REPO_SCRIPT_NAMES:
        for script_file in (repo_dags / "scripts").glob(name + ".*"):
            write(root, f"scripts/{script_file.name}", script_file.read_text())
    for pipeline_file in (repo_dags / "pipelines").glob("*.yaml"):
        write(root, f"pipelines/{pipeline_file.name}", pipeline_file.read_text())
    for rel, text in extra.items():
        write(root, rel, text)
    return root


def make_dagbag(folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    kwargs: dict[str, Any] = {"dag_folder": str(folder)}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    return DagBag(**kwargs)


def import_error_of(dagbag: Any, filename: str) -> str | None:
    found = [err for path, err in dagbag.import_errors.items() if Path(path).name == filename]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture(scope="module")
def dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dags_folder(
        tmp_path_factory.mktemp("dags"),
        {
            "scripts/broken.py": "",
            "scripts/broken.yaml": "name: broken\nparams:\n  rows: {type: integer, minimum: 10, maximum: 1}\n",
            "scripts/team/notify.sh": "#!/usr/bin/env bash\n",
            "scripts/team/notify.yaml": NOTIFY,
            "pipelines/broken_pipe.yaml": "name: broken_pipe\nnodes:\n  x: {script: nope}\n",
            "pipelines/custom.yaml": CUSTOM_PIPELINE,
        },
    )


@pytest.fixture(scope="module")
def dagbag(dags_folder: Path) -> Any:
    return make_dagbag(dags_folder)


EXPECTED_SCRIPT_DAGS = {f"script__{n}" for n in (*REPO_SCRIPT_NAMES, "notify")}
EXPECTED_PIPELINE_DAGS = {"pipeline__data_quality_fanout", "pipeline__generate_and_profile", "pipeline__custom"}


class TestDagBag:
    def test_valid_specs_become_dags(self, dagbag: Any) -> None:
        assert set(dagbag.dags) == EXPECTED_SCRIPT_DAGS | EXPECTED_PIPELINE_DAGS

    def test_dags_belong_to_their_dag_file(self, dagbag: Any) -> None:
        for dag_id in EXPECTED_SCRIPT_DAGS:
            shard = shard_of(dag_id.removeprefix("script__"), SCRIPT_SHARDS)
            assert Path(dagbag.dags[dag_id].fileloc).name == f"ylai_scripts_{shard}.py"
        for dag_id in EXPECTED_PIPELINE_DAGS:
            shard = shard_of(dag_id.removeprefix("pipeline__"), PIPELINE_SHARDS)
            assert Path(dagbag.dags[dag_id].fileloc).name == f"ylai_pipelines_{shard}.py"

    def test_every_shard_file_is_in_the_dags_folder(self) -> None:
        dags = REPO_ROOT / "dags"
        assert sorted(p.name for p in dags.glob("ylai_scripts*.py")) == sorted(SCRIPT_FILES)
        assert sorted(p.name for p in dags.glob("ylai_pipelines*.py")) == sorted(PIPELINE_FILES)
        for i, name in enumerate(SCRIPT_FILES):
            assert (
                f"script_dags(Path(__file__).resolve().parent, shard=({i}, {SCRIPT_SHARDS}))"
                in (dags / name).read_text()
            )
        for i, name in enumerate(PIPELINE_FILES):
            assert (
                f"pipeline_dags(Path(__file__).resolve().parent, shard=({i}, {PIPELINE_SHARDS}))"
                in (dags / name).read_text()
            )

    def test_broken_specs_are_one_import_error_of_ylai_spec_errors(self, dagbag: Any) -> None:
        assert [Path(p).name for p in dagbag.import_errors] == ["ylai_spec_errors.py"]
        message = import_error_of(dagbag, "ylai_spec_errors.py")
        assert message is not None
        assert "2 problem(s) in ylai script/pipeline specs" in message
        assert "  - scripts/broken.yaml: params.rows: 'minimum' is greater than 'maximum'" in message
        assert "  - pipelines/broken_pipe.yaml: node 'x': script: unknown script 'nope'" in message

    def test_script_dag(self, dagbag: Any, dags_folder: Path) -> None:
        from ylai_operators.script_operator import ScriptOperator

        dag = dagbag.dags["script__http_check"]
        assert dag.dag_display_name == "HTTP endpoint check"
        assert set(dag.tags) == {"ylai", "script", "monitoring", "example"}
        assert dag.default_args == {"owner": "sre", "retries": 2}
        assert dag.description.startswith("Requests a URL and reports the status code")
        assert "| `url` | string | yes | The URL to check. |" in dag.doc_md
        assert list(dag.params) == ["url", "method", "expected_status", "timeout_seconds", "fail_on_mismatch"]
        url = dag.params.get_param("url")
        assert url.schema == {"type": "string", "pattern": "^https?://"}
        assert not url.has_value
        assert dag.params.get_param("method").value == "GET"
        assert dag.params.get_param("expected_status").schema == {"type": "integer", "minimum": 100, "maximum": 599}
        (task,) = dag.tasks
        assert isinstance(task, ScriptOperator)
        assert task.task_id == "http_check"
        assert (task.owner, task.retries) == ("sre", 2)
        assert task.runtime == "python"
        assert task.script_name == "http_check"
        assert Path(task.script_path) == dags_folder / "scripts" / "http_check.py"
        assert task.execution_timeout == timedelta(minutes=2)
        assert task.param_refs == {n: n for n in dag.params}
        assert task.param_values == {}
        assert task.bindings == {}
        assert task.outputs == {"status": "integer", "latency_ms": "number", "ok": "boolean"}
        assert task.pool_slots == 1
        assert task.memory_limit_mb is None  # no resources.memory_mb: no limit

    def test_script_dag_params_match_the_manifest(self, dagbag: Any, dags_folder: Path) -> None:
        registry = load_registry(dags_folder / "scripts")
        for name, script in registry.scripts.items():
            dag = dagbag.dags[f"script__{name}"]
            assert list(dag.params) == list(script.manifest.params)
            for pname, pspec in script.manifest.params.items():
                expected = to_param(pspec)
                actual = dag.params.get_param(pname)
                assert actual.schema == expected.schema, (name, pname)
                assert actual.dump()["value"] == expected.dump()["value"], (name, pname)
                assert actual.description == expected.description, (name, pname)

    def test_script_dag_from_a_subfolder_with_resources(self, dagbag: Any, dags_folder: Path) -> None:
        dag = dagbag.dags["script__notify"]
        assert set(dag.tags) == {"ylai", "script", "ops"}
        (task,) = dag.tasks
        assert Path(task.script_path) == dags_folder / "scripts" / "team" / "notify.sh"
        assert task.runtime == "bash"
        assert (task.owner, task.retries) == ("sre", 4)
        assert task.execution_timeout == timedelta(seconds=30)
        assert task.pool_slots == 2
        assert task.queue == "alerts"
        assert task.memory_limit_mb == 256
        assert task.secret_params == ["token"]
        channel = dag.params.get_param("channel")
        assert channel.schema == {"type": "string", "enum": ["ops", "dev"], "values_display": {"ops": "Operations"}}
        assert dag.params.get_param("token").description == "(secret: masked in task logs)"

    def test_data_generator_columns_is_a_multi_select(self, dagbag: Any) -> None:
        dag = dagbag.dags["script__data_generator"]
        columns = dag.params.get_param("columns")
        assert columns.schema["examples"] == ["id", "day", "amount", "category"]
        assert columns.value == ["id", "day", "amount", "category"]
        assert dag.tasks[0].secret_params == ["api_token"]

    def test_fan_out_pipeline_dag(self, dagbag: Any) -> None:
        from ylai_operators.collect import CollectOutputsOperator
        from ylai_operators.script_operator import ScriptOperator

        dag = dagbag.dags["pipeline__data_quality_fanout"]
        assert dag.dag_display_name == "Data quality (fan-out / fan-in)"
        assert set(dag.tags) == {"ylai", "pipeline", "data", "quality", "example"}
        assert dag.default_args == {"owner": "data-platform", "retries": 1}
        assert {n: p.value for n, p in ((n, dag.params.get_param(n)) for n in dag.params)} == {
            "rows": 2000,
            "max_null_ratio": 0.05,
        }
        tasks = dag.task_dict
        assert set(tasks) == {"generate", "profile", "disk", "gate", COLLECT_TASK_ID}
        assert {t: set(tasks[t].upstream_task_ids) for t in tasks} == {
            "generate": set(),
            "profile": {"generate"},
            "disk": {"generate"},
            "gate": {"profile", "disk"},
            COLLECT_TASK_ID: {"gate"},
        }
        for node in ("generate", "profile", "disk", "gate"):
            assert isinstance(tasks[node], ScriptOperator)
            assert (tasks[node].owner, tasks[node].retries) == ("data-platform", 1)
        assert tasks["generate"].param_refs == {"rows": "rows"}
        assert tasks["generate"].param_values == {"null_ratio": 0.01}
        assert tasks["generate"].bindings == {}
        assert tasks["profile"].bindings == {"path": "generate.path"}
        assert tasks["disk"].param_values == {"path": "/tmp", "top": 5}
        assert tasks["disk"].bindings == {}
        assert tasks["gate"].bindings == {
            "rows": "profile.rows",
            "columns": "profile.columns",
            "null_cells": "profile.null_cells",
            "disk_bytes": "disk.total_bytes",
        }
        assert tasks["gate"].param_refs == {"max_null_ratio": "max_null_ratio"}
        assert tasks["gate"].param_values == {}
        assert tasks["disk"].runtime == "bash"
        collect = tasks[COLLECT_TASK_ID]
        assert isinstance(collect, CollectOutputsOperator)
        assert collect.downstream_task_ids == set()
        assert (collect.node_ids, collect.leaf_ids) == (["generate", "profile", "disk", "gate"], ["gate"])

    def test_custom_pipeline_dag(self, dagbag: Any) -> None:
        dag = dagbag.dags["pipeline__custom"]
        assert set(dag.tags) == {"ylai", "pipeline", "ops"}
        assert dag.description == "Checks, then measures; notifies in parallel."
        tasks = dag.task_dict
        assert {t: set(tasks[t].upstream_task_ids) for t in tasks} == {
            "check": set(),
            "disk": {"check"},
            "notify": set(),
            COLLECT_TASK_ID: {"disk", "notify"},
        }
        assert (tasks["check"].retries, tasks["check"].execution_timeout) == (5, timedelta(seconds=90))
        assert (tasks["disk"].retries, tasks["disk"].execution_timeout) == (2, timedelta(minutes=5))
        assert (tasks["notify"].retries, tasks["notify"].execution_timeout) == (2, timedelta(seconds=30))
        assert {t.owner for t in dag.tasks} == {"sre"}
        assert tasks["check"].param_values == {"url": "https://example.com", "expected_status": 204}
        assert tasks["disk"].param_refs == {"top": "top"}
        assert tasks["notify"].queue == "alerts"
        assert tasks["notify"].pool_slots == 2
        assert tasks["notify"].memory_limit_mb == 256
        assert tasks["check"].memory_limit_mb is None
        collect = tasks[COLLECT_TASK_ID]
        assert (collect.node_ids, collect.leaf_ids) == (["check", "disk", "notify"], ["disk", "notify"])
        assert tasks[COLLECT_TASK_ID].retries == 2
        assert dag.params.get_param("top").value == 3


class TestDagBagRobustness:
    """A broken spec is reported by ``ylai_spec_errors.py``, naming its file, and never hides the other DAGs."""

    def test_manifest_that_crashes_validation_is_still_a_spec_error(self, tmp_path: Path) -> None:
        # A list as ``timeout`` escapes pydantic as a TypeError instead of a validation error.
        folder = make_dags_folder(
            tmp_path / "dags",
            {"scripts/list_timeout.py": "", "scripts/list_timeout.yaml": "name: list_timeout\ntimeout: [1]\n"},
        )
        dagbag = make_dagbag(folder)
        message = import_error_of(dagbag, "ylai_spec_errors.py")
        assert message is not None
        assert "scripts/list_timeout.yaml: timeout:" in message
        for name in (*SCRIPT_FILES, *PIPELINE_FILES):
            assert import_error_of(dagbag, name) is None
        assert {f"script__{n}" for n in REPO_SCRIPT_NAMES} <= set(dagbag.dags)
        assert "pipeline__generate_and_profile" in dagbag.dags

    @pytest.mark.parametrize(
        ("filename", "text"),
        [
            pytest.param(
                "bad_cron.yaml",
                "name: bad_cron\nschedule: not a cron\nnodes:\n  a: {script: disk_usage}\n",
                id="invalid-cron",
            ),
            pytest.param(
                "req_sched.yaml",
                "name: req_sched\nschedule: '@daily'\nparams:\n  top: {type: integer, required: true}\n"
                "nodes:\n  a:\n    script: disk_usage\n    params: {top: {param: top}}\n",
                id="required-param-with-schedule",
            ),
        ],
    )
    def test_pipeline_that_airflow_refuses_is_reported_as_a_spec_error(
        self, tmp_path: Path, filename: str, text: str
    ) -> None:
        folder = make_dags_folder(tmp_path / "dags", {f"pipelines/{filename}": text})
        dagbag = make_dagbag(folder)
        assert f"pipeline__{filename.removesuffix('.yaml')}" not in dagbag.dags
        assert {"pipeline__generate_and_profile", "pipeline__data_quality_fanout"} <= set(dagbag.dags)
        message = import_error_of(dagbag, "ylai_spec_errors.py")
        assert message is not None, f"not reported by ylai_spec_errors.py; import errors: {dagbag.import_errors}"
        assert f"pipelines/{filename}" in message

    def test_database_pipeline_problems_are_in_ylai_spec_errors(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ylai_operators import db_pipelines, db_scripts

        published = {
            db_pipelines.VARIABLE: {
                "db_ok": {"version": 1, "spec": {"name": "db_ok", "nodes": {"a": {"script": "disk_usage"}}}},
                "db_lost": {"version": 2, "spec": {"name": "db_lost", "nodes": {"a": {"script": "removed"}}}},
            }
        }
        monkeypatch.setattr(db_scripts, "read_json_variable", published.get)
        dagbag = make_dagbag(make_dags_folder(tmp_path / "dags", {}))
        assert "pipeline__db_ok" in dagbag.dags
        assert "pipeline__db_lost" not in dagbag.dags
        message = import_error_of(dagbag, "ylai_spec_errors.py")
        assert message is not None
        assert "1 problem(s) in ylai script/pipeline specs" in message
        assert "  - database/db_lost.yaml: node 'a': script: unknown script 'removed'" in message
        for name in (*SCRIPT_FILES, *PIPELINE_FILES):
            assert import_error_of(dagbag, name) is None


def test_optional_pipeline_param_cannot_feed_a_required_script_param(tmp_path: Path) -> None:
    from ylai_operators.pipeline_spec import load_pipeline
    from ylai_operators.registry import load_registry

    registry = load_registry(REPO_ROOT / "dags" / "scripts")
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "name: p\nparams:\n  path: {type: string}\n"
        "nodes:\n  profile:\n    script: csv_profiler\n    params: {path: {param: path}}\n"
    )
    errors = load_pipeline(spec, registry)
    assert isinstance(errors, list)
    assert [(e.where, "optional and has no default" in e.reason) for e in errors] == [
        ("node 'profile': params.path", True)
    ]


# --------------------------------------------------------------------------------------------
# Task start-up: only the task's DAG is built; validated specs are cached by content
# --------------------------------------------------------------------------------------------


class TestParsingForOneTask:
    """When Airflow imports a DAG file to run one task, the file builds only that task's DAG."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        return make_dags_folder(
            tmp_path / "dags",
            {
                "scripts/team/notify.sh": "#!/usr/bin/env bash\n",
                "scripts/team/notify.yaml": NOTIFY,
                "pipelines/custom.yaml": CUSTOM_PIPELINE,
            },
        )

    def _parse_for(self, dag_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

        monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)

    def test_script_file_builds_only_the_wanted_dag(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        shard = shard_of("http_check", SCRIPT_SHARDS)
        self._parse_for("script__http_check", monkeypatch)
        assert list(script_dags(folder, (shard, SCRIPT_SHARDS))) == ["script__http_check"]
        other = (shard + 1) % SCRIPT_SHARDS
        assert script_dags(folder, (other, SCRIPT_SHARDS)) == {}
        assert pipeline_dags(folder, (0, PIPELINE_SHARDS)) == {}

    def test_pipeline_file_builds_only_the_wanted_dag(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        shard = shard_of("custom", PIPELINE_SHARDS)
        self._parse_for("pipeline__custom", monkeypatch)
        dags = pipeline_dags(folder, (shard, PIPELINE_SHARDS))
        assert list(dags) == ["pipeline__custom"]
        assert set(dags["pipeline__custom"].task_dict) == {"check", "disk", "notify", COLLECT_TASK_ID}
        assert script_dags(folder, (0, 1)) == {}

    def test_without_a_parsing_context_the_shards_split_every_dag_once(self, folder: Path) -> None:
        scripts = [set(script_dags(folder, (i, SCRIPT_SHARDS))) for i in range(SCRIPT_SHARDS)]
        pipelines = [set(pipeline_dags(folder, (i, PIPELINE_SHARDS))) for i in range(PIPELINE_SHARDS)]
        assert sum(len(s) for s in scripts) == len(set().union(*scripts)) == len(REPO_SCRIPT_NAMES) + 1
        assert set().union(*pipelines) == {
            "pipeline__data_quality_fanout",
            "pipeline__generate_and_profile",
            "pipeline__custom",
        }
        assert set(script_dags(folder)) == set().union(*scripts)


class TestSpecCache:
    def test_a_changed_manifest_is_validated_again(self, tmp_path: Path) -> None:
        folder = tmp_path / "scripts"
        write(folder, "a.py", "")
        write(folder, "a.yaml", "name: a\nretries: 2\n")
        assert load_registry(folder).scripts["a"].manifest.retries == 2
        assert load_registry(folder).scripts["a"].manifest.retries == 2  # from the cache
        write(folder, "a.yaml", "name: a\nretries: 3\n")  # same size, maybe the same mtime
        assert load_registry(folder).scripts["a"].manifest.retries == 3
        write(folder, "a.yaml", "name: a\nretries: 99\n")
        errors = load_registry(folder).errors
        assert [(e.path.name, e.where) for e in errors] == [("a.yaml", "retries")]

    def test_a_corrupt_or_unwritable_cache_only_costs_speed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ylai_operators.spec_cache import SpecCache

        monkeypatch.setenv("YLAI_SPEC_CACHE_DIR", str(tmp_path / "cache"))
        folder = tmp_path / "scripts"
        write(folder, "a.py", "")
        write(folder, "a.yaml", "name: a\n")
        assert set(load_registry(folder).scripts) == {"a"}
        cache_file = SpecCache("manifests", folder).path
        assert cache_file.exists()
        cache_file.write_bytes(b"not a pickle")
        assert set(load_registry(folder).scripts) == {"a"}
        monkeypatch.setenv("YLAI_SPEC_CACHE_DIR", "/proc/ylai-cannot-write-here")
        assert set(load_registry(folder).scripts) == {"a"}

    def test_pipeline_specs_are_cached_and_checked_against_the_current_registry(
        self, tmp_path: Path, registry: Registry
    ) -> None:
        folder = tmp_path / "pipelines"
        write(folder, "p.yaml", "name: p\nnodes:\n  a: {script: gen}\n")
        assert set(load_pipelines(folder, registry)[0]) == {"p"}
        pipelines, errors = load_pipelines(folder, Registry())  # cached spec, empty registry
        assert pipelines == {}
        assert [e.where for e in errors] == ["node 'a': script"]


def test_collect_outputs_gathers_leaf_outputs_and_node_metadata() -> None:
    from ylai_operators.collect import CollectOutputsOperator

    xcoms = {
        "a": {"outputs": {"path": "/x"}, "exit_code": 0, "artifacts": ["f.csv"]},
        "b": {"outputs": {"rows": 3}, "exit_code": 0, "duration_seconds": 0.1},
    }

    class TI:
        def xcom_pull(self, task_ids: str) -> Any:
            return xcoms.get(task_ids)

    op = CollectOutputsOperator(task_id=COLLECT_TASK_ID, nodes=["a", "b", "c"], leaves=["b", "c"])
    assert op.execute({"ti": TI()}) == {  # type: ignore[typeddict-item]
        "outputs": {"b": {"rows": 3}, "c": {}},
        "nodes": {
            "a": {"outputs": {"path": "/x"}, "exit_code": 0},
            "b": {"outputs": {"rows": 3}, "exit_code": 0, "duration_seconds": 0.1},
            "c": {},
        },
    }


def test_plugin_preloads_what_tasks_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from ylai_operators.preload import MODULES, warm_imports; warm_imports(); "
        "print(sorted(m for m in MODULES if m not in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


class TestLoadingOnlyWhatOneDagUses:
    """The task runner reads the spec and manifests of its DAG, not the catalog (issue 21)."""

    def test_only_the_named_scripts_are_read_once_the_cache_knows_their_files(self, tmp_path: Path) -> None:
        folder = tmp_path / "scripts"
        for name in ("a", "b", "c"):
            write(folder, f"{name}.py", "")
            write(folder, f"{name}.yaml", f"name: {name}\nretries: 1\n")
        assert set(load_registry(folder, names=["a"]).scripts) == {"a", "b", "c"}  # nothing cached yet
        write(folder, "c.yaml", "name: c\nretries: [not, a, number]\n")  # broken, but not needed
        write(folder, "a.yaml", "name: a\nretries: 4\n")  # edited since it was cached: validated again
        partial = load_registry(folder, names=["a", "b"])
        assert set(partial.scripts) == {"a", "b"}
        assert partial.errors == []
        assert partial.scripts["a"].manifest.retries == 4
        assert partial.scripts["a"].path == folder / "a.py"
        assert [e.path.name for e in load_registry(folder).errors] == ["c.yaml"]  # a full load still sees c
        assert set(load_registry(folder, names=["a"]).scripts) == {"a"}  # the partial load kept the cache whole

    @pytest.mark.parametrize(
        "change",
        ["moved", "renamed inside", "broken", "unknown name"],
    )
    def test_a_script_not_where_the_cache_saw_it_means_a_full_load(self, tmp_path: Path, change: str) -> None:
        folder = tmp_path / "scripts"
        for name in ("a", "b"):
            write(folder, f"{name}.py", "")
            write(folder, f"{name}.yaml", f"name: {name}\n")
        load_registry(folder)
        wanted = "a"
        if change == "moved":
            write(folder, "sub/a.yaml", "name: a\n")
            write(folder, "sub/a.py", "")
            (folder / "a.yaml").unlink()
            (folder / "a.py").unlink()
        elif change == "renamed inside":
            write(folder, "a.yaml", "name: z\n")
            wanted = "z"
        elif change == "broken":
            write(folder, "a.yaml", "name: [a\n")
        else:
            wanted = "nope"
        registry = load_registry(folder, names=[wanted])
        assert "b" in registry.scripts  # the whole folder was loaded
        if change == "moved":
            assert registry.scripts["a"].manifest_path == folder / "sub" / "a.yaml"
        if change == "renamed inside":
            assert registry.scripts["z"].manifest_path == folder / "a.yaml"
        if change == "broken":
            assert [e.path.name for e in registry.errors] == ["a.yaml"]

    def test_the_first_file_of_a_duplicated_name_wins_as_in_a_full_load(self, tmp_path: Path) -> None:
        folder = tmp_path / "scripts"
        for stem in ("x1", "x2"):
            write(folder, f"{stem}.py", "")
            write(folder, f"{stem}.yaml", "name: x\n")
        full = load_registry(folder)
        assert [e.where for e in full.errors] == ["name"]
        assert load_registry(folder, names=["x"]).scripts["x"].manifest_path == full.scripts["x"].manifest_path

    def test_a_pipeline_task_reads_only_its_spec_and_scripts(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

        folder = make_dags_folder(
            tmp_path / "dags",
            {
                "scripts/team/notify.sh": "#!/usr/bin/env bash\n",
                "scripts/team/notify.yaml": NOTIFY,
                "pipelines/custom.yaml": CUSTOM_PIPELINE,
            },
        )
        shard = shard_of("custom", PIPELINE_SHARDS)
        full = pipeline_dags(folder, (shard, PIPELINE_SHARDS))  # the dag-processor's parse fills the cache

        def no_folder_load(*args: object, **kwargs: object) -> None:
            raise AssertionError("the task runner loaded a whole folder")

        monkeypatch.setattr(registry_module, "list_tree", no_folder_load)
        monkeypatch.setattr(dag_factory_module, "load_pipelines", no_folder_load)
        monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "pipeline__custom")
        dags = pipeline_dags(folder, (shard, PIPELINE_SHARDS))
        assert list(dags) == ["pipeline__custom"]
        assert set(dags["pipeline__custom"].task_dict) == set(full["pipeline__custom"].task_dict)
        # An edit of the pipeline is seen at once (its file is read and its digest checked).
        spec = (folder / "pipelines" / "custom.yaml").read_text()
        (folder / "pipelines" / "custom.yaml").write_text(
            spec.replace("description: Checks, then measures; notifies in parallel.", "description: edited")
        )
        assert pipeline_dags(folder, (shard, PIPELINE_SHARDS))["pipeline__custom"].description == "edited"
