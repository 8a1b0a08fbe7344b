"""Exports as the API offers them, without HTTP: who may export what, summaries, direct files and jobs.

Errors are :mod:`ylai_plugin.domain.errors`: bad filters :class:`Invalid`, a DAG the caller may
not read :class:`NotFound`, a kind the caller may not read :class:`Forbidden`, no CJK font for a
PDF :class:`Unavailable`, a job's file asked for before it succeeded :class:`Conflict`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ylai_operators.catalog import script_dag_id
from ylai_plugin import tracing
from ylai_plugin.domain import access, audit
from ylai_plugin.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, not_found, text
from ylai_plugin.reports.filters import ExportFilters, ExportSpec, kind_problems

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser


def build_spec(user: BaseUser, kind: str, fmt: str, language: str, filters: ExportFilters, prefix: str) -> ExportSpec:
    """Check kind-specific filters and permissions; resolve the DAGs the export may cover.

    :param prefix: where the filters were in the request (``query``, ``body.filters``), for field paths.
    """
    from ylai_plugin.reports.datasets import DATASETS, alert_model

    problems = kind_problems(kind, filters, prefix)
    if problems:
        raise Invalid(problems)
    dataset = DATASETS[kind]
    if kind == "alerts" and alert_model() is None:
        raise NotFound(text("export.no_alert_history", "Alert history is not available in this installation"))
    if dataset.resource and not access.auth_manager().is_authorized_custom_view(
        method="GET", resource_name=dataset.resource, user=user
    ):
        raise Forbidden(access.may_not("GET", dataset.resource))
    readable = access.readable_dag_ids(user)
    wanted = set(filters.dag_id) | {script_dag_id(name) for name in filters.script}
    for dag_id in sorted(wanted):
        if dag_id not in readable:
            reason = text("field.not_found", "not found")
            raise not_found("DAG", dag_id, [{"field": f"{prefix}.dag_id", "reason": reason}])
    include_global = False
    if kind == "audit":
        audit.ensure_readable(user)
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


def audit_download(spec: ExportSpec, user: BaseUser) -> None:
    """Record a direct download in the audit trail: data leaving the platform is worth knowing about.

    An export job is recorded when it is queued (:func:`create_job`); a direct download has no
    write to ride on, so it gets its own short transaction.
    """
    from airflow.utils.session import create_session

    summary = f"downloaded the {spec.kind} export as {spec.format}"
    given = sorted(spec.filters.model_dump(exclude_defaults=True))
    with create_session() as session:
        audit.record(session, user, "ylai.export.download", "export", spec.kind, summary=summary, filters=given)


def count_rows(spec: ExportSpec) -> int:
    """How many detail rows the export holds."""
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS

    with create_session() as session:
        return DATASETS[spec.kind].count(session, spec)


def translated_summary(spec: ExportSpec) -> dict[str, Any]:
    """The summary tables and chart data of an export, translated into the spec's language (``ExportSummary``)."""
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.i18n import t
    from ylai_plugin.reports.writers import label

    lang = spec.language
    with create_session() as session:
        summary = DATASETS[spec.kind].summary(session, spec)
        rows = DATASETS[spec.kind].count(session, spec)
    since, until = spec.filters.period()
    return {
        "kind": spec.kind,
        "title": t(f"title.{spec.kind}", lang),
        "language": lang,
        "since": since,
        "until": until,
        "rows": rows,
        "tables": [
            {
                "title": t(tb.title, lang),
                "headers": [t(h, lang) for h in tb.headers],
                "rows": [[label(v, lang) for v in row] for row in tb.rows],
            }
            for tb in summary.tables
        ],
        "charts": [
            {
                "type": c.type,
                "title": t(c.title, lang),
                "categories": c.categories,
                "series": {t(name, lang): values for name, values in c.series},
            }
            for c in summary.charts
        ],
    }


def csv_stream(spec: ExportSpec) -> Iterator[bytes]:
    """The CSV of an export, chunk by chunk, from one streamed query."""
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.writers import csv_chunks

    dataset = DATASETS[spec.kind]
    with create_session() as session:
        yield from csv_chunks(dataset.columns, dataset.rows(session, spec), spec.language)


