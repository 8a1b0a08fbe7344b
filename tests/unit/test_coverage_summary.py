"""`make test` measures coverage against its floors and prints the figures last (scripts/coverage_summary.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def summary() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_summary", REPO_ROOT / "scripts" / "coverage_summary.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floors_are_the_promised_ones_and_make_test_enforces_them(summary: ModuleType) -> None:
    assert summary.python_floor() >= 85
    floors = summary.ui_floors()
    assert set(floors) == {"lines", "branches", "statements", "functions"}
    assert min(floors.values()) >= 80
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\npytest:", 1)[1].split("\n\n", 1)[0]
    assert "coverage run -m pytest" in recipe
    assert "coverage combine" in recipe
    assert "coverage report" in recipe
    scripts = json.loads((REPO_ROOT / "plugins" / "ylai_plugin" / "ui" / "package.json").read_text())["scripts"]
    assert "--coverage" in scripts["test"].split()


def test_python_line_gives_the_combined_figure_and_its_parts(summary: ModuleType, tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    totals = {
        "percent_covered": 86.04,
        "covered_lines": 900,
        "num_statements": 1000,
        "covered_branches": 150,
        "num_branches": 200,
    }
    report.write_text(json.dumps({"totals": totals}))
    assert summary.python_line(report, 85.0) == (
        "Python plugins/ + operators/: 86.0 % of lines and branches (lines 90.0 %, branches 75.0 %); "
        "floor 85 %; report .coverage-data/html/index.html"
    )
    assert summary.python_line(tmp_path / "missing.json", 85.0).startswith("Python: no combined coverage data")
    assert summary.pct(0, 0) == "n/a"


def test_ui_line_names_each_figure_and_the_floors(summary: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "coverage-summary.json"
    kinds = {"lines": 91.25, "branches": 80.5, "statements": 90, "functions": 85.04}
    path.write_text(json.dumps({"total": {k: {"pct": v} for k, v in kinds.items()}}))
    same = dict.fromkeys(kinds, 80.0)
    assert summary.ui_line(path, same) == (
        "UI src/: lines 91.2 %, branches 80.5 %, statements 90.0 %, functions 85.0 %; floor 80 % each; "
        "report plugins/ylai_plugin/ui/coverage/index.html"
    )
    assert "; floors lines 90 %, branches 80 %;" in summary.ui_line(path, {"lines": 90.0, "branches": 80.0})
    assert summary.ui_line(tmp_path / "none.json", same).startswith("UI: no coverage summary")


def test_ui_floors_reads_the_thresholds_of_a_vitest_config(summary: ModuleType, tmp_path: Path) -> None:
    config = tmp_path / "vite.config.ts"
    config.write_text("test: { coverage: { provider: 'v8', thresholds: { lines: 82.5, branches: 80 } } }")
    assert summary.ui_floors(config) == {"lines": 82.5, "branches": 80.0}
    config.write_text("test: { coverage: { provider: 'v8' } }")
    assert summary.ui_floors(config) == {}
