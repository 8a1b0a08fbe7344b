"""Read serialized DAGs, validate run params and trigger runs, as Airflow's own API does."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from ylai_operators.catalog import PIPELINE_PREFIX, SCRIPT_PREFIX, TASK_PREFIX, DagKind, name_of, parse_dag_id
from ylai_plugin import tracing
from ylai_plugin.domain.errors import Invalid, not_found, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from airflow.models.dagrun import DagRun
    from sqlalchemy.orm import Session

_PARAM_ERROR = re.compile(r"^Invalid input for param (?P<name>[^:]+): (?P<reason>.*)$", re.S)
INVALID_PARAMS = text("params.invalid", "Invalid params")


@cache
def _dag_bag() -> Any:
    from airflow.models.dagbag import DBDagBag

    return DBDagBag()


def catalog_entry(
    kind: DagKind, name: str, *, title: str, description: str, owner: str, tags: Iterable[str]
) -> dict[str, Any]:
    """The fields every generated DAG of the catalog answers first (a script's, a pipeline's).

    ``name``, ``dag_id`` and ``kind``, then ``title``, ``description``, ``owner`` and ``tags``:
    the fields of ``DagCatalogEntry`` in the API's models.
    """
    return {
        "name": name,
        "dag_id": kind.prefix + name,
        "kind": kind,
        "title": title,
        "description": description,
        "owner": owner,
        "tags": list(tags),
    }


def trigger_as(
    session: Session, user: BaseUser, dag_id: str, params: dict[str, Any], note: str | None = None
) -> DagRun:
    """:func:`trigger` for ``user``, if they may run the DAG (params validated against the DAG's).

    :raises NotFound: ``user`` may not see the DAG.
    :raises Forbidden: ``user`` may see the DAG but not run it.
    :raises Invalid: a param does not fit the DAG's params schema.
    """
    from ylai_plugin.domain import access

    access.ensure_dag_access(user, dag_id, "POST", "RUN")
    return trigger(dag_id, params, user, session, note=note)


def kind_of(dag_id: str) -> str:
    """``script``, ``pipeline`` or ``dag`` (any other DAG, tasks' and reports' too), from the DAG id."""
    parsed = parse_dag_id(dag_id)
    if parsed is not None and parsed.kind in (DagKind.SCRIPT, DagKind.PIPELINE):
        return parsed.kind.value
    return "dag"


def get_dag(dag_id: str, session: Session) -> Any:
    """The latest serialized version of ``dag_id``; 404 when it does not exist."""
    from airflow.models import DagModel
    from sqlalchemy import select

    exists = session.scalar(select(DagModel.dag_id).where(DagModel.dag_id == dag_id, ~DagModel.is_stale))
    dag = _dag_bag().get_latest_version_of_dag(dag_id, session=session) if exists else None
    if dag is None:
        raise not_found("DAG", dag_id)
    return dag


def upstream_task_ids(dag_id: str, version_id: Any, session: Session) -> dict[str, frozenset[str]]:
    """Each task's upstream task ids in one serialized version of a DAG; empty when it is gone.

    ``version_id`` is a task instance's ``dag_version_id``; without one (rows older than DAG
    versioning), the DAG's latest version stands in. Deserialized DAGs stay in the DAG bag's
    cache, so asking again costs a dictionary walk.
    """
    bag = _dag_bag()
    if version_id is not None:
        dag = bag.get_dag(version_id, session)
    else:
        dag = bag.get_latest_version_of_dag(dag_id, session=session)
    if dag is None:
        return {}
    return {task_id: frozenset(dag.get_task(task_id).upstream_task_ids) for task_id in dag.task_ids}


def validate_params(dag: Any, params: dict[str, Any], *, partial: bool = False) -> None:
    """Validate ``params`` against the DAG's Params; 422 naming the param on failure.

    :param partial: only check the params given (a preset may leave required ones to the run).
    """
    from airflow.exceptions import ParamValidationError

    unknown = sorted(set(params) - set(dag.params.keys()))
    if unknown:
        not_a_param = text("params.unknown", "not a parameter of this DAG")
        raise Invalid([{"field": f"params.{name}", "reason": not_a_param} for name in unknown], INVALID_PARAMS)
    try:
        merged = dag.params.deep_merge(params)
        if not partial:
            merged.validate()
        for name in params:
            try:
                merged.get_param(name).resolve(raises=True)
            except Exception as exc:
                raise ParamValidationError(f"Invalid input for param {name}: {exc}") from None
    except ParamValidationError as exc:
        match = _PARAM_ERROR.match(str(exc))
        field = f"params.{match['name']}" if match else "params"
        # jsonschema appends the whole schema and instance after a blank line: keep the sentence.
        # It is Airflow's (jsonschema's) English, so it stays as it is in every language.
        reason = (match["reason"] if match else str(exc)).split("\n\n")[0].strip()
        raise Invalid.at(field, reason, INVALID_PARAMS) from None


def trigger(
    dag_id: str,
    params: dict[str, Any],
    user: BaseUser,
    session: Session,
    note: str | None = None,
    validate: bool = True,
) -> DagRun:
    """Create a manual DAG run with ``params`` as conf, like ``POST /api/v2/dags/{id}/dagRuns``.

    :param validate: check ``params`` against the DAG's params; False when the caller checked
        them against the DAG they are meant for (a task's own DAG passes them to its target).
    """
    from airflow.exceptions import ParamValidationError
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    from ylai_plugin.domain import backpressure

    dag = get_dag(dag_id, session)
    if validate:
        validate_params(dag, params)
    run_after = datetime.now(UTC)
    run_id = dag.timetable.generate_run_id(run_type=DagRunType.MANUAL, run_after=run_after, data_interval=None)
    # Refused (Overloaded) when a queue of its tasks is full; a run not created gives its places back.
    with backpressure.admission(session, dag):
        try:
            run = dag.create_dagrun(
                run_id=run_id,
                logical_date=None,
                data_interval=None,
                run_after=run_after,
                conf=params,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.REST_API,
                triggering_user_name=user.get_name(),
                state=DagRunState.QUEUED,
                partition_key=None,
                partition_date=None,
                session=session,
            )
        except (ParamValidationError, ValueError) as exc:
            # Airflow's own sentence; a translation only says who refused.
            raise Invalid(message=text("dags.run_refused", "{reason}", reason=str(exc))) from None
    if note:
        run.note = (note, user.get_id())
    join_request_trace(run, session)
    session.flush()
    created: DagRun = run
    return created


def join_request_trace(run: DagRun, session: Session) -> None:
    """Make ``run``'s trace the current request's: its ``context_carrier`` and its task instances'.

    Airflow gave the run a carrier of a new trace (``DagRun.__init__``) and each task instance one
    derived from it (``create_dagrun``); both are replaced, the latter with Airflow's own
    ``new_task_run_carrier``, so that the run's ``dag_run`` and task spans land in the request's
    trace. Nothing changes when no span is recording (tracing off, or the request not sampled).
    """
    carrier = tracing.run_carrier(run.context_carrier)
    if carrier is None:
        return
    from airflow._shared.observability.traces import new_task_run_carrier
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select, update

    run.context_carrier = carrier
    # create_dagrun bulk-inserted the task instances: updated by primary key, not loaded.
    ti_ids = session.scalars(
        select(TaskInstance.id).where(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
    ).all()
    if ti_ids:
        session.execute(
            update(TaskInstance),
            [{"id": ti_id, "context_carrier": new_task_run_carrier(carrier)} for ti_id in ti_ids],  # type: ignore[no-untyped-call]
        )


def run_summary(run: Any) -> dict[str, Any]:
    """The fields of a DagRun ylai returns."""
    start, end = run.start_date, run.end_date
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": str(run.state) if run.state is not None else None,
        "queued_at": run.queued_at,
        "start_date": start,
        "end_date": end,
        "duration_seconds": (end - start).total_seconds() if start and end else None,
        "triggered_by": getattr(run, "triggering_user_name", None),
        "conf": run.conf or {},
        "trace_id": tracing.carrier_trace_id(getattr(run, "context_carrier", None)),
    }


def kind_and_name(dag_id: str) -> dict[str, str | None]:
    """``{"kind", "name"}`` of a generated DAG id (``script``, ``disk_usage``); both None for any other DAG.

    Answers carry them beside each ``dag_id`` so that no client slices ids.
    """
    parsed = parse_dag_id(dag_id)
    return {"kind": parsed.kind.value, "name": parsed.name} if parsed is not None else {"kind": None, "name": None}


def run_view(
    run: Any, result: Any, secrets: dict[str, frozenset[str]], script_version: str | None = None
) -> dict[str, Any]:
    """:func:`run_summary` with the DAG's kind and name, ``result`` and the conf masked with ``secrets[dag_id]``.

    :param script_version: the version of the script a script run ran, when known.
    """
    summary = run_summary(run)
    summary["conf"] = mask(summary["conf"], secrets.get(run.dag_id, frozenset()))
    return {**summary, **kind_and_name(run.dag_id), "result": result, "script_version": script_version}


def result_task_id(dag_id: str) -> str | None:
    """The task whose XCom is a ylai DAG's result: the script's task, or ``collect_outputs``."""
    kind = kind_of(dag_id)
    if kind == DagKind.SCRIPT:
        return name_of(dag_id, DagKind.SCRIPT)
    if kind == DagKind.PIPELINE:
        return "collect_outputs"
    return None


def result_task_id_sql(dag_id: Any) -> Any:
    """:func:`result_task_id` as a SQL expression over a ``dag_id`` column, to join a run's result.

    Kept next to its Python twin: the two must change together (a unit test compares them).
    """
    from sqlalchemy import case, func, literal, null

    return case(
        (dag_id.startswith(SCRIPT_PREFIX, autoescape=True), func.substr(dag_id, len(SCRIPT_PREFIX) + 1)),
        (dag_id.startswith(PIPELINE_PREFIX, autoescape=True), literal("collect_outputs")),
        else_=null(),
    )


def run_results(
    keys: list[tuple[str, str]], session: Session, xcom_key: str = "return_value"
) -> dict[tuple[str, str], Any]:
    """The ylai result (``return_value`` XCom of the result task) of each (dag_id, run_id).

    :param xcom_key: another XCom of the result task instead (the script version a run ran, say).
    """
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    wanted = {(d, r, t) for d, r in keys if (t := result_task_id(d))}
    if not wanted:
        return {}
    # Three IN lists (one bound parameter each, index idx_xcom_task_instance), not one OR'ed
    # clause per run: building and compiling 50 clauses cost more than the query. The few
    # extra combinations they match are dropped below.
    rows = session.execute(
        select(XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.value).where(
            XComModel.dag_id.in_({d for d, _, _ in wanted}),
            XComModel.task_id.in_({t for _, _, t in wanted}),
            XComModel.run_id.in_({r for _, r, _ in wanted}),
            XComModel.map_index == -1,
            XComModel.key == xcom_key,
        )
    ).all()
    return {
        (row.dag_id, row.run_id): XComModel.deserialize_value(row)
        for row in rows
        if (row.dag_id, row.run_id, row.task_id) in wanted
    }


def secret_param_names(dag: Any) -> set[str]:
    """Params flagged secret in their schema (ylai sets ``x-ylai-secret`` on them); see :func:`secret_params`."""
    names = set()
    for name in dag.params:
        param = dag.params.get_param(name) if hasattr(dag.params, "get_param") else None
        schema = getattr(param, "schema", None) or {}
        if schema.get("x-ylai-secret"):
            names.add(name)
    return names


_SECRETS_MAX = 1024
_secrets_lock = threading.Lock()
# (dag_id, dag_hash of its latest serialized version) -> its secret param names; LRU-bounded.
_secrets_cache: OrderedDict[tuple[str, str], frozenset[str]] = OrderedDict()


TASK_ID = re.compile(re.escape(TASK_PREFIX) + r"[0-9]{1,18}")


def _task_targets(dag_ids: Iterable[str], session: Session) -> dict[str, str]:
    """The target DAG of each saved task's own DAG (``task__<id>``) among ``dag_ids``."""
    from sqlalchemy import select

    from ylai_plugin.db.models import Task

    ids = {int(d.removeprefix(TASK_PREFIX)): d for d in dag_ids if TASK_ID.fullmatch(d)}
    if not ids:
        return {}
    return {ids[i]: target for i, target in session.execute(select(Task.id, Task.dag_id).where(Task.id.in_(ids)))}


def secret_params(dag_ids: Iterable[str], session: Session) -> dict[str, frozenset[str]]:
    """The secret param names of each DAG (empty for a DAG that has no serialized version).

    One query reads the ``dag_hash`` of every DAG's latest serialized version; a DAG is only
    deserialized when that hash was not seen before, so list endpoints pay one small query per
    request, never a deserialization per row. A changed DAG has a new hash, hence a new entry.
    """
    from airflow.models.dag_version import DagVersion
    from airflow.models.serialized_dag import SerializedDagModel
    from sqlalchemy import func, select

    wanted = sorted(set(dag_ids))
    if not wanted:
        return {}
    # A task's own DAG (task__<id>, a task that needs approval) passes its runs' conf to the
    # task's target: the target's secret params are its secrets.
    targets = _task_targets(wanted, session)
    if targets:
        found = secret_params(set(wanted) - set(targets) | set(targets.values()), session)
        return {d: found.get(targets.get(d, d), frozenset()) for d in wanted}
    latest = (
        select(DagVersion.dag_id, func.max(DagVersion.version_number).label("version_number"))
        .join(SerializedDagModel, SerializedDagModel.dag_version_id == DagVersion.id)
        .where(DagVersion.dag_id.in_(wanted))
        .group_by(DagVersion.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(SerializedDagModel.dag_id, SerializedDagModel.dag_version_id, SerializedDagModel.dag_hash)
        .join(DagVersion, SerializedDagModel.dag_version_id == DagVersion.id)
        .join(
            latest,
            (DagVersion.dag_id == latest.c.dag_id) & (DagVersion.version_number == latest.c.version_number),
        )
    ).all()
    out: dict[str, frozenset[str]] = dict.fromkeys(wanted, frozenset())
    for dag_id, version_id, dag_hash in rows:
        key = (dag_id, dag_hash)
        with _secrets_lock:
            names = _secrets_cache.get(key)
            if names is not None:
                _secrets_cache.move_to_end(key)
        if names is None:
            dag = _dag_bag().get_dag(version_id, session)
            names = frozenset(secret_param_names(dag)) if dag is not None else frozenset()
            with _secrets_lock:
                _secrets_cache[key] = names
                while len(_secrets_cache) > _SECRETS_MAX:
                    _secrets_cache.popitem(last=False)
        out[dag_id] = names
    return out


def mask(values: dict[str, Any] | None, secret: set[str] | frozenset[str]) -> dict[str, Any]:
    """Replace secret values with ``***`` for API responses."""
    return {k: ("***" if k in secret and v not in (None, "") else v) for k, v in (values or {}).items()}
