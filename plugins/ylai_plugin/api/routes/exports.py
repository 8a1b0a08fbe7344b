"""``/exports``: runs, tasks, scripts, audit log, monitor statistics and alert history as CSV, xlsx or PDF.

``GET /exports/{kind}`` answers with the file itself (CSV streamed row batch by row batch; xlsx and
PDF up to ``[ylai] export_direct_max_rows`` rows). ``POST /exports/jobs`` starts an export job for
anything bigger; its progress, and a download link once finished, are at ``GET /exports/jobs/{id}``.
Every export only covers DAGs the caller may read (:mod:`ylai_plugin.reports.exports`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from ylai_plugin import config
from ylai_plugin.api.datamodels.common import Page
from ylai_plugin.api.datamodels.exports import ExportJobIn, ExportJobOut, ExportQuery, ExportSummary
from ylai_plugin.api.errors import ApiError, ErrorResponse
from ylai_plugin.api.listing import IdPath, Offset
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.api.usage_source import SourceDep
from ylai_plugin.domain import usage
from ylai_plugin.domain.errors import INVALID_INPUT, Text, text, validation_reason
from ylai_plugin.permissions import RESOURCE_REPORTS
from ylai_plugin.reports import exports
from ylai_plugin.reports.filters import Kind

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


def _field_errors(exc: ValidationError, prefix: str) -> list[dict[str, str | Text]]:
    return [
        {
            "field": ".".join([prefix, *(str(p) for p in err.get("loc", ()))]).rstrip("."),
            "reason": validation_reason(err),
        }
        for err in exc.errors()
    ]


def _query(request: Request) -> ExportQuery:
    # Lists come as repeated parameters (?state=failed&state=success) or comma-separated.
    params: dict[str, Any] = {}
    for key in set(request.query_params.keys()):
        values = request.query_params.getlist(key)
        if key in {"dag_id", "script", "state", "rating"}:
            params[key] = [v.strip() for value in values for v in value.split(",") if v.strip()]
        else:
            params[key] = values[-1]
    try:
        return ExportQuery.model_validate(params)
    except ValidationError as exc:
        raise ApiError(422, INVALID_INPUT, _field_errors(exc, "query")) from None


def _disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


QUERY_DOC = (
    "Filters: `since`, `until` (ISO 8601) or `month` (YYYY-MM); `dag_id`, `script`, `state` "
    "(repeatable or comma-separated); `user`; audit only: `action`, `object`; feedback only: `rating` "
    "(1-5, repeatable or comma-separated), `page`. Plus `format` (csv|xlsx|pdf) and `language` (en|zh-CN)."
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
    from ylai_plugin.reports.jobs import runner

    runner.kick()
    jobs, total = exports.list_jobs(session, user.get_name(), state, limit, offset)
    return Page[ExportJobOut](items=[_job_out(j, request) for j in jobs], total=total, limit=limit, offset=offset)


@router.post(
    "/jobs",
    status_code=202,
    response_model=ExportJobOut,
    dependencies=[Depends(requires(RESOURCE_REPORTS, "POST"))],
    responses={422: {"model": ErrorResponse}},
)
def create_export_job(
    body: ExportJobIn, request: Request, user: UserDep, session: SessionDep, source: SourceDep
) -> ExportJobOut:
    """Queue an export; poll ``GET /exports/jobs/{id}`` for progress, then download it."""
    from ylai_plugin.reports.jobs import runner

    spec = exports.build_spec(user, body.kind, body.format, body.language, body.filters, "body.filters")
    job = exports.create_job(session, spec, body.filters, user.get_name())
    out = _job_out(job, request)
    usage.record_feature(session, user, "export", body.kind, source)
    session.commit()
    runner.kick()
    return out


def _job_out(job: Any, request: Request) -> ExportJobOut:
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
        progress=exports.job_progress(job),
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
    return _job_out(exports.own_job(session, job_id, user.get_name()), request)


@router.get(
    "/jobs/{job_id}/download",
    response_class=StreamingResponse,
    dependencies=[Depends(requires(RESOURCE_REPORTS))],
    responses={**FILE_RESPONSES, 409: {"model": ErrorResponse, "description": "The job has not succeeded"}},
)
def download_export_job(job_id: IdPath, user: UserDep, session: SessionDep) -> StreamingResponse:
    """The file of a finished export job."""
    from ylai_plugin.reports.jobs import MEDIA_TYPES, read_chunks

    job = exports.downloadable_job(session, job_id, user.get_name())
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
    query = _query(request)
    spec = exports.build_spec(user, kind, query.format, query.language, query.filters(), "query")
    return ExportSummary.model_validate(exports.translated_summary(spec))


@router.get(
    "/{kind}",
    response_class=StreamingResponse,
    dependencies=[Depends(requires(RESOURCE_REPORTS))],
    openapi_extra=_openapi_query(),
    responses=FILE_RESPONSES,
    description="Download an export directly: CSV streams any size, xlsx and PDF are limited in rows. " + QUERY_DOC,
)
def export_now(kind: Kind, request: Request, user: UserDep, source: SourceDep) -> Any:
    """Download an export directly."""
    from ylai_plugin.reports.jobs import MEDIA_TYPES, file_name

    query = _query(request)
    filters = query.filters()
    spec = exports.build_spec(user, kind, query.format, query.language, filters, "query")
    name = file_name(kind, query.format, filters)
    usage.record_feature_now(user, "export", kind, source)
    if query.format == "csv":
        exports.audit_download(spec, user)
        return StreamingResponse(
            exports.csv_stream(spec),
            media_type=MEDIA_TYPES["csv"],
            headers={**_disposition(name), "X-Accel-Buffering": "no"},
        )
    limit = config.EXPORT_DIRECT_MAX_ROWS.get()
    total = exports.count_rows(spec)
    if total > limit:
        raise ApiError(
            413,
            text(
                "export.too_many_rows",
                "{rows} rows are more than {limit} for a direct {format} download; "
                "start an export job with POST /exports/jobs, or download CSV",
                rows=total,
                limit=limit,
                format=query.format,
            ),
            {"rows": total, "limit": limit},
        )
    path = exports.render_file(spec)
    exports.audit_download(spec, user)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[query.format],
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
