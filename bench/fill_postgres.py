"""Fill a migrated Airflow metadata database with 100,000 DAG runs and 1,000,000 task instances.

Run from the repository root against a database that ``airflow db migrate`` created and on
which the DAG processor has already stored the DAGs (``ylai run`` does both)::

    .venv/bin/python bench/fill_postgres.py postgresql://postgres@127.0.0.1:5432/ylai
    .venv/bin/python bench/fill_postgres.py URL --runs 10000 --task-instances 100000 --tasks 100

What it writes, all with ``COPY`` (psycopg2 ``copy_expert``) in one transaction, then ``VACUUM
(ANALYZE)`` of the filled tables: the state autovacuum would reach on a live database (planner
statistics, visibility map for index-only scans), so queries are measured as in steady state:

* ``dag_run``: ``--runs`` manual runs spread over the DAGs found in ``dag``/``dag_version``,
  one every ~26 s over the last ``--days`` days (``run_after`` strictly increasing, so run ids
  are unique), queued -> started -> ended a few seconds to minutes later. Only terminal states
  (88 % ``success``, 12 % ``failed``): a running or queued run would be picked up by the
  scheduler of the platform the benchmark runs on.
* ``task_instance``: ``--task-instances`` rows, the same number per run, with the DAG's real
  task ids and operators (read from ``serialized_dag``), one after the other inside the run's
  window. When a DAG has fewer tasks than a run needs, its last task is a mapped task
  (``map_index`` 0..n). A failed run has one ``failed`` task followed by ``upstream_failed``
  ones; ~5 % of tasks needed a retry (``try_number`` 2). UUID ids, ``dag_version_id`` the
  DAG's latest version, ``queued_dttm``/``scheduled_dttm`` set, so ``/monitor/tasks`` has
  queue waits to report.
* ylai's tables: ``--tasks`` rows of ``ylai_task`` (each with 3 ``ylai_task_run`` rows pointing
  at runs of its DAG, so lists show a last run) and ``--presets`` rows of ``ylai_preset`` (70 %
  owned by ``--owner``, the others by other users, half of all shared with a role).

No XCom rows are written: runs have no result, which ylai's routes handle (``result: null``).
Foreign-key triggers are disabled for the session (``session_replication_role = replica``)
when the role may do so (it saves a lookup per row; every row is consistent by construction).
Deterministic for a given ``--seed`` and start time.
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import random
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BATCH_ROWS = 50_000
# What Airflow stores for a task without executor_config: a pickled {} (bytea, hex in COPY text).
EMPTY_EXECUTOR_CONFIG = "\\\\x" + pickle.dumps({}).hex()
DEFAULT_RUNS = 100_000
DEFAULT_TASK_INSTANCES = 1_000_000


@dataclass
class DagInfo:
    """What the filler needs to know about one DAG."""

    dag_id: str
    version_id: str
    tasks: list[tuple[str, str]]  # (task_id, operator class name)


@dataclass
class FillResult:
    """Row counts and timings of one fill."""

    dags: int
    runs: int
    task_instances: int
    tasks: int
    task_runs: int
    presets: int
    seconds: float
    fk_checks_disabled: bool


def _ts(value: datetime | None) -> str:
    return r"\N" if value is None else value.isoformat(sep=" ")


def _uuid(rng: random.Random) -> str:
    """A random version-4 UUID, ~3x faster than ``str(uuid.UUID(...))`` (1M of them per fill)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _text(value: object) -> str:
    if value is None:
        return r"\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Iterator[Sequence[object]]) -> int:
    """COPY ``rows`` (already formatted cells) into ``table`` in batches; return the row count."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    count = 0
    while True:
        buf = io.StringIO()
        n = 0
        for row in rows:
            buf.write("\t".join(row))  # type: ignore[arg-type]
            buf.write("\n")
            n += 1
            if n == BATCH_ROWS:
                break
        if not n:
            return count
        buf.seek(0)
        cur.copy_expert(sql, buf)
        count += n
        if n < BATCH_ROWS:
            return count


def _serialized_tasks(data: Any, compressed: bytes | None) -> list[tuple[str, str]]:
    if data is None and compressed is not None:
        data = json.loads(zlib.decompress(bytes(compressed)))
    if isinstance(data, str):
        data = json.loads(data)
    tasks = []
    for task in (data or {}).get("dag", {}).get("tasks", []):
        var = task.get("__var", task)
        if "task_id" in var:
            tasks.append((str(var["task_id"]), str(var.get("task_type") or var.get("_task_type") or "BaseOperator")))
    return tasks


def load_dags(cur: Any) -> list[DagInfo]:
    """Every non-stale DAG with its latest version and the task ids of that version."""
    cur.execute(
        """
        SELECT DISTINCT ON (v.dag_id) v.dag_id, v.id::text, s.data, s.data_compressed
        FROM dag_version v
        JOIN dag d ON d.dag_id = v.dag_id AND NOT d.is_stale
        LEFT JOIN serialized_dag s ON s.dag_version_id = v.id
        ORDER BY v.dag_id, v.version_number DESC
        """
    )
    dags = []
    for dag_id, version_id, data, compressed in cur.fetchall():
        tasks = _serialized_tasks(data, compressed) or [(dag_id.split("__")[-1], "BaseOperator")]
        dags.append(DagInfo(dag_id=dag_id, version_id=version_id, tasks=tasks))
    return dags


def _kind(dag_id: str) -> str:
    if dag_id.startswith("script__"):
        return "script"
    if dag_id.startswith("pipeline__"):
        return "pipeline"
    return "dag"


def fill(
    url: str,
    *,
    runs: int = DEFAULT_RUNS,
    task_instances: int = DEFAULT_TASK_INSTANCES,
    tasks: int = 1000,
    presets: int = 1000,
    days: int = 30,
    owner: str = "admin",
    seed: int = 42,
    log: Any = print,
) -> FillResult:
    """Insert the rows described in the module docstring; return counts and time taken."""
    import psycopg2

    if runs <= 0 or task_instances < runs:
        raise ValueError("need at least one run and at least one task instance per run")
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    started = time.monotonic()
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            dags = load_dags(cur)
            if not dags:
                raise RuntimeError("no DAGs in the database: let the dag-processor parse dags/ first")
            log(f"fill: {len(dags)} DAGs: {', '.join(d.dag_id for d in dags)}")
            fk_off = _disable_fk_checks(cur)
            cur.execute("SELECT max(id) FROM log_template")
            log_template_id = cur.fetchone()[0]

            now = datetime.now(UTC).replace(microsecond=0)
            first = now - timedelta(days=days)
            spacing = (now - timedelta(minutes=10) - first) / runs
            per_run, extra = divmod(task_instances, runs)
            run_keys: list[tuple[str, str]] = []
            ti_plan: list[tuple[DagInfo, str, datetime, datetime, str, int]] = []

            def dag_runs() -> Iterator[Sequence[str]]:
                for i in range(runs):
                    dag = dags[rng.randrange(len(dags))]
                    run_after = first + spacing * i + timedelta(microseconds=rng.randrange(1_000_000))
                    run_id = f"manual__{run_after.isoformat()}"
                    queued = run_after + timedelta(milliseconds=rng.randrange(20, 2000))
                    start = queued + timedelta(milliseconds=rng.randrange(200, 5000))
                    n_tis = per_run + (1 if i < extra else 0)
                    end = start + timedelta(seconds=n_tis * rng.lognormvariate(1.5, 0.8) + 1)
                    state = "failed" if rng.random() < 0.12 else "success"
                    run_keys.append((dag.dag_id, run_id))
                    ti_plan.append((dag, run_id, start, end, state, n_tis))
                    yield (
                        dag.dag_id,
                        _ts(queued),
                        r"\N",  # logical_date: manual runs have none in Airflow 3
                        _ts(start),
                        _ts(end),
                        state,
                        _text(run_id),
                        "manual",
                        "REST_API",  # the enum's name: SQLAlchemy's Enum stores names
                        _text(owner),
                        "{}",
                        _ts(run_after),
                        _ts(end),
                        r"\N" if log_template_id is None else str(log_template_id),
                        _ts(queued),
                        _ts(end),
                        "0",
                        dag.version_id,
                    )

            t0 = time.monotonic()
            n_runs = _copy(
                cur,
                "dag_run",
                [
                    "dag_id",
                    "queued_at",
                    "logical_date",
                    "start_date",
                    "end_date",
                    "state",
                    "run_id",
                    "run_type",
                    "triggered_by",
                    "triggering_user_name",
                    "conf",
                    "run_after",
                    "last_scheduling_decision",
                    "log_template_id",
                    "created_at",
                    "updated_at",
                    "clear_number",
                    "created_dag_version_id",
                ],
                dag_runs(),
            )
            log(f"fill: {n_runs:,} dag_run rows in {time.monotonic() - t0:.1f} s")

            def task_instance_rows() -> Iterator[Sequence[str]]:
                # The hot loop of the fill: strings that do not change are built once per DAG or run.
                slot_cache: dict[tuple[str, int], list[tuple[str, str, str]]] = {}
                for dag, run_id, start, end, run_state, n_tis in ti_plan:
                    slots = slot_cache.get((dag.dag_id, n_tis))
                    if slots is None:
                        slots = [(_text(t), _text(op), str(m)) for t, op, m in _slots(dag.tasks, n_tis)]
                        slot_cache[(dag.dag_id, n_tis)] = slots
                    run_text = _text(run_id)
                    step = (end - start) / n_tis
                    failed_at = rng.randrange(n_tis) if run_state == "failed" else n_tis
                    for k, (task_text, operator_text, map_index) in enumerate(slots):
                        t_start = start + step * k + timedelta(milliseconds=rng.randrange(0, 300))
                        t_end = min(end, t_start + step * 0.8)
                        if k < failed_at:
                            state, tries = ("skipped", "1") if rng.random() < 0.02 else ("success", "1")
                            if state == "success" and rng.random() < 0.05:
                                tries = "2"
                        elif k == failed_at:
                            state, tries = "failed", "2"
                        else:
                            state, tries = "upstream_failed", "0"
                        ran = state in ("success", "failed")
                        end_text = _ts(t_end if ran else t_start)
                        if ran:
                            start_text = _ts(t_start)
                            queued_text = _ts(t_start - timedelta(milliseconds=rng.randrange(30, 3000)))
                            duration = f"{(t_end - t_start).total_seconds():.3f}"
                        else:
                            start_text = queued_text = duration = r"\N"
                        yield (
                            _uuid(rng),
                            task_text,
                            dag.dag_id,
                            run_text,
                            map_index,
                            start_text,
                            end_text,
                            duration,
                            state,
                            tries,
                            "1",
                            "worker-1" if ran else r"\N",
                            "airflow",
                            "default_pool",
                            "1",
                            "default",
                            "1",
                            operator_text,
                            queued_text,
                            queued_text,  # scheduled_dttm: scheduled and queued in the same loop
                            end_text,
                            dag.version_id,
                            task_text,
                            EMPTY_EXECUTOR_CONFIG,
                        )

            t0 = time.monotonic()
            n_tis = _copy(
                cur,
                "task_instance",
                [
                    "id",
                    "task_id",
                    "dag_id",
                    "run_id",
                    "map_index",
                    "start_date",
                    "end_date",
                    "duration",
                    "state",
                    "try_number",
                    "max_tries",
                    "hostname",
                    "unixname",
                    "pool",
                    "pool_slots",
                    "queue",
                    "priority_weight",
                    "operator",
                    "queued_dttm",
                    "scheduled_dttm",
                    "updated_at",
                    "dag_version_id",
                    "task_display_name",
                    "executor_config",
                ],
                task_instance_rows(),
            )
            log(f"fill: {n_tis:,} task_instance rows in {time.monotonic() - t0:.1f} s")

            n_tasks, n_task_runs, n_presets = _fill_ylai(cur, rng, dags, run_keys, tasks, presets, owner, now, days)
            log(f"fill: {n_tasks:,} ylai_task, {n_task_runs:,} ylai_task_run, {n_presets:,} ylai_preset rows")
        conn.autocommit = True
        with conn.cursor() as cur:
            t0 = time.monotonic()
            for table in ("dag_run", "task_instance", "ylai_task", "ylai_task_run", "ylai_preset"):
                cur.execute(f"VACUUM (ANALYZE) {table}")
            log(f"fill: VACUUM (ANALYZE) in {time.monotonic() - t0:.1f} s")
    finally:
        conn.close()
    return FillResult(
        dags=len(dags),
        runs=n_runs,
        task_instances=n_tis,
        tasks=n_tasks,
        task_runs=n_task_runs,
        presets=n_presets,
        seconds=time.monotonic() - started,
        fk_checks_disabled=fk_off,
    )


def _disable_fk_checks(cur: Any) -> bool:
    import psycopg2

    cur.execute("SAVEPOINT fk")
    try:
        cur.execute("SET LOCAL session_replication_role = replica")
    except psycopg2.Error:
        cur.execute("ROLLBACK TO SAVEPOINT fk")
        return False
    return True


def _slots(tasks: list[tuple[str, str]], n: int) -> list[tuple[str, str, int]]:
    """``n`` (task_id, operator, map_index) of a run: the DAG's tasks, the last one mapped if needed."""
    if len(tasks) >= n:
        return [(t, op, -1) for t, op in tasks[:n]]
    head = [(t, op, -1) for t, op in tasks[:-1]]
    last_id, last_op = tasks[-1]
    return head + [(last_id, last_op, i) for i in range(n - len(head))]


