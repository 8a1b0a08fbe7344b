"""YAML pipeline specs: registered scripts chained by their outputs, validated and checked.

What a pipeline is and whether it holds together (scripts, params, bindings, types,
cycles); :mod:`ylai_operators.pipeline_dags` turns a checked pipeline into a DAG.

.. code-block:: yaml

    name: generate_and_profile
    params:
      rows: {type: integer, default: 1000, minimum: 1}
    nodes:
      generate:
        script: data_generator
        params: {rows: {param: rows}, seed: 7}
      profile:
        script: csv_profiler
        params: {path: {from: generate.path}}

A node parameter is a literal, ``{param: <pipeline param>}`` or
``{from: <node>.<output>}``; a binding also orders the nodes. ``depends_on``
adds ordering without data. Every problem is reported with the file and node.

An optional top-level ``layout`` (``{node: {x, y}}``) keeps where an editor drew each node;
the checker and the DAG builder ignore it, and :func:`to_yaml` writes it back, so a drawing and
a reviewable file stay one artefact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ylai_operators.manifest import SLUG, ApprovalSpec, ParamSpec, check_dependencies, iso_dates, parse_duration
from ylai_operators.param_schema import json_type, validate_value
from ylai_operators.registry import Registry, SpecError, pydantic_errors, read_yaml
from ylai_operators.spec_cache import SpecCache, digest

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta

COLLECT_TASK_ID = "collect_outputs"
NODE_ID = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeResources(_Strict):
    """A node's overrides of its script's ``resources`` (:class:`~ylai_operators.manifest.ResourceHints`).

    Each field left out keeps the manifest's value: ``cpu`` (pool slots), ``memory_mb`` (the
    limit on the script's process tree, MiB), ``queue`` (the Celery queue).
    """

    cpu: int | None = Field(default=None, ge=1, le=64)
    memory_mb: int | None = Field(default=None, ge=16)
    queue: str | None = Field(default=None, min_length=1)


class NodeSpec(_Strict):
    """One step of a pipeline."""

    script: str
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    retries: int | None = Field(default=None, ge=0, le=20)
    timeout: Any = None
    resources: NodeResources | None = None

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)


class NodePosition(_Strict):
    """Where an editor drew a node (canvas units); no meaning for the DAG."""

    x: float
    y: float


class PipelineSpec(_Strict):
    """A validated pipeline file (before checking it against the script registry)."""

    name: str = Field(pattern=SLUG)
    title: str | None = None
    description: str = ""
    owner: str = "ylai"
    tags: list[str] = Field(default_factory=list)
    schedule: str | None = None
    retries: int = Field(default=1, ge=0, le=20)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    nodes: dict[str, NodeSpec] = Field(min_length=1)
    edges: list[tuple[str, str]] = Field(default_factory=list)
    alerts: dict[str, Any] | None = None
    # Only for editors: never read by check_pipeline nor by the DAG builder.
    layout: dict[str, NodePosition] = Field(default_factory=dict)
    # Who must approve a run before its first node starts (none: its sensitive scripts decide).
    approval: ApprovalSpec | None = None

    @field_validator("params")
    @classmethod
    def _dependencies(cls, value: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        check_dependencies(value)
        return value

    @field_validator("nodes")
    @classmethod
    def _node_ids(cls, value: dict[str, NodeSpec]) -> dict[str, NodeSpec]:
        for key in value:
            if not re.match(NODE_ID, key):
                raise ValueError(f"node id {key!r} must start with a letter and use letters, digits, underscores")
            if key == COLLECT_TASK_ID:
                raise ValueError(f"node id {COLLECT_TASK_ID!r} is reserved")
        return value


@dataclass(frozen=True)
class Binding:
    """A node parameter fed from an upstream node's output."""

    node: str
    output: str


@dataclass(frozen=True)
class ParamRef:
    """A node parameter fed from a pipeline-level param."""

    name: str


