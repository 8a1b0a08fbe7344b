"""``/alerts``: alert rules, silences, and the history of alerts with every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from ylai_plugin.alerts import rules
from ylai_plugin.alerts.engine import utcnow
from ylai_plugin.alerts.schemas import RuleBody, Severity
from ylai_plugin.api.datamodels.alerts import (
    NO_NUL,
    AlertDetail,
    AlertOut,
    AttemptOut,
    ConditionType,
    DeliveryOut,
    RuleOut,
    RulePatch,
    SilenceIn,
    SilenceOut,
)
from ylai_plugin.api.datamodels.common import Page, PartialPage
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, select_fields
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.db.alert_models import Alert, AlertRule, AlertSilence
from ylai_plugin.domain.paging import fetch_page
from ylai_plugin.permissions import RESOURCE_ALERTS

router = APIRouter(prefix="/alerts", tags=["alerts"], responses={404: {"model": ErrorResponse}})
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


# ---------------------------------------------------------------- rules


def _rule_out(rule: AlertRule, firing: int) -> RuleOut:
    return RuleOut.model_validate(rules.rule_fields(rule) | {"firing": firing})


@router.post(
    "/rules",
    status_code=201,
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "POST"))],
    responses=WRITE_ERRORS,
)
def create_rule(body: RuleBody, user: UserDep, session: SessionDep) -> RuleOut:
    """Create an alert rule."""
    return _rule_out(rules.create_rule(session, body, user.get_name()), 0)


@router.get("/rules", response_model=Page[RuleOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def list_rules(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: Literal["name", "-name", "updated_at", "-updated_at", "id", "-id", "severity", "-severity"] = "name",
    enabled: bool | None = None,
    condition_type: ConditionType | None = None,
    severity: Severity | None = None,
    source: Literal["api", "manifest"] | None = None,
    q: Annotated[str | None, Query(max_length=128, pattern=NO_NUL, description="Part of the name.")] = None,
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Page[RuleOut] | JSONResponse:
    """Alert rules, filtered and paged."""
    where = rules.rule_filters(enabled, condition_type, severity, source, q)
    rows, total = fetch_page(session, AlertRule, where, order_by, limit, offset)
    firing = rules.firing_counts(session, [r.id for r in rows])
    page = Page[RuleOut](
        items=[_rule_out(r, firing.get(r.id, 0)) for r in rows], total=total, limit=limit, offset=offset
    )
    return select_fields(page, fields, RuleOut)


@router.get("/rules/{rule_id}", response_model=RuleOut, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_rule(rule_id: IdPath, session: SessionDep) -> RuleOut:
    """One alert rule."""
    rule = rules.get_rule(session, rule_id)
    return _rule_out(rule, rules.firing_count(session, rule))


@router.put(
    "/rules/{rule_id}",
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "PUT"))],
    responses=WRITE_ERRORS,
)
def replace_rule(rule_id: IdPath, body: RuleBody, user: UserDep, session: SessionDep) -> RuleOut:
    """Replace a rule (not one from a manifest: change its alerts: section instead)."""
    rule = rules.replace_rule(session, rule_id, body, user.get_name())
    return _rule_out(rule, rules.firing_count(session, rule))


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "PATCH"))],
    responses=WRITE_ERRORS,
)
def update_rule(rule_id: IdPath, body: RulePatch, user: UserDep, session: SessionDep) -> RuleOut:
    """Change some fields of a rule, e.g. ``{"enabled": false}`` (the only change a manifest rule takes)."""
    rule = rules.update_rule(session, rule_id, body.model_dump(exclude_unset=True), user.get_name())
    return _rule_out(rule, rules.firing_count(session, rule))


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "DELETE"))],
    responses={409: {"model": ErrorResponse}},
)
def delete_rule(rule_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """Delete a rule; its alert history stays (with the rule's name)."""
    rules.delete_rule(session, rule_id, user.get_name())
    return Response(status_code=204)


# ---------------------------------------------------------------- silences


def _silence_out(s: AlertSilence, now: datetime) -> SilenceOut:
    return SilenceOut(
        id=s.id,
        rule_id=s.rule_id,
        scope=s.scope,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        comment=s.comment,
        created_by=s.created_by,
        created_at=s.created_at,
        active=rules.is_active(s, now),
    )


@router.post(
    "/silences",
    status_code=201,
    response_model=SilenceOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "POST"))],
    responses={422: {"model": ErrorResponse}},
)
def create_silence(body: SilenceIn, user: UserDep, session: SessionDep) -> SilenceOut:
    """Silence a rule, or a scope of DAGs, until ``ends_at``; muted alerts are kept as ``suppressed``."""
    silence = rules.create_silence(
        session,
        rule_id=body.rule_id,
        scope=body.scope,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        comment=body.comment,
        created_by=user.get_name(),
    )
    return _silence_out(silence, silence.created_at)


