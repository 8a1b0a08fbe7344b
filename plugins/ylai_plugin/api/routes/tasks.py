"""``/tasks``: saved, named, parameterised jobs (a script, a pipeline or any DAG with params)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import ColumnElement, delete, func, select

from ylai_plugin.api.errors import ApiError, ErrorResponse, flush_or_conflict, not_found
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, Page, PartialPage, fetch_page, pick_fields
from ylai_plugin.api.security import (
    UserDep,
    ensure_dag_access,
    readable_dag_ids,
    requires,
)
from ylai_plugin.db.models import Task, TaskRun
from ylai_plugin.domain import dags as dag_service
from ylai_plugin.domain.list_cache import cached_read
from ylai_plugin.permissions import RESOURCE_TASKS

router = APIRouter(prefix="/tasks", tags=["tasks"], responses={404: {"model": ErrorResponse}})

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$"
RUN_EXAMPLE: dict[str, Any] = {
    "dag_id": "script__disk_usage",
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "state": "success",
    "queued_at": "2026-11-27T09:30:00.200000Z",
    "start_date": "2026-11-27T09:30:01Z",
    "end_date": "2026-11-27T09:30:04.500000Z",
    "duration_seconds": 3.5,
    "triggered_by": "alice",
    "conf": {"top": 5},
    "result": {"outputs": {"largest": "/var/log"}, "exit_code": 0, "peak_rss_bytes": 5242880, "cpu_seconds": 0.4},
}


class RunOut(BaseModel):
    """A DAG run, as ylai shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]})

    dag_id: str
    run_id: str
    state: str | None
    queued_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration_seconds: float | None = None
    triggered_by: str | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    result: Any = Field(default=None, description="The script's or pipeline's result (its XCom), when finished.")


class TaskIn(BaseModel):
    """A new task: exactly one of ``script``, ``pipeline`` or ``dag_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "nightly profile", "script": "csv_profiler", "params": {"path": "/data/x.csv"}}]
        },
    )

    name: str = Field(pattern=NAME_PATTERN, description="Unique name.")
    description: str = Field(default="", max_length=4000)
    script: str | None = Field(default=None, description="A script's name (its DAG is script__<name>).")
    pipeline: str | None = Field(default=None, description="A pipeline's name (its DAG is pipeline__<name>).")
    dag_id: str | None = Field(default=None, max_length=250, description="Any DAG with params.")
    params: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = Field(default=None, max_length=128, description="Cron expression or preset.")

    @model_validator(mode="after")
    def _one_target(self) -> TaskIn:
        if sum(x is not None for x in (self.script, self.pipeline, self.dag_id)) != 1:
            raise ValueError("give exactly one of 'script', 'pipeline' or 'dag_id'")
        return self

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        from ylai_operators.pipeline import check_schedule

        if value is not None and (problem := check_schedule(value)):
            raise ValueError(problem)
        return value

    def target_dag_id(self) -> str:
        """The DAG this task runs."""
        if self.script is not None:
            return f"script__{self.script}"
        if self.pipeline is not None:
            return f"pipeline__{self.pipeline}"
        assert self.dag_id is not None
        return self.dag_id


class TaskPatch(BaseModel):
    """Fields to change; the target DAG cannot change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"description": "Profile last night's export", "params": {"path": "/data/y.csv"}}]
        },
    )

    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=4000)
    params: dict[str, Any] | None = None
    schedule: str | None = Field(default=None, max_length=128)

    _schedule = field_validator("schedule")(TaskIn._schedule.__func__)  # type: ignore[attr-defined]


