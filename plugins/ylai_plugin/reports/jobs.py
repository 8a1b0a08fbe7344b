"""Export jobs: a worker thread in the api-server writes the file; progress and failures land in ylai_export_job.

Any api-server process picks up queued jobs (a conditional UPDATE claims one, so two processes
never run the same job). A running job's heartbeat is refreshed every few seconds; a job whose
heartbeat is older than ``[ylai] export_stale_seconds`` was left by a process that died, and is
marked failed with that reason the next time any process looks at the jobs. Files go to
``[ylai] export_dir``: a local folder (default ``$AIRFLOW_HOME/ylai-exports``) or, for several
api-server pods, an object-storage URL (``s3://bucket/exports``) through Airflow's ObjectStoragePath.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ylai_plugin import config, tracing
from ylai_plugin.reports.filters import ExportFilters, ExportSpec

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"
HEARTBEAT_SECONDS = 5.0
PROGRESS_SECONDS = 1.0
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def stale_seconds() -> int:
    """A running job without a heartbeat for this long is failed."""
    return max(config.EXPORT_STALE_SECONDS.get(), int(HEARTBEAT_SECONDS * 3))


def export_dir() -> str:
    """Where finished files go: ``[ylai] export_dir`` or ``$AIRFLOW_HOME/ylai-exports``."""
    from airflow.configuration import AIRFLOW_HOME

    return config.EXPORT_DIR.get() or os.path.join(AIRFLOW_HOME, "ylai-exports")


def _is_url(location: str) -> bool:
    return "://" in location


def store(local: Path, name: str) -> str:
    """Move a finished file into the export dir; return its location (a path or a URL)."""
    root = export_dir()
    if _is_url(root):
        from airflow.sdk import ObjectStoragePath

        dest = ObjectStoragePath(root.rstrip("/") + "/" + name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with local.open("rb") as src, dest.open("wb") as out:  # type: ignore[no-untyped-call]
            shutil.copyfileobj(src, out, 1024 * 1024)
        local.unlink()
        return str(dest)
    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    dest_path = folder / name
    shutil.move(str(local), dest_path)
    return str(dest_path)


def exists(location: str) -> bool:
    """Whether a stored file is still there."""
    if _is_url(location):
        from airflow.sdk import ObjectStoragePath

        return bool(ObjectStoragePath(location).exists())
    return Path(location).is_file()


def read_chunks(location: str, size: int = 1024 * 1024) -> Iterator[bytes]:
    """A stored file, chunk by chunk."""
    if _is_url(location):
        from airflow.sdk import ObjectStoragePath

        handle: Any = ObjectStoragePath(location).open("rb")  # type: ignore[no-untyped-call]
    else:
        handle = open(location, "rb")  # noqa: SIM115 - closed below, after the last chunk
    with handle:
        while chunk := handle.read(size):
            yield chunk


def file_name(kind: str, fmt: str, filters: ExportFilters, job_id: int | None = None) -> str:
    """``ylai-runs-20261101-20261201[-job7].xlsx`` (ASCII, safe in a Content-Disposition header)."""
    since, until = filters.period()
    stem = f"ylai-{kind}-{since:%Y%m%d}-{until:%Y%m%d}"
    return f"{stem}-job{job_id}.{fmt}" if job_id is not None else f"{stem}.{fmt}"


def render(
    spec: ExportSpec, target: Path, progress: Any = None, session_factory: Any = None, max_pdf_rows: int | None = None
) -> int:
    """Write the export described by ``spec`` to ``target``; return the detail rows written."""
    from ylai_plugin.reports.datasets import DATASETS
    from ylai_plugin.reports.i18n import t
    from ylai_plugin.reports.writers import Document, csv_chunks, write_pdf, write_xlsx

    if session_factory is None:
        from airflow.utils.session import create_session as session_factory
    dataset = DATASETS[spec.kind]
    counted = [0]

    def track(done: int) -> None:
        counted[0] = done
        if progress is not None:
            progress(done)

    title = t(f"title.{spec.kind}", spec.language)
    with session_factory() as session:
        if spec.format == "csv":
            with target.open("wb") as out:
                for chunk in csv_chunks(dataset.columns, dataset.rows(session, spec), spec.language, track):
                    out.write(chunk)
            return counted[0]
        summary = dataset.summary(session, spec)
        document = Document(
            title=title,
            described=spec.describe(),
            generated_by=spec.requested_by,
            summary=summary,
            columns=dataset.columns,
            rows=dataset.rows(session, spec),
            language=spec.language,
        )
        if spec.format == "xlsx":
            return write_xlsx(str(target), document, progress=track)
        total = dataset.count(session, spec)
        limit = max_pdf_rows if max_pdf_rows is not None else config.EXPORT_PDF_MAX_ROWS.get()
        return write_pdf(str(target), document, total=total, max_rows=limit, progress=track)


def spec_of(job: Any) -> ExportSpec:
    """The export a job row describes."""
    return ExportSpec(
        kind=job.kind,
        format=job.format,
        language=job.language,
        filters=ExportFilters.model_validate(job.filters),
        dag_ids=frozenset(job.dag_ids),
        include_global=job.include_global,
        requested_by=job.created_by,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def reap_stale(session: Any) -> int:
    """Fail running jobs whose process stopped heart-beating; return how many."""
    from sqlalchemy import func

    from ylai_plugin.db.export_models import ExportJob

    cutoff = _now() - timedelta(seconds=stale_seconds())
    stale = [ExportJob.state == "running", ExportJob.heartbeat_at < cutoff]
    # Read first: most requests find nothing, and a write would queue behind SQLite's one writer.
    if not session.scalar(select(func.count(ExportJob.id)).where(*stale)):
        return 0
    result = session.execute(
        update(ExportJob)
        .where(*stale)
        .values(
            state="failed",
            finished_at=_now(),
            error="Interrupted: the api-server process running this export stopped before it finished "
            f"(no heartbeat for {stale_seconds()} s). Start the export again.",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def expire_old_files(session: Any) -> int:
    """Delete files of jobs finished more than ``[ylai] export_retention_days`` ago; return how many."""
    from ylai_plugin.db.export_models import ExportJob

    days = config.EXPORT_RETENTION_DAYS.get()
    if days <= 0:
        return 0
    cutoff = _now() - timedelta(days=days)
    old = session.scalars(
        select(ExportJob).where(
            ExportJob.state == "success", ExportJob.location.is_not(None), ExportJob.finished_at < cutoff
        )
    ).all()
    for job in old:
        try:
            remove(job.location)
        except OSError:
            log.warning("could not delete export file %s", job.location, exc_info=True)
            continue
        job.location = None
        job.error = f"The file was deleted {days} days after the export finished ([ylai] export_retention_days)."
    return len(old)


def remove(location: str) -> None:
    """Delete a stored file (gone already is fine)."""
    if _is_url(location):
        from airflow.sdk import ObjectStoragePath

        path = ObjectStoragePath(location)
        if path.exists():
            path.unlink()
        return
    Path(location).unlink(missing_ok=True)


def has_queued(session: Any) -> bool:
    """Whether any job waits for a worker."""
    from ylai_plugin.db.export_models import ExportJob

    return session.scalar(select(ExportJob.id).where(ExportJob.state == "queued").limit(1)) is not None


def claim_next(session: Any) -> int | None:
    """Take the oldest queued job for this process; None when there is none."""
    from ylai_plugin.db.export_models import ExportJob

    for job_id in session.scalars(
        select(ExportJob.id).where(ExportJob.state == "queued").order_by(ExportJob.id).limit(5)
    ):
        now = _now()
        claimed = session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.state == "queued")
            .values(state="running", worker=WORKER, started_at=now, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            return int(job_id)
    return None


def _set(job_id: int, **values: Any) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.db.export_models import ExportJob

    with create_session() as session:
        session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def run_job(job_id: int) -> None:
    """Count, render, store; the job ends 'success' with its file or 'failed' with the reason."""
    from airflow.utils.session import create_session

    from ylai_plugin.db.export_models import ExportJob

    with create_session() as session:
        job = session.get(ExportJob, job_id)
        assert job is not None
        spec, trace_context = spec_of(job), job.trace_context
    # The job's span is a child of the request that queued it (its context is stored with the
    # job), although a thread of any api-server process may run it, after that request answered.
    attributes = {"ylai.export.job_id": job_id, "ylai.export.kind": spec.kind, "ylai.export.format": spec.format}
    with tracing.continued(trace_context), tracing.span("ylai.export.job", attributes=attributes) as span:
        _run_job(job_id, spec, span)


def _run_job(job_id: int, spec: ExportSpec, span: Any) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.reports.datasets import DATASETS

    tmp: Path | None = None
    try:
        with create_session() as session:
            total = DATASETS[spec.kind].count(session, spec)
        _set(job_id, rows_total=total, heartbeat_at=_now())
        last = [time.monotonic()]

        def progress(done: int) -> None:
            if time.monotonic() - last[0] >= PROGRESS_SECONDS:
                last[0] = time.monotonic()
                _set(job_id, rows_done=done, heartbeat_at=_now())

        fd, raw = tempfile.mkstemp(prefix=f"ylai-export-{job_id}-", suffix=f".{spec.format}")
        os.close(fd)
        tmp = Path(raw)
        done = render(spec, tmp, progress)
        size = tmp.stat().st_size
        location = store(tmp, file_name(spec.kind, spec.format, spec.filters, job_id))
        tmp = None
        tracing.set_attributes(span, **{"ylai.export.rows": done, "ylai.export.size_bytes": size})
        _set(
            job_id,
            state="success",
            rows_done=done,
            size_bytes=size,
            location=location,
            file_name=Path(location).name,
            finished_at=_now(),
            heartbeat_at=_now(),
        )
    except Exception as exc:
        log.exception("export job %s failed", job_id)
        tracing.record_error(span, exc)
        _set(job_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=_now())
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


class ExportRunner:
    """Background threads of this process that run queued jobs, plus their heartbeat."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads = 0
        self.active: set[int] = set()
        self._heartbeat: threading.Thread | None = None
        self._last_expiry = -1e9

    def kick(self) -> None:
        """Fail stale jobs, then make sure a worker thread is looking for queued ones."""
        from airflow.utils.session import create_session

        with create_session() as session:
            if reap_stale(session):
                log.warning("failed export jobs left running by a stopped process")
            if time.monotonic() - self._last_expiry >= 60:
                self._last_expiry = time.monotonic()
                expire_old_files(session)
            queued = has_queued(session)
        if not queued:
            return
        with self._lock:
            if self._threads >= max(config.EXPORT_WORKERS.get(), 1):
                return
            self._threads += 1
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="ylai-export-heartbeat", daemon=True)
                self._heartbeat.start()
        threading.Thread(target=self._loop, name="ylai-export", daemon=True).start()

    def _loop(self) -> None:
        from airflow.utils.session import create_session

        try:
            while True:
                with create_session() as session:
                    job_id = claim_next(session)
                if job_id is None:
                    return
                self.active.add(job_id)
                try:
                    run_job(job_id)
                finally:
                    self.active.discard(job_id)
        except Exception:
            log.exception("export runner stopped")
        finally:
            with self._lock:
                self._threads -= 1

    def _beat(self) -> None:
        from ylai_plugin.db.export_models import ExportJob

        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                ids = sorted(self.active)
                if not ids and self._threads == 0:
                    self._heartbeat = None
                    return
            if ids:
                try:
                    from airflow.utils.session import create_session

                    with create_session() as session:
                        session.execute(
                            update(ExportJob)
                            .where(ExportJob.id.in_(ids), ExportJob.state == "running")
                            .values(heartbeat_at=_now())
                            .execution_options(synchronize_session=False)
                        )
                except Exception:
                    log.exception("export heartbeat failed")

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs in this process (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._threads == 0:
                    return True
            time.sleep(0.05)
        return False


runner = ExportRunner()
