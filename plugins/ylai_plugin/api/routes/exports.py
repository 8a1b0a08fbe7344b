"""``/exports``: runs, tasks, scripts, audit log, monitor statistics and alert history as CSV, xlsx or PDF.

``GET /exports/{kind}`` answers with the file itself (CSV streamed row batch by row batch; xlsx and
PDF up to ``[ylai] export_direct_max_rows`` rows). ``POST /exports/jobs`` starts an export job for
anything bigger; its progress, and a download link once finished, are at ``GET /exports/jobs/{id}``.
Every export only covers DAGs the caller may read.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from ylai_operators.naming import script_dag_id
from ylai_plugin.api.errors import ApiError, ErrorResponse, not_found
from ylai_plugin.api.listing import IdPath, Offset, Page
from ylai_plugin.api.security import UserDep, readable_dag_ids, requires
from ylai_plugin.domain import access
from ylai_plugin.permissions import RESOURCE_REPORTS
from ylai_plugin.reports.filters import ExportFilters, ExportSpec, Format, Kind, kind_problems
from ylai_plugin.reports.i18n import Language

log = logging.getLogger(__name__)
router = APIRouter(prefix="/exports", tags=["exports"], responses={404: {"model": ErrorResponse}})
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export file",
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            "application/pdf": {},
        },
    },
    413: {"model": ErrorResponse, "description": "Too many rows for a direct xlsx/PDF download: use an export job"},
    422: {"model": ErrorResponse},
}


class ExportQuery(ExportFilters):
    """Query parameters of a direct download: the filters plus format and language."""

    format: Format = Field(default="csv", description="csv (streamed), xlsx or pdf.")
    language: Language = Field(default="en", description="Language of headers, titles and labels.")

    def filters(self) -> ExportFilters:
        """The filters alone."""
        return ExportFilters.model_validate(self.model_dump(exclude={"format", "language"}))


class ExportJobIn(BaseModel):
    """An export to run in the background."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "runs", "format": "xlsx", "language": "zh-CN", "filters": {"month": "2026-11"}},
                {"kind": "tasks", "format": "csv", "filters": {"since": "2026-11-01T00:00:00Z", "state": ["failed"]}},
            ]
        },
    )

    kind: Kind
    format: Format = "csv"
    language: Language = "en"
    filters: ExportFilters = Field(default_factory=ExportFilters)


class ExportJobOut(BaseModel):
    """An export job with its progress and, once finished, its download link."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "runs",
                    "format": "xlsx",
                    "language": "en",
                    "filters": {"month": "2026-11"},
                    "state": "running",
                    "rows_done": 420000,
                    "rows_total": 1000000,
                    "progress": 0.42,
                    "file_name": None,
                    "size_bytes": None,
                    "error": None,
                    "download_url": None,
                    "created_by": "alice",
                    "created_at": "2026-11-28T00:10:00Z",
                    "started_at": "2026-11-28T00:10:01Z",
                    "finished_at": None,
                }
            ]
        }
    )

    id: int
    kind: str
    format: str
    language: str
    filters: dict[str, Any]
    state: Literal["queued", "running", "success", "failed"]
    rows_done: int
    rows_total: int | None
    progress: float | None = Field(description="rows_done / rows_total, 1.0 when finished; null before counting.")
    file_name: str | None
    size_bytes: int | None
    error: str | None = Field(description="Why the job failed (or that its file was deleted after retention).")
    download_url: str | None = Field(
        description="Path of the file download, once the job succeeded (null again once the file expired)."
    )
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


TABLE_EXAMPLE: dict[str, Any] = {
    "title": "Overview",
    "headers": ["Item", "Value"],
    "rows": [["Runs", 120], ["Succeeded", 100], ["Failed", 20], ["Success rate", 0.8333]],
}
CHART_EXAMPLE: dict[str, Any] = {
    "type": "bar",
    "title": "Runs per day",
    "categories": ["11-01", "11-02"],
    "series": {"Succeeded": [4.0, 6.0], "Failed": [1.0, 0.0]},
}


class SummaryTableOut(BaseModel):
    """One summary table, translated."""

    model_config = ConfigDict(json_schema_extra={"examples": [TABLE_EXAMPLE]})

    title: str
    headers: list[str]
    rows: list[list[Any]]


class ChartOut(BaseModel):
    """One chart's data, translated."""

    model_config = ConfigDict(json_schema_extra={"examples": [CHART_EXAMPLE]})

    type: str
    title: str
    categories: list[str]
    series: dict[str, list[float]]


