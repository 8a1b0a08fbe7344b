"""Create and version scripts stored in the database, and publish them for the DAG generator."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ylai_plugin.db.models import DbScript, DbScriptVersion
from ylai_plugin.domain.errors import Invalid, Text, text, validation_reason

INVALID_MANIFEST = text("script.invalid_manifest", "Invalid manifest")

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session


def validate_manifest(name: str, runtime: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Validate like a YAML manifest; :class:`~ylai_plugin.domain.errors.Invalid` names ``body.manifest.<field>``."""
    from pydantic import ValidationError

    from ylai_operators.catalog import ScriptManifest

    clashes = [k for k in ("name", "runtime", "entrypoint") if k in manifest]
    if clashes:
        reason = text("script.manifest_top_level", "set at the top level, not in the manifest")
        raise Invalid([{"field": f"body.manifest.{k}", "reason": reason} for k in clashes], INVALID_MANIFEST)
    try:
        ScriptManifest.model_validate({**manifest, "name": name, "runtime": runtime})
    except ValidationError as exc:
        details: list[dict[str, str | Text]] = [
            {"field": "body.manifest." + ".".join(str(p) for p in err["loc"]), "reason": validation_reason(err)}
            for err in exc.errors()
        ]
        raise Invalid(details, INVALID_MANIFEST) from None
    return manifest


def current_records(session: Session) -> dict[str, dict[str, Any]]:
    """The current version of every database script, as published records."""
    current = (DbScriptVersion.script_id == DbScript.id) & (DbScriptVersion.version == DbScript.current_version)
    rows = session.execute(
        select(
            DbScript.name, DbScript.runtime, DbScriptVersion.version, DbScriptVersion.content, DbScriptVersion.manifest
        ).join(DbScriptVersion, current)
    ).all()
    return {
        r.name: {"runtime": r.runtime, "version": r.version, "content": r.content, "manifest": r.manifest} for r in rows
    }


def publish(session: Session) -> None:
    """Write the current version of every database script to the ``ylai_db_scripts`` Variable."""
    from airflow.models.variable import Variable

    from ylai_operators.catalog import DB_SCRIPTS_VARIABLE as VARIABLE

    Variable.set(
        VARIABLE,
        json.dumps(current_records(session), sort_keys=True),
        description="Managed by ylai: scripts created through POST /ylai/api/v1/scripts. Do not edit.",
        session=session,
    )


def add_version(
    session: Session, user: BaseUser, script: DbScript, content: str, manifest: dict[str, Any], comment: str
) -> DbScriptVersion:
    """Store a new version and make it current."""
    version = DbScriptVersion(
        script_id=script.id,
        version=script.current_version + 1 if script.id else 1,
        content=content,
        manifest=manifest,
        comment=comment,
        created_by=user.get_name(),
    )
    script.current_version = version.version
    session.add(version)
    session.flush()
    return version


def get(session: Session, name: str) -> DbScript | None:
    """The database script called ``name``."""
    row: DbScript | None = session.scalar(select(DbScript).where(DbScript.name == name))
    return row
