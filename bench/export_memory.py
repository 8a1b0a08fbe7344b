"""Peak memory of a 1,000,000-row CSV export: ylai's streaming export vs building the file in memory.

Fills a scratch SQLite database (in a temporary folder, never the project's or the tests'
databases) with task-instance rows and their DAG runs, then exports every row as CSV twice,
each in a fresh interpreter so each has its own peak RSS (``ru_maxrss``):

- ``stream``: the generator behind ``GET /ylai/api/v1/exports/tasks?format=csv`` (keyset batches
  of 2,000 rows, CSV chunks written as they come), writing the chunks to a file;
- ``naive``: one query ``.all()``, the whole CSV built in a ``StringIO``, then written.

Both files must be identical in content. Prints the peak RSS of each, above the interpreter's
RSS after imports, and the ratio.

    .venv/bin/python bench/export_memory.py [--rows 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import PYTHON, REPO_ROOT, machine_note

TASKS_PER_RUN = 100
DAGS = 50

CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path

mode, out = sys.argv[1], Path(sys.argv[2])
from airflow.utils.session import create_session  # noqa: E402
from ylai_plugin.reports.exports import csv_stream as _csv_stream  # noqa: E402
from ylai_plugin.reports.datasets import TASK_COLUMNS  # noqa: E402
from ylai_plugin.reports.filters import ExportFilters, ExportSpec  # noqa: E402
from ylai_plugin.reports.writers import csv_chunks  # noqa: E402

dag_ids = frozenset(f"bench_dag_{i:02d}" for i in range(int(sys.argv[3])))
spec = ExportSpec(kind="tasks", format="csv", language="en", dag_ids=dag_ids,
                  filters=ExportFilters(since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)))
with create_session() as s:  # warm up: engine, dialect, first query
    s.execute(__import__("sqlalchemy").text("select 1"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "stream":
    with out.open("wb") as f:
        for chunk in _csv_stream(spec):
            f.write(chunk)
else:
    # The naive way: every row in a list, the whole CSV in one string, then the file.
    import csv, io
    from sqlalchemy import select
    with create_session() as session:
        from airflow.models import DagRun, TaskInstance as ti
        from ylai_plugin.reports.datasets import _ti_join, _tasks_where, plain, seconds
        result = session.execute(
            select(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.try_number, ti.operator, ti.queue,
                   ti.hostname, DagRun.triggering_user_name, ti.queued_dttm, ti.start_date, ti.end_date, ti.duration)
            .join(DagRun, _ti_join()).where(*_tasks_where(spec)).order_by(ti.id)
        ).all()
        rows = []
        for r in result:
            wait = seconds(r.queued_dttm, r.start_date)
            rows.append((*(plain(v) for v in r[:-1]), round(r.duration, 3) if r.duration is not None else None,
                         wait if wait is None or wait >= 0 else None))
    text = b"".join(csv_chunks(TASK_COLUMNS, rows, "en"))
    out.write_bytes(text)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mode": mode, "base_kb": base, "peak_kb": peak, "seconds": elapsed}))
"""


def fill(url: str, rows: int) -> None:
    """dag_run + task_instance tables with ``rows`` task instances (Airflow's own table definitions)."""
    from datetime import UTC, datetime, timedelta

    from airflow.models import DagRun, TaskInstance, import_all_models
    from sqlalchemy import create_engine, insert
    from sqlalchemy.schema import CreateTable

    import_all_models()  # the foreign keys' target tables must be known (not created)
    engine = create_engine(url)
    # Airflow's own definitions (columns, types, indexes) without the foreign keys: the tables
    # they point at (dag, dag_version, log_template, ...) are not part of this benchmark.
    with engine.begin() as conn:
        for table in (DagRun.__table__, TaskInstance.__table__):
            conn.execute(CreateTable(table, include_foreign_key_constraints=[]))
            for index in table.indexes:
                index.create(conn)
    runs = max(rows // TASKS_PER_RUN, 1)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(DagRun.__table__),
            [
                {
                    "id": r + 1,
                    "dag_id": f"bench_dag_{r % DAGS:02d}",
                    "run_id": f"scheduled__2025-03-01T00:00:00+00:00_{r:07d}",
                    "run_type": "scheduled",
                    "state": "success" if r % 10 else "failed",
                    "run_after": start + timedelta(minutes=r),
                    "triggering_user_name": "bench",
                    "log_template_id": None,
                    "clear_number": 0,
                    "span_status": "not_started",
                }
                for r in range(runs)
            ],
        )
    done = 0
    with engine.begin() as conn:
        while done < rows:
            batch = []
            for i in range(done, min(done + 20_000, rows)):
                r = i // TASKS_PER_RUN
                t0 = start + timedelta(minutes=r, seconds=i % TASKS_PER_RUN)
                batch.append(
                    {
                        "id": uuid.UUID(int=i),
                        "task_id": f"task_{i % TASKS_PER_RUN:03d}",
                        "dag_id": f"bench_dag_{r % DAGS:02d}",
                        "run_id": f"scheduled__2025-03-01T00:00:00+00:00_{r:07d}",
                        "map_index": -1,
                        "try_number": 1,
                        "max_tries": 1,
                        "pool": "default_pool",
                        "pool_slots": 1,
                        "queue": "default",
                        "priority_weight": 1,
                        "operator": "ScriptOperator",
                        "hostname": "worker-1",
                        "state": "success" if i % 7 else "failed",
                        "queued_dttm": t0 - timedelta(seconds=2),
                        "start_date": t0,
                        "end_date": t0 + timedelta(seconds=3),
                        "duration": 3.0,
                        "span_status": "not_started",
                    }
                )
            conn.execute(insert(TaskInstance.__table__), batch)
            done += len(batch)
    engine.dispose()