def _fill_ylai(
    cur: Any,
    rng: random.Random,
    dags: list[DagInfo],
    run_keys: list[tuple[str, str]],
    n_tasks: int,
    n_presets: int,
    owner: str,
    now: datetime,
    days: int,
) -> tuple[int, int, int]:
    runs_by_dag: dict[str, list[str]] = {}
    for dag_id, run_id in run_keys:
        runs_by_dag.setdefault(dag_id, []).append(run_id)
    cur.execute("SELECT coalesce(max(id), 0) FROM ylai_task")
    first_id = cur.fetchone()[0] + 1
    task_rows, task_run_rows = [], []
    for i in range(n_tasks):
        dag = dags[rng.randrange(len(dags))]
        created = now - timedelta(seconds=rng.randrange(days * 86400))
        updated = created + (now - created) * rng.random()
        creator = owner if rng.random() < 0.7 else f"user{rng.randrange(20)}"
        task_rows.append(
            (
                str(first_id + i),
                f"bench task {i:06d}",
                _text(f"Benchmark task {i} on {dag.dag_id}"),
                _kind(dag.dag_id),
                dag.dag_id,
                "{}",
                r"\N",
                creator,
                _ts(created),
                _ts(updated),
            )
        )
        available = runs_by_dag.get(dag.dag_id, [])
        for _ in range(min(3, len(available))):
            # A DAG run belongs to at most one task (unique dag_id, run_id): take it out of the pool.
            run_id = available.pop(rng.randrange(len(available)))
            task_run_rows.append((str(first_id + i), dag.dag_id, _text(run_id), creator, _ts(updated)))
    columns = ["id", "name", "description", "kind", "dag_id", "params", "schedule", "created_by"]
    tasks_written = _copy(cur, "ylai_task", [*columns, "created_at", "updated_at"], iter(task_rows))
    # Explicit ids (ylai_task_run points at them): move the sequence past them.
    cur.execute("SELECT setval('ylai_task_id_seq', greatest((SELECT max(id) FROM ylai_task), 1))")
    task_runs_written = _copy(
        cur, "ylai_task_run", ["task_id", "dag_id", "run_id", "triggered_by", "created_at"], iter(task_run_rows)
    )
    preset_rows = []
    for i in range(n_presets):
        dag = dags[rng.randrange(len(dags))]
        created = now - timedelta(seconds=rng.randrange(days * 86400))
        preset_owner = owner if rng.random() < 0.7 else f"user{rng.randrange(20)}"
        shared = rng.choice(["Admin", "Viewer", "User", "Op"]) if rng.random() < 0.5 else None
        preset_rows.append(
            (
                f"bench preset {i:06d}",
                dag.dag_id,
                "",
                "{}",
                preset_owner,
                _text(shared),
                _ts(created),
                _ts(created + (now - created) * rng.random()),
            )
        )
    presets_written = _copy(
        cur,
        "ylai_preset",
        ["name", "dag_id", "description", "params", "owner", "shared_with_role", "created_at", "updated_at"],
        iter(preset_rows),
    )
    return tasks_written, task_runs_written, presets_written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="postgresql:// URL of a migrated Airflow metadata database with parsed DAGs")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--task-instances", type=int, default=DEFAULT_TASK_INSTANCES)
    parser.add_argument("--tasks", type=int, default=1000, help="ylai_task rows")
    parser.add_argument("--presets", type=int, default=1000, help="ylai_preset rows")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--owner", default="admin", help="user owning most tasks and presets")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    result = fill(
        args.url,
        runs=args.runs,
        task_instances=args.task_instances,
        tasks=args.tasks,
        presets=args.presets,
        days=args.days,
        owner=args.owner,
        seed=args.seed,
    )
    print(
        f"fill: done in {result.seconds:.1f} s: {result.runs:,} runs, {result.task_instances:,} task instances "
        f"over {result.dags} DAGs; {result.tasks:,} tasks ({result.task_runs:,} task runs), {result.presets:,} presets"
        f"{'' if result.fk_checks_disabled else ' (foreign-key checks were on)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
