"""Tasks: saved, named, parameterised jobs (a script, a pipeline or any DAG with params).

Create, read, change and delete tasks, start their runs, join each task to its newest run
(started through ylai or by its schedule), and publish the scheduled ones to the Variable the
scheduled-task DAGs (:mod:`ylai_operators.scheduled_tasks`) are generated from. Answers are
plain dicts (the API validates them into its models); errors are :mod:`ylai_plugin.domain.errors`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import delete as sql_delete

from ylai_operators.catalog import DagKind
from ylai_operators.catalog import dag_id as make_dag_id
from ylai_plugin.db.models import Task, TaskRun
from ylai_plugin.domain import access, approvals, audit, dags, scripts
from ylai_plugin.domain.errors import (
    CANNOT_BE_NULL,
    MUST_BE_OBJECT,
    Conflict,
    Invalid,
    NotFound,
    Text,
    flush_or_conflict,
    not_found,
    text,
)
from ylai_plugin.domain.paging import PageQuery, fetch_page, given_equal, name_contains

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

RunKey = tuple[str, str]


def target_dag_id(*, script: str | None = None, pipeline: str | None = None, dag_id: str | None = None) -> str:
    """The DAG a task runs: a script's, a pipeline's, or ``dag_id`` itself (exactly one is given)."""
    if script is not None:
        return make_dag_id(DagKind.SCRIPT, script)
    if pipeline is not None:
        return make_dag_id(DagKind.PIPELINE, pipeline)
    assert dag_id is not None
    return dag_id


def _run_columns() -> tuple[Any, ...]:
    from airflow.models import DagRun

    # Only the columns a summary needs: loading DagRun entities cost more than the query.
    return (
        DagRun.dag_id,
        DagRun.run_id,
        DagRun.state,
        DagRun.queued_at,
        DagRun.start_date,
        DagRun.end_date,
        DagRun.triggering_user_name,
        DagRun.conf,
        DagRun.context_carrier,  # its trace id
    )


def runs_by_key(
    session: Any, keys: list[RunKey], secrets: dict[str, frozenset[str]] | None = None
) -> dict[RunKey, dict[str, Any]]:
    """The :func:`~ylai_plugin.domain.dags.run_view` of each (dag_id, run_id) that exists."""
    from airflow.models import DagRun

    if not keys:
        return {}
    if secrets is None:
        secrets = dags.secret_params({d for d, _ in keys}, session)
    # Two flat IN lists (index dag_run_dag_id_run_id_key) rather than a tuple IN: expanding
    # 50 (dag_id, run_id) pairs cost more than the query. Extra combinations are dropped below.
    wanted = set(keys)
    rows = session.execute(
        select(*_run_columns()).where(DagRun.dag_id.in_({d for d, _ in keys}), DagRun.run_id.in_({r for _, r in keys}))
    ).all()
    results = dags.run_results(keys, session)
    versions = scripts.run_versions(keys, session)
    gates = approvals.for_runs(session, keys)
    views = {}
    for run in rows:
        key = (run.dag_id, run.run_id)
        if key in wanted:
            views[key] = dags.run_view(run, results.get(key), secrets, versions.get(key))
            views[key]["approval"] = gates.get(key)
    return views


def _latest_started_runs(task_ids: list[int], session: Any) -> list[Any]:
    """For each task, its newest run started through the API, with its result, in one query.

    Joins the newest ``ylai_task_run`` row of each task to its ``dag_run`` and to the
    ``return_value`` XCom of the run's result task (by primary key), instead of three
    rounds of key lists: on a page of 50 tasks, building and expanding those lists cost more
    than the queries.
    """
    from airflow.models import DagRun
    from airflow.models.xcom import XComModel

    if not task_ids:
        return []
    newest = (
        select(func.max(TaskRun.id).label("max_id"))
        .where(TaskRun.task_id.in_(task_ids))
        .group_by(TaskRun.task_id)
        .subquery()
    )
    return list(
        session.execute(
            select(TaskRun.task_id, *_run_columns(), XComModel.value.label("value"))
            .select_from(TaskRun)
            .join(newest, TaskRun.id == newest.c.max_id)
            .join(DagRun, (DagRun.dag_id == TaskRun.dag_id) & (DagRun.run_id == TaskRun.run_id))
            .outerjoin(
                XComModel,
                (XComModel.dag_run_id == DagRun.id)
                & (XComModel.task_id == dags.result_task_id_sql(DagRun.dag_id))
                & (XComModel.map_index == -1)
                & (XComModel.key == "return_value"),
            )
        ).all()
    )


def _secrets(dag_id: str, session: Any) -> frozenset[str]:
    return dags.secret_params([dag_id], session)[dag_id]


def view(task: Task, last: dict[str, Any] | None, secret: frozenset[str]) -> dict[str, Any]:
    """A task as the API shows it: its params masked with ``secret``, its DAG's kind and name, its last run."""
    described = dags.kind_and_name(task.dag_id)
    return {
        "id": task.id,
        "name": task.name,
        "description": task.description,
        "kind": task.kind,
        "dag_id": task.dag_id,
        "dag_kind": described["kind"],
        "dag_name": described["name"],
        "params": dags.mask(task.params, secret),
        "schedule": task.schedule,
        "approval": task.approval,
        "created_by": task.created_by,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "last_run": last,
    }


