"""Generate a synthetic CSV (or JSON lines) data set with reproducible randomness.

ylai passes parameters in YLAI_PARAMS_FILE (and as --name value argv); the result
goes to YLAI_RESULT_FILE and the data file to YLAI_ARTIFACTS_DIR.
"""

from __future__ import annotations

import csv
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
rows = int(params.get("rows", 1000))
columns = params.get("columns") or ["id", "day", "amount", "category"]
rng = random.Random(params.get("seed", 42))
start = date.fromisoformat(params.get("start_date") or "2024-01-01")
null_ratio = float(params.get("null_ratio", 0.0))
fmt = params.get("output_format", "csv")
options = params.get("options") or {}
categories = options.get("categories", ["alpha", "beta", "gamma"])

if params.get("notes"):
    print("notes:", params["notes"].splitlines()[0])
if params.get("api_token"):
    # The value is masked in the task log by Airflow's secrets masker.
    print("using api token", params["api_token"])

out_dir = Path(os.environ.get("YLAI_ARTIFACTS_DIR", "."))
out_dir.mkdir(parents=True, exist_ok=True)
path = out_dir / f"generated.{'csv' if fmt == 'csv' else 'jsonl'}"


def make_row(i: int) -> dict[str, object]:
    values: dict[str, object] = {
        "id": i,
        "day": (start + timedelta(days=i % 365)).isoformat(),
        "amount": round(rng.uniform(0, 1000), 2),
        "category": rng.choice(categories),
    }
    return {c: (None if c != "id" and rng.random() < null_ratio else values.get(c)) for c in columns}


with path.open("w", newline="") as fh:
    if fmt == "csv":
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for i in range(rows):
            writer.writerow(make_row(i))
    else:
        for i in range(rows):
            fh.write(json.dumps(make_row(i)) + "\n")

print(f"wrote {rows} rows to {path}")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(
    json.dumps({"path": str(path), "rows": rows, "columns": columns, "format": fmt})
)
