"""Resource use of scripts, ranked: peak RSS, CPU seconds and duration over a range, with trends.

Where the figures come from: ``ScriptOperator`` measures the script's whole process tree and
returns ``peak_rss_bytes`` and ``cpu_seconds`` in its ``return_value`` XCom (see
``ylai_operators.process_runner``), which is stored beside the script's task instance. A script
that fails (its exit code, its memory limit, its output contract) leaves the same figures under
``MEASUREMENTS_XCOM_KEY`` before the task fails, so failed runs are ranked too; durations come
from the task instance itself (start to end).

A run belongs to a range by its ``run_after`` (Airflow's index on it keeps the scan to the
range, as the monitor and the exports do), and so to an hour or a day of the trend.
Percentiles are :mod:`ylai_plugin.domain.stats`' nearest-rank ones, so a p95 here is the p95 of
the exports and the monitor. Answers are plain data; the API validates them into its models.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from ylai_operators.catalog import MEASUREMENTS_XCOM_KEY, DagKind, script_dag_id
from ylai_plugin.domain import stats
from ylai_plugin.domain.errors import Invalid, text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ylai_operators.catalog import Script

#: The ranges a ranking covers, as the other pages offer them.
RANGES: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
#: What is measured per run: the script task's duration (s), its peak RSS (bytes) and CPU time (s).
METRICS = ("duration", "peak_rss_bytes", "cpu_seconds")
STATS = ("p50", "p95")
#: The sort keys of a ranking (``-`` first for descending, the usual order of a ranking).
SORT_KEYS = ("name", "runs", *(f"{metric}_{stat}" for metric in METRICS for stat in STATS))
# At most this many script runs are read per range (the monitor bounds its scans the same way):
# a range beyond it is ranked on the runs read and the answer says ``truncated``.
MAX_RUNS = 200_000
# The task states of a finished script task: the only ones with a duration to rank.
FINISHED = ("success", "failed")

Bucket = Literal["hour", "day"]


@dataclass(frozen=True)
class Window:
    """A range ending now, the range just before it (to compare with) and the trend's bucket size."""

    range: str
    since: datetime
    until: datetime
    previous_since: datetime
    bucket: Bucket

    def bucket_of(self, moment: datetime) -> datetime:
        """The start of the hour or day (UTC) ``moment`` falls in."""
        start = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return start.replace(hour=0) if self.bucket == "day" else start

    def buckets(self) -> list[datetime]:
        """Every bucket of the range, oldest first (the first and last ones may be partial)."""
        step = timedelta(days=1) if self.bucket == "day" else timedelta(hours=1)
        first, last = self.bucket_of(self.since), self.bucket_of(self.until)
        return [first + step * n for n in range(int((last - first) / step) + 1)]


def window(range_id: str, now: datetime | None = None) -> Window:
    """The :class:`Window` of ``range_id`` (``24h``, ``7d``, ``30d``) ending at ``now``.

    A day's trend in hours (a daily one would have two points), longer ranges in days.

    :raises Invalid: an unknown range, naming ``query.range``.
    """
    span = RANGES.get(range_id)
    if span is None:
        raise Invalid.at("query.range", text("field.one_of", "must be one of {choices}", choices=", ".join(RANGES)))
    until = now or datetime.now(UTC)
    return Window(
        range=range_id,
        since=until - span,
        until=until,
        previous_since=until - 2 * span,
        bucket="hour" if span <= timedelta(days=1) else "day",
    )


@dataclass(frozen=True)
class Measured:
    """One finished script task: its run, state and what was measured (metric -> value)."""

    dag_id: str
    run_id: str
    run_after: datetime
    state: str
    values: dict[str, float]


def _number(value: Any) -> float | None:
    # bool is an int to Python; a result that says True is not a measurement.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _measured(row: Any) -> Measured:
    from airflow.models.xcom import XComModel

    # The Execution API stores the result as a JSON object, XComModel.set as a JSON string:
    # deserialize_value reads both.
    result = XComModel.deserialize_value(row)
    values: dict[str, float] = {}
    if (took := stats.seconds(row.start_date, row.end_date)) is not None:
        values["duration"] = took
    if isinstance(result, dict):
        for metric in ("peak_rss_bytes", "cpu_seconds"):
            if (number := _number(result.get(metric))) is not None:
                values[metric] = number
    return Measured(row.dag_id, row.run_id, row.run_after, stats.state_name(row.state), values)