def with_last_runs(tasks: list[Task], session: Any) -> list[dict[str, Any]]:
    """The :func:`view` of each task, with its newest run (started through ylai or scheduled)."""
    from airflow.models.xcom import XComModel

    scheduled: dict[int, RunKey] = {}
    for task in tasks:
        if task.schedule is not None and (keys := _run_keys(task, session, 1)):
            scheduled[task.id] = keys[0][1:]
    started = _latest_started_runs([t.id for t in tasks if t.schedule is None], session)
    # Secret params of every DAG involved, computed once per request (cached per DAG version).
    secrets = dags.secret_params(
        {t.dag_id for t in tasks} | {d for d, _ in scheduled.values()} | {r.dag_id for r in started}, session
    )
    ran = scripts.run_versions([(r.dag_id, r.run_id) for r in started], session)
    gates = approvals.for_runs(session, [(r.dag_id, r.run_id) for r in started])
    last = {
        r.task_id: {
            **dags.run_view(r, XComModel.deserialize_value(r), secrets, ran.get((r.dag_id, r.run_id))),
            "approval": gates.get((r.dag_id, r.run_id)),
        }
        for r in started
    }
    runs = runs_by_key(session, list(scheduled.values()), secrets)
    for task_id, key in scheduled.items():
        if key in runs:
            last[task_id] = runs[key]
    return [view(t, last.get(t.id), secrets[t.dag_id]) for t in tasks]


def has_dag(task: Task) -> bool:
    """Whether the task has a DAG of its own, ``task__<id>``: it has a schedule or needs approval."""
    return task.schedule is not None or task.approval is not None


def publish_schedules(session: Any) -> None:
    """Publish every task with a DAG of its own (:func:`has_dag`) to the Variable those DAGs are generated from."""
    import json

    from airflow.models.variable import Variable

    from ylai_operators.catalog import SCHEDULED_TASKS_VARIABLE as VARIABLE

    rows = session.scalars(select(Task).where(Task.schedule.is_not(None) | Task.approval.is_not(None))).all()
    payload = {
        str(t.id): {
            "name": t.name,
            "dag_id": t.dag_id,
            "params": t.params,
            "schedule": t.schedule,
            "owner": t.created_by,
            **({"approval": t.approval} if t.approval is not None else {}),
        }
        for t in rows
    }
    Variable.set(
        VARIABLE,
        json.dumps(payload, sort_keys=True),
        description="Managed by ylai: tasks with a schedule or an approval (edit them through /ylai/api/v1/tasks).",
        session=session,
    )