@dataclass(frozen=True)
class Pipeline:
    """A pipeline checked against the registry, ready to become a DAG."""

    spec: PipelineSpec
    path: Path
    order: list[str]  # a topological order of the nodes
    upstream: dict[str, set[str]]

    @property
    def name(self) -> str:
        """The pipeline's slug."""
        return self.spec.name

    @property
    def leaves(self) -> list[str]:
        """Nodes nothing depends on: their outputs are the pipeline's result."""
        used = {u for ups in self.upstream.values() for u in ups}
        return [n for n in self.order if n not in used]


def parse_value(raw: Any) -> Any:
    """A node parameter as written: a :class:`Binding`, a :class:`ParamRef` or a literal value."""
    raw = iso_dates(raw)
    if isinstance(raw, dict) and len(raw) == 1:
        if "from" in raw and isinstance(raw["from"], str):
            node, _, output = raw["from"].partition(".")
            return Binding(node, output)
        if "param" in raw and isinstance(raw["param"], str):
            return ParamRef(raw["param"])
    return raw


SCHEDULE_PRESETS = {
    "@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually",
    "@midnight",
}  # fmt: skip


def check_schedule(schedule: str | None) -> str | None:
    """Return why Airflow would refuse ``schedule``, or ``None``.

    Airflow builds the DAG happily and only refuses a bad cron expression when
    the DAG is bagged, far from the spec file; checking here names the file.
    """
    if schedule is None or schedule in SCHEDULE_PRESETS:
        return None
    from croniter import croniter

    if croniter.is_valid(schedule):
        return None
    return f"{schedule!r} is neither a cron expression nor one of {', '.join(sorted(SCHEDULE_PRESETS))}"


_COMPATIBLE = {("integer", "number")}


def _types_compatible(source: str | None, target: str | None) -> bool:
    if source in (None, "any") or target is None:
        return True
    return source == target or (source, target) in _COMPATIBLE