class ExportSummary(BaseModel):
    """What a report's Summary sheet shows, as JSON (for chat messages and previews)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "runs",
                    "title": "Runs report",
                    "language": "en",
                    "since": "2026-11-01T00:00:00Z",
                    "until": "2026-12-01T00:00:00Z",
                    "rows": 120,
                    "tables": [TABLE_EXAMPLE],
                    "charts": [CHART_EXAMPLE],
                }
            ]
        }
    )

    kind: str
    title: str
    language: str
    since: datetime
    until: datetime
    rows: int = Field(description="Detail rows an export would contain.")
    tables: list[SummaryTableOut]
    charts: list[ChartOut]


def _field_errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join([prefix, *(str(p) for p in err.get("loc", ()))]).rstrip("."),
            "reason": str(err.get("msg", "")).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]


def build_spec(user: Any, kind: str, fmt: str, language: str, filters: ExportFilters, prefix: str) -> ExportSpec:
    """Check kind-specific filters and permissions; resolve the DAGs the export may cover."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    from ylai_plugin.reports.datasets import DATASETS, alert_model

    problems = kind_problems(kind, filters, prefix)
    if problems:
        raise ApiError(422, "Invalid input", problems)
    dataset = DATASETS[kind]
    if kind == "alerts" and alert_model() is None:
        raise ApiError(404, "Alert history is not available in this installation")
    if dataset.resource and not access.auth_manager().is_authorized_custom_view(
        method="GET", resource_name=dataset.resource, user=user
    ):
        raise ApiError(403, f"You may not read {dataset.resource}")
    readable = readable_dag_ids(user)
    wanted = set(filters.dag_id) | {script_dag_id(name) for name in filters.script}
    for dag_id in sorted(wanted):
        if dag_id not in readable:
            raise ApiError(404, f"DAG {dag_id!r} not found", [{"field": f"{prefix}.dag_id", "reason": "not found"}])
    include_global = False
    if kind == "audit":
        if not access.auth_manager().is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.AUDIT_LOG, user=user
        ):
            raise ApiError(403, "You may not read the audit log")
        include_global = not wanted
    elif kind == "alerts":
        include_global = not wanted  # alerts about workers or the platform as a whole
    return ExportSpec(
        kind=kind,
        format=fmt,
        language=language,
        filters=filters,
        dag_ids=frozenset(wanted or readable),
        include_global=include_global,
        requested_by=user.get_name(),
    )


def _query(request: Request) -> ExportQuery:
    # Lists come as repeated parameters (?state=failed&state=success) or comma-separated.
    params: dict[str, Any] = {}
    for key in set(request.query_params.keys()):
        values = request.query_params.getlist(key)
        if key in {"dag_id", "script", "state"}:
            params[key] = [v.strip() for value in values for v in value.split(",") if v.strip()]
        else:
            params[key] = values[-1]
    try:
        return ExportQuery.model_validate(params)
    except ValidationError as exc:
        raise ApiError(422, "Invalid input", _field_errors(exc, "query")) from None


def _conf_int(key: str, default: int) -> int:
    from airflow.configuration import conf

    return conf.getint("ylai", key, fallback=default)


def _disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


QUERY_DOC = (
    "Filters: `since`, `until` (ISO 8601) or `month` (YYYY-MM); `dag_id`, `script`, `state` "
    "(repeatable or comma-separated); `user`. Plus `format` (csv|xlsx|pdf) and `language` (en|zh-CN)."
)


def _openapi_query() -> dict[str, Any]:
    schema = ExportQuery.model_json_schema()
    params = []
    for name, prop in schema["properties"].items():
        param_schema = {k: v for k, v in prop.items() if k not in {"description", "title"}}
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": prop.get("description", ""),
                "schema": param_schema,
                **({"explode": True} if prop.get("type") == "array" else {}),
            }
        )
    return {"parameters": params}


