"""Combine a profile and a disk report into a pass/fail quality verdict."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
rows = int(params["rows"])
null_cells = int(params.get("null_cells", 0))
disk_bytes = int(params.get("disk_bytes", 0))
max_null_ratio = float(params.get("max_null_ratio", 0.1))
cells = max(rows * max(int(params.get("columns", 1)), 1), 1)
null_ratio = null_cells / cells
passed = rows >= int(params.get("min_rows", 1)) and null_ratio <= max_null_ratio
verdict = "pass" if passed else "fail"
print(f"rows={rows} null_ratio={null_ratio:.4f} disk_bytes={disk_bytes} -> {verdict}")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(
    json.dumps({"verdict": verdict, "null_ratio": round(null_ratio, 6), "rows": rows, "disk_bytes": disk_bytes})
)
if not passed and params.get("fail_on_violation", False):
    print("quality gate failed", file=sys.stderr)
    sys.exit(1)