class TaskOut(BaseModel):
    """A task with its last run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "name": "nightly profile",
                    "description": "Profile the nightly CSV export",
                    "kind": "script",
                    "dag_id": "script__csv_profiler",
                    "params": {"path": "/data/x.csv"},
                    "schedule": None,
                    "created_by": "alice",
                    "created_at": "2026-11-20T08:00:00Z",
                    "updated_at": "2026-11-27T09:15:00Z",
                    "last_run": {**RUN_EXAMPLE, "dag_id": "script__csv_profiler", "conf": {"path": "/data/x.csv"}},
                }
            ]
        }
    )

    id: int
    name: str
    description: str
    kind: Literal["script", "pipeline", "dag"]
    dag_id: str
    params: dict[str, Any]
    schedule: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_run: RunOut | None = None


class RunRequest(BaseModel):
    """Optional overrides for one run."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"params": {"top": 5}, "note": "after the clean-up"}]}
    )

    params: dict[str, Any] = Field(default_factory=dict, description="Merged over the task's saved params.")
    note: str | None = Field(default=None, max_length=1000)


# Optional body: absent means no overrides. A default (not ``None``) keeps the documented
# schema a plain ``RunRequest`` that generated clients can leave out, not ``anyOf [.., null]``.
RunBody = Annotated[RunRequest, Body(default_factory=RunRequest)]


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
    )


def run_out(run: Any, result: Any, secrets: dict[str, frozenset[str]]) -> RunOut:
    """A run's summary, its conf masked with the secret params of its DAG (``secrets``)."""
    summary = dag_service.run_summary(run)
    summary["conf"] = dag_service.mask(summary["conf"], secrets.get(run.dag_id, frozenset()))
    return RunOut(**summary, result=result)


def _runs(
    session: Any, keys: list[tuple[str, str]], secrets: dict[str, frozenset[str]] | None = None
) -> dict[tuple[str, str], RunOut]:
    from airflow.models import DagRun

    if not keys:
        return {}
    if secrets is None:
        secrets = dag_service.secret_params({d for d, _ in keys}, session)
    # Two flat IN lists (index dag_run_dag_id_run_id_key) rather than a tuple IN: expanding
    # 50 (dag_id, run_id) pairs cost more than the query. Extra combinations are dropped below.
    wanted = set(keys)
    rows = session.execute(
        select(*_run_columns()).where(DagRun.dag_id.in_({d for d, _ in keys}), DagRun.run_id.in_({r for _, r in keys}))
    ).all()
    results = dag_service.run_results(keys, session)
    return {
        (run.dag_id, run.run_id): run_out(run, results.get((run.dag_id, run.run_id)), secrets)
        for run in rows
        if (run.dag_id, run.run_id) in wanted
    }


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
                & (XComModel.task_id == dag_service.result_task_id_sql(DagRun.dag_id))
                & (XComModel.map_index == -1)
                & (XComModel.key == "return_value"),
            )
        ).all()
    )


def _secrets(dag_id: str, session: Any) -> frozenset[str]:
    return dag_service.secret_params([dag_id], session)[dag_id]


def _to_out(task: Task, last: RunOut | None, secret: frozenset[str]) -> TaskOut:
    return TaskOut(
        id=task.id,
        name=task.name,
        description=task.description,
        kind=task.kind,  # type: ignore[arg-type]
        dag_id=task.dag_id,
        params=dag_service.mask(task.params, secret),
        schedule=task.schedule,
        created_by=task.created_by,
        created_at=task.created_at,
        updated_at=task.updated_at,
        last_run=last,
    )


def _with_last_runs(tasks: list[Task], session: Any) -> list[TaskOut]:
    from airflow.models.xcom import XComModel

    scheduled: dict[int, tuple[str, str]] = {}
    for task in tasks:
        if task.schedule is not None and (keys := _run_keys(task, session, 1)):
            scheduled[task.id] = keys[0][1:]
    started = _latest_started_runs([t.id for t in tasks if t.schedule is None], session)
    # Secret params of every DAG involved, computed once per request (cached per DAG version).
    secrets = dag_service.secret_params(
        {t.dag_id for t in tasks} | {d for d, _ in scheduled.values()} | {r.dag_id for r in started}, session
    )
    last: dict[int, RunOut] = {r.task_id: run_out(r, XComModel.deserialize_value(r), secrets) for r in started}
    runs = _runs(session, list(scheduled.values()), secrets)
    for task_id, key in scheduled.items():
        if key in runs:
            last[task_id] = runs[key]
    return [_to_out(t, last.get(t.id), secrets[t.dag_id]) for t in tasks]


