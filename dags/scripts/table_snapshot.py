"""Say which table a snapshot would be taken of: the example of a run form with live choices.

Its manifest (``table_snapshot.yaml``) takes the database and the table from live lists; the
server checked at submit time that both were among them, so the script can trust its inputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
database, table = str(params["database"]), str(params["table"])
target = params.get("connection") or "nowhere (no connection chosen)"
order = f" ordered by {params['order_by']}" if params.get("order_by") else ""
print(f"snapshot of {database}: {table}{order}, to be written to {target}, in pool {params.get('pool')}")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"database": database, "table": table}))
