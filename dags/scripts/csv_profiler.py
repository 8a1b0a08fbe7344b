"""Profile a CSV file with pandas: row count, nulls and per-column statistics."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
path = Path(params["path"])
if not path.is_file():
    print(f"csv_profiler: no such file: {path}", file=sys.stderr)
    sys.exit(2)

frame = pd.read_csv(path, sep=params.get("delimiter", ","), nrows=params.get("max_rows"))
columns: dict[str, dict[str, object]] = {}
for name in frame.columns:
    series = frame[name]
    stats: dict[str, object] = {
        "dtype": str(series.dtype),
        "nulls": int(series.isna().sum()),
        "unique": int(series.nunique(dropna=True)),
    }
    if pd.api.types.is_numeric_dtype(series):
        described = series.describe()
        stats |= {k: None if pd.isna(described[k]) else float(described[k]) for k in ("min", "max", "mean", "std")}
    columns[str(name)] = stats
    print(f"{name}: {stats}")

profile = {"rows": len(frame), "columns": columns}
artifact = Path(os.environ.get("YLAI_ARTIFACTS_DIR", ".")) / "profile.json"
artifact.write_text(json.dumps(profile, indent=2))
null_cells = int(frame.isna().sum().sum())
print(f"{len(frame)} rows, {len(frame.columns)} columns, {null_cells} empty cells")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(
    json.dumps(
        {
            "rows": len(frame),
            "columns": len(frame.columns),
            "null_cells": null_cells,
            "profile_path": str(artifact),
            "column_stats": columns,
        }
    )
)
