"""Check an HTTP endpoint: status code and latency, compared with what is expected."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
url = params["url"]
expected = int(params.get("expected_status", 200))
request = urllib.request.Request(url, method=params.get("method", "GET"))
started = time.perf_counter()
try:
    with urllib.request.urlopen(request, timeout=float(params.get("timeout_seconds", 10))) as resp:
        status = resp.status
except urllib.error.HTTPError as exc:
    status = exc.code
except (urllib.error.URLError, TimeoutError, OSError) as exc:
    print(f"http_check: {url} unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
latency_ms = round((time.perf_counter() - started) * 1000, 2)
ok = status == expected
print(f"{url} -> {status} in {latency_ms} ms ({'ok' if ok else f'expected {expected}'})")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"status": status, "latency_ms": latency_ms, "ok": ok}))
if not ok and params.get("fail_on_mismatch", True):
    print(f"http_check: expected status {expected}, got {status}", file=sys.stderr)
    sys.exit(3)
