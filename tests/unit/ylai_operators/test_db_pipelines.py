"""``ylai_operators.db_pipelines``: published database pipelines, checked as the DAG files build them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from ylai_operators import db_pipelines, db_scripts
from ylai_operators.registry import load_registry

REGISTRY = load_registry(REPO_ROOT / "dags" / "scripts")
ECHO = {"runtime": "bash", "version": 2, "content": "echo hi", "manifest": {"params": {"n": {"type": "integer"}}}}


def record(name: str, *scripts: str) -> dict[str, Any]:
    nodes = {f"n{i}": {"script": s} for i, s in enumerate(scripts)}
    return {"version": 1, "spec": {"name": name, "nodes": nodes}}


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    values: dict[str, Any] = {}
    reads: list[str] = []
    values["_reads"] = reads

    def read(key: str) -> Any:
        reads.append(key)
        return values.get(key)

    monkeypatch.setattr(db_scripts, "read_json_variable", read)
    return values


def test_repository_scripts_only_read_one_variable(variables: dict[str, Any]) -> None:
    variables[db_pipelines.VARIABLE] = {"only_repo": record("only_repo", "disk_usage")}
    pipelines, registry, errors = db_pipelines.load_db_pipelines(REGISTRY)
    assert (list(pipelines), errors) == (["only_repo"], [])
    assert registry is REGISTRY
    assert variables["_reads"] == [db_pipelines.VARIABLE]


def test_database_scripts_are_read_when_a_node_needs_one(variables: dict[str, Any]) -> None:
    variables[db_pipelines.VARIABLE] = {"mixed": record("mixed", "disk_usage", "echo")}
    variables[db_scripts.VARIABLE] = {"echo": ECHO, "disk_usage": ECHO}
    pipelines, registry, errors = db_pipelines.load_db_pipelines(REGISTRY)
    assert (list(pipelines), errors) == (["mixed"], [])
    assert registry.scripts["echo"].content == "echo hi"
    assert registry.scripts["disk_usage"].content is None  # the repository's script keeps its name


def test_select_and_broken_records(variables: dict[str, Any]) -> None:
    variables[db_pipelines.VARIABLE] = {
        "a": record("a", "disk_usage"),
        "b": record("b", "disk_usage"),
        "renamed": record("other", "disk_usage"),
        "bad": {"version": 1},
        "unknown": record("unknown", "nope"),
    }
    pipelines, _registry, errors = db_pipelines.load_db_pipelines(REGISTRY, select=lambda n: n != "b")
    assert list(pipelines) == ["a"]
    assert sorted((e.path.stem, e.where) for e in errors) == [
        ("bad", ""),
        ("renamed", "name"),
        ("unknown", "node 'n0': script"),
    ]


def test_an_unreadable_variable_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(key: str) -> Any:
        raise RuntimeError("no database")

    monkeypatch.setattr(db_scripts, "read_json_variable", fail)
    pipelines, registry, errors = db_pipelines.load_db_pipelines(REGISTRY)
    assert (pipelines, registry) == ({}, REGISTRY)
    assert [e.where for e in errors] == [db_pipelines.VARIABLE]