def render_file(spec: ExportSpec) -> Path:
    """Render an xlsx or PDF export into a temporary file (the caller deletes it once sent)."""
    from ylai_plugin.reports.fonts import FontNotFoundError
    from ylai_plugin.reports.jobs import render

    fd, raw = tempfile.mkstemp(prefix="ylai-export-", suffix=f".{spec.format}")
    os.close(fd)
    path = Path(raw)
    try:
        render(spec, path)
    except FontNotFoundError as exc:
        path.unlink(missing_ok=True)
        raise Unavailable(exc.text, dependency="font") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def ensure_pdf_font() -> None:
    """:class:`Unavailable` when no CJK font can be found for Chinese PDFs."""
    from ylai_plugin.reports.fonts import FontNotFoundError, register_cjk_font

    try:
        register_cjk_font()
    except FontNotFoundError as exc:
        raise Unavailable(exc.text, dependency="font") from None


# ---------------------------------------------------------------- jobs


def list_jobs(session: Any, owner: str, state: str | None, limit: int, offset: int) -> tuple[list[Any], int]:
    """A page of ``owner``'s export jobs, newest first, and how many there are."""
    from ylai_plugin.db.export_models import ExportJob

    where = [ExportJob.created_by == owner]
    if state:
        where.append(ExportJob.state == state)
    total = session.scalar(select(func.count(ExportJob.id)).where(*where)) or 0
    jobs = session.scalars(
        select(ExportJob).where(*where).order_by(ExportJob.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(jobs), int(total)


def create_job(session: Any, spec: ExportSpec, filters: ExportFilters, owner: str) -> Any:
    """Queue an export job for ``spec`` (flushed: it has its id)."""
    from ylai_plugin.db.export_models import ExportJob

    if spec.format == "pdf" and spec.language == "zh-CN":
        # A Chinese PDF always needs the CJK font; an English one only for Chinese data (found when rendering).
        ensure_pdf_font()
    job = ExportJob(
        kind=spec.kind,
        format=spec.format,
        language=spec.language,
        filters=filters.model_dump(mode="json", exclude_defaults=True),
        dag_ids=sorted(spec.dag_ids),
        include_global=spec.include_global,
        state="queued",
        rows_done=0,
        created_by=owner,
        # A thread of any api-server process runs the job, after this request answered: its span
        # continues the request's trace from here (reports.jobs.run_job).
        trace_context=tracing.carrier(),
    )
    session.add(job)
    session.flush()
    summary = f"queued the {spec.kind} export as {spec.format}"
    given = sorted(job.filters)  # the names of the filters, like the changed fields of an edit
    audit.record(session, owner, "ylai.export.create", "export", job.id, summary=summary, filters=given)
    return job


def own_job(session: Any, job_id: int, owner: str) -> Any:
    """One of ``owner``'s export jobs; :class:`NotFound` for anyone else's."""
    from ylai_plugin.db.export_models import ExportJob

    job = session.get(ExportJob, job_id)
    if job is None or job.created_by != owner:
        raise not_found("Export job", job_id)
    return job


def downloadable_job(session: Any, job_id: int, owner: str) -> Any:
    """A job of ``owner`` whose file can be downloaded: it succeeded and its file is still there."""
    from ylai_plugin.reports.jobs import exists

    job = own_job(session, job_id, owner)
    if job.state != "success":
        raise Conflict(
            text(
                "export.job_not_done",
                "Export job {job_id} is {state}; download it once it has succeeded",
                job_id=job_id,
                state=job.state,
            )
        )
    if not job.location or not exists(job.location):
        raise NotFound(
            text("export.file_gone", "The file of export job {job_id} is no longer available", job_id=job_id)
        )
    return job


def job_progress(job: Any) -> float | None:
    """rows_done / rows_total, 1.0 once it succeeded; None before its rows were counted."""
    if job.state == "success":
        return 1.0
    if job.rows_total:
        return round(min(float(job.rows_done) / float(job.rows_total), 1.0), 4)
    return 0.0 if job.rows_total == 0 else None
