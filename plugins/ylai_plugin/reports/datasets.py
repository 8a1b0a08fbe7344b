"""The exportable kinds: columns, streamed rows, a row count and a summary (tables and charts).

Rows come from a server-side cursor (``yield_per``), so a million-row export holds only one
batch at a time. Summaries are aggregates (or one streamed pass keeping counters and the
durations needed for percentiles), never the rows themselves.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from ylai_operators.catalog import script_dag_id
from ylai_plugin.domain import audit, stats
from ylai_plugin.domain.stats import RunStatistics, percentile, rate, seconds
from ylai_plugin.reports.filters import ExportSpec

__all__ = ["DATASETS", "Chart", "Column", "Dataset", "Summary", "Table", "percentile", "plain", "rate", "seconds"]

BATCH = 2000


@dataclass(frozen=True)
class Column:
    """A details column: its label key (``col.*``), width in characters and value type."""

    key: str
    width: int
    type: str = "text"  # text | datetime | int | float | percent


@dataclass
class Table:
    """A small summary table; ``headers`` are label keys, cells are plain values."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    """A chart for the PDF: ``bar`` (grouped), ``pie`` (first series) or ``line``."""

    type: str
    title: str
    categories: list[str]
    series: list[tuple[str, list[float]]]


@dataclass
class Summary:
    """What the Summary sheet and the PDF's first pages show."""

    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True)
class Dataset:
    """One exportable kind."""

    kind: str
    columns: tuple[Column, ...]
    rows: Callable[[Any, ExportSpec], Iterator[tuple[Any, ...]]]
    count: Callable[[Any, ExportSpec], int]
    summary: Callable[[Any, ExportSpec], Summary]
    resource: str | None = None  # an extra ylai resource the reader needs (besides "ylai Reports")


