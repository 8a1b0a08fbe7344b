"""Error trends for the Monitor page: failures per hour per script/pipeline and the top error signatures.

A failed script task leaves its error line in the ``ylai_error`` XCom (``ScriptOperator``): task
processes have no database access in Airflow 3, and an XCom travels through the Execution API
like the script's measurements. Nothing more is written at failure time; this module reads the
failed task instances of a bounded history (:data:`HISTORY_DAYS`, :data:`MAX_FAILURES`) with
that XCom joined, and the route caches the answer like the other monitor figures.

A signature is the error line normalised (:func:`signature`): the parts that change from one
failure to the next (numbers, UUIDs, hex ids, paths, URLs, quoted values, times) become
placeholders, so ``KeyError: 'user-8812'`` and ``KeyError: 'user-9'`` count as one error.
A signature is *new* when it was first seen after the DAG's latest deploy (:func:`deployed_at`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ylai_operators.catalog import ERROR_XCOM_KEY, parse_dag_id
from ylai_plugin.domain import stats

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: How far back first-seen times are looked for (a signature older than that looks first seen then).
HISTORY_DAYS = 30
#: The most failed task instances read per answer, newest first; ``truncated`` says when hit.
MAX_FAILURES = 20_000
#: How many signatures an answer lists (the most frequent in the window).
TOP_SIGNATURES = 20
#: Longest signature kept (a line is grouped, not stored whole).
SIGNATURE_MAX = 300

# Order matters: the wider shapes first, so a URL is not cut into a path and numbers.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE), "<url>"),
    (re.compile(r"'(?:[^'\\]|\\.)*'"), "'<str>'"),
    (re.compile(r'"(?:[^"\\]|\\.)*"'), '"<str>"'),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"),
        "<time>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    # Windows drive paths, then POSIX paths (two segments at least, or ~/ ./ ../ starts).
    (re.compile(r"\b[A-Za-z]:\\[^\s:,;'\"()]*"), "<path>"),
    (re.compile(r"(?:~|\.{1,2})?(?:/[^\s/:,;'\"()]+){2,}/?|(?:~|\.{1,2})/[^\s:,;'\"()]+"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    # Hex ids: 8+ hex digits with at least one digit and one letter (a word like "deadbeef" stays).
    (re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    # Numbers, also inside identifiers after a separator (job_1234, row-42), not after a letter (utf8).
    (re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)*"), "<n>"),
)
_SPACES = re.compile(r"\s+")


def signature(line: str) -> str:
    """``line`` with what varies between occurrences of one error replaced by placeholders."""
    text = line.strip()
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text)[:SIGNATURE_MAX]


@dataclass
class Failure:
    """One failed task instance and the error line its script left (``""`` when none)."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    at: datetime
    line: str


@dataclass
class _Group:
    """The failures of one DAG with one signature: the earliest, the latest and how many in the window."""

    first: Failure
    latest: Failure
    count: int = 0

    def add(self, failure: Failure, in_window: bool) -> None:
        if failure.at < self.first.at:
            self.first = failure
        if failure.at > self.latest.at:
            self.latest = failure
        self.count += in_window


def _line(value: Any) -> str:
    line = value.get("line") if isinstance(value, dict) else None
    return line if isinstance(line, str) else ""


def failures_query(dag_ids: Collection[str], since: datetime, limit: int) -> Any:
    """Failed task instances of ``dag_ids`` in runs due since ``since``, newest first, with their error XCom.

    Runs are reached through ``idx_dag_run_run_after`` as in :func:`stats.task_monitor_queries`
    (Airflow has no index on the task instances' dates); the XCom is joined on its primary key.
    """
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, func, select

    from ylai_plugin.domain.resources import xcom_of_task

    ti = TaskInstance
    at = func.coalesce(ti.end_date, ti.start_date, DagRun.run_after)
    return (
        select(ti.dag_id, ti.run_id, ti.task_id, ti.try_number, at.label("at"), XComModel.value)
        .join(DagRun, and_(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id))
        .outerjoin(XComModel, xcom_of_task((ERROR_XCOM_KEY,)))
        .where(DagRun.dag_id.in_(sorted(dag_ids)), DagRun.run_after >= since, ti.state == "failed")
        .order_by(at.desc())
        .limit(limit)
    )


def read_failures(session: Session, dag_ids: Collection[str], since: datetime, limit: int) -> list[Failure]:
    """The rows of :func:`failures_query` as :class:`Failure` (times in UTC)."""
    from airflow.models.xcom import XComModel

    failures = []
    for row in session.execute(failures_query(dag_ids, since, limit)):
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)  # coalesce loses the column's type
        value = XComModel.deserialize_value(row) if row.value is not None else None
        failures.append(Failure(row.dag_id, row.run_id, row.task_id, int(row.try_number or 1), at, _line(value)))
    return failures


