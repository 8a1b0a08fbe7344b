"""Random valid pipeline specs over a script registry, for round-trip tests and the studio benchmark.

:func:`random_pipeline` draws a spec (as the JSON/YAML data a file holds) whose every node
parameter is a literal that fits the parameter, a ``{param: <pipeline param>}`` of a fitting
type or a ``{from: <node>.<output>}`` binding to an output of a fitting type of an earlier
node; plus ``depends_on``, ``edges``, node retries, timeouts and resources and a ``layout``. The nodes
are drawn in layers (a node binds only to nodes of earlier layers), so the spec is acyclic
and :func:`ylai_operators.pipeline_spec.check_pipeline` accepts it.

Everything comes from the ``random.Random`` passed in: a seed gives the same spec again.
Optional fields are written or left out at random, and values are written the way
:func:`ylai_operators.pipeline_spec.to_yaml` writes them (timeouts as ``"<n>s"`` or a float
of seconds), so a spec's export reads back as the very data drawn.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ylai_operators.catalog import Registry
    from ylai_operators.manifest import ParamSpec

# Strings YAML would read as something else unless quoted, and some that need escaping.
TRICKY_STRINGS = (
    "yes", "no", "on", "null", "~", "123", "1e3", "0x1F", "2024-01-31", "12:30", "a: b", "- item", "#hash",
    "!tag", "&anchor", "*ref", "{x: 1}", "[1, 2]", "'quoted'", '"double"', " leading", "trailing ", "数据质量",
    "tab\there", "line one\nline two", "@daily", "%percent", "back\\slash",
)  # fmt: skip
SCHEDULES = ("@daily", "@hourly", "@once", "0 3 * * *", "*/15 * * * 1-5", "30 2 1 * *")
PIPELINE_PARAM_TYPES = ("integer", "number", "string", "boolean", "date")
_COMPATIBLE = {("integer", "number")}


def fits(source: str | None, target: str | None) -> bool:
    """Whether a value of JSON type ``source`` may feed a parameter of JSON type ``target`` (as the checker says)."""
    if source in (None, "any") or target is None:
        return True
    return source == target or (source, target) in _COMPATIBLE


def _literal(rng: random.Random, spec: ParamSpec) -> Any:
    """A value drawn for ``spec``'s type, not necessarily valid (the caller checks it)."""
    low = spec.minimum if spec.minimum is not None else -1000
    high = spec.maximum if spec.maximum is not None else low + 5000
    if spec.type == "integer":
        return rng.randint(int(low), int(high))
    if spec.type == "number":
        return round(rng.uniform(low, high), rng.choice((0, 1, 3)))
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type == "enum":
        return rng.choice(spec.enum or [None])
    if spec.type == "date":
        return f"20{rng.randint(10, 39)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if spec.type == "date-time":
        return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00+00:00"
    if spec.type == "array":
        choices = list((spec.items or {}).get("enum") or ["a", "b", "c"])
        return rng.sample(choices, rng.randint(1, len(choices)))
    if spec.type == "object":
        return {"limit": rng.randint(1, 9), "labels": rng.sample(TRICKY_STRINGS, 2), "nested": {"ok": True}}
    if spec.pattern and spec.pattern.startswith("^https?"):
        return f"https://example.com/{rng.choice(('health', 'ping', '数据'))}?n={rng.randint(1, 99)}"
    if rng.random() < 0.5:
        return rng.choice(TRICKY_STRINGS)
    return f"/tmp/file_{rng.randint(0, 10**6)}.csv"


def literal_for(rng: random.Random, spec: ParamSpec) -> tuple[bool, Any]:
    """A valid literal for ``spec``: ``(True, value)``, or ``(False, None)`` when none was found."""
    from ylai_operators.param_schema import validate_value

    for _ in range(6):
        value = _literal(rng, spec)
        if validate_value(spec, value) is None:
            return True, value
    if spec.default is not None and validate_value(spec, spec.default) is None:
        return True, spec.default
    return False, None


def _pipeline_params(rng: random.Random) -> dict[str, dict[str, Any]]:
    from ylai_operators.manifest import ParamSpec

    params: dict[str, dict[str, Any]] = {}
    for i in range(rng.randint(0, 5)):
        kind = rng.choice(PIPELINE_PARAM_TYPES)
        param: dict[str, Any] = {"type": kind}
        if rng.random() < 0.3:
            param["description"] = rng.choice(("Rows to make", "阈值", "a: colon", "multi\nline"))
        if kind in ("integer", "number") and rng.random() < 0.5:
            param["minimum"] = 0
        found, param["default"] = literal_for(rng, ParamSpec.model_validate(param))
        if found:  # a default, so that a required script parameter may take it
            params[f"p{i}_{kind}"] = param
    return params


def _resources(rng: random.Random) -> dict[str, Any] | None:
    """Some of a node's resource overrides, or ``None`` (most nodes keep their script's).

    Drawn from a Random of its own (seeded from the node) so that adding it left the other
    draws of a seed as they were.
    """
    if rng.random() >= 0.2:
        return None
    drawn = {
        "cpu": rng.randint(1, 64),
        "memory_mb": rng.choice((16, 256, 1024, 4096)),
        "queue": rng.choice(("default", "heavy", "gpu_队列")),
    }
    return {key: value for key, value in drawn.items() if rng.random() < 0.6} or {"queue": "heavy"}


