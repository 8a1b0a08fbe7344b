"""``/tasks``: saved, named, parameterised jobs (a script, a pipeline or any DAG with params)."""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.datamodels.runs import RunBody, RunOut
from ylai_plugin.api.datamodels.tasks import TaskIn, TaskKind, TaskOut, TaskPatch, TaskSort
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, cached_read, pick_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.api.usage_source import SourceDep
from ylai_plugin.domain import form_options, tasks, usage
from ylai_plugin.domain.paging import PageQuery
from ylai_plugin.permissions import RESOURCE_TASKS

router = APIRouter(prefix="/tasks", tags=["tasks"], responses={404: {"model": ErrorResponse}})


@router.post(
    "",
    status_code=201,
    response_model=TaskOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "POST"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_task(body: TaskIn, user: UserDep, session: SessionDep) -> TaskOut:
    """Save a task. Its params are validated against the DAG's params now and again at each run."""
    created = tasks.create(
        session,
        user,
        name=body.name,
        description=body.description,
        dag_id=body.target_dag_id(),
        params=body.params,
        schedule=body.schedule,
        approval=body.approval.as_record() if body.approval is not None else None,
    )
    return TaskOut(**created)


@router.get("", response_model=Page[TaskOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_TASKS))])
def list_tasks(
    request: Request,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: TaskSort = "-updated_at",
    kind: TaskKind | None = None,
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
        paging = PageQuery(limit, offset, order_by)
        found, total = tasks.page(session, user, paging, kind=kind, dag_id=dag_id, q=q, created_by=created_by)
        items = [TaskOut(**t) for t in found]
        return pick_fields(Page[TaskOut](items=items, total=total, limit=limit, offset=offset), fields, TaskOut)

    return cached_read(request, user, ["tasks"], compute)


@router.get("/{task_id}", response_model=TaskOut, dependencies=[Depends(requires(RESOURCE_TASKS))])
def get_task(request: Request, task_id: IdPath, user: UserDep) -> Response:
    """One task with its last run's state, duration and result.

    Cached per user like the list: an edit or a run through ylai shows in the next answer.
    """
    return cached_read(request, user, ["tasks"], lambda session: TaskOut(**tasks.read(session, user, task_id)))


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "PATCH"))],
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def update_task(task_id: IdPath, body: TaskPatch, user: UserDep, session: SessionDep) -> TaskOut:
    """Change a task's name, description, params, schedule or approval (null: none)."""
    return TaskOut(**tasks.update(session, user, task_id, body.changes()))


@router.delete("/{task_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_TASKS, "DELETE"))])
def delete_task(task_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """Delete a task (its DAG runs stay in Airflow)."""
    tasks.delete(session, user, task_id)
    return Response(status_code=204)


@router.post(
    "/{task_id}/run",
    status_code=201,
    response_model=RunOut,
    dependencies=[Depends(requires(RESOURCE_TASKS, "POST"))],
    responses={
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
def run_task(task_id: IdPath, user: UserDep, session: SessionDep, body: RunBody, source: SourceDep) -> RunOut:
    """Validate the params against the script's schema and trigger a DAG run.

    A task with an ``approval`` starts a run of its own DAG, ``task__<id>``, which waits for the
    approval and then runs the target (409 until Airflow has parsed that DAG, just after saving).
    A value of a param with live options (``options_from``) must be one of them (422), checked
    against its source at submit time (503 when the source is down).
    """
    form_options.check_task_run(session, user, task_id, body.params)
    started = tasks.run(session, user, task_id, body.params, body.note)
    usage.record_run(session, user, str(started["dag_id"]), source, body.preset_id)
    return RunOut(**started)


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

    def compute(session: Any) -> Page[RunOut]:
        found, total = tasks.runs_page(session, user, task_id, limit, offset)
        return Page[RunOut](items=[RunOut(**r) for r in found], total=total, limit=limit, offset=offset)

    return cached_read(request, user, ["tasks"], compute)