def xcom_of_task(keys: Collection[str]) -> Any:
    """The join of a task instance (and its ``DagRun``) to its XComs under ``keys``, on the XCom's primary key."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_

    return and_(
        XComModel.dag_run_id == DagRun.id,
        XComModel.task_id == TaskInstance.task_id,
        XComModel.map_index == TaskInstance.map_index,
        XComModel.key.in_(tuple(keys)),
    )


def measured_query(dag_ids: Collection[str], since: datetime, until: datetime, limit: int = MAX_RUNS) -> Any:
    """The script task instances of ``dag_ids`` finished in runs due in [since, until), with their result.

    The result XCom is joined on its primary key (the run's id, the task, map index -1 and
    ``return_value``, or :data:`MEASUREMENTS_XCOM_KEY` for a failed script); a task without
    either (a script that failed to start) comes with a null value.
    """
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, select

    from ylai_plugin.domain.dags import result_task_id_sql

    ti = TaskInstance
    return (
        select(ti.dag_id, ti.run_id, ti.state, ti.start_date, ti.end_date, DagRun.run_after, XComModel.value)
        .join(DagRun, and_(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id))
        # A successful script task's result, or what a failed one left (never both).
        .outerjoin(XComModel, xcom_of_task(("return_value", MEASUREMENTS_XCOM_KEY)))
        .where(
            DagRun.dag_id.in_(sorted(dag_ids)),
            DagRun.run_after >= since,
            DagRun.run_after < until,
            ti.task_id == result_task_id_sql(ti.dag_id),
            ti.state.in_(FINISHED),
        )
        .limit(limit)
    )


def measured_runs(
    session: Session, dag_ids: Collection[str], since: datetime, until: datetime, limit: int = MAX_RUNS
) -> Iterator[Measured]:
    """:func:`measured_query`'s rows, streamed, as :class:`Measured`."""
    if not dag_ids:
        return
    for row in stats.stream(session, measured_query(dag_ids, since, until, limit)):
        yield _measured(row)


@dataclass
class Samples:
    """The measurements of a set of runs: counts, each metric's values and the run where it peaked."""

    runs: int = 0
    failed: int = 0
    values: dict[str, list[float]] = field(default_factory=lambda: {metric: [] for metric in METRICS})
    peaks: dict[str, tuple[float, str]] = field(default_factory=dict)

    def add(self, run: Measured) -> None:
        """Count ``run`` and keep its values."""
        self.runs += 1
        self.failed += run.state == "failed"
        for metric, value in run.values.items():
            self.values[metric].append(value)
            if metric not in self.peaks or value > self.peaks[metric][0]:
                self.peaks[metric] = (value, run.run_id)

    def percentiles(self, metric: str) -> stats.Percentiles:
        """How many values of ``metric``, and their p50 and p95."""
        return stats.percentiles(self.values[metric])


def samples_by_dag(
    session: Session, dag_ids: Collection[str], since: datetime, until: datetime, limit: int = MAX_RUNS
) -> tuple[dict[str, Samples], bool]:
    """The :class:`Samples` of each DAG's script runs due in [since, until), and whether ``limit`` cut them."""
    found: dict[str, Samples] = defaultdict(Samples)
    read = 0
    for run in measured_runs(session, dag_ids, since, until, limit):
        found[run.dag_id].add(run)
        read += 1
    return dict(found), read >= limit


def readable_scripts(session: Session, readable: Collection[str]) -> dict[str, Script]:
    """The scripts of the catalog whose DAG is in ``readable``, by DAG id."""
    from ylai_plugin.domain.scripts import all_scripts

    by_dag = {script_dag_id(name): script for name, script in all_scripts(session).items()}
    return {dag_id: script for dag_id, script in by_dag.items() if dag_id in readable}