def _find_cycle(upstream: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for up in sorted(upstream[node]):
            if state.get(up) == 1:
                return [*stack[stack.index(up) :], up]
            if up not in state and (cycle := visit(up)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(upstream):
        if node not in state and (cycle := visit(node)):
            return list(reversed(cycle))
    return None


def _topological(upstream: dict[str, set[str]], declared: list[str]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(declared):
        for node in declared:
            if node not in done and upstream[node] <= done:
                order.append(node)
                done.add(node)
    return order


def check_pipeline(spec: PipelineSpec, path: Path, registry: Registry) -> Pipeline | list[SpecError]:
    """Check a pipeline against the registry: scripts, params, bindings, types, cycles."""
    errors: list[SpecError] = []

    def err(node: str | None, where: str, reason: str) -> None:
        prefix = f"node {node!r}" if node else ""
        errors.append(SpecError(path, f"{prefix}: {where}" if prefix and where else prefix or where, reason))

    schedule_problem = check_schedule(spec.schedule)
    if schedule_problem:
        err(None, "schedule", schedule_problem)
    if spec.schedule is not None:
        for name, declared_param in spec.params.items():
            if declared_param.required:
                err(None, f"params.{name}", "a scheduled pipeline cannot require a value: give it a default")
    upstream: dict[str, set[str]] = {n: set() for n in spec.nodes}
    for node_id, node in spec.nodes.items():
        script = registry.scripts.get(node.script)
        if script is None:
            known = ", ".join(sorted(registry.scripts)) or "none"
            err(node_id, "script", f"unknown script {node.script!r} (known: {known})")
            continue
        declared = script.manifest.params
        for name in node.params:
            if name not in declared:
                err(node_id, f"params.{name}", f"script {node.script!r} has no parameter {name!r}")
        for name, pspec in declared.items():
            if pspec.required and name not in node.params:
                err(node_id, f"params.{name}", f"required parameter of script {node.script!r} is not set")
        for name, raw in node.params.items():
            if name not in declared:
                continue
            target = declared[name]
            value = parse_value(raw)
            if isinstance(value, Binding):
                src = spec.nodes.get(value.node)
                if src is None or value.node == node_id:
                    err(node_id, f"params.{name}", f"'from: {value.node}.{value.output}' names no other node")
                    continue
                src_script = registry.scripts.get(src.script)
                if src_script is None:
                    continue  # reported on that node
                outputs = src_script.manifest.outputs
                if value.output not in outputs:
                    have = ", ".join(outputs) or "none"
                    err(
                        node_id,
                        f"params.{name}",
                        f"node {value.node!r} (script {src.script!r}) has no output {value.output!r} "
                        f"(declared: {have})",
                    )
                    continue
                out_type = outputs[value.output].type
                if not _types_compatible(out_type, json_type(target)):
                    err(
                        node_id,
                        f"params.{name}",
                        f"type mismatch: {value.node}.{value.output} is {out_type} but parameter "
                        f"{name!r} expects {json_type(target)}",
                    )
                upstream[node_id].add(value.node)
            elif isinstance(value, ParamRef):
                pparam = spec.params.get(value.name)
                if pparam is None:
                    err(node_id, f"params.{name}", f"'param: {value.name}' is not a pipeline param")
                elif target.required and not pparam.required and pparam.default is None:
                    err(
                        node_id,
                        f"params.{name}",
                        f"required parameter is fed from pipeline param {value.name!r}, "
                        "which is optional and has no default",
                    )
                elif not _types_compatible(json_type(pparam), json_type(target)):
                    err(
                        node_id,
                        f"params.{name}",
                        f"type mismatch: pipeline param {value.name!r} is {json_type(pparam)} but parameter "
                        f"{name!r} expects {json_type(target)}",
                    )
            elif (problem := validate_value(target, value)) is not None:
                err(node_id, f"params.{name}", problem)
        for dep in node.depends_on:
            if dep not in spec.nodes or dep == node_id:
                err(node_id, "depends_on", f"{dep!r} is not another node of this pipeline")
            else:
                upstream[node_id].add(dep)
    for i, (a, b) in enumerate(spec.edges):
        bad = [n for n in (a, b) if n not in spec.nodes]
        if bad:
            err(None, f"edges.{i}", f"unknown node {bad[0]!r}")
        elif a == b:
            err(None, f"edges.{i}", f"node {a!r} cannot depend on itself")
        else:
            upstream[b].add(a)
    if errors:
        return errors
    cycle = _find_cycle(upstream)
    if cycle:
        return [SpecError(path, "nodes", "cycle: " + " -> ".join(cycle))]
    return Pipeline(spec=spec, path=path, order=_topological(upstream, list(spec.nodes)), upstream=upstream)


_NODE_WHERE = re.compile(r"^node '(?P<node>[^']+)'(?:: (?P<field>.*))?$")


def locate(error: SpecError) -> tuple[str | None, str]:
    """The node (or ``None`` for the pipeline itself) and field of a problem :func:`check_pipeline` found.

    The inverse of how :func:`check_pipeline` writes ``where``, kept beside it. A cycle is put
    on its first node, under ``depends_on``, the field an editor would change to break it.
    """
    match = _NODE_WHERE.match(error.where)
    if match:
        return match["node"], match["field"] or ""
    if error.where == "nodes" and error.reason.startswith("cycle: "):
        return error.reason.removeprefix("cycle: ").split(" -> ")[0], "depends_on"
    return None, error.where


def _duration_text(value: timedelta) -> int | float | str:
    seconds = value.total_seconds()
    return f"{int(seconds)}s" if seconds.is_integer() else seconds


def to_data(spec: PipelineSpec) -> dict[str, Any]:
    """The fields of ``spec`` that were written, as a pipeline file holds them (timeouts as ``"90s"``).

    Fields left at their default and not written stay out, so that a file written from this
    parses to the same spec as the one it came from.
    """
    data = spec.model_dump(mode="python", by_alias=True, exclude_unset=True)
    data["nodes"] = {
        node_id: {
            **node.model_dump(mode="python", exclude_unset=True),
            **({"timeout": _duration_text(node.timeout)} if node.timeout is not None else {}),
        }
        for node_id, node in spec.nodes.items()
    }
    if "edges" in data:
        data["edges"] = [list(edge) for edge in spec.edges]
    if spec.approval is not None and "timeout" in data.get("approval", {}):
        data["approval"]["timeout"] = _duration_text(spec.approval.timeout)
    return data


def to_yaml(spec: PipelineSpec) -> str:
    """``spec`` as a pipeline file that :func:`load_pipelines` reads back unchanged (layout included)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        # A multi-line description stays a readable block in review, not one quoted line.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return str(yaml.dump(to_data(spec), Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False))


def _validate_spec(path: Path, raw: bytes | None) -> PipelineSpec | list[SpecError]:
    data, error = read_yaml(path, raw)
    if error:
        return [error]
    if not isinstance(data, dict):
        return [SpecError(path, "", "a pipeline must be a YAML mapping")]
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        return pydantic_errors(path, exc)


def read_spec(path: Path, cache: SpecCache | None = None) -> PipelineSpec | list[SpecError]:
    """Parse and validate one pipeline file, without checking it against the registry."""
    raw: bytes | None = None
    key = ""
    if cache is not None:
        try:
            raw = path.read_bytes()
        except OSError:
            raw = None
        if raw is not None:
            key = digest(raw)
            cached = cache.get(path, key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
    spec = _validate_spec(path, raw)
    if cache is not None and raw is not None and isinstance(spec, PipelineSpec):
        cache.put(path, key, spec, name=spec.name)
    return spec


def load_pipeline(path: Path, registry: Registry) -> Pipeline | list[SpecError]:
    """Parse, validate and check one pipeline file."""
    spec = read_spec(path)
    if isinstance(spec, list):
        return spec
    return check_pipeline(spec, path, registry)


def find_spec(folder: Path, name: str) -> tuple[Path, PipelineSpec] | None:
    """The spec of pipeline ``name`` from the file the cache last saw it in, or ``None``.

    For the task runner, which builds one pipeline's DAG: it reads one file instead of the
    folder. ``None`` (not cached, moved, broken, renamed) means: load the folder.
    """
    if not folder.is_dir():
        return None
    cache = SpecCache("pipelines", folder)
    paths = cache.paths_named(name)
    if not paths:
        return None
    spec = read_spec(paths[0], cache)
    if isinstance(spec, list) or spec.name != name:
        return None
    return paths[0], spec


def load_pipelines(
    folder: Path,
    registry: Registry,
    *,
    select: Callable[[str], bool] | None = None,
    use_cache: bool = True,
) -> tuple[dict[str, Pipeline], list[SpecError]]:
    """Load every pipeline under ``folder``; broken ones become errors, the rest load.

    :param select: check (against the registry) and return only the pipelines whose name it
        accepts; the others are still read, so that duplicate names are detected the same way.
    :param use_cache: reuse specs validated by earlier loads (:mod:`ylai_operators.spec_cache`).
    """
    pipelines: dict[str, Pipeline] = {}
    errors: list[SpecError] = []
    if not folder.is_dir():
        return pipelines, errors
    cache = SpecCache("pipelines", folder) if use_cache else None
    seen: dict[str, Path] = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        spec = read_spec(path, cache)
        if isinstance(spec, list):
            errors.extend(spec)
            continue
        if spec.name in seen:
            errors.append(SpecError(path, "name", f"{spec.name!r} is already used by {seen[spec.name].name}"))
            continue
        seen[spec.name] = path
        if select is not None and not select(spec.name):
            continue
        checked = check_pipeline(spec, path, registry)
        if isinstance(checked, list):
            errors.extend(checked)
        else:
            pipelines[checked.name] = checked
    if cache is not None:
        cache.save()
    return pipelines, errors
