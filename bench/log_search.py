"""Log search over 10,000 runs' task logs: p50/p90 of ``GET /logs/search``'s scan (target p90 < 1 s).

Fills a scratch SQLite metadata database (in a temporary folder, never the project's or the
tests' databases) with 10,000 script runs (one task instance each, 20 scripts, Airflow's own
``dag_run``/``task_instance``/``log_template`` table definitions) and writes each run's task log
where Airflow's file task handler puts it (``[logging] base_log_folder`` + the default filename
template), as the JSON lines Airflow's task runner writes: 30 lines of about 110 bytes each,
one run in 500 with an error line naming ``disk full``.

Then times :func:`ylai_plugin.domain.log_search.search` (what the route calls after the
permission check) with the shipped limits (``[ylai] log_search_max_bytes`` = 4 MiB,
``log_search_max_seconds`` = 5) for several queries, each run ``--repeat`` times, file cache
warm (the first round is dropped):

- ``rare text``: a word in 20 lines of 300,000: every request scans up to its byte limit;
- ``common text``: a word on every line: the page (50 lines) fills at once;
- ``level=error``: only error lines (no text): every line is parsed, up to the byte limit;
- ``regex``: ``disk (full|quota) on /\\w+``, parsed and matched on every line, up to the limit;
- ``one script``: the rare text in one script's runs (1 in 20).

Prints p50/p90 per query and overall, and each p90 as a ratio of the 1 s target.

    .venv/bin/python bench/log_search.py [--runs 10000] [--repeat 20] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import REPO_ROOT, machine_note

LINES_PER_LOG = 30
SCRIPTS = 20
TARGET_SECONDS = 1.0


def _dag(r: int) -> str:
    return f"script__bench_{r % SCRIPTS:02d}"


def _run_id(r: int) -> str:
    return f"manual__2026-11-01T00:00:00+00:00_{r:06d}"


def fill(url: str, folder: Path, runs: int) -> None:
    """``runs`` runs with one task instance each, and each one's log file."""
    from airflow.models import DagRun, TaskInstance, import_all_models
    from airflow.models.tasklog import LogTemplate
    from sqlalchemy import create_engine, insert
    from sqlalchemy.schema import CreateTable

    import_all_models()
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in (LogTemplate.__table__, DagRun.__table__, TaskInstance.__table__):
            conn.execute(CreateTable(table, include_foreign_key_constraints=[]))
            for index in table.indexes:
                index.create(conn)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    run_rows, ti_rows = [], []
    for r in range(runs):
        t0 = start + timedelta(minutes=r)
        failed = r % 500 == 7
        run_rows.append(
            {
                "id": r + 1,
                "dag_id": _dag(r),
                "run_id": _run_id(r),
                "run_type": "manual",
                "state": "failed" if failed else "success",
                "run_after": t0,
                "logical_date": t0,
                "log_template_id": None,
                "clear_number": 0,
                "span_status": "not_started",
            }
        )
        ti_rows.append(
            {
                "id": uuid.UUID(int=r),
                "task_id": _dag(r).removeprefix("script__"),
                "dag_id": _dag(r),
                "run_id": _run_id(r),
                "map_index": -1,
                "try_number": 1,
                "max_tries": 1,
                "pool": "default_pool",
                "pool_slots": 1,
                "queue": "default",
                "priority_weight": 1,
                "state": "failed" if failed else "success",
                "start_date": t0,
                "end_date": t0 + timedelta(seconds=30),
                "span_status": "not_started",
                "custom_operator_name": "ScriptOperator",
            }
        )
        _write_log(folder, r, t0, failed)
    with engine.begin() as conn:
        conn.execute(insert(DagRun.__table__), run_rows)
        conn.execute(insert(TaskInstance.__table__), ti_rows)
    engine.dispose()


