"""Task instances and DAG runs over time, read back from the metadata database.

Airflow records when each try of a task instance was scheduled, queued, started and ended
(``task_instance`` holds the latest try, ``task_instance_history`` the earlier ones) and when
each DAG run was due (``run_after``) and started. From those timestamps alone this module
rebuilds any past window, so the Monitor page shows history as soon as it opens, not only
what was sampled while it was open:

- **queue depth**: task instances queued (handed to the executor, not started yet), per queue;
- **task states**: how many task instances were scheduled, queued or running at each point,
  and how many ended in each state since the point before;
- **scheduler lag**: how late runs started after they were due, and how long a task started
  after the last of its upstream tasks ended.

Percentiles come from :mod:`ylai_plugin.domain.stats`, like every other figure.

Reading task instances: Airflow has no index on their timestamps, so they are reached through
their runs (``ti_dag_run`` and ``idx_tih_dag_run``), as :func:`stats.task_monitor_queries`
does: the runs due in the window or up to :data:`RUN_LOOKBACK` before it, plus every running or
queued run. A run due earlier than that and finished since is not seen.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ylai_plugin.domain import stats

# A series has at most this many points: a chart of 15 min, 1 h or 24 h stays light.
MAX_POINTS = 360
# Hosts are sampled every 10 s: no series is finer than that.
MIN_RESOLUTION_SECONDS = 10
# Percentiles of a few runs per point say little: the lag series has fewer, wider points.
LAG_POINTS = 60
LAG_MIN_RESOLUTION_SECONDS = 60
# Runs due this long before the window are still read: their tasks may have run in it.
RUN_LOOKBACK = timedelta(hours=6)
# Bounds on the rows one answer reads (per table), as the task monitor has.
MAX_ROWS = 100_000
# Phases of a try, in the order Airflow goes through them, with the state each one means.
PHASES = (("scheduled", "scheduled"), ("queued", "queued"), ("start", "running"))
# States a try can still be in: its last phase is open (lasts until now).
OPEN_STATES = frozenset({"scheduled", "queued", "running", "deferred", "up_for_reschedule", "restarting"})
# Task instances that never ran: no hand-off gap.
NEVER_RAN = frozenset({"skipped", "upstream_failed", "removed"})


def resolution_seconds(window_minutes: int, points: int = MAX_POINTS, floor: int = MIN_RESOLUTION_SECONDS) -> int:
    """Seconds per point for a window: at most ``points`` points, never finer than ``floor``."""
    return max(floor, window_minutes * 60 // points)


@dataclass(frozen=True)
class Window:
    """A time window cut into points ``resolution`` seconds apart, aligned on the epoch.

    Point ``i`` stands for the interval ``[start_i, start_i + resolution)``; the first one
    starts at or before ``since``, the last one holds ``until`` (now).
    """

    minutes: int
    since: datetime
    until: datetime
    resolution: int

    @classmethod
    def last(
        cls,
        minutes: int,
        *,
        now: datetime | None = None,
        points: int = MAX_POINTS,
        floor: int = MIN_RESOLUTION_SECONDS,
    ) -> Window:
        """The last ``minutes`` before ``now``."""
        until = now or datetime.now(UTC)
        return cls(minutes, until - timedelta(minutes=minutes), until, resolution_seconds(minutes, points, floor))

    @property
    def _first(self) -> int:
        return int(self.since.timestamp()) // self.resolution * self.resolution

    @property
    def begin(self) -> datetime:
        """Where the first point starts (at or before ``since``)."""
        return datetime.fromtimestamp(self._first, UTC)

    def starts(self) -> list[datetime]:
        """The start of every point."""
        return [
            datetime.fromtimestamp(t, UTC) for t in range(self._first, int(self.until.timestamp()) + 1, self.resolution)
        ]

    def ends(self) -> list[datetime]:
        """Where each point is read: its interval's end, ``until`` for the last one."""
        return [min(s + timedelta(seconds=self.resolution), self.until) for s in self.starts()]

    def index(self, moment: datetime) -> int | None:
        """The point whose interval holds ``moment``; None outside the window."""
        if moment > self.until or moment.timestamp() < self._first:
            return None
        return int(moment.timestamp() - self._first) // self.resolution

    def header(self) -> dict[str, Any]:
        """The fields every timeline answer starts with."""
        return {"window_minutes": self.minutes, "resolution_seconds": self.resolution, "generated_at": self.until}


