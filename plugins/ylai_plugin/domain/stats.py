"""Run and task statistics: the one percentile and the one pass over DAG runs that every figure comes from.

The monitor API (``/monitor/tasks``), the exports (``reports.datasets``) and the alert conditions
(failure rate, duration) all count runs and take percentiles here, so a p95 means the same thing
on a dashboard, in a report and in an alert.

Percentiles are **nearest-rank**: the p-th percentile of n values is the value of rank
``ceil(p * n)`` (1-based) in ascending order, always one of the values, never an interpolation.
The API's latency histograms use the same rank over their buckets
(:mod:`ylai_plugin.monitoring.histogram`).
"""

from __future__ import annotations

import enum
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ylai_operators.catalog import DagKind, parse_dag_id

# p * n is computed in floating point: 0.07 * 100 is 7.000000000000001, whose ceiling would skip
# a rank. Products within this distance of an integer count as that integer.
_RANK_TOLERANCE = 1e-9
# How long monitor figures are cached (and a user's readable DAGs remembered): dashboards poll them.
MONITOR_CACHE_SECONDS = 10.0
# Task states of task instances that are not done yet (counted in a window whatever their start).
LIVE_TASK_STATES = ("running", "queued", "scheduled", "deferred", "up_for_retry")


def nearest_rank(n: int, p: float) -> int:
    """The 1-based rank of the ``p`` percentile (0 < p <= 1) among ``n`` ordered values."""
    return min(n, max(1, math.ceil(p * n - _RANK_TOLERANCE)))


def percentile(values: Iterable[float], p: float, ndigits: int | None = 3) -> float | None:
    """The nearest-rank ``p`` percentile of ``values`` (any order), rounded to ``ndigits``; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    value = ordered[nearest_rank(len(ordered), p) - 1]
    return round(value, ndigits) if ndigits is not None else value


@dataclass(frozen=True)
class Percentiles:
    """How many values, and their p50 and p95."""

    count: int
    p50: float | None
    p95: float | None


def percentiles(values: Sequence[float]) -> Percentiles:
    """p50 and p95 of ``values``, to the millisecond when they are seconds."""
    ordered = sorted(values)
    return Percentiles(count=len(ordered), p50=percentile(ordered, 0.50), p95=percentile(ordered, 0.95))


def rate(ok: int, bad: int) -> float | None:
    """Succeeded / finished, to 4 digits; None without finished items."""
    return round(ok / (ok + bad), 4) if ok + bad else None


def change(current: float | None, previous: float | None) -> float | None:
    """How far ``current`` moved from ``previous``, relative to it (0.25: a quarter more), to 4 digits.

    None when either is unknown or ``previous`` is not positive: a figure that was 0 (or missing)
    last time has no meaningful relative change.
    """
    if current is None or previous is None or previous <= 0:
        return None
    return round((current - previous) / previous, 4)


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    """``end - start`` in seconds, rounded to the millisecond; None when either is missing."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def wait_seconds(queued: datetime | None, start: datetime | None) -> float | None:
    """Queue wait (queued to started) in seconds; None when unknown or negative (clock skew, retries)."""
    wait = seconds(queued, start)
    return wait if wait is not None and wait >= 0 else None


def state_name(state: Any, none: str = "none") -> str:
    """A run or task state as text (``none`` for a task instance without a state yet)."""
    if state is None:
        return none
    return str(state.value if isinstance(state, enum.Enum) else state)


def dag_kind(dag_id: str) -> str:
    """``script``, ``pipeline`` or ``dag`` (any other DAG, scheduled tasks and reports included)."""
    parsed = parse_dag_id(dag_id)
    if parsed is not None and parsed.kind in (DagKind.SCRIPT, DagKind.PIPELINE):
        return parsed.kind.value
    return "dag"


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class DagRunStats:
    """The figures of one DAG's runs."""

    dag_id: str
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    duration: Percentiles
    last_run_after: datetime | None
    last_state: str | None


