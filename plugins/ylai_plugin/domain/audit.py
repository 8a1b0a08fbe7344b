"""ylai's audit trail: one entry in Airflow's audit log (the ``log`` table) per write through ylai.

Entries go to Airflow's own table, so Airflow's audit view (Browse > Audit Log,
``GET /api/v2/eventLogs``) shows them next to Airflow's events. Every entry has:

- ``event``: the action, ``ylai.<kind>.<verb>`` (``ylai.task.create``, ``ylai.script.run``);
- ``owner``: who acted;
- ``dag_id`` / ``run_id``: the DAG and run the object belongs to, where there is one;
- ``extra``: JSON with ``object`` (``<kind>:<id or name>``), a short ``summary`` and, for edits,
  ``changed`` (the names of the changed fields, never their values: a param may be a secret).

There is deliberately no function that edits or deletes an entry, and no route either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_

from ylai_plugin.domain.errors import Forbidden, text

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

PREFIX = "ylai."


def object_ref(kind: str, ident: object) -> str:
    """``<kind>:<id>``, how an entry names its object (``task:12``, ``script:etl``)."""
    return f"{kind}:{ident}"


def changed_fields(changes: dict[str, Any]) -> list[str]:
    """The sorted names of the changed fields: an entry lists names, never values."""
    return sorted(changes)


def record(
    session: Session,
    user: BaseUser | str,
    action: str,
    kind: str,
    ident: object,
    *,
    summary: str = "",
    dag_id: str | None = None,
    run_id: str | None = None,
    **extra: Any,
) -> None:
    """Add one entry to Airflow's audit log for a write by ``user`` (the user or their name).

    :param action: ``ylai.<kind>.<verb>``, e.g. ``ylai.task.update``.
    :param kind: the object's kind (``task``, ``preset``, ``script``, ...).
    :param ident: the object's id or name.
    :param summary: a short sentence of what changed; never a secret value.
    :param dag_id: the object's DAG, shown in Airflow's audit view and used for DAG-level access.
    :param run_id: the run a write started or concerns.
    :param extra: more JSON-serialisable facts (``changed=[...]``, ``version=2``); no secret values.
    """
    from airflow.models.log import Log

    payload = {"object": object_ref(kind, ident), "summary": summary, **extra}
    if not payload["summary"]:  # every entry says something: "<verb> <kind> <id>" at least
        payload["summary"] = f"{action.rsplit('.', 1)[-1]} {kind} {ident}"
    location: dict[str, Any] = {}
    if dag_id:
        location["dag_id"] = dag_id
    if run_id:
        location["run_id"] = run_id
    owner = user if isinstance(user, str) else user.get_name()
    session.add(Log(event=action, owner=owner, extra=json.dumps(payload, sort_keys=True), **location))


def ensure_readable(user: BaseUser) -> None:
    """Refuse a user whom Airflow does not let read its audit log (FAB's "Audit Logs" can_read).

    ylai asks the very permission Airflow's own audit view asks: the entries are the same rows,
    so a second, ylai-only permission would not hide anything.

    :raises Forbidden: ``user`` may not read the audit log.
    """
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    from ylai_plugin.domain import access

    if not access.auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.AUDIT_LOG, user=user):
        raise Forbidden(text("export.audit_forbidden", "You may not read the audit log"))


@dataclass(frozen=True)
class AuditFilter:
    """What ``GET /audit`` selects; every field is optional.

    :param object: ``<kind>`` (every object of that kind) or ``<kind>:<id or name>`` (one object).
    :param everything: Airflow's own events too, not only ylai's (``ylai.*``).
    """

    user: str | None = None
    action: str | None = None
    object: str | None = None
    dag_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    everything: bool = False


def where(filters: AuditFilter, readable: set[str] | None) -> list[Any]:
    """SQL conditions on ``Log`` for ``filters``; ``readable`` limits DAG-bound entries (``None``: all)."""
    from airflow.models.log import Log

    conditions: list[Any] = []
    if not filters.everything:
        conditions.append(Log.event.startswith(PREFIX, autoescape=True))
    if filters.action:
        conditions.append(Log.event.startswith(filters.action, autoescape=True))
    if filters.user:
        conditions.append(Log.owner == filters.user)
    if filters.object:
        # ``extra`` is written with sorted keys and json.dumps' separators, so the object's text is exact.
        ref = json.dumps(filters.object)
        needle = f'"object": {ref}' if ":" in filters.object else f'"object": {ref[:-1]}:'
        conditions.append(Log.extra.contains(needle, autoescape=True))
    if filters.dag_id:
        conditions.append(Log.dag_id == filters.dag_id)
    if filters.since:
        conditions.append(Log.dttm >= filters.since)
    if filters.until:
        conditions.append(Log.dttm < filters.until)
    if readable is not None:
        conditions.append(or_(Log.dag_id.is_(None), Log.dag_id.in_(sorted(readable))))
    return conditions


def entry_view(row: Any) -> dict[str, Any]:
    """One ``Log`` row as the API shows it: ``extra`` parsed, ``object`` and ``summary`` lifted out."""
    try:
        extra = json.loads(row.extra) if row.extra else {}
    except ValueError:
        extra = {"text": row.extra}  # Airflow's own events may carry plain text
    if not isinstance(extra, dict):
        extra = {"value": extra}
    obj = extra.pop("object", None)
    kind, _, ident = obj.partition(":") if isinstance(obj, str) else (None, "", "")
    return {
        "id": row.id,
        "when": row.dttm,
        "user": row.owner,
        "action": row.event,
        "object_kind": kind,
        "object_id": ident or None,
        "summary": extra.pop("summary", None) or None,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "task_id": row.task_id,
        "extra": extra,
    }


def page(
    session: Session, filters: AuditFilter, readable: set[str] | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of matching entries, newest first, and the number of matches."""
    from airflow.models.log import Log

    from ylai_plugin.domain.paging import fetch_page

    rows, total = fetch_page(session, Log, where(filters, readable), "-dttm", limit, offset)
    return [entry_view(r) for r in rows], total
