"""Print the coverage figures of `make test` in two lines, at the very end of the run.

Reads what the test steps already wrote: the combined Python data (`coverage json` of
.coverage-data/.coverage, see [tool.coverage] in pyproject.toml) and the UI's
coverage/coverage-summary.json (vitest's json-summary reporter). The floors themselves are
enforced by those steps (`coverage report`, vitest's thresholds); this only reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY_JSON = ROOT / ".coverage-data" / "coverage.json"
UI = ROOT / "plugins" / "ylai_plugin" / "ui"
UI_JSON = UI / "coverage" / "coverage-summary.json"


def pct(covered: int, total: int) -> str:
    """A share as a percentage with one decimal."""
    return f"{100.0 * covered / total:.1f} %" if total else "n/a"


def python_line() -> str:
    """Totals of the combined Python data (coverage json writes them from .coverage-data/.coverage)."""
    coverage = Path(sys.executable).parent / "coverage"
    made = subprocess.run(
        [str(coverage), "json", "--quiet", "--fail-under=0", "-o", str(PY_JSON)], cwd=ROOT, check=False
    )
    if made.returncode != 0 or not PY_JSON.exists():
        return "Python: no combined coverage data (did the pytest step run?)"
    totals = json.loads(PY_JSON.read_text())["totals"]
    return (
        f"Python plugins/ + operators/: {totals['percent_covered']:.1f} % of lines and branches "
        f"(lines {pct(totals['covered_lines'], totals['num_statements'])}, "
        f"branches {pct(totals['covered_branches'], totals['num_branches'])}); "
        "floor 85 %; report .coverage-data/html/index.html"
    )


def ui_line() -> str:
    """Totals of the last vitest coverage run."""
    if not UI_JSON.exists():
        return "UI: no coverage summary (did the ui-test step run?)"
    total = json.loads(UI_JSON.read_text())["total"]
    figures = ", ".join(
        f"{kind} {total[kind]['pct']:.1f} %" for kind in ("lines", "branches", "statements", "functions")
    )
    return f"UI src/: {figures}; floor 80 %; report {UI.relative_to(ROOT)}/coverage/index.html"


def main() -> int:
    """Print both lines under one heading."""
    print("=" * 30 + " coverage " + "=" * 30)
    print(python_line())
    print(ui_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