# ---------------------------------------------------------------- tries of task instances


@dataclass(frozen=True)
class Try:
    """One try of a task instance: its queue, its state and when it entered each phase."""

    queue: str
    state: str
    scheduled: datetime | None
    queued: datetime | None
    start: datetime | None
    end: datetime | None

    def marks(self) -> list[tuple[str, datetime]]:
        """The try's timestamps in phase order, without stale ones.

        A new try overwrites the timestamps it reaches and leaves the others from the try
        before (a rescheduled task keeps its old ``start_date`` until it starts again); a
        timestamp earlier than the one of a phase before it is such a leftover.
        """
        out: list[tuple[str, datetime]] = []
        for name, moment in (("scheduled", self.scheduled), ("queued", self.queued), ("start", self.start)):
            if moment is not None and (not out or moment >= out[-1][1]):
                out.append((name, moment))
        return out

    def phases(self) -> Iterator[tuple[str, datetime, datetime | None]]:
        """``(state, begin, end)`` of each live phase; ``end`` is None while the try is still in it."""
        marks = self.marks()
        end = self.end if self.end is not None and (not marks or self.end >= marks[-1][1]) else None
        names = dict(PHASES)
        for n, (name, begin) in enumerate(marks):
            if n + 1 < len(marks):
                yield names[name], begin, marks[n + 1][1]
            elif end is not None:
                yield names[name], begin, end
            elif self.state in OPEN_STATES:
                # Still in it: a deferred task ran, then deferred; the open phase is told by its state.
                yield (self.state if name == "start" else names[name]), begin, None

    def ended(self) -> tuple[str, datetime] | None:
        """The state the try ended in and when; None while it is live."""
        marks = self.marks()
        if self.end is None or self.state in OPEN_STATES or (marks and self.end < marks[-1][1]):
            return None
        return self.state, self.end


def _window_runs(dag_ids: Iterable[str], since: datetime, until: datetime) -> Any:
    """The runs whose task instances may have lived between ``since`` and ``until``."""
    from airflow.models import DagRun
    from sqlalchemy import or_, select

    return (
        select(DagRun.dag_id, DagRun.run_id)
        .where(
            DagRun.dag_id.in_(sorted(dag_ids)),
            # One comparison per arm, so each uses its index (see stats.task_monitor_queries).
            or_(DagRun.run_after >= since - RUN_LOOKBACK, DagRun.state == "running", DagRun.state == "queued"),
            DagRun.run_after <= until,
        )
        .subquery()
    )


def tries(session: Any, dag_ids: Iterable[str], since: datetime, until: datetime) -> list[Try]:
    """Every try (latest and earlier ones) of the task instances that may have been live between the two."""
    from airflow.configuration import conf
    from airflow.models import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from sqlalchemy import and_, or_, select

    runs = _window_runs(dag_ids, since, until)
    default_queue = conf.get("operators", "default_queue")
    found: list[Try] = []
    for model in (TaskInstance, TaskInstanceHistory):
        stmt = (
            select(model.queue, model.state, model.scheduled_dttm, model.queued_dttm, model.start_date, model.end_date)
            .join(runs, and_(model.dag_id == runs.c.dag_id, model.run_id == runs.c.run_id))
            .where(or_(model.end_date.is_(None), model.end_date >= since))
            .limit(MAX_ROWS)
        )
        for queue, state, scheduled, queued, start, end in stats.stream(session, stmt):
            found.append(Try(queue or default_queue, stats.state_name(state), scheduled, queued, start, end))
    return found


# ---------------------------------------------------------------- levels over time


def _levels(intervals: Iterable[tuple[datetime, datetime | None]], at: Sequence[datetime]) -> list[int]:
    """How many ``[begin, end)`` intervals (``end`` None: still open) hold each moment of ``at`` (ascending)."""
    diff = [0] * (len(at) + 1)
    for begin, end in intervals:
        first = bisect.bisect_left(at, begin)
        last = len(at) if end is None else bisect.bisect_left(at, end)
        if first < last:
            diff[first] += 1
            diff[last] -= 1
    out, level = [], 0
    for step in diff[:-1]:
        level += step
        out.append(level)
    return out