def publish_schedules(session: Any) -> None:
    """Publish every scheduled task to the Variable the ``task__<id>`` DAGs are generated from."""
    import json

    from airflow.models.variable import Variable

    from ylai_operators.scheduled_tasks import VARIABLE

    rows = session.scalars(select(Task).where(Task.schedule.is_not(None))).all()
    payload = {
        str(t.id): {
            "name": t.name,
            "dag_id": t.dag_id,
            "params": t.params,
            "schedule": t.schedule,
            "owner": t.created_by,
        }
        for t in rows
    }
    Variable.set(
        VARIABLE,
        json.dumps(payload, sort_keys=True),
        description="Managed by ylai: tasks with a schedule (edit them through /ylai/api/v1/tasks).",
        session=session,
    )


def scheduled_runs(dag_id: str, task_id: int) -> tuple[ColumnElement[bool], ...]:
    """Where a task's scheduled runs are: its DAG's runs whose run id has the task's prefix.

    On Postgres the index ``ix_ylai_dag_run_run_id_prefix`` (migration ``ylai_0008``) serves
    the prefix; Airflow's own ``(dag_id, run_id)`` index cannot under a non-C collation.
    """
    from airflow.models import DagRun

    from ylai_operators.scheduled_tasks import run_id_prefix

    return (DagRun.dag_id == dag_id, DagRun.run_id.startswith(run_id_prefix(task_id), autoescape=True))


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
            .where(*scheduled_runs(task.dag_id, task.id))
            .order_by(DagRun.id.desc())
            .limit(limit)
        )
    ]

    def when(item: tuple[datetime, str, str]) -> datetime:
        return item[0] if item[0].tzinfo else item[0].replace(tzinfo=UTC)

    return sorted(started + scheduled, key=when, reverse=True)[:limit]


def _get_task(task_id: int, user: Any, session: Any) -> Task:
    task: Task | None = session.get(Task, task_id)
    if task is None:
        raise not_found("Task", task_id)
    ensure_dag_access(user, task.dag_id)
    return task


