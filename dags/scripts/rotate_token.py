"""Pretend to rotate a service's API token: the example of a script that needs approval."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
service = str(params["service"])
rotated_at = datetime.now(UTC).isoformat()
# A real script would call the service's API here; the old token never reaches the log.
print(f"rotated the token of {service} at {rotated_at}")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"service": service, "rotated_at": rotated_at}))