@dataclass
class RunStatistics:
    """What one pass over DAG runs found: states overall and per DAG, durations, runs per time bucket."""

    states: Counter[str] = field(default_factory=Counter)
    per_dag: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    buckets: dict[Hashable, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    last: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many runs."""
        return sum(self.states.values())

    @property
    def success_rate(self) -> float | None:
        """Succeeded / finished runs."""
        return rate(self.states["success"], self.states["failed"])

    def all_durations(self) -> list[float]:
        """Every run's duration, all DAGs together."""
        return [d for values in self.durations.values() for d in values]

    def dag(self, dag_id: str) -> DagRunStats:
        """The figures of one DAG (zeros when it had no run)."""
        counts = self.per_dag.get(dag_id, Counter())
        ok, bad = counts["success"], counts["failed"]
        last = self.last.get(dag_id)
        return DagRunStats(
            dag_id=dag_id,
            runs=sum(counts.values()),
            succeeded=ok,
            failed=bad,
            success_rate=rate(ok, bad),
            duration=percentiles(self.durations.get(dag_id, [])),
            last_run_after=last[0] if last else None,
            last_state=last[1] if last else None,
        )

    def dags(self) -> list[DagRunStats]:
        """Every DAG that had runs, by id."""
        return [self.dag(dag_id) for dag_id in sorted(self.per_dag)]


def run_rows_query(where: Sequence[Any], limit: int | None = None) -> Any:
    """The one statement behind :func:`run_statistics`: dag_id, state, start, end and run_after of matching runs."""
    from airflow.models import DagRun
    from sqlalchemy import select

    stmt = select(DagRun.dag_id, DagRun.state, DagRun.start_date, DagRun.end_date, DagRun.run_after).where(*where)
    return stmt.limit(limit) if limit is not None else stmt


def stream(session: Any, stmt: Any, batch: int = 2000) -> Iterator[Any]:
    """Rows of ``stmt`` from a server-side cursor, ``batch`` at a time.

    ``yield_per`` makes SQLAlchemy stream (a named cursor on Postgres, ``fetchmany`` on
    SQLite), so memory holds one batch however many rows match. Airflow runs SQLite in WAL
    mode, so a long read does not block writers.
    """
    result = session.execute(stmt.execution_options(yield_per=batch))
    for partition in result.partitions():
        yield from partition


def collect_runs(rows: Iterable[Any], bucket: Callable[[datetime], Hashable] | None = None) -> RunStatistics:
    """Aggregate ``(dag_id, state, start, end, run_after)`` rows; ``bucket`` groups runs by their run_after."""
    found = RunStatistics()
    for dag_id, raw_state, start, end, run_after in rows:
        state = state_name(raw_state)
        found.states[state] += 1
        found.per_dag[dag_id][state] += 1
        if (took := seconds(start, end)) is not None:
            found.durations[dag_id].append(took)
        if bucket is not None:
            counts = found.buckets[bucket(run_after)]
            counts["runs"] += 1
            counts[state] += 1
        if dag_id not in found.last or run_after > found.last[dag_id][0]:
            found.last[dag_id] = (run_after, state)
    return found


def run_statistics(
    session: Any,
    where: Sequence[Any],
    *,
    bucket: Callable[[datetime], Hashable] | None = None,
    limit: int | None = None,
    batch: int = 2000,
) -> RunStatistics:
    """One streamed pass over the DAG runs matching ``where`` (SQLAlchemy clauses on ``DagRun``)."""
    return collect_runs(stream(session, run_rows_query(where, limit), batch), bucket)


def recent_success_durations(session: Any, dag_id: str, last_n: int, exclude_run_id: str | None = None) -> list[float]:
    """Durations (seconds) of the latest ``last_n`` successful runs of a DAG, newest first."""
    from airflow.models import DagRun
    from sqlalchemy import select

    where = [
        DagRun.dag_id == dag_id,
        DagRun.state == "success",
        DagRun.start_date.is_not(None),
        DagRun.end_date.is_not(None),
    ]
    if exclude_run_id is not None:
        where.append(DagRun.run_id != exclude_run_id)
    history = session.execute(
        select(DagRun.start_date, DagRun.end_date).where(*where).order_by(DagRun.start_date.desc()).limit(last_n)
    ).all()
    return [(end - start).total_seconds() for start, end in history]


# ---------------------------------------------------------------- task instances


def count_by_state(rows: Iterable[tuple[Any, int]], none: str = "none") -> Counter[str]:
    """``(state, count)`` rows (a GROUP BY state) as a counter of state names (``none`` names no state)."""
    counts: Counter[str] = Counter()
    for state, n in rows:
        counts[state_name(state, none)] += int(n)
    return counts


def queue_waits(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[float]]:
    """Queue waits per DAG from ``(dag_id, queued, start)`` rows, skipping unknown or negative ones."""
    waits: dict[str, list[float]] = defaultdict(list)
    for dag_id, queued, start in rows:
        if (wait := wait_seconds(queued, start)) is not None:
            waits[dag_id].append(wait)
    return waits


# ---------------------------------------------------------------- the task monitor (``/monitor/tasks``)


def task_monitor_queries(dag_ids: frozenset[str], since: datetime) -> dict[str, Any]:
    """The three queries of :func:`task_monitor` (``bench/api_load.py --explain`` shows their plans).

    Airflow has no index on ``task_instance.start_date``: filtering on it scans every task
    instance. Task instances are reached through their runs instead: the runs due in the
    window (``idx_dag_run_run_after``) and the running or queued ones (Airflow's partial
    indexes ``idx_dag_run_running_dags``/``idx_dag_run_queued_dags``), then their task
    instances through ``ti_dag_run`` (dag_id, run_id).
    """
    from airflow.models import DagRun, TaskInstance
    from sqlalchemy import and_, func, or_, select

    # Three comparisons, not an IN: each arm matches one index, and Postgres ORs the bitmaps.
    window_runs = (
        select(DagRun.dag_id, DagRun.run_id)
        .where(
            DagRun.dag_id.in_(dag_ids),
            or_(DagRun.run_after >= since, DagRun.state == "running", DagRun.state == "queued"),
        )
        .subquery()
    )
    in_window_runs = and_(TaskInstance.dag_id == window_runs.c.dag_id, TaskInstance.run_id == window_runs.c.run_id)
    return {
        "task_states": select(TaskInstance.state, func.count())
        .join(window_runs, in_window_runs)
        .where(or_(TaskInstance.start_date >= since, TaskInstance.state.in_(LIVE_TASK_STATES)))
        .group_by(TaskInstance.state),
        "queue_waits": select(TaskInstance.dag_id, TaskInstance.queued_dttm, TaskInstance.start_date)
        .join(window_runs, in_window_runs)
        .where(TaskInstance.start_date >= since, TaskInstance.queued_dttm.is_not(None))
        .limit(50_000),
        "runs": run_rows_query([DagRun.dag_id.in_(dag_ids), DagRun.run_after >= since], limit=100_000),
    }


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def dag_figures(found: RunStatistics, dag_id: str) -> dict[str, Any]:
    """One DAG's figures as the monitor shows them (``DagStats``)."""
    figures = found.dag(dag_id)
    return {
        "dag_id": dag_id,
        "kind": dag_kind(dag_id),
        "runs": figures.runs,
        "succeeded": figures.succeeded,
        "failed": figures.failed,
        "success_rate": figures.success_rate,
        "duration": asdict(figures.duration),
    }


def task_monitor(session: Any, dag_ids: frozenset[str], window_hours: int) -> dict[str, Any]:
    """Task instances and DAG runs of ``dag_ids`` over the window, in the shape of ``TaskMonitor``."""
    from datetime import UTC, timedelta

    now = datetime.now(UTC)
    queries = task_monitor_queries(dag_ids, now - timedelta(hours=window_hours))
    # The monitor has always named a task instance without state "None".
    task_states = count_by_state(session.execute(queries["task_states"]).all(), none="None")
    waits = [w for values in queue_waits(session.execute(queries["queue_waits"])).values() for w in values]
    found = collect_runs(session.execute(queries["runs"]), bucket=_hour)
    per_dag = [dag_figures(found, dag_id) for dag_id in sorted(found.per_dag)]
    return {
        "window_hours": window_hours,
        "generated_at": now,
        "task_states": dict(task_states),
        "run_states": dict(found.states),
        "success_rate": found.success_rate,
        "queue_wait": asdict(percentiles(waits)),
        "per_dag": per_dag,
        "top_failing": sorted((d for d in per_dag if d["failed"]), key=lambda d: (-d["failed"], d["dag_id"]))[:10],
        "runs_per_hour": [
            {"hour": hour, "runs": counts["runs"], "failed": counts["failed"]}
            for hour, counts in sorted(found.buckets.items())
        ],
    }