@router.post(
    "",
    status_code=201,
    response_model=TaskOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_task(body: TaskIn, user: UserDep, session: SessionDep) -> TaskOut:
    """Save a task. Its params are validated against the DAG's params now and again at each run."""
    dag_id = body.target_dag_id()
    ensure_dag_access(user, dag_id)
    dag_service.validate_params(dag_service.get_dag(dag_id, session), body.params)
    task = Task(
        name=body.name,
        description=body.description,
        kind=dag_service.kind_of(dag_id),
        dag_id=dag_id,
        params=body.params,
        schedule=body.schedule,
        created_by=user.get_name(),
    )
    session.add(task)
    flush_or_conflict(session, f"A task named {body.name!r} already exists")
    if task.schedule:
        publish_schedules(session)
    return _to_out(task, None, _secrets(dag_id, session))


SortField = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"]


@router.get("", response_model=Page[TaskOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_TASKS))])
def list_tasks(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: SortField = "-updated_at",
    kind: Literal["script", "pipeline", "dag"] | None = None,
    dag_id: str | None = None,
    q: Annotated[str | None, Query(max_length=128, description="Name contains (case-insensitive).")] = None,
    created_by: str | None = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Response:
    """List the tasks whose DAG the caller may read.

    Answers are cached per user for ``[ylai] list_cache_seconds``; a task created, edited,
    deleted or run through ylai shows in the next answer (see ``ylai_plugin.domain.list_cache``).
    """

    def compute(session: Any) -> BaseModel:
        where: list[ColumnElement[bool]] = [Task.dag_id.in_(readable_dag_ids(user))]
        if kind:
            where.append(Task.kind == kind)
        if dag_id:
            where.append(Task.dag_id == dag_id)
        if q:
            where.append(func.lower(Task.name).contains(q.lower(), autoescape=True))
        if created_by:
            where.append(Task.created_by == created_by)
        rows, total = fetch_page(session, Task, where, order_by, limit, offset)
        page = Page[TaskOut](items=_with_last_runs(rows, session), total=total, limit=limit, offset=offset)
        return pick_fields(page, fields, TaskOut)

    return cached_read(request, user, ["tasks"], compute)


@router.get("/{task_id}", response_model=TaskOut, dependencies=[Depends(requires(RESOURCE_TASKS))])
def get_task(request: Request, task_id: IdPath, user: UserDep) -> Response:
    """One task with its last run's state, duration and result.

    Cached per user like the list: an edit or a run through ylai shows in the next answer.
    """
    return cached_read(
        request, user, ["tasks"], lambda session: _with_last_runs([_get_task(task_id, user, session)], session)[0]
    )


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "PATCH"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def update_task(task_id: IdPath, body: TaskPatch, user: UserDep, session: SessionDep) -> TaskOut:
    """Change a task's name, description, params or schedule."""
    task = _get_task(task_id, user, session)
    changes = body.model_dump(exclude_unset=True)
    if "params" in changes:
        if changes["params"] is None:
            raise ApiError(422, "Invalid input", [{"field": "body.params", "reason": "must be an object"}])
        dag_service.validate_params(dag_service.get_dag(task.dag_id, session), changes["params"])
    if "name" in changes and changes["name"] is None:
        raise ApiError(422, "Invalid input", [{"field": "body.name", "reason": "cannot be null"}])
    was_scheduled = task.schedule is not None
    for key, value in changes.items():
        setattr(task, key, value if key != "description" or value is not None else "")
    flush_or_conflict(session, f"A task named {task.name!r} already exists")
    if was_scheduled or task.schedule is not None:
        publish_schedules(session)
    return _with_last_runs([task], session)[0]


@router.delete("/{task_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_TASKS, "DELETE"))])
def delete_task(task_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """Delete a task (its DAG runs stay in Airflow)."""
    task = _get_task(task_id, user, session)
    session.execute(delete(TaskRun).where(TaskRun.task_id == task.id))
    scheduled = task.schedule is not None
    session.delete(task)
    session.flush()
    if scheduled:
        publish_schedules(session)
    return Response(status_code=204)


@router.post(
    "/{task_id}/run",
    status_code=201,
    response_model=RunOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "POST"))],
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def run_task(task_id: IdPath, user: UserDep, session: SessionDep, body: RunBody) -> RunOut:
    """Validate the params against the script's schema and trigger a DAG run."""
    task = _get_task(task_id, user, session)
    ensure_dag_access(user, task.dag_id, "POST", "RUN")
    params = {**task.params, **body.params}
    run = dag_service.trigger(task.dag_id, params, user, session, note=body.note)
    session.add(TaskRun(task_id=task.id, dag_id=run.dag_id, run_id=run.run_id, triggered_by=user.get_name()))
    session.flush()
    return run_out(run, None, dag_service.secret_params([run.dag_id], session))


@router.get("/{task_id}/runs", response_model=Page[RunOut], dependencies=[Depends(requires(RESOURCE_TASKS))])
def list_task_runs(
    request: Request,
    task_id: IdPath,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Response:
    """The runs started from this task, newest first.

    Cached per user like the task list: a run started through ylai shows in the next answer,
    state changes the scheduler writes within ``[ylai] list_cache_seconds``.
    """
    return cached_read(request, user, ["tasks"], lambda session: _task_runs(session, task_id, user, limit, offset))


def _task_runs(session: Any, task_id: int, user: Any, limit: int, offset: int) -> Page[RunOut]:
    from airflow.models import DagRun

    task = _get_task(task_id, user, session)
    total = session.scalar(select(func.count()).select_from(TaskRun).where(TaskRun.task_id == task.id)) or 0
    total += session.scalar(select(func.count()).select_from(DagRun).where(*scheduled_runs(task.dag_id, task.id))) or 0
    keys = [(d, r) for _, d, r in _run_keys(task, session, offset + limit)[offset:]]
    runs = _runs(session, keys)
    return Page[RunOut](items=[runs[k] for k in keys if k in runs], total=total, limit=limit, offset=offset)