def _write_log(folder: Path, r: int, t0: datetime, failed: bool) -> None:
    path = folder / f"dag_id={_dag(r)}/run_id={_run_id(r)}/task_id={_dag(r).removeprefix('script__')}/attempt=1.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(LINES_PER_LOG):
        stamp = (t0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event = f"processed batch {i} of run {r}: 1000 rows in {i * 7 % 97} ms, checksum {r * 31 + i:08x}"
        level = "info"
        if failed and i == LINES_PER_LOG - 2:
            event, level = f"OSError: disk full on /var (run {r})", "error"
        lines.append(json.dumps({"timestamp": stamp, "event": event, "level": level, "logger": "task.stdout"}))
    path.write_text("\n".join(lines) + "\n")


QUERIES = {
    "rare text": {"q": "disk full"},
    "common text": {"q": "rows in"},
    "level=error": {"levels": frozenset({"error"})},
    "regex": {"q": r"disk (full|quota) on /\w+", "regex": True},
    "one script": {"q": "disk full", "dag_ids": frozenset({"script__bench_07"})},
}


def measure(url: str, runs: int, repeat: int) -> dict[str, list[float]]:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from ylai_plugin import config
    from ylai_plugin.domain import log_search

    engine = create_engine(url)
    allowed = frozenset(_dag(r) for r in range(SCRIPTS))
    times: dict[str, list[float]] = {name: [] for name in QUERIES}
    scanned: dict[str, tuple[int, int, str | None, int]] = {}
    for round_no in range(repeat + 1):
        for name, params in QUERIES.items():
            filters = log_search.Filters(**params)  # type: ignore[arg-type]
            with Session(engine) as session:
                began = time.perf_counter()
                page = log_search.search(
                    session,
                    filters,
                    allowed,
                    limit=50,
                    cursor=None,
                    max_bytes=config.LOG_SEARCH_MAX_BYTES.get(),
                    max_seconds=config.LOG_SEARCH_MAX_SECONDS.get(),
                )
                elapsed = time.perf_counter() - began
            if round_no:  # the first round warms the file cache and the imports
                times[name].append(elapsed)
            scanned[name] = (page.scanned_bytes, page.scanned_files, page.stopped_by, len(page.items))
    for name, (nbytes, files, stopped, hits) in scanned.items():
        print(
            f"  {name:12s}: scans {nbytes / 2**20:5.1f} MiB in {files:5d} files, {hits:2d} hits, stopped by {stopped}"
        )
    engine.dispose()
    return times


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="ylai-bench-logs-"))
    folder = scratch / "logs"
    url = f"sqlite:///{scratch / 'airflow.db'}"
    os.environ["AIRFLOW_HOME"] = str(scratch)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
    os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    sys.path[:0] = [str(REPO_ROOT / "plugins"), str(REPO_ROOT / "operators")]
    try:
        began = time.perf_counter()
        fill(url, folder, args.runs)
        size = sum(p.stat().st_size for p in folder.rglob("*.log"))
        filled = time.perf_counter() - began
        print(f"log search: {args.runs} runs, {size / 2**20:.1f} MiB of task logs, filled in {filled:.0f} s")
        print(f"  {machine_note()}")
        times = measure(url, args.runs, args.repeat)
        print(f"{'query':12s}  {'p50 ms':>7s}  {'p90 ms':>7s}  p90/target")
        every: list[float] = []
        for name, values in times.items():
            every += values
            p90 = _pct(values, 0.9)
            print(f"{name:12s}  {statistics.median(values) * 1000:7.0f}  {p90 * 1000:7.0f}  {p90 / TARGET_SECONDS:.2f}")
        p90 = _pct(every, 0.9)
        print(f"{'all':12s}  {statistics.median(every) * 1000:7.0f}  {p90 * 1000:7.0f}  {p90 / TARGET_SECONDS:.2f}")
        print(
            "PASS" if p90 < TARGET_SECONDS else "FAIL",
            f"p90 {p90 * 1000:.0f} ms (target < {TARGET_SECONDS * 1000:.0f} ms)",
        )
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