def scheduled_runs(dag_id: str, task_id: int, gated: bool = False) -> tuple[ColumnElement[bool], ...]:
    """Where a task's scheduled runs are: its DAG's runs whose run id has the task's prefix.

    On Postgres the index ``ix_ylai_dag_run_run_id_prefix`` (migration ``ylai_0008``) serves
    the prefix; Airflow's own ``(dag_id, run_id)`` index cannot under a non-C collation.
    A task that needs approval (``gated``) runs through its own DAG, ``task__<id>``: its
    scheduled runs are that DAG's scheduled runs (they carry the approval), and the prefixed
    runs of its target from before it needed one.
    """
    from airflow.models import DagRun
    from airflow.utils.types import DagRunType
    from sqlalchemy import and_, or_

    from ylai_operators.catalog import run_id_prefix, task_dag_id

    prefixed = and_(DagRun.dag_id == dag_id, DagRun.run_id.startswith(run_id_prefix(task_id), autoescape=True))
    if not gated:
        return (prefixed,)
    own = and_(DagRun.dag_id == task_dag_id(task_id), DagRun.run_type == DagRunType.SCHEDULED)
    return (or_(prefixed, own),)


def _run_keys(task: Task, session: Any, limit: int) -> list[tuple[datetime, str, str]]:
    """The newest runs of a task: started through the API (TaskRun) or by its schedule (run id prefix)."""
    from airflow.models import DagRun

    started = [
        (r.created_at, r.dag_id, r.run_id)
        for r in session.execute(
            select(TaskRun.created_at, TaskRun.dag_id, TaskRun.run_id)
            .where(TaskRun.task_id == task.id)
            .order_by(TaskRun.id.desc())
            .limit(limit)
        )
    ]
    scheduled = [
        (r.run_after, r.dag_id, r.run_id)
        for r in session.execute(
            select(DagRun.run_after, DagRun.dag_id, DagRun.run_id)
            .where(*scheduled_runs(task.dag_id, task.id, task.approval is not None))
            .order_by(DagRun.id.desc())
            .limit(limit)
        )
    ]

    def when(item: tuple[datetime, str, str]) -> datetime:
        return item[0] if item[0].tzinfo else item[0].replace(tzinfo=UTC)

    return sorted(started + scheduled, key=when, reverse=True)[:limit]


def dag_not_ready(dag_id: str) -> Text:
    """A task that needs approval, run before Airflow has parsed its own DAG."""
    return text(
        "task.dag_not_ready",
        "The task's own DAG {dag_id} is not in Airflow yet (it is parsed within a few minutes); try again shortly",
        dag_id=dag_id,
    )


def name_taken(name: str) -> Text:
    """The conflict of a second task with the same name (task names are unique)."""
    return text("task.name_taken", "A task named {name!r} already exists", name=name)


def get(session: Any, user: BaseUser, task_id: int) -> Task:
    """The task, if it exists and the user may read its DAG (NotFound otherwise)."""
    task: Task | None = session.get(Task, task_id)
    if task is None:
        raise not_found("Task", task_id)
    access.ensure_dag_access(user, task.dag_id)
    return task