def _metric(current: Samples, previous: Samples | None, metric: str) -> dict[str, Any]:
    now = current.percentiles(metric)
    before = previous.percentiles(metric) if previous is not None else stats.percentiles([])
    peak = current.peaks.get(metric)
    return {
        **asdict(now),
        "max": round(peak[0], 3) if peak else None,
        "max_run_id": peak[1] if peak else None,
        "previous": asdict(before),
        "change_p50": stats.change(now.p50, before.p50),
        "change_p95": stats.change(now.p95, before.p95),
    }


def _trend(buckets: list[datetime], by_bucket: dict[datetime, Samples]) -> list[dict[str, Any]]:
    points = []
    for start in buckets:
        samples = by_bucket.get(start, Samples())
        points.append({"start": start, "runs": samples.runs, **{m: asdict(samples.percentiles(m)) for m in METRICS}})
    return points


def _sort_value(item: dict[str, Any], key: str) -> Any:
    if key in ("name", "runs"):
        return item[key]
    metric, stat = key.rsplit("_", 1)
    return item[metric][stat]


def rank(items: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    """``items`` sorted by ``order_by`` (a :data:`SORT_KEYS` entry, ``-`` first for descending).

    Scripts without the figure (no successful run measured it) come last either way; the name
    breaks ties.

    :raises Invalid: an unknown sort key, naming ``query.order_by``.
    """
    key = order_by.removeprefix("-")
    if key not in SORT_KEYS:
        reason = text("field.sort_key", "must be one of {choices}, optionally after '-'", choices=", ".join(SORT_KEYS))
        raise Invalid.at("query.order_by", reason)
    descending = order_by.startswith("-")
    by_name = sorted(items, key=lambda item: item["name"])
    known = [item for item in by_name if _sort_value(item, key) is not None]
    unknown = [item for item in by_name if _sort_value(item, key) is None]
    # sorted() is stable: equal figures keep the name order whatever the direction.
    return [*sorted(known, key=lambda item: _sort_value(item, key), reverse=descending), *unknown]


def ranking(
    session: Session,
    readable: Collection[str],
    range_id: str,
    order_by: str = "-peak_rss_bytes_p95",
    limit: int = 100,
    now: datetime | None = None,
    max_runs: int = MAX_RUNS,
) -> dict[str, Any]:
    """The scripts whose DAG is in ``readable`` that finished a run in the range, ranked by ``order_by``.

    Each carries its runs, the p50/p95 (and peak, with its run) of every metric, the same
    percentiles over the range before and their relative change, and the trend: the runs and
    percentiles of every hour (range 24h) or day of the range. In the shape of ``ResourceRanking``.

    :raises Invalid: an unknown range or sort key.
    """
    span = window(range_id, now)
    rank([], order_by)  # an unknown sort key fails before any query
    scripts = readable_scripts(session, readable)
    current: dict[str, Samples] = defaultdict(Samples)
    by_bucket: dict[str, dict[datetime, Samples]] = defaultdict(lambda: defaultdict(Samples))
    read = 0
    for run in measured_runs(session, scripts, span.since, span.until, max_runs):
        read += 1
        current[run.dag_id].add(run)
        by_bucket[run.dag_id][span.bucket_of(run.run_after)].add(run)
    previous, previous_cut = samples_by_dag(session, list(current), span.previous_since, span.since, max_runs)
    buckets = span.buckets()
    items = []
    for dag_id, samples in current.items():
        script = scripts[dag_id]
        items.append(
            {
                "name": script.name,
                "dag_id": dag_id,
                "kind": DagKind.SCRIPT.value,
                "title": script.manifest.display_title,
                "runs": samples.runs,
                "failed": samples.failed,
                **{metric: _metric(samples, previous.get(dag_id), metric) for metric in METRICS},
                "trend": _trend(buckets, by_bucket[dag_id]),
            }
        )
    ranked = rank(items, order_by)
    return {
        "range": span.range,
        "bucket": span.bucket,
        "since": span.since,
        "until": span.until,
        "previous_since": span.previous_since,
        "generated_at": datetime.now(UTC),
        "order_by": order_by,
        "total": len(ranked),
        "truncated": read >= max_runs or previous_cut,
        "items": ranked[:limit],
    }