@router.get("/silences", response_model=Page[SilenceOut], dependencies=[Depends(requires(RESOURCE_ALERTS))])
def list_silences(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: Literal["ends_at", "-ends_at", "created_at", "-created_at", "id", "-id"] = "-ends_at",
    active: bool | None = Query(default=None, description="true: muting now; false: expired or not started."),
    rule_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[SilenceOut]:
    """Silences, newest end first."""
    now = utcnow()
    rows, total = fetch_page(
        session, AlertSilence, rules.silence_filters(active, rule_id, now), order_by, limit, offset
    )
    return Page[SilenceOut](items=[_silence_out(s, now) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/silences/{silence_id}", response_model=SilenceOut, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_silence(silence_id: IdPath, session: SessionDep) -> SilenceOut:
    """One silence."""
    return _silence_out(rules.get_silence(session, silence_id), utcnow())


@router.delete("/silences/{silence_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_ALERTS, "DELETE"))])
def delete_silence(silence_id: IdPath, user: UserDep, session: SessionDep) -> Response:
    """End a silence now (it is deleted)."""
    rules.delete_silence(session, silence_id, user.get_name())
    return Response(status_code=204)


# ---------------------------------------------------------------- history


def _alert_out(alert: Alert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in AlertOut.model_fields}


@router.get("/events", response_model=Page[AlertOut] | PartialPage, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def list_events(
    user: UserDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: Literal["started_at", "-started_at", "severity", "-severity", "id", "-id"] = "-started_at",
    rule_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    state: Literal["firing", "resolved"] | None = None,
    severity: Severity | None = None,
    dag_id: Annotated[str | None, Query(max_length=250, pattern=NO_NUL)] = None,
    suppressed: bool | None = Query(default=None, description="true: only muted ones; false: only notified ones."),
    since: datetime | None = Query(default=None, description="Started at or after (ISO 8601)."),
    until: datetime | None = Query(default=None, description="Started before (ISO 8601)."),
    fields: Annotated[str | None, Query(description=FIELDS_DESCRIPTION)] = None,
) -> Page[AlertOut] | JSONResponse:
    """Alert history, newest first; only alerts about DAGs you may read (and worker alerts)."""
    where = rules.alert_filters(
        user,
        rule_id=rule_id,
        state=state,
        severity=severity,
        dag_id=dag_id,
        suppressed=suppressed,
        since=since,
        until=until,
    )
    rows, total = fetch_page(session, Alert, where, order_by, limit, offset)
    page = Page[AlertOut](
        items=[AlertOut.model_validate(_alert_out(a)) for a in rows], total=total, limit=limit, offset=offset
    )
    return select_fields(page, fields, AlertOut)


@router.get("/events/{alert_id}", response_model=AlertDetail, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_event(alert_id: IdPath, user: UserDep, session: SessionDep) -> AlertDetail:
    """One alert with each delivery and each of its attempts."""
    alert = rules.get_alert(session, alert_id, user)
    items = [
        DeliveryOut(
            id=d.id,
            kind=d.kind,  # type: ignore[arg-type]
            channel_type=d.channel_type,  # type: ignore[arg-type]
            target=d.target,
            connection_id=d.connection_id,
            language=d.language,
            status=d.status,  # type: ignore[arg-type]
            attempts=d.attempts,
            deferrals=d.deferrals or 0,
            breaker=d.breaker,
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            created_at=d.created_at,
            sent_at=d.sent_at,
            attempt_log=[
                AttemptOut(
                    attempted_at=a.attempted_at, ok=a.ok, error=a.error, duration_ms=a.duration_ms, worker=a.worker
                )
                for a in attempts
            ],
        )
        for d, attempts in rules.deliveries_of(session, alert)
    ]
    return AlertDetail.model_validate(_alert_out(alert) | {"deliveries": items})