def create(
    session: Any,
    user: BaseUser,
    *,
    name: str,
    description: str,
    dag_id: str,
    params: dict[str, Any],
    schedule: str | None,
    approval: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Save a task whose params are valid for its DAG; Conflict when the name is taken.

    :param approval: the task's own approval (``ApprovalSpec.as_record()``), None for none.
    """
    access.ensure_dag_access(user, dag_id)
    dags.validate_params(dags.get_dag(dag_id, session), params)
    task = Task(
        name=name,
        description=description,
        kind=dags.kind_of(dag_id),
        dag_id=dag_id,
        params=params,
        schedule=schedule,
        approval=approval,
        created_by=user.get_name(),
    )
    session.add(task)
    flush_or_conflict(session, name_taken(name))
    if has_dag(task):
        publish_schedules(session)
    audit.record(session, user, "ylai.task.create", "task", task.id, summary=f"created task {name!r}", dag_id=dag_id)
    return view(task, None, _secrets(dag_id, session))


def page(
    session: Any,
    user: BaseUser,
    paging: PageQuery,
    *,
    kind: str | None = None,
    dag_id: str | None = None,
    q: str | None = None,
    created_by: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tasks whose DAG the user may read, with their last runs, and the number of matches."""
    where = [Task.dag_id.in_(access.readable_dag_ids(user))]
    where += given_equal((Task.kind, kind), (Task.dag_id, dag_id), (Task.created_by, created_by))
    if q:
        where.append(name_contains(Task.name, q))
    rows, total = fetch_page(session, Task, where, paging.order_by, paging.limit, paging.offset)
    return with_last_runs(rows, session), total


def read(session: Any, user: BaseUser, task_id: int) -> dict[str, Any]:
    """One task with its last run."""
    return with_last_runs([get(session, user, task_id)], session)[0]


def update(session: Any, user: BaseUser, task_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a task's name, description, params, schedule or approval (``changes``: only the fields given)."""
    task = get(session, user, task_id)
    if "params" in changes:
        if changes["params"] is None:
            raise Invalid.at("body.params", MUST_BE_OBJECT)
        dags.validate_params(dags.get_dag(task.dag_id, session), changes["params"])
    if "name" in changes and changes["name"] is None:
        raise Invalid.at("body.name", CANNOT_BE_NULL)
    had_dag = has_dag(task)
    for key, value in changes.items():
        setattr(task, key, value if key != "description" or value is not None else "")
    flush_or_conflict(session, name_taken(task.name))
    if had_dag or has_dag(task):
        publish_schedules(session)
    changed = audit.changed_fields(changes)
    summary = f"changed {', '.join(changed) or 'nothing'} of task {task.name!r}"
    audit.record(
        session, user, "ylai.task.update", "task", task.id, summary=summary, dag_id=task.dag_id, changed=changed
    )
    return with_last_runs([task], session)[0]


def delete(session: Any, user: BaseUser, task_id: int) -> None:
    """Delete a task and its run links (its DAG runs stay in Airflow)."""
    task = get(session, user, task_id)
    session.execute(sql_delete(TaskRun).where(TaskRun.task_id == task.id))
    published = has_dag(task)
    session.delete(task)
    session.flush()
    if published:
        publish_schedules(session)
    audit.record(
        session, user, "ylai.task.delete", "task", task_id, summary=f"deleted task {task.name!r}", dag_id=task.dag_id
    )


def run(session: Any, user: BaseUser, task_id: int, params: dict[str, Any], note: str | None) -> dict[str, Any]:
    """Trigger a run of the task's DAG with its params and ``params`` over them; the new run's view.

    A task that needs approval starts a run of its own DAG, ``task__<id>``, instead (its first
    task is the approval gate; the run's conf, validated against the target's params, is what
    it passes to the target once approved).
    """
    task = get(session, user, task_id)
    access.ensure_dag_access(user, task.dag_id, "POST", "RUN")
    conf = {**task.params, **params}
    if task.approval is not None:
        from ylai_operators.catalog import task_dag_id

        dags.validate_params(dags.get_dag(task.dag_id, session), conf)
        own = task_dag_id(task.id)
        try:
            started = dags.trigger(own, conf, user, session, note=note, validate=False)
        except NotFound:
            # Published with the task; Airflow's DAG processor has not parsed it yet.
            raise Conflict(dag_not_ready(own)) from None
    else:
        started = dags.trigger(task.dag_id, conf, user, session, note=note)
    session.add(TaskRun(task_id=task.id, dag_id=started.dag_id, run_id=started.run_id, triggered_by=user.get_name()))
    session.flush()
    summary = f"started a run of task {task.name!r}"
    audit.record(
        session, user, "ylai.task.run", "task", task.id, summary=summary, dag_id=task.dag_id, run_id=started.run_id
    )
    # A new run's gate has not started: its approval shows in the task's runs once it waits.
    return dags.run_view(started, None, dags.secret_params([started.dag_id], session))


def runs_page(session: Any, user: BaseUser, task_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the task's runs (started through ylai or scheduled), newest first, and their number."""
    from airflow.models import DagRun

    task = get(session, user, task_id)
    total = session.scalar(select(func.count()).select_from(TaskRun).where(TaskRun.task_id == task.id)) or 0
    scheduled = scheduled_runs(task.dag_id, task.id, task.approval is not None)
    total += session.scalar(select(func.count()).select_from(DagRun).where(*scheduled)) or 0
    keys = [(d, r) for _, d, r in _run_keys(task, session, offset + limit)[offset:]]
    runs = runs_by_key(session, keys)
    return [runs[k] for k in keys if k in runs], total