@router.get("/jobs", response_model=Page[ExportJobOut], dependencies=[Depends(requires(RESOURCE_REPORTS))])
def list_export_jobs(
    request: Request,
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
    state: Literal["queued", "running", "success", "failed"] | None = None,
) -> Page[ExportJobOut]:
    """The caller's export jobs, newest first."""
    from ylai_plugin.db.export_models import ExportJob
    from ylai_plugin.reports.jobs import runner

    runner.kick()
    where = [ExportJob.created_by == user.get_name()]
    if state:
        where.append(ExportJob.state == state)
    total = session.scalar(select(func.count(ExportJob.id)).where(*where)) or 0
    jobs = session.scalars(
        select(ExportJob).where(*where).order_by(ExportJob.id.desc()).limit(limit).offset(offset)
    ).all()
    return Page[ExportJobOut](items=[_job_out(j, request) for j in jobs], total=total, limit=limit, offset=offset)


@router.post(
    "/jobs",
    status_code=202,
    response_model=ExportJobOut,
    dependencies=[Depends(requires(RESOURCE_REPORTS, "POST"))],
    responses={422: {"model": ErrorResponse}},
)
def create_export_job(body: ExportJobIn, request: Request, user: UserDep, session: SessionDep) -> ExportJobOut:
    """Queue an export; poll ``GET /exports/jobs/{id}`` for progress, then download it."""
    from ylai_plugin.db.export_models import ExportJob
    from ylai_plugin.reports.jobs import runner

    spec = build_spec(user, body.kind, body.format, body.language, body.filters, "body.filters")
    if body.format == "pdf":
        from ylai_plugin.reports.fonts import FontNotFoundError, register_cjk_font

        try:
            register_cjk_font()
        except FontNotFoundError as exc:
            raise ApiError(503, str(exc)) from None
    job = ExportJob(
        kind=body.kind,
        format=body.format,
        language=body.language,
        filters=body.filters.model_dump(mode="json", exclude_defaults=True),
        dag_ids=sorted(spec.dag_ids),
        include_global=spec.include_global,
        state="queued",
        rows_done=0,
        created_by=user.get_name(),
    )
    session.add(job)
    session.flush()
    out = _job_out(job, request)
    session.commit()
    runner.kick()
    return out


def _own_job(session: Any, job_id: int, user: Any) -> Any:
    from ylai_plugin.db.export_models import ExportJob

    job = session.get(ExportJob, job_id)
    if job is None or job.created_by != user.get_name():
        raise not_found("Export job", job_id)
    return job


