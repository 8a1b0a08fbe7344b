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


# --------------------------------------------------------------------------------------------
# The ylai_spec_errors report: database pipelines (and scripts) beside the repository's files
# --------------------------------------------------------------------------------------------


def with_params(name: str, script: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "spec": {"name": name, "nodes": {"run": {"script": script, "params": params}}}}


def test_spec_errors_report_database_pipelines(variables: dict[str, Any]) -> None:
    from ylai_operators.dag_factory import spec_errors

    variables[db_scripts.VARIABLE] = {
        "echo": ECHO,
        # Changed since the pipeline was saved: ``n`` is a string now.
        "count": {**ECHO, "manifest": {"params": {"n": {"type": "string", "enum": ["a", "b"]}}}},
        "broken": {"runtime": "cobol", "content": ""},
    }
    variables[db_pipelines.VARIABLE] = {
        "fine": with_params("fine", "echo", {"n": 5}),
        "lost_script": with_params("lost_script", "deleted_script", {}),  # the script was deleted
        "param_mismatch": with_params("param_mismatch", "count", {"n": 5}),
        "generate_and_profile": record("generate_and_profile", "nope"),  # hidden by the repository's file
    }
    errors = spec_errors(REPO_ROOT / "dags")
    assert sorted(str(e.path) for e in errors) == [
        "database/broken",
        "database/lost_script.yaml",
        "database/param_mismatch.yaml",
    ]
    by_path = {str(e.path): e for e in errors}
    assert by_path["database/broken"].where == "manifest"
    lost = by_path["database/lost_script.yaml"]
    assert lost.where == "node 'run': script"
    assert lost.reason.startswith("unknown script 'deleted_script' (known: count, ")  # database scripts count
    mismatch = by_path["database/param_mismatch.yaml"]
    assert mismatch.where == "node 'run': params.n"
    assert str(mismatch).startswith("database/param_mismatch.yaml: node 'run': params.n: ")


def test_spec_errors_follow_the_repository_errors_once_each(variables: dict[str, Any], tmp_path: Any) -> None:
    import shutil

    from ylai_operators.dag_factory import spec_errors

    shutil.copytree(REPO_ROOT / "dags" / "scripts", tmp_path / "scripts")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "bad.yaml").write_text("name: bad\nnodes:\n  x: {script: nope}\n")
    variables[db_scripts.VARIABLE] = {"broken": {"runtime": "cobol", "content": ""}}
    # Both need a database script: the scripts are read twice, their problem is reported once.
    variables[db_pipelines.VARIABLE] = {"p1": record("p1", "gone"), "p2": record("p2", "gone")}
    errors = [str(e) for e in spec_errors(tmp_path)]
    assert errors[0].startswith("pipelines/bad.yaml: node 'x': script: unknown script 'nope'")
    assert [e.split(":")[0] for e in errors[1:]] == ["database/broken", "database/p1.yaml", "database/p2.yaml"]


def test_an_unreadable_variable_is_no_spec_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_operators.dag_factory import spec_errors

    def fail(key: str) -> Any:
        raise RuntimeError("no database")

    monkeypatch.setattr(db_scripts, "read_json_variable", fail)
    assert spec_errors(REPO_ROOT / "dags") == []
