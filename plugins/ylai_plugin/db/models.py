"""ylai's core tables: tasks, presets, API statistics, resource and queue samples, scripts, pipelines, change counters.

The alert and export tables are in their own modules; all share :mod:`ylai_plugin.db.base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

# Re-exported: callers that predate ``base`` import these from here.
from ylai_plugin.db.base import Base as Base
from ylai_plugin.db.base import UtcDateTime as UtcDateTime
from ylai_plugin.db.base import metadata as metadata
from ylai_plugin.db.base import utcnow as utcnow


class Task(Base):
    """A saved, named, parameterised job: a script, a pipeline or any DAG, with its params."""

    __tablename__ = "ylai_task"
    # GET /tasks sorts by -updated_at (then id) with a limit by default.
    __table_args__ = (Index("ix_ylai_task_updated_at", "updated_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # script | pipeline | dag
    dag_id: Mapped[str] = mapped_column(String(250), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The task's own approval (ApprovalSpec.as_record); null: none (migration 0014). A task with
    # one runs through its own DAG, task__<id>, whose first task is the approval gate.
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class TaskRun(Base):
    """A DAG run started from a task."""

    __tablename__ = "ylai_task_run"
    __table_args__ = (
        UniqueConstraint("dag_id", "run_id"),
        Index("ix_ylai_task_run_task_created", "task_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("ylai_task.id", ondelete="CASCADE"))
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    triggered_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Preset(Base):
    """A saved parameter set for a DAG with params; private to its owner or shared with a role."""

    __tablename__ = "ylai_preset"
    # Lists filter on visibility (owner = me OR shared_with_role IN my roles) without a dag_id.
    __table_args__ = (
        UniqueConstraint("dag_id", "owner", "name"),
        Index("ix_ylai_preset_owner", "owner"),
        Index("ix_ylai_preset_shared_with_role", "shared_with_role"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    dag_id: Mapped[str] = mapped_column(String(250), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner: Mapped[str] = mapped_column(String(256))
    shared_with_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ApiStat(Base):
    """Requests of one api-server worker, per minute, method and route template."""

    __tablename__ = "ylai_api_stat"
    __table_args__ = (
        UniqueConstraint("worker", "minute", "method", "route"),
        Index("ix_ylai_api_stat_minute", "minute"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(128))
    minute: Mapped[datetime] = mapped_column(UtcDateTime())
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(250))
    count: Mapped[int] = mapped_column(Integer)
    server_errors: Mapped[int] = mapped_column(Integer)
    client_errors: Mapped[int] = mapped_column(Integer)
    total_ms: Mapped[float] = mapped_column(Float)
    histogram: Mapped[dict[str, int]] = mapped_column(JSON)


class WorkerSample(Base):
    """One resource sample of a host running a Celery worker, an api-server or a scheduler."""

    __tablename__ = "ylai_worker_sample"
    __table_args__ = (Index("ix_ylai_worker_sample_ts", "ts"), Index("ix_ylai_worker_sample_host_ts", "host", "ts"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(32))
    pid: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    cpu_percent: Mapped[float] = mapped_column(Float)
    cpu_count: Mapped[int] = mapped_column(Integer)
    mem_percent: Mapped[float] = mapped_column(Float)
    mem_used_bytes: Mapped[int] = mapped_column(BigInteger)
    mem_total_bytes: Mapped[int] = mapped_column(BigInteger)
    disk_percent: Mapped[float] = mapped_column(Float)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger)
    load1: Mapped[float] = mapped_column(Float)
    load5: Mapped[float] = mapped_column(Float)
    load15: Mapped[float] = mapped_column(Float)
    running_tasks: Mapped[int] = mapped_column(Integer)


class QueueSample(Base):
    """The length of one Celery queue, read from the broker by the scheduler every few seconds.

    A read that failed (the broker down) is a row without a length, with the error's type:
    the chart shows a gap there and the API says why.
    """

    __tablename__ = "ylai_queue_sample"
    __table_args__ = (Index("ix_ylai_queue_sample_ts", "ts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    queue: Mapped[str] = mapped_column(String(256))
    length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(128), nullable=True)


class DbScript(Base):
    """A script created through the API (``POST /scripts``); its content lives in versions."""

    __tablename__ = "ylai_script"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    runtime: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class DbScriptVersion(Base):
    """One immutable version of an API-created script."""

    __tablename__ = "ylai_script_version"
    __table_args__ = (UniqueConstraint("script_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("ylai_script.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DbPipeline(Base):
    """A pipeline created through the API (``POST /pipelines``); its spec lives in versions."""

    __tablename__ = "ylai_pipeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    current_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class DbPipelineVersion(Base):
    """One immutable version of an API-created pipeline: its spec as JSON, ``layout`` included."""

    __tablename__ = "ylai_pipeline_version"
    __table_args__ = (UniqueConstraint("pipeline_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("ylai_pipeline.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Generation(Base):
    """A counter per group of ylai's tables, raised in the transaction of every write to them.

    The list caches (:mod:`ylai_plugin.domain.list_cache`) put it in their keys, so a change made
    through any api-server worker or process is seen by the next list request, cache or not.
    """

    __tablename__ = "ylai_generation"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