def _pg_admin(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def run_child(mode: str, out: Path, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(
        [PYTHON, "-c", CHILD, mode, str(out), str(DAGS)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"{mode} export failed:\n{proc.stderr[-4000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--reuse", type=Path, help="a folder kept by --keep: skip filling its scratch.db")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a Postgres server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres): fill a new, "
        "dropped-afterwards database there instead of SQLite",
    )
    args = parser.parse_args()
    work = args.reuse or Path(tempfile.mkdtemp(prefix="ylai-bench-export-"))
    db = work / "scratch.db"
    url = f"sqlite:///{db}"
    scratch_pg = None
    if args.postgres:
        # A database of its own on that server (never the one tests or a platform use).
        scratch_pg = f"ylai_bench_export_{os.getpid()}"
        admin_url, _, _ = args.postgres.rpartition("/")
        _pg_admin(args.postgres, f'CREATE DATABASE "{scratch_pg}"')
        url = f"{admin_url}/{scratch_pg}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT / "operators")]),
    }
    os.environ.update({k: env[k] for k in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")})
    where = f"Postgres database {scratch_pg}" if scratch_pg else "a scratch SQLite DB"
    print(f"export_memory: {args.rows:,} task-instance rows in {where}; {machine_note()}")
    try:
        t0 = time.perf_counter()
        if args.reuse is None:
            fill(url, args.rows)
        size = db.stat().st_size / 2**20 if not scratch_pg else 0.0
        action = "filled" if args.reuse is None else "reused"
        print(
            f"{action} {size:.0f} MiB in {time.perf_counter() - t0:.0f} s"
            if size
            else f"{action} in {time.perf_counter() - t0:.0f} s"
        )
        results = {}
        for mode in ("stream", "naive"):
            out = work / f"{mode}.csv"
            results[mode] = run_child(mode, out, env)
            results[mode]["md5"] = hashlib.md5(out.read_bytes(), usedforsecurity=False).hexdigest()  # type: ignore[assignment]
            results[mode]["bytes"] = out.stat().st_size
            results[mode]["lines"] = sum(1 for _ in out.open("rb"))
            out.unlink()
        s, n = results["stream"], results["naive"]
        print(
            f"{'mode':<8} {'rows':>10} {'CSV MiB':>8} {'time s':>7} {'RSS after imports MiB':>22} {'peak RSS MiB':>13}"
        )
        for mode, r in results.items():
            print(
                f"{mode:<8} {int(r['lines']) - 1:>10,} {r['bytes'] / 2**20:>8.1f} {r['seconds']:>7.1f} "
                f"{r['base_kb'] / 1024:>22.1f} {r['peak_kb'] / 1024:>13.1f}"
            )
        same = s["md5"] == n["md5"]
        grow_s = (s["peak_kb"] - s["base_kb"]) / 1024
        grow_n = (n["peak_kb"] - n["base_kb"]) / 1024
        print(f"identical files: {same}")
        print(f"peak RSS growth during the export: stream {grow_s:.1f} MiB, naive {grow_n:.1f} MiB")
        ratio = n["peak_kb"] / s["peak_kb"]
        print(f"peak RSS ratio naive/stream: {ratio:.1f}x (growth ratio {grow_n / max(grow_s, 0.1):.0f}x)")
        return 0 if same else 1
    finally:
        if scratch_pg:
            _pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{scratch_pg}" WITH (FORCE)')
        if args.keep or args.reuse:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
