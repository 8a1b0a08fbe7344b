"""Export jobs: a long export written to a file by a background worker (migration ``0005_exports.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ylai_plugin.db.base import Base, UtcDateTime, utcnow


class ExportJob(Base):
    """One requested export: what (kind, filters, the DAGs its creator could read), progress and result."""

    __tablename__ = "ylai_export_job"
    __table_args__ = (
        Index("ix_ylai_export_job_created_by_created_at", "created_by", "created_at"),
        Index("ix_ylai_export_job_state", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The DAG scope resolved when the job was created, with its creator's permissions then.
    dag_ids: Mapped[list[str]] = mapped_column(JSON)
    include_global: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | success | failed
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    location: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(250), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(250), nullable=True)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The W3C trace context of the request that queued the job, when it was traced: whichever
    # api-server process runs the job continues that trace (migration ``0013_export_trace.py``).
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