def _timeout(rng: random.Random) -> Any:
    seconds = round(rng.uniform(0.5, 99.0), 2)
    if rng.random() < 0.5 or seconds.is_integer():
        return f"{rng.randint(1, 7200)}s"  # how to_yaml writes whole seconds
    return seconds


def random_pipeline(
    rng: random.Random,
    registry: Registry,
    nodes: int,
    *,
    layers: int | None = None,
    name: str = "random",
    layout: bool | None = None,
    shuffle: bool = True,
) -> dict[str, Any]:
    """A valid pipeline spec of ``nodes`` nodes as a file holds it (see the module's docstring).

    :param layers: the number of layers (a node binds to nodes of the two layers before its own);
        by default each node may bind to any earlier node.
    :param layout: write a layout of every node (True), of none (False), or at random (None: of
        every node, of some or none).
    :param shuffle: declare the nodes in a random order instead of layer by layer.
    """
    from ylai_operators.manifest import ParamSpec
    from ylai_operators.param_schema import json_type

    scripts = sorted(registry.scripts)
    params = _pipeline_params(rng)
    param_types = {pname: json_type(ParamSpec.model_validate(p)) for pname, p in params.items()}
    ids = [f"{rng.choice(('load', 'step', 'check', 'n', 'Node'))}_{i}" for i in range(nodes)]
    layer_of = {node: (i * layers // nodes if layers else i) for i, node in enumerate(ids)}
    span = 2 if layers else nodes
    drawn: dict[str, dict[str, Any]] = {}
    for node in ids:
        earlier = [n for n in drawn if layer_of[node] - span <= layer_of[n] < layer_of[node]]
        script = registry.scripts[rng.choice(scripts)].manifest
        node_params: dict[str, Any] = {}
        for pname, pspec in script.params.items():
            target = json_type(pspec)
            choice = rng.random()
            sources = [
                f"{up}.{out}"
                for up in earlier
                for out, ospec in registry.scripts[drawn[up]["script"]].manifest.outputs.items()
                if fits(ospec.type, target)
            ]
            refs = [p for p, t in param_types.items() if fits(t, target)]
            if choice < 0.35 and sources:
                node_params[pname] = {"from": rng.choice(sources)}
            elif choice < 0.5 and refs:
                node_params[pname] = {"param": rng.choice(refs)}
            elif choice < 0.75 or pspec.required:
                found, value = literal_for(rng, pspec)
                if found:
                    node_params[pname] = value
                elif pspec.required:
                    raise AssertionError(f"no valid literal for {script.name}.{pname}")
        spec: dict[str, Any] = {"script": script.name}
        if node_params or rng.random() < 0.2:
            spec["params"] = node_params
        if earlier and rng.random() < 0.3:
            spec["depends_on"] = rng.sample(earlier, min(len(earlier), rng.randint(1, 2)))
        if rng.random() < 0.2:
            spec["retries"] = rng.randint(0, 5)
        if rng.random() < 0.2:
            spec["timeout"] = _timeout(rng)
        if resources := _resources(random.Random(f"{name}/{node}/{script.name}")):  # noqa: S311 - test data
            spec["resources"] = resources
        drawn[node] = spec
    data: dict[str, Any] = {"name": name}
    optional: dict[str, Any] = {
        "title": rng.choice(("Random pipeline", "随机流水线", "yes")),
        "description": rng.choice(("", "One line.", "Two lines:\nthe second one.\n", "含中文的描述")),
        "owner": rng.choice(("data-platform", "sre", "分析师")),
        "tags": rng.sample(["random", "test", "数据", "yes"], rng.randint(0, 3)),
        "schedule": rng.choice((None, *SCHEDULES)),
        "retries": rng.randint(0, 20),
        "params": params,
    }
    for key, value in optional.items():
        if rng.random() < 0.6 or (key == "params" and value):  # the nodes may refer to the params
            data[key] = value
    order = list(drawn)
    if shuffle:
        rng.shuffle(order)
    data["nodes"] = {node: drawn[node] for node in order}
    pairs = [(a, b) for b in ids for a in ids if layer_of[b] - span <= layer_of[a] < layer_of[b]]
    if pairs and rng.random() < 0.4:
        data["edges"] = [list(pair) for pair in rng.sample(pairs, min(len(pairs), rng.randint(1, 4)))]
    wanted = rng.choice(("all", "some", "none")) if layout is None else ("all" if layout else "none")
    placed = {
        node: {"x": round(rng.uniform(-3000, 3000), rng.choice((0, 1, 2))), "y": float(rng.randint(-500, 9000))}
        for node in ids
        if wanted == "all" or (wanted == "some" and rng.random() < 0.5)
    }
    if placed:  # an empty layout is no layout (the editor's API cannot tell them apart)
        data["layout"] = placed
    return data
