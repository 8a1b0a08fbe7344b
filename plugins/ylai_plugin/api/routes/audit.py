"""``/audit``: the audit trail, read from Airflow's audit log (the ``log`` table), newest first.

Read only: entries are written by the writes themselves (:mod:`ylai_plugin.domain.audit`) and
cannot be edited or deleted through ylai. Readers need Airflow's own "Audit Logs" read
permission, the one Airflow's Browse > Audit Log asks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Query

from ylai_plugin.api.datamodels.audit import AuditEntryOut
from ylai_plugin.api.datamodels.common import Page
from ylai_plugin.api.errors import ApiError, ErrorResponse
from ylai_plugin.api.listing import Offset
from ylai_plugin.api.security import UserDep
from ylai_plugin.domain import access, audit
from ylai_plugin.domain.errors import INVALID_INPUT, text

router = APIRouter(prefix="/audit", tags=["audit"], responses={403: {"model": ErrorResponse}})


@router.get("", response_model=Page[AuditEntryOut], responses={422: {"model": ErrorResponse}})
def list_audit(
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    by: Annotated[str | None, Query(alias="user", max_length=256, description="Who acted (exact).")] = None,
    action: Annotated[
        str | None, Query(max_length=128, description="Actions starting with this, e.g. `ylai.task` or `ylai.`.")
    ] = None,
    obj: Annotated[
        str | None,
        Query(
            alias="object",
            max_length=300,
            description="`<kind>` (e.g. `task`) or `<kind>:<id or name>` (e.g. `script:etl`).",
        ),
    ] = None,
    dag_id: Annotated[str | None, Query(max_length=250)] = None,
    since: Annotated[datetime | None, Query(description="From (inclusive), ISO 8601.")] = None,
    until: Annotated[datetime | None, Query(description="Until (exclusive), ISO 8601.")] = None,
    all_events: Annotated[bool, Query(description="Airflow's own events too, not only ylai's.")] = False,
) -> Page[AuditEntryOut]:
    """Entries of the audit log, newest first: ylai's writes, and with ``all_events`` Airflow's events too.

    Entries about a DAG show only to users who may read that DAG.
    """
    audit.ensure_readable(user)
    if since and until and since >= until:
        reason = text("export.since_before_until", "'since' must be before 'until'")
        raise ApiError(422, INVALID_INPUT, [{"field": "query.since", "reason": reason}])
    filters = audit.AuditFilter(
        user=by, action=action, object=obj, dag_id=dag_id, since=since, until=until, everything=all_events
    )
    found, total = audit.page(session, filters, access.readable_dag_ids(user), limit, offset)
    return Page[AuditEntryOut](items=[AuditEntryOut(**e) for e in found], total=total, limit=limit, offset=offset)
