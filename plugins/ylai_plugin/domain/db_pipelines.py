"""Store and version pipelines in the database, and publish them for the DAG generator.

The storage half of database pipelines, as :mod:`ylai_plugin.domain.db_scripts` is for scripts:
rows, versions, the ``ylai_db_pipelines`` Variable. What the API calls is in
:mod:`ylai_plugin.domain.pipelines`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from ylai_plugin.db.models import DbPipeline, DbPipelineVersion

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session


def current_records(session: Session) -> dict[str, dict[str, Any]]:
    """The current version of every database pipeline, as published records (``{"version", "spec"}``)."""
    current = (DbPipelineVersion.pipeline_id == DbPipeline.id) & (
        DbPipelineVersion.version == DbPipeline.current_version
    )
    rows = session.execute(
        select(DbPipeline.name, DbPipelineVersion.version, DbPipelineVersion.spec).join(DbPipelineVersion, current)
    ).all()
    return {r.name: {"version": r.version, "spec": r.spec} for r in rows}


def current_versions(session: Session) -> list[tuple[str, int, int]]:
    """``(name, row id, current version)`` of every database pipeline, by name: changes on every write.

    Cheaper than :func:`current_records` (no specs): what a poller compares to see that one changed.
    """
    rows = session.execute(
        select(DbPipeline.name, DbPipeline.id, DbPipeline.current_version).order_by(DbPipeline.name)
    ).all()
    return [(r.name, r.id, r.current_version) for r in rows]


def publish(session: Session) -> None:
    """Write the current version of every database pipeline to the ``ylai_db_pipelines`` Variable."""
    from airflow.models.variable import Variable

    from ylai_operators.catalog import DB_PIPELINES_VARIABLE as VARIABLE

    session.flush()
    Variable.set(
        VARIABLE,
        json.dumps(current_records(session), sort_keys=True),
        description="Managed by ylai: pipelines created through POST /ylai/api/v1/pipelines. Do not edit.",
        session=session,
    )


def get(session: Session, name: str) -> DbPipeline | None:
    """The database pipeline called ``name``."""
    row: DbPipeline | None = session.scalar(select(DbPipeline).where(DbPipeline.name == name))
    return row


def add_version(
    session: Session, user: BaseUser, pipeline: DbPipeline, spec: dict[str, Any], comment: str
) -> DbPipelineVersion:
    """Store a new version and make it current."""
    version = DbPipelineVersion(
        pipeline_id=pipeline.id,
        version=pipeline.current_version + 1,
        spec=spec,
        comment=comment,
        created_by=user.get_name(),
    )
    pipeline.current_version = version.version
    session.add(version)
    session.flush()
    return version


def versions(session: Session, pipeline: DbPipeline) -> list[DbPipelineVersion]:
    """Every stored version of a database pipeline, oldest first."""
    return list(
        session.scalars(
            select(DbPipelineVersion)
            .where(DbPipelineVersion.pipeline_id == pipeline.id)
            .order_by(DbPipelineVersion.version)
        ).all()
    )


def version(session: Session, pipeline: DbPipeline, number: int) -> DbPipelineVersion | None:
    """Version ``number`` of a database pipeline."""
    from ylai_plugin.domain import versioning

    row: DbPipelineVersion | None = versioning.find(
        session, DbPipelineVersion.version, (DbPipelineVersion.pipeline_id, pipeline.id), number
    )
    return row


def remove(session: Session, pipeline: DbPipeline) -> None:
    """Delete a database pipeline and its versions (explicitly: SQLite enforces no cascade by default)."""
    session.execute(delete(DbPipelineVersion).where(DbPipelineVersion.pipeline_id == pipeline.id))
    session.delete(pipeline)
    session.flush()