def _peaks(intervals: Iterable[tuple[datetime, datetime | None]], window: Window) -> tuple[list[int], int]:
    """The highest number of open intervals within each point of ``window``, and the number open now."""
    # At equal times an interval ends before the next begins: a hand-over is no peak.
    events = sorted((moment, step) for begin, end in intervals for moment, step in ((begin, 1), (end, -1)) if moment)
    starts = window.starts()
    level, k, peaks = 0, 0, []
    for start, bound in zip(starts, [*starts[1:], window.until + timedelta(microseconds=1)], strict=True):
        while k < len(events) and events[k][0] <= start:  # what is open when the point begins
            level += events[k][1]
            k += 1
        peak = level
        while k < len(events) and events[k][0] < bound:
            level += events[k][1]
            peak = max(peak, level)
            k += 1
        peaks.append(peak)
    return peaks, level


def queue_depth(found: Sequence[Try], window: Window) -> list[dict[str, Any]]:
    """Queued task instances per queue: the peak within each point, and how many are queued now."""
    per_queue: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for t in found:
        for state, begin, end in t.phases():
            if state == "queued":
                per_queue[t.queue].append((begin, end))
    out = []
    for queue, intervals in sorted(per_queue.items()):
        peaks, now = _peaks(intervals, window)
        out.append(
            {
                "queue": queue,
                "now": now,
                "peak": max(peaks, default=0),
                "points": [{"ts": ts, "count": n} for ts, n in zip(window.starts(), peaks, strict=True)],
            }
        )
    return out


def task_states(found: Sequence[Try], window: Window) -> list[dict[str, Any]]:
    """Per point: task instances scheduled, queued or running at its end, and those that ended in it, by state."""
    ends = window.ends()
    live: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    finished: list[Counter[str]] = [Counter() for _ in ends]
    for t in found:
        for state, begin, end in t.phases():
            live[state].append((begin, end))
        if (done := t.ended()) is not None and (i := window.index(done[1])) is not None:
            finished[i][done[0]] += 1
    levels = {state: _levels(intervals, ends) for state, intervals in live.items()}
    points = []
    for i, ts in enumerate(window.starts()):
        counts = Counter({state: values[i] for state, values in levels.items() if values[i]}) + finished[i]
        points.append({"ts": ts, "states": dict(sorted(counts.items()))})
    return points


def task_state_history(session: Any, dag_ids: frozenset[str], window: Window) -> dict[str, Any]:
    """``TaskStateHistory``: the task-states chart of ``window``, from the metadata database."""
    return window.header() | {"points": task_states(tries(session, dag_ids, window.begin, window.until), window)}


def queue_history(session: Any, dag_ids: frozenset[str], window: Window) -> dict[str, Any]:
    """The queued task instances per queue over ``window`` (``QueueMonitor`` without the broker's figures)."""
    return window.header() | {"queued": queue_depth(tries(session, dag_ids, window.begin, window.until), window)}


# ---------------------------------------------------------------- scheduler lag


def run_delays(session: Any, dag_ids: frozenset[str], window: Window) -> list[tuple[datetime, float]]:
    """``(start, seconds late)`` of the runs that started in the window: start minus ``run_after``.

    ``run_after`` is when a run became due: the end of its data interval (or its cron tick) for a
    scheduled run, the trigger time for a manual or asset-triggered one. Backfill runs are due
    in the past by design and are left out.
    """
    from airflow.models import DagRun
    from sqlalchemy import select

    stmt = select(DagRun.run_after, DagRun.start_date).where(
        DagRun.dag_id.in_(sorted(dag_ids)),
        DagRun.run_after >= window.begin - RUN_LOOKBACK,
        DagRun.start_date >= window.begin,
        DagRun.start_date <= window.until,
        DagRun.run_type != "backfill",
    )
    out = []
    for run_after, start in stats.stream(session, stmt.limit(MAX_ROWS)):
        if (late := stats.wait_seconds(run_after, start)) is not None:
            out.append((start, late))
    return out


