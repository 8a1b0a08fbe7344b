"""Reading, comparing and restoring the versions of database scripts, and which version a run ran.

Database scripts keep every version (``ylai_script_version``); repository scripts are files in
``dags/scripts`` whose history is the repository's (git), so asking for their versions is a
:class:`~ylai_plugin.domain.errors.Conflict` that says so. Which version a run ran is
:func:`ylai_plugin.domain.scripts.run_versions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ylai_plugin.domain import scripts, versioning
from ylai_plugin.domain.errors import Conflict, not_found, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

    from ylai_plugin.db.models import DbScript, DbScriptVersion


def stored(session: Session, user: BaseUser, name: str) -> DbScript:
    """The database script ``name`` whose versions ``user`` may read.

    :raises Conflict: ``name`` is a repository script (a file: no stored versions).
    :raises NotFound: no such script, or the user may not see its DAG.
    """
    if name in scripts.repository().scripts:
        raise Conflict(
            text(
                "script.repository_versions",
                "Script {name!r} is a file in dags/scripts: its history is the repository's (git), not ylai's; "
                "its runs show a digest of the file they ran",
                name=name,
            )
        )
    return scripts.get_stored(session, user, name)


def page(session: Session, user: BaseUser, name: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the versions of database script ``name``, newest first, and how many it has."""
    from ylai_plugin.db.models import DbScriptVersion

    script = stored(session, user, name)
    mine = DbScriptVersion.script_id == script.id
    total = session.scalar(select(func.count()).select_from(DbScriptVersion).where(mine)) or 0
    rows = session.scalars(
        select(DbScriptVersion).where(mine).order_by(DbScriptVersion.version.desc()).limit(limit).offset(offset)
    ).all()
    return [summary(script, row) for row in rows], total


def version(session: Session, user: BaseUser, name: str, number: int) -> dict[str, Any]:
    """Version ``number`` of database script ``name`` with its content and manifest.

    :raises NotFound: no such script or version.
    """
    from ylai_plugin.db.models import DbScriptVersion

    script = stored(session, user, name)
    row = versioning.find(session, DbScriptVersion.version, (DbScriptVersion.script_id, script.id), number)
    found: DbScriptVersion = versioning.require(row, lambda: not_found("Script version", f"{name} v{number}"))
    return {**summary(script, found), "runtime": script.runtime, "content": found.content, "manifest": found.manifest}


def summary(script: DbScript, row: DbScriptVersion) -> dict[str, Any]:
    """A version as listed: number, comment, author, time, content digest and size, whether it is current."""
    return {
        "version": row.version,
        "comment": row.comment,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "digest": versioning.digest(row.content),
        "size_bytes": len(row.content.encode()),
        "current": row.version == script.current_version,
    }


def restore(session: Session, user: BaseUser, name: str, number: int, comment: str) -> DbScript:
    """A new version of database script ``name`` equal to version ``number``, made current, published, audited.

    The old manifest is checked again (ylai's manifest rules may have changed since). An empty
    ``comment`` is stored as ``Restore of version <number>``.

    :raises Conflict: ``name`` is a repository script.
    :raises NotFound: no such script or version.
    :raises Invalid: the old manifest is no longer valid.
    """
    from ylai_plugin.db.models import DbScriptVersion
    from ylai_plugin.domain import db_scripts

    script = stored(session, user, name)
    row = versioning.find(session, DbScriptVersion.version, (DbScriptVersion.script_id, script.id), number)
    old: DbScriptVersion = versioning.require(row, lambda: not_found("Script version", f"{name} v{number}"))
    manifest = db_scripts.validate_manifest(script.name, script.runtime, dict(old.manifest))
    new = db_scripts.add_version(
        session, user, script, old.content, manifest, versioning.restore_comment(number, comment)
    )
    db_scripts.publish(session)
    scripts.record_script_write(session, user, "restore", name, version=new.version, restored=number)
    return script