def deployed_at(session: Session, dag_ids: Collection[str]) -> dict[str, datetime]:
    """When each DAG was last deployed: the later of its latest Airflow DAG version and its current ylai version.

    Airflow writes a new ``dag_version`` whenever a DAG's serialized form changes (a manifest,
    a pipeline spec, a database script's new version: its docs name the version); a script or
    pipeline stored in ylai's database also has its current version's creation time. A
    repository script whose code changed but not its manifest makes no new DAG version: its
    deploy is the last one Airflow saw.
    """
    from airflow.models.dag_version import DagVersion
    from sqlalchemy import func, select

    from ylai_operators.catalog import pipeline_dag_id, script_dag_id
    from ylai_plugin.db.models import DbPipeline, DbPipelineVersion, DbScript, DbScriptVersion

    if not dag_ids:
        return {}
    found: dict[str, datetime] = {}

    def later(dag_id: str, moment: datetime | None) -> None:
        if moment is not None and (dag_id not in found or moment > found[dag_id]):
            found[dag_id] = moment

    wanted = sorted(dag_ids)
    versions = select(DagVersion.dag_id, func.max(DagVersion.created_at)).where(DagVersion.dag_id.in_(wanted))
    for dag_id, moment in session.execute(versions.group_by(DagVersion.dag_id)):
        later(dag_id, _utc(moment))
    scripts = select(DbScript.name, DbScriptVersion.created_at).join(
        DbScriptVersion,
        (DbScriptVersion.script_id == DbScript.id) & (DbScriptVersion.version == DbScript.current_version),
    )
    for name, moment in session.execute(scripts):
        if script_dag_id(name) in dag_ids:
            later(script_dag_id(name), _utc(moment))
    pipelines = select(DbPipeline.name, DbPipelineVersion.created_at).join(
        DbPipelineVersion,
        (DbPipelineVersion.pipeline_id == DbPipeline.id) & (DbPipelineVersion.version == DbPipeline.current_version),
    )
    for name, moment in session.execute(pipelines):
        if pipeline_dag_id(name) in dag_ids:
            later(pipeline_dag_id(name), _utc(moment))
    return found


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # an aggregate loses the column's type


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _named(dag_id: str) -> dict[str, Any]:
    parsed = parse_dag_id(dag_id)
    return {"dag_id": dag_id, "kind": stats.dag_kind(dag_id), "name": parsed.name if parsed else dag_id}


def trends(
    failures: Iterable[Failure], since: datetime, deploys: dict[str, datetime], top: int = TOP_SIGNATURES
) -> dict[str, Any]:
    """Failures per hour per DAG since ``since`` and the ``top`` signatures seen since then."""
    per_hour: dict[tuple[str, datetime], int] = defaultdict(int)
    groups: dict[tuple[str, str], _Group] = {}
    for failure in failures:
        in_window = failure.at >= since
        if in_window:
            per_hour[(failure.dag_id, _hour(failure.at))] += 1
        groups.setdefault((failure.dag_id, signature(failure.line)), _Group(failure, failure)).add(failure, in_window)
    ranked = sorted(
        ((key, g) for key, g in groups.items() if g.count),
        key=lambda item: (-item[1].count, -item[1].latest.at.timestamp(), item[0]),
    )
    per_dag: dict[str, int] = defaultdict(int)
    for (dag_id, _), n in per_hour.items():
        per_dag[dag_id] += n
    return {
        "total": sum(per_dag.values()),
        "dags": [_named(d) | {"failed": n} for d, n in sorted(per_dag.items(), key=lambda x: (-x[1], x[0]))],
        "per_hour": [_named(dag_id) | {"hour": hour, "failed": n} for (dag_id, hour), n in sorted(per_hour.items())],
        "signatures": [_signature_out(*key, g, deploys.get(key[0])) for key, g in ranked[:top]],
        "signature_count": len(ranked),
    }


def _signature_out(dag_id: str, normalised: str, group: _Group, deployed: datetime | None) -> dict[str, Any]:
    first, latest = group.first, group.latest
    return _named(dag_id) | {
        "signature": normalised,
        "example": latest.line,
        "count": group.count,
        "first_seen": first.at,
        "last_seen": latest.at,
        "deployed_at": deployed,
        "new": deployed is not None and first.at > deployed,
        "latest": {"run_id": latest.run_id, "task_id": latest.task_id, "try_number": latest.try_number},
    }


def error_trends(
    session: Session,
    dag_ids: frozenset[str],
    hours: int,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILURES,
) -> dict[str, Any]:
    """The Monitor's error trends over the last ``hours`` for ``dag_ids``, in the shape of ``ErrorTrends``."""
    now = now or datetime.now(UTC)
    since = now - timedelta(hours=hours)
    history_since = min(since, now - timedelta(days=HISTORY_DAYS))
    failures = read_failures(session, dag_ids, history_since, max_failures + 1) if dag_ids else []
    truncated = len(failures) > max_failures
    failures = failures[:max_failures]
    seen = {f.dag_id for f in failures if f.at >= since}
    body = trends(failures, since, deployed_at(session, seen))
    return {
        "generated_at": now,
        "hours": hours,
        "since": since,
        "history_days": HISTORY_DAYS,
        "truncated": truncated,
    } | body
