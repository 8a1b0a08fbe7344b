"""Print the coverage figures of `make test` in two lines, at the very end of the run.

Reads what the test steps already wrote: the combined Python data (exported with `coverage json`
from .coverage-data/.coverage, see [tool.coverage] in pyproject.toml) and the UI's
coverage/coverage-summary.json (vitest's json-summary reporter). The floors are enforced by those
steps (`coverage report`, vitest's thresholds); they are read here from the same settings only to
be printed beside the figures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY_DATA = ROOT / ".coverage-data"
UI = ROOT / "plugins" / "ylai_plugin" / "ui"
UI_KINDS = ("lines", "branches", "statements", "functions")


def pct(covered: int, total: int) -> str:
    """A share as a percentage with one decimal."""
    return f"{100.0 * covered / total:.1f} %" if total else "n/a"


def python_floor(pyproject: Path = ROOT / "pyproject.toml") -> float:
    """`[tool.coverage.report] fail_under`: the floor `coverage report` enforces."""
    return float(tomllib.loads(pyproject.read_text())["tool"]["coverage"]["report"]["fail_under"])


def ui_floors(config: Path = UI / "vite.config.ts") -> dict[str, float]:
    """The `coverage.thresholds` of the vitest config, e.g. ``{"lines": 80, ...}``."""
    found = re.search(r"thresholds:\s*\{([^}]*)\}", config.read_text())
    if not found:
        return {}
    return {key: float(value) for key, value in re.findall(r"(\w+):\s*([\d.]+)", found.group(1))}


def python_line(report: Path, floor: float) -> str:
    """The totals of `coverage json`'s report, or what is missing."""
    if not report.exists():
        return "Python: no combined coverage data (did the pytest step run?)"
    totals: dict[str, Any] = json.loads(report.read_text())["totals"]
    return (
        f"Python plugins/ + operators/: {totals['percent_covered']:.1f} % of lines and branches "
        f"(lines {pct(totals['covered_lines'], totals['num_statements'])}, "
        f"branches {pct(totals['covered_branches'], totals['num_branches'])}); "
        f"floor {floor:g} %; report .coverage-data/html/index.html"
    )


def ui_line(summary: Path, floors: dict[str, float]) -> str:
    """The totals of vitest's coverage-summary.json, or what is missing."""
    if not summary.exists():
        return "UI: no coverage summary (did the ui-test step run?)"
    total: dict[str, Any] = json.loads(summary.read_text())["total"]
    figures = ", ".join(f"{kind} {total[kind]['pct']:.1f} %" for kind in UI_KINDS)
    levels = {floors.get(kind) for kind in UI_KINDS}
    if len(levels) == 1 and None not in levels:
        floor = f"floor {levels.pop():g} % each"
    else:
        floor = "floors " + ", ".join(f"{kind} {floors[kind]:g} %" for kind in UI_KINDS if kind in floors)
    return f"UI src/: {figures}; {floor}; report {UI.relative_to(ROOT)}/coverage/index.html"


def main() -> int:
    """Export the combined Python data as JSON, then print both lines under one heading."""
    report = PY_DATA / "coverage.json"
    report.unlink(missing_ok=True)
    coverage = Path(sys.executable).parent / "coverage"
    command = [str(coverage), "json", "--quiet", "--fail-under=0", "-o", str(report)]
    subprocess.run(command, cwd=ROOT, check=False)
    print("=" * 30 + " coverage " + "=" * 30)
    print(python_line(report, python_floor()))
    print(ui_line(UI / "coverage" / "coverage-summary.json", ui_floors()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