def waiting_runs(session: Any, dag_ids: frozenset[str], now: datetime) -> list[float]:
    """Seconds each queued run has been due without starting (the lag that no start shows yet)."""
    from airflow.models import DagRun
    from sqlalchemy import select

    stmt = select(DagRun.run_after).where(
        DagRun.dag_id.in_(sorted(dag_ids)), DagRun.state == "queued", DagRun.run_after <= now
    )
    rows = session.execute(stmt.limit(MAX_ROWS))
    return [late for (run_after,) in rows if (late := stats.seconds(run_after, now)) is not None]


def handoff_gaps(session: Any, dag_ids: frozenset[str], window: Window) -> list[tuple[datetime, float]]:
    """``(start, seconds)`` per task that started in the window: its start minus the end of its last upstream task.

    Only first tries count (a retry waits for its retry delay, not for the scheduler), and the
    upstream tasks come from the DAG version the task instance ran with. "Last" is the latest
    upstream end before the start, so a task that may start after one upstream task
    (``one_success``) counts from that one.
    """
    from airflow.models import TaskInstance
    from sqlalchemy import and_, select

    from ylai_plugin.domain.dags import upstream_task_ids

    runs = _window_runs(dag_ids, window.begin, window.until)
    stmt = (
        select(
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.state,
            TaskInstance.try_number,
            TaskInstance.start_date,
            TaskInstance.end_date,
            TaskInstance.dag_version_id,
        )
        .join(runs, and_(TaskInstance.dag_id == runs.c.dag_id, TaskInstance.run_id == runs.c.run_id))
        .where(TaskInstance.start_date.is_not(None))
        .limit(MAX_ROWS)
    )
    ended: dict[tuple[str, str], dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    started: list[tuple[str, str, str, datetime, Any]] = []
    for dag_id, run_id, task_id, state, try_number, start, end, version in stats.stream(session, stmt):
        if end is not None:
            ended[dag_id, run_id][task_id].append(end)
        if (
            window.begin <= start <= window.until
            and (try_number or 0) <= 1
            and stats.state_name(state) not in NEVER_RAN
        ):
            started.append((dag_id, run_id, task_id, start, version))
    upstream: dict[tuple[str, Any], dict[str, frozenset[str]]] = {}
    out = []
    for dag_id, run_id, task_id, start, version in started:
        if (dag_id, version) not in upstream:
            upstream[dag_id, version] = upstream_task_ids(dag_id, version, session)
        ends = ended[dag_id, run_id]
        before = [e for up in upstream[dag_id, version].get(task_id, ()) for e in ends.get(up, ()) if e <= start]
        if before and (gap := stats.seconds(max(before), start)) is not None:
            out.append((start, gap))
    return out


def _bucketed(values: Iterable[tuple[datetime, float]], window: Window) -> dict[int, list[float]]:
    out: dict[int, list[float]] = defaultdict(list)
    for moment, value in values:
        if (i := window.index(moment)) is not None:
            out[i].append(value)
    return out


def scheduler_lag(session: Any, dag_ids: frozenset[str], window: Window) -> dict[str, Any]:
    """``SchedulerLag``: run start delays and task hand-off gaps per point, overall, and runs still waiting."""
    delays = run_delays(session, dag_ids, window)
    gaps = handoff_gaps(session, dag_ids, window)
    waiting = waiting_runs(session, dag_ids, window.until)
    per_delay, per_gap = _bucketed(delays, window), _bucketed(gaps, window)
    points = []
    for i, ts in enumerate(window.starts()):
        d, g = per_delay.get(i, []), per_gap.get(i, [])
        if d or g:
            points.append(
                {
                    "ts": ts,
                    "runs": len(d),
                    "run_delay_p50": stats.percentile(d, 0.50),
                    "run_delay_p95": stats.percentile(d, 0.95),
                    "tasks": len(g),
                    "task_gap_p50": stats.percentile(g, 0.50),
                    "task_gap_p95": stats.percentile(g, 0.95),
                }
            )
    return window.header() | {
        "run_delay": asdict(stats.percentiles([v for _, v in delays])),
        "task_gap": asdict(stats.percentiles([v for _, v in gaps])),
        "waiting_runs": len(waiting),
        "longest_wait_seconds": max(waiting, default=None),
        "points": points,
    }