def _job_out(job: Any, request: Request) -> ExportJobOut:
    if job.state == "success":
        progress: float | None = 1.0
    elif job.rows_total:
        progress = round(min(job.rows_done / job.rows_total, 1.0), 4)
    else:
        progress = 0.0 if job.rows_total == 0 else None
    root = request.scope.get("root_path", "")
    return ExportJobOut(
        id=job.id,
        kind=job.kind,
        format=job.format,
        language=job.language,
        filters=job.filters,
        state=job.state,
        rows_done=job.rows_done or 0,
        rows_total=job.rows_total,
        progress=progress,
        file_name=job.file_name,
        size_bytes=job.size_bytes,
        error=job.error,
        download_url=f"{root}/api/v1/exports/jobs/{job.id}/download"
        if job.state == "success" and job.location
        else None,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/jobs/{job_id}", response_model=ExportJobOut, dependencies=[Depends(requires(RESOURCE_REPORTS))])
def get_export_job(job_id: IdPath, request: Request, user: UserDep, session: SessionDep) -> ExportJobOut:
    """One of the caller's export jobs: state, rows done / total, error, download link."""
    from ylai_plugin.reports.jobs import runner

    runner.kick()
    session.expire_all()
    return _job_out(_own_job(session, job_id, user), request)


@router.get(
    "/jobs/{job_id}/download",
    response_class=StreamingResponse,
    dependencies=[Depends(requires(RESOURCE_REPORTS))],
    responses={**FILE_RESPONSES, 409: {"model": ErrorResponse, "description": "The job has not succeeded"}},
)
def download_export_job(job_id: IdPath, user: UserDep, session: SessionDep) -> StreamingResponse:
    """The file of a finished export job."""
    from ylai_plugin.reports.jobs import MEDIA_TYPES, exists, read_chunks

    job = _own_job(session, job_id, user)
    if job.state != "success":
        raise ApiError(409, f"Export job {job_id} is {job.state}; download it once it has succeeded")
    if not job.location or not exists(job.location):
        raise ApiError(404, f"The file of export job {job_id} is no longer available")
    headers = _disposition(job.file_name or f"export-{job_id}.{job.format}")
    if job.size_bytes is not None:
        headers["Content-Length"] = str(job.size_bytes)
    return StreamingResponse(read_chunks(job.location), media_type=MEDIA_TYPES[job.format], headers=headers)


@router.get(
    "/{kind}/summary",
    response_model=ExportSummary,
    dependencies=[Depends(requires(RESOURCE_REPORTS))],
    openapi_extra=_openapi_query(),
    responses={422: {"model": ErrorResponse}},
    description="The summary tables and chart data of an export, as JSON, translated. " + QUERY_DOC,
)
def export_summary(kind: Kind, request: Request, user: UserDep) -> ExportSummary:
    """The summary tables and chart data of an export, as JSON."""
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.i18n import t
    from ylai_plugin.reports.writers import label

    query = _query(request)
    spec = build_spec(user, kind, query.format, query.language, query.filters(), "query")
    lang = query.language
    with create_session() as session:
        summary = DATASETS[kind].summary(session, spec)
        rows = DATASETS[kind].count(session, spec)
    since, until = spec.filters.period()
    return ExportSummary(
        kind=kind,
        title=t(f"title.{kind}", lang),
        language=lang,
        since=since,
        until=until,
        rows=rows,
        tables=[
            SummaryTableOut(
                title=t(tb.title, lang),
                headers=[t(h, lang) for h in tb.headers],
                rows=[[label(v, lang) for v in row] for row in tb.rows],
            )
            for tb in summary.tables
        ],
        charts=[
            ChartOut(
                type=c.type,
                title=t(c.title, lang),
                categories=c.categories,
                series={t(name, lang): values for name, values in c.series},
            )
            for c in summary.charts
        ],
    )


def _csv_stream(spec: ExportSpec) -> Iterator[bytes]:
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.writers import csv_chunks

    dataset = DATASETS[spec.kind]
    with create_session() as session:
        yield from csv_chunks(dataset.columns, dataset.rows(session, spec), spec.language)


@router.get(
    "/{kind}",
    response_class=StreamingResponse,
    dependencies=[Depends(requires(RESOURCE_REPORTS))],
    openapi_extra=_openapi_query(),
    responses=FILE_RESPONSES,
    description="Download an export directly: CSV streams any size, xlsx and PDF are limited in rows. " + QUERY_DOC,
)
def export_now(kind: Kind, request: Request, user: UserDep) -> Any:
    """Download an export directly."""
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.jobs import MEDIA_TYPES, file_name, render

    query = _query(request)
    filters = query.filters()
    spec = build_spec(user, kind, query.format, query.language, filters, "query")
    name = file_name(kind, query.format, filters)
    if query.format == "csv":
        return StreamingResponse(
            _csv_stream(spec), media_type=MEDIA_TYPES["csv"], headers={**_disposition(name), "X-Accel-Buffering": "no"}
        )
    limit = _conf_int("export_direct_max_rows", 100_000)
    with create_session() as session:
        total = DATASETS[kind].count(session, spec)
    if total > limit:
        raise ApiError(
            413,
            f"{total} rows are more than {limit} for a direct {query.format} download; "
            "start an export job with POST /exports/jobs, or download CSV",
            {"rows": total, "limit": limit},
        )
    from ylai_plugin.reports.fonts import FontNotFoundError

    fd, raw = tempfile.mkstemp(prefix="ylai-export-", suffix=f".{query.format}")
    os.close(fd)
    path = Path(raw)
    try:
        render(spec, path)
    except FontNotFoundError as exc:
        path.unlink(missing_ok=True)
        raise ApiError(503, str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[query.format],
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