def plain(value: Any) -> Any:
    """Enums to their value, dicts to JSON; everything else as is."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def stream(session: Any, stmt: Any) -> Iterator[Any]:
    """Rows of ``stmt`` from a server-side cursor, ``BATCH`` at a time (see :func:`stats.stream`).

    One query, one pass: the database plans and sorts it once.
    """
    return stats.stream(session, stmt, BATCH)


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    if (last - first).days > 92:
        return []
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _state_table(counts: Counter[str], total: int) -> Table:
    rows: list[list[Any]] = [[state, n, round(n / total, 4) if total else None] for state, n in counts.most_common()]
    return Table("section.by_state", ["col.state", "label.count", "label.share"], rows)


# ---------------------------------------------------------------- runs
#: The columns that name a run and time it, shared by the runs and tasks exports.
RUN_KEY = (Column("col.dag_id", 32), Column("col.run_id", 44))
# The statistics of a group of runs (a script's, a DAG's), as stats.RunStatistics gives them.
RUN_STATISTICS = (
    Column("col.runs", 9, "int"),
    Column("col.succeeded", 10, "int"),
    Column("col.failed", 9, "int"),
    Column("col.success_rate", 12, "percent"),
    Column("col.p50", 14, "float"),
    Column("col.p95", 14, "float"),
)
TIMING = (
    Column("col.queued_at", 20, "datetime"),
    Column("col.start_date", 20, "datetime"),
    Column("col.end_date", 20, "datetime"),
    Column("col.duration", 12, "float"),
)
RUN_COLUMNS = (
    *RUN_KEY,
    Column("col.run_type", 14),
    Column("col.state", 10),
    Column("col.triggered_by", 14),
    Column("col.user", 16),
    Column("col.run_after", 20, "datetime"),
    *TIMING,
)


def _runs_where(spec: ExportSpec) -> list[Any]:
    from airflow.models import DagRun

    since, until = spec.filters.period()
    where = [DagRun.dag_id.in_(sorted(spec.dag_ids)), DagRun.run_after >= since, DagRun.run_after < until]
    if spec.filters.state:
        where.append(DagRun.state.in_(spec.filters.state))
    if spec.filters.user is not None:
        where.append(DagRun.triggering_user_name == spec.filters.user)
    return where


def runs_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """One row per DAG run whose ``run_after`` is in the period, oldest first."""
    from airflow.models import DagRun

    stmt = (
        select(
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.run_type,
            DagRun.state,
            DagRun.triggered_by,
            DagRun.triggering_user_name,
            DagRun.run_after,
            DagRun.queued_at,
            DagRun.start_date,
            DagRun.end_date,
        )
    ).where(*_runs_where(spec))
    for r in stream(session, stmt.order_by(DagRun.run_after, DagRun.id)):
        yield (*(plain(v) for v in r), seconds(r.start_date, r.end_date))


def runs_count(session: Any, spec: ExportSpec) -> int:
    """How many runs match."""
    from airflow.models import DagRun

    return count_where(session, DagRun.id, _runs_where(spec))


def count_where(session: Any, column: Any, where: list[Any]) -> int:
    """How many rows match ``where`` (counting ``column``, the table's primary key)."""
    return int(session.scalar(select(func.count(column)).where(*where)) or 0)


def _day(moment: datetime) -> date:
    return moment.date()


def _run_aggregates(session: Any, spec: ExportSpec) -> RunStatistics:
    """One streamed pass over the matching runs (:func:`stats.run_statistics`), by day of ``run_after``."""
    return stats.run_statistics(session, _runs_where(spec), bucket=_day, batch=BATCH)


def _overview_rows(agg: RunStatistics) -> list[list[Any]]:
    every = stats.percentiles(agg.all_durations())
    return [
        ["label.total_runs", agg.total],
        ["label.succeeded", agg.states["success"]],
        ["label.failed", agg.states["failed"]],
        ["label.success_rate", agg.success_rate],
        ["label.duration_p50", every.p50],
        ["label.duration_p95", every.p95],
    ]


def _per_dag_rows(agg: RunStatistics) -> list[list[Any]]:
    figures = sorted(agg.dags(), key=lambda d: (-d.runs, d.dag_id))
    return [[d.dag_id, d.runs, d.succeeded, d.failed, d.success_rate, d.duration.p50, d.duration.p95] for d in figures]


PER_DAG_HEADERS = ["col.dag_id", "col.runs", "col.succeeded", "col.failed", "col.success_rate", "col.p50", "col.p95"]


def _run_charts(spec: ExportSpec, agg: RunStatistics, per_dag: list[list[Any]]) -> list[Chart]:
    charts = []
    since, until = spec.filters.period()
    days = _days(since, until)
    if days:
        per_day = agg.buckets
        charts.append(
            Chart(
                "bar",
                "chart.runs_per_day",
                [d.strftime("%m-%d") for d in days],
                [
                    ("label.succeeded", [float(per_day[d]["success"]) for d in days]),
                    ("label.failed", [float(per_day[d]["failed"]) for d in days]),
                ],
            )
        )
    states = agg.states
    if states:
        top = states.most_common()
        charts.append(
            Chart("pie", "chart.runs_by_state", [s for s, _ in top], [("label.count", [float(n) for _, n in top])])
        )
    failing = sorted((r for r in per_dag if r[3]), key=lambda r: (-r[3], r[0]))[:10]
    if failing:
        charts.append(
            Chart(
                "bar", "chart.top_failing", [r[0] for r in failing], [("label.failed", [float(r[3]) for r in failing])]
            )
        )
    return charts


def runs_summary(session: Any, spec: ExportSpec) -> Summary:
    """Totals, states, per-DAG figures; charts of runs per day, by state and the most failing DAGs."""
    agg = _run_aggregates(session, spec)
    per_dag = _per_dag_rows(agg)
    return Summary(
        tables=[
            Table("section.overview", ["label.item", "label.value"], _overview_rows(agg)),
            _state_table(agg.states, agg.total),
            Table("section.by_dag", PER_DAG_HEADERS, per_dag[:50]),
        ],
        charts=_run_charts(spec, agg, per_dag),
    )


# ---------------------------------------------------------------- tasks
TASK_COLUMNS = (
    *RUN_KEY,
    Column("col.task_id", 28),
    Column("col.map_index", 9, "int"),
    Column("col.state", 14),
    Column("col.try_number", 8, "int"),
    Column("col.operator", 18),
    Column("col.queue", 10),
    Column("col.hostname", 18),
    Column("col.user", 16),
    *TIMING,
    Column("col.queue_wait", 12, "float"),
)


def _tasks_where(spec: ExportSpec) -> list[Any]:
    from airflow.models import DagRun, TaskInstance

    since, until = spec.filters.period()
    where = [
        TaskInstance.dag_id.in_(sorted(spec.dag_ids)),
        DagRun.run_after >= since,
        DagRun.run_after < until,
    ]
    if spec.filters.state:
        named = [s for s in spec.filters.state if s != "none"]
        clauses = [TaskInstance.state.in_(named)] if named else []
        if "none" in spec.filters.state:
            clauses.append(TaskInstance.state.is_(None))
        where.append(or_(*clauses))
    if spec.filters.user is not None:
        where.append(DagRun.triggering_user_name == spec.filters.user)
    return where


def _ti_join() -> Any:
    from airflow.models import DagRun, TaskInstance

    return and_(DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id)


def tasks_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """One row per task instance of the runs in the period."""
    from airflow.models import DagRun, TaskInstance

    ti = TaskInstance
    stmt = (
        select(
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            ti.map_index,
            ti.state,
            ti.try_number,
            ti.operator,
            ti.queue,
            ti.hostname,
            DagRun.triggering_user_name,
            ti.queued_dttm,
            ti.start_date,
            ti.end_date,
            ti.duration,
        )
        .join(DagRun, _ti_join())
        .where(*_tasks_where(spec))
    )
    for r in stream(session, stmt.order_by(DagRun.run_after, DagRun.id, ti.task_id, ti.map_index)):
        wait = seconds(r.queued_dttm, r.start_date)
        yield (
            *(plain(v) for v in r[:-1]),
            round(r.duration, 3) if r.duration is not None else None,
            wait if wait is None or wait >= 0 else None,
        )


def tasks_count(session: Any, spec: ExportSpec) -> int:
    """How many task instances match."""
    from airflow.models import DagRun, TaskInstance

    stmt = select(func.count()).select_from(TaskInstance).join(DagRun, _ti_join()).where(*_tasks_where(spec))
    return int(session.scalar(stmt) or 0)


def _task_aggregates(session: Any, spec: ExportSpec) -> tuple[Counter[str], dict[str, Counter[str]], list[float]]:
    from airflow.models import DagRun, TaskInstance

    ti = TaskInstance
    per_dag: dict[str, Counter[str]] = {}
    stmt = (
        select(ti.dag_id, ti.state, func.count())
        .join(DagRun, _ti_join())
        .where(*_tasks_where(spec))
        .group_by(ti.dag_id, ti.state)
    )
    rows = session.execute(stmt).all()
    for dag_id in {dag_id for dag_id, _, _ in rows}:
        per_dag[dag_id] = stats.count_by_state((state, n) for d, state, n in rows if d == dag_id)
    states = stats.count_by_state((state, n) for _, state, n in rows)
    waits = _queue_waits(session, _tasks_where(spec))
    return states, per_dag, [w for values in waits.values() for w in values]


def _queue_waits(session: Any, where: list[Any]) -> dict[str, list[float]]:
    """Queue waits per DAG of the matching task instances (at most 200,000 of them)."""
    from airflow.models import DagRun, TaskInstance

    ti = TaskInstance
    return stats.queue_waits(
        session.execute(
            select(ti.dag_id, ti.queued_dttm, ti.start_date)
            .join(DagRun, _ti_join())
            .where(*where, ti.queued_dttm.is_not(None), ti.start_date.is_not(None))
            .limit(200_000)
        )
    )


def _queue_wait_rows(waits: list[float]) -> list[list[Any]]:
    figures = stats.percentiles(waits)
    return [["label.queue_wait_p50", figures.p50], ["label.queue_wait_p95", figures.p95]]


def tasks_summary(session: Any, spec: ExportSpec) -> Summary:
    """Task instances by state and per DAG, queue wait percentiles."""
    states, per_dag, waits = _task_aggregates(session, spec)
    total = sum(states.values())
    dag_rows = [
        [dag_id, sum(c.values()), c["success"], c["failed"], rate(c["success"], c["failed"])]
        for dag_id, c in sorted(per_dag.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ][:50]
    overview: list[list[Any]] = [
        ["label.total_tasks", total],
        ["label.succeeded", states["success"]],
        ["label.failed", states["failed"]],
        ["label.success_rate", rate(states["success"], states["failed"])],
        *_queue_wait_rows(waits),
    ]
    charts = []
    if states:
        top = states.most_common()
        charts.append(
            Chart("pie", "section.task_states", [s for s, _ in top], [("label.count", [float(n) for _, n in top])])
        )
    return Summary(
        tables=[
            Table("section.overview", ["label.item", "label.value"], overview),
            _state_table(states, total),
            Table(
                "section.by_dag",
                ["col.dag_id", "col.runs", "col.succeeded", "col.failed", "col.success_rate"],
                dag_rows,
            ),
        ],
        charts=charts,
    )


# ---------------------------------------------------------------- scripts
SCRIPT_COLUMNS = (
    Column("col.name", 24),
    Column("col.title", 32),
    Column("col.owner", 16),
    Column("col.runtime", 11),
    Column("col.source", 11),
    *RUN_STATISTICS,
    Column("col.peak_rss_p95", 14, "float"),
    Column("col.cpu_p95", 12, "float"),
    Column("col.last_run_at", 20, "datetime"),
    Column("col.last_state", 11),
)


def _mib(n: float | None) -> float | None:
    return round(n / 2**20, 1) if n is not None else None


def _script_rows(session: Any, spec: ExportSpec) -> list[tuple[Any, ...]]:
    from airflow.models import DagRun

    from ylai_plugin.domain.resources import samples_by_dag
    from ylai_plugin.domain.scripts import all_scripts

    scripts = [
        s
        for s in all_scripts(session).values()
        if script_dag_id(s.name) in spec.dag_ids
        and (spec.filters.user is None or s.manifest.owner == spec.filters.user)
    ]
    dag_ids = sorted(script_dag_id(s.name) for s in scripts)
    since, until = spec.filters.period()
    found = stats.run_statistics(
        session,
        [DagRun.dag_id.in_(dag_ids), DagRun.run_after >= since, DagRun.run_after < until],
        batch=BATCH,
    )
    # The resources page's figures (its p95 of peak RSS and CPU seconds), over the export's period.
    measured, _ = samples_by_dag(session, dag_ids, since, until)
    rows = []
    for s in sorted(scripts, key=lambda s: s.name):
        figures = found.dag(script_dag_id(s.name))
        use = measured.get(script_dag_id(s.name))
        rows.append(
            (
                s.name,
                s.manifest.display_title,
                s.manifest.owner,
                s.runtime,
                "database" if s.content is not None else "repository",
                figures.runs,
                figures.succeeded,
                figures.failed,
                figures.success_rate,
                figures.duration.p50,
                figures.duration.p95,
                _mib(use.percentiles("peak_rss_bytes").p95) if use else None,
                use.percentiles("cpu_seconds").p95 if use else None,
                figures.last_run_after,
                figures.last_state,
            )
        )
    return rows


def scripts_summary(session: Any, spec: ExportSpec) -> Summary:
    """Scripts and their runs in the period."""
    rows = _script_rows(session, spec)
    ok, bad = sum(r[6] for r in rows), sum(r[7] for r in rows)
    overview: list[list[Any]] = [
        ["label.total_scripts", len(rows)],
        ["label.total_runs", sum(r[5] for r in rows)],
        ["label.succeeded", ok],
        ["label.failed", bad],
        ["label.success_rate", rate(ok, bad)],
    ]
    failing = sorted((r for r in rows if r[7]), key=lambda r: (-r[7], r[0]))[:10]
    charts = (
        [Chart("bar", "chart.top_failing", [r[0] for r in failing], [("label.failed", [float(r[7]) for r in failing])])]
        if failing
        else []
    )
    return Summary(tables=[Table("section.overview", ["label.item", "label.value"], overview)], charts=charts)


# ---------------------------------------------------------------- audit log
AUDIT_COLUMNS = (
    Column("col.dttm", 20, "datetime"),
    Column("col.event", 22),
    Column("col.user", 16),
    Column("col.owner", 20),
    Column("col.dag_id", 32),
    Column("col.task_id", 24),
    Column("col.run_id", 40),
    Column("col.map_index", 9, "int"),
    Column("col.try_number", 8, "int"),
    Column("col.logical_date", 20, "datetime"),
    Column("col.extra", 60),
)


def _audit_where(spec: ExportSpec) -> list[Any]:
    from airflow.models.log import Log

    since, until = spec.filters.period()
    dag_clause = Log.dag_id.in_(sorted(spec.dag_ids))
    where = [
        Log.dttm >= since,
        Log.dttm < until,
        or_(dag_clause, Log.dag_id.is_(None)) if spec.include_global else dag_clause,
    ]
    if spec.filters.user is not None:
        where.append(Log.owner == spec.filters.user)
    # The audit page's filters, as GET /audit applies them (the DAG rule above is the export's own).
    only = audit.AuditFilter(action=spec.filters.action, object=spec.filters.object, everything=True)
    return where + audit.where(only, None)


def audit_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """Airflow's audit log (the ``log`` table) in the period."""
    from airflow.models.log import Log

    stmt = (
        select(
            Log.dttm,
            Log.event,
            Log.owner,
            Log.owner_display_name,
            Log.dag_id,
            Log.task_id,
            Log.run_id,
            Log.map_index,
            Log.try_number,
            Log.logical_date,
            Log.extra,
        )
    ).where(*_audit_where(spec))
    for r in stream(session, stmt.order_by(Log.dttm, Log.id)):
        yield tuple(plain(v) for v in r)


def audit_count(session: Any, spec: ExportSpec) -> int:
    """How many audit entries match."""
    from airflow.models.log import Log

    return count_where(session, Log.id, _audit_where(spec))


def audit_summary(session: Any, spec: ExportSpec) -> Summary:
    """Events by type and by user."""
    from airflow.models.log import Log

    events = Counter(
        dict(session.execute(select(Log.event, func.count()).where(*_audit_where(spec)).group_by(Log.event)).all())
    )
    users = Counter(
        {
            str(k): v
            for k, v in session.execute(
                select(Log.owner, func.count()).where(*_audit_where(spec)).group_by(Log.owner)
            ).all()
        }
    )
    total = sum(events.values())
    return Summary(
        tables=[
            Table("section.overview", ["label.item", "label.value"], [["label.total_events", total]]),
            Table("section.by_event", ["col.event", "label.count"], [[k, v] for k, v in events.most_common(25)]),
            Table("section.by_user", ["col.user", "label.count"], [[k, v] for k, v in users.most_common(25)]),
        ]
    )


# ---------------------------------------------------------------- monitor statistics
MONITOR_COLUMNS = (
    Column("col.dag_id", 32),
    Column("col.kind", 10),
    *RUN_STATISTICS,
    Column("col.queue_wait_p95", 16, "float"),
)


def _monitor(session: Any, spec: ExportSpec) -> tuple[RunStatistics, list[tuple[Any, ...]], Counter[str], list[float]]:
    from airflow.models import DagRun, TaskInstance

    agg = _run_aggregates(session, _as_runs(spec))
    since, until = spec.filters.period()
    ti_where = [
        TaskInstance.dag_id.in_(sorted(spec.dag_ids)),
        DagRun.run_after >= since,
        DagRun.run_after < until,
    ]
    task_states = stats.count_by_state(
        session.execute(
            select(TaskInstance.state, func.count())
            .join(DagRun, _ti_join())
            .where(*ti_where)
            .group_by(TaskInstance.state)
        )
    )
    waits_by_dag = _queue_waits(session, ti_where)
    rows = []
    for dag_id, total, ok, bad, success, p50, p95 in _per_dag_rows(agg):
        waits = waits_by_dag.get(dag_id, [])
        rows.append((dag_id, stats.dag_kind(dag_id), total, ok, bad, success, p50, p95, percentile(waits, 0.95)))
    every_wait = [w for values in waits_by_dag.values() for w in values]
    return agg, rows, task_states, every_wait


def monitor_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """Per-DAG statistics of the period."""
    yield from _monitor(session, spec)[1]


def monitor_count(session: Any, spec: ExportSpec) -> int:
    """DAGs with runs in the period."""
    from airflow.models import DagRun

    stmt = select(func.count(func.distinct(DagRun.dag_id))).where(*_runs_where(_as_runs(spec)))
    return int(session.scalar(stmt) or 0)


def _as_runs(spec: ExportSpec) -> ExportSpec:
    return ExportSpec(
        kind="runs", format=spec.format, language=spec.language, filters=spec.filters, dag_ids=spec.dag_ids
    )


def monitor_summary(session: Any, spec: ExportSpec) -> Summary:
    """Run and task figures, queue wait; charts of runs per day, states, top failing and success rates."""
    agg, rows, task_states, waits = _monitor(session, spec)
    overview = [
        *_overview_rows(agg),
        *_queue_wait_rows(waits),
        ["label.total_tasks", sum(task_states.values())],
    ]
    per_dag = [list(r[:1]) + list(r[2:8]) for r in rows]
    charts = _run_charts(spec, agg, per_dag)
    rated = [r for r in rows if r[5] is not None][:12]
    if rated:
        charts.append(
            Chart(
                "bar",
                "chart.success_rate",
                [r[0] for r in rated],
                [("label.success_rate", [round(r[5] * 100, 1) for r in rated])],
            )
        )
    if task_states:
        top = task_states.most_common()
        charts.append(
            Chart("pie", "section.task_states", [s for s, _ in top], [("label.count", [float(n) for _, n in top])])
        )
    task_table = _state_table(task_states, sum(task_states.values()))
    return Summary(
        tables=[
            Table("section.overview", ["label.item", "label.value"], overview),
            _state_table(agg.states, agg.total),
            Table("section.task_states", task_table.headers, task_table.rows),
        ],
        charts=charts,
    )


# ---------------------------------------------------------------- alert history
ALERT_COLUMNS = (
    Column("col.id", 8, "int"),
    Column("col.started_at", 20, "datetime"),
    Column("col.resolved_at", 20, "datetime"),
    Column("col.state", 10),
    Column("col.severity", 10),
    Column("col.rule", 26),
    Column("col.condition", 16),
    Column("col.title", 48),
    Column("col.dag_id", 32),
    Column("col.run_id", 40),
    Column("col.suppressed", 12),
    Column("col.escalation_level", 10, "int"),
)


def alert_model() -> Any:
    """The alerts helper's ``Alert`` table, or None where alerting is not installed."""
    try:
        from ylai_plugin.db.alert_models import Alert
    except ImportError:
        return None
    return Alert


def _alerts_where(spec: ExportSpec) -> list[Any]:
    alert = alert_model()
    since, until = spec.filters.period()
    dag_clause = alert.dag_id.in_(sorted(spec.dag_ids))
    where = [
        alert.started_at >= since,
        alert.started_at < until,
        or_(dag_clause, alert.dag_id.is_(None)) if spec.include_global else dag_clause,
    ]
    if spec.filters.state:
        where.append(alert.state.in_(spec.filters.state))
    return where


def alerts_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """Alerts (incidents) started in the period."""
    a = alert_model()
    stmt = (
        select(
            a.id,
            a.started_at,
            a.resolved_at,
            a.state,
            a.severity,
            a.rule_name,
            a.condition_type,
            a.title,
            a.dag_id,
            a.run_id,
            a.suppressed,
            a.escalation_level,
        )
    ).where(*_alerts_where(spec))
    for r in stream(session, stmt.order_by(a.started_at, a.id)):
        yield tuple(plain(v) for v in r)


def alerts_count(session: Any, spec: ExportSpec) -> int:
    """How many alerts match."""
    a = alert_model()
    return count_where(session, a.id, _alerts_where(spec))


def alerts_summary(session: Any, spec: ExportSpec) -> Summary:
    """Alerts by state, severity and rule."""
    a = alert_model()
    where = _alerts_where(spec)
    states = Counter(dict(session.execute(select(a.state, func.count()).where(*where).group_by(a.state)).all()))
    severities = Counter(
        dict(session.execute(select(a.severity, func.count()).where(*where).group_by(a.severity)).all())
    )
    rules = Counter(dict(session.execute(select(a.rule_name, func.count()).where(*where).group_by(a.rule_name)).all()))
    total = sum(states.values())
    overview: list[list[Any]] = [
        ["label.total_alerts", total],
        ["label.firing", states["firing"]],
        ["label.resolved", states["resolved"]],
    ]
    charts = []
    if severities:
        top = severities.most_common()
        charts.append(
            Chart("pie", "section.by_severity", [s for s, _ in top], [("label.count", [float(n) for _, n in top])])
        )
    return Summary(
        tables=[
            Table("section.overview", ["label.item", "label.value"], overview),
            Table(
                "section.by_severity", ["col.severity", "label.count"], [[k, v] for k, v in severities.most_common()]
            ),
            Table("section.by_rule", ["col.rule", "label.count"], [[k, v] for k, v in rules.most_common(25)]),
        ],
        charts=charts,
    )


def _listed(
    fn: Callable[[Any, ExportSpec], list[tuple[Any, ...]]],
) -> Callable[[Any, ExportSpec], Iterator[tuple[Any, ...]]]:
    def rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
        yield from fn(session, spec)

    return rows


def _counted(fn: Callable[[Any, ExportSpec], list[tuple[Any, ...]]]) -> Callable[[Any, ExportSpec], int]:
    return lambda session, spec: len(fn(session, spec))


# ---------------------------------------------------------------- feedback
FEEDBACK_COLUMNS = (
    Column("col.id", 6, "int"),
    Column("col.created_at", 20, "datetime"),
    Column("col.user", 16),
    Column("col.rating", 7, "int"),
    Column("col.page", 14),
    Column("col.app_version", 10),
    Column("col.comment", 60),
    Column("col.last_error", 40),
    Column("col.handled", 9),
    Column("col.reply_note", 40),
    Column("col.handled_by", 16),
    Column("col.handled_at", 20, "datetime"),
)


def _feedback_where(spec: ExportSpec) -> list[Any]:
    from ylai_plugin.db.usage_models import Feedback

    since, until = spec.filters.period()
    where: list[Any] = [Feedback.created_at >= since, Feedback.created_at < until]
    if spec.filters.user is not None:
        where.append(Feedback.user == spec.filters.user)
    states = set(spec.filters.state)
    if states == {"open"}:
        where.append(Feedback.handled.is_(False))
    elif states == {"handled"}:
        where.append(Feedback.handled.is_(True))
    # The Feedback list's page filter is an exact match; its single rating becomes any of these.
    if spec.filters.page is not None:
        where.append(Feedback.page == spec.filters.page)
    if spec.filters.rating:
        where.append(Feedback.rating.in_(sorted(set(spec.filters.rating))))
    return where


def feedback_rows(session: Any, spec: ExportSpec) -> Iterator[tuple[Any, ...]]:
    """Feedback given in the period, oldest first (not tied to any DAG: readers need ``ylai Feedback``)."""
    from ylai_plugin.db.usage_models import Feedback

    stmt = select(
        Feedback.id,
        Feedback.created_at,
        Feedback.user,
        Feedback.rating,
        Feedback.page,
        Feedback.app_version,
        Feedback.comment,
        Feedback.last_error,
        Feedback.handled,
        Feedback.reply_note,
        Feedback.handled_by,
        Feedback.handled_at,
    ).where(*_feedback_where(spec))
    for r in stream(session, stmt.order_by(Feedback.created_at, Feedback.id)):
        yield tuple(plain(v) for v in r)


def feedback_count(session: Any, spec: ExportSpec) -> int:
    """How many feedbacks match."""
    from ylai_plugin.db.usage_models import Feedback

    return count_where(session, Feedback.id, _feedback_where(spec))


def feedback_summary(session: Any, spec: ExportSpec) -> Summary:
    """Totals, the average rating, and feedback by rating and by page."""
    from ylai_plugin.db.usage_models import Feedback

    where = _feedback_where(spec)
    ratings = dict(session.execute(select(Feedback.rating, func.count()).where(*where).group_by(Feedback.rating)).all())
    pages = Counter(
        dict(session.execute(select(Feedback.page, func.count()).where(*where).group_by(Feedback.page)).all())
    )
    handled = int(session.scalar(select(func.count()).where(*where, Feedback.handled.is_(True))) or 0)
    total = sum(ratings.values())
    average = round(sum(r * n for r, n in ratings.items()) / total, 2) if total else None
    by_rating = [[r, ratings.get(r, 0)] for r in range(5, 0, -1)]
    return Summary(
        tables=[
            Table(
                "section.overview",
                ["label.item", "label.value"],
                [["label.total_feedback", total], ["label.average_rating", average], ["label.handled", handled]],
            ),
            Table("section.by_rating", ["col.rating", "label.count"], by_rating),
            Table("section.by_page", ["col.page", "label.count"], [[k, v] for k, v in pages.most_common(25)]),
        ],
        charts=[
            Chart(
                "bar",
                "section.by_rating",
                [str(r) for r, _ in by_rating],
                [("label.count", [float(n) for _, n in by_rating])],
            )
        ]
        if total
        else [],
    )


DATASETS: dict[str, Dataset] = {
    "runs": Dataset("runs", RUN_COLUMNS, runs_rows, runs_count, runs_summary),
    "tasks": Dataset("tasks", TASK_COLUMNS, tasks_rows, tasks_count, tasks_summary),
    "scripts": Dataset(
        "scripts", SCRIPT_COLUMNS, _listed(_script_rows), _counted(_script_rows), scripts_summary, "ylai Scripts"
    ),
    "audit": Dataset("audit", AUDIT_COLUMNS, audit_rows, audit_count, audit_summary),
    "monitor": Dataset("monitor", MONITOR_COLUMNS, monitor_rows, monitor_count, monitor_summary, "ylai Monitor"),
    "alerts": Dataset("alerts", ALERT_COLUMNS, alerts_rows, alerts_count, alerts_summary, "ylai Alerts"),
    "feedback": Dataset("feedback", FEEDBACK_COLUMNS, feedback_rows, feedback_count, feedback_summary, "ylai Feedback"),
}
