"""``/alerts``: alert rules, silences, and the history of alerts with every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from ylai_plugin.alerts.schemas import CONDITION_TYPES, RuleBody, Scope, Severity
from ylai_plugin.api.errors import ApiError, ErrorResponse, flush_or_conflict, not_found
from ylai_plugin.api.listing import FIELDS_DESCRIPTION, IdPath, Offset, Page, PartialPage, fetch_page, select_fields
from ylai_plugin.api.security import UserDep, readable_dag_ids, requires
from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertRule, AlertSilence
from ylai_plugin.permissions import RESOURCE_ALERTS

NO_NUL = "^[^\\x00]*$"
router = APIRouter(prefix="/alerts", tags=["alerts"], responses={404: {"model": ErrorResponse}})
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
ConditionType = Literal[
    "run_failed", "task_failed", "failure_rate", "duration", "queue_wait", "worker_heartbeat", "deadline"
]
assert set(ConditionType.__args__) == set(CONDITION_TYPES)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- rules

RULE_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "nightly pipeline failed",
    "description": "",
    "enabled": True,
    "severity": "critical",
    "scope": {"dag_ids": [], "scripts": [], "pipelines": [], "tags": ["nightly"]},
    "condition": {"type": "run_failed"},
    "channels": [{"type": "slack", "target": "#data-alerts", "connection_id": None, "language": "en"}],
    "rate_limit": None,
    "escalation": None,
    "source": "api",
    "source_ref": None,
    "created_by": "alice",
    "created_at": "2026-11-28T02:00:00Z",
    "updated_at": "2026-11-28T02:00:00Z",
    "firing": 0,
}


class RuleOut(RuleBody):
    """A stored rule, with who made it and how many of its incidents are firing now."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [RULE_EXAMPLE]})

    id: int
    source: Literal["api", "manifest"] = Field(
        description="'manifest' rules come from an alerts: section; only 'enabled' can be changed here."
    )
    source_ref: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    firing: int = Field(description="Incidents of this rule that are firing now.")


class RulePatch(BaseModel):
    """Fields to change; anything omitted stays. The merged rule is validated as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    severity: Severity | None = None
    scope: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None
    channels: list[dict[str, Any]] | None = None
    rate_limit: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None


def _rule_out(rule: AlertRule, firing: int) -> RuleOut:
    return RuleOut.model_validate(
        {
            "id": rule.id,
            "name": rule.name,
            "description": rule.description,
            "enabled": rule.enabled,
            "severity": rule.severity,
            "scope": rule.scope,
            "condition": rule.condition,
            "channels": rule.channels,
            "rate_limit": rule.rate_limit,
            "escalation": rule.escalation,
            "source": rule.source,
            "source_ref": rule.source_ref,
            "created_by": rule.created_by,
            "created_at": rule.created_at,
            "updated_at": rule.updated_at,
            "firing": firing,
        }
    )


def _firing_counts(session: Any, rule_ids: list[int]) -> dict[int, int]:
    if not rule_ids:
        return {}
    rows = session.execute(
        select(Alert.rule_id, func.count())
        .where(Alert.rule_id.in_(rule_ids), Alert.state == "firing")
        .group_by(Alert.rule_id)
    )
    return {int(r): int(n) for r, n in rows}


def _store(rule: AlertRule, body: RuleBody) -> None:
    data = body.model_dump(mode="json")
    for key, value in data.items():
        setattr(rule, key, value)
    rule.condition_type = data["condition"]["type"]


def _get_rule(session: Any, rule_id: int) -> AlertRule:
    rule: AlertRule | None = session.get(AlertRule, rule_id)
    if rule is None:
        raise not_found("Alert rule", rule_id)
    return rule


def _invalid(exc: ValidationError) -> ApiError:
    details = [
        {
            "field": "body." + ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-")),
            "reason": str(err["msg"]).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    return ApiError(422, "Invalid input", details)


@router.post(
    "/rules",
    status_code=201,
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "POST"))],
    responses=WRITE_ERRORS,
)
def create_rule(body: RuleBody, user: UserDep, session: SessionDep) -> RuleOut:
    """Create an alert rule."""
    rule = AlertRule(created_by=user.get_name(), source="api")
    _store(rule, body)
    session.add(rule)
    flush_or_conflict(session, f"An alert rule named {body.name!r} already exists")
    return _rule_out(rule, 0)


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
    where: list[Any] = []
    if enabled is not None:
        where.append(AlertRule.enabled.is_(enabled))
    if condition_type:
        where.append(AlertRule.condition_type == condition_type)
    if severity:
        where.append(AlertRule.severity == severity)
    if source:
        where.append(AlertRule.source == source)
    if q:
        where.append(func.lower(AlertRule.name).contains(q.lower(), autoescape=True))
    rows, total = fetch_page(session, AlertRule, where, order_by, limit, offset)
    firing = _firing_counts(session, [r.id for r in rows])
    page = Page[RuleOut](
        items=[_rule_out(r, firing.get(r.id, 0)) for r in rows], total=total, limit=limit, offset=offset
    )
    return select_fields(page, fields, RuleOut)


@router.get("/rules/{rule_id}", response_model=RuleOut, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_rule(rule_id: IdPath, session: SessionDep) -> RuleOut:
    """One alert rule."""
    rule = _get_rule(session, rule_id)
    return _rule_out(rule, _firing_counts(session, [rule.id]).get(rule.id, 0))


@router.put(
    "/rules/{rule_id}",
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "PUT"))],
    responses=WRITE_ERRORS,
)
def replace_rule(rule_id: IdPath, body: RuleBody, session: SessionDep) -> RuleOut:
    """Replace a rule (not one from a manifest: change its alerts: section instead)."""
    rule = _get_rule(session, rule_id)
    if rule.source == "manifest":
        raise ApiError(409, f"Rule {rule_id} comes from {rule.source_ref}; edit its alerts: section instead")
    _store(rule, body)
    flush_or_conflict(session, f"An alert rule named {body.name!r} already exists")
    return _rule_out(rule, _firing_counts(session, [rule.id]).get(rule.id, 0))


@router.patch(
    "/rules/{rule_id}",
    response_model=RuleOut,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "PATCH"))],
    responses=WRITE_ERRORS,
)
def update_rule(rule_id: IdPath, body: RulePatch, session: SessionDep) -> RuleOut:
    """Change some fields of a rule, e.g. ``{"enabled": false}`` (the only change a manifest rule takes)."""
    rule = _get_rule(session, rule_id)
    changes = body.model_dump(exclude_unset=True)
    if rule.source == "manifest" and set(changes) - {"enabled"}:
        raise ApiError(409, f"Rule {rule_id} comes from {rule.source_ref}; only 'enabled' can be changed here")
    for key in ("name", "enabled", "severity", "scope", "condition", "channels"):
        if key in changes and changes[key] is None:
            raise ApiError(422, "Invalid input", [{"field": f"body.{key}", "reason": "cannot be null"}])
    current = _rule_out(rule, 0).model_dump(mode="json", include=set(RuleBody.model_fields))
    try:
        merged = RuleBody.model_validate(current | changes)
    except ValidationError as exc:
        raise _invalid(exc) from None
    _store(rule, merged)
    flush_or_conflict(session, f"An alert rule named {merged.name!r} already exists")
    return _rule_out(rule, _firing_counts(session, [rule.id]).get(rule.id, 0))


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    dependencies=[Depends(requires(RESOURCE_ALERTS, "DELETE"))],
    responses={409: {"model": ErrorResponse}},
)
def delete_rule(rule_id: IdPath, session: SessionDep) -> Response:
    """Delete a rule; its alert history stays (with the rule's name)."""
    rule = _get_rule(session, rule_id)
    if rule.source == "manifest":
        raise ApiError(409, f"Rule {rule_id} comes from {rule.source_ref}; remove its alerts: section instead")
    session.delete(rule)
    return Response(status_code=204)


# ---------------------------------------------------------------- silences

SILENCE_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "rule_id": None,
    "scope": {"dag_ids": [], "scripts": [], "pipelines": [], "tags": ["nightly"]},
    "starts_at": "2026-11-28T02:00:00Z",
    "ends_at": "2026-11-28T06:00:00Z",
    "comment": "warehouse maintenance",
    "created_by": "alice",
    "created_at": "2026-11-28T02:00:00Z",
    "active": True,
}


class SilenceIn(BaseModel):
    """Mute one rule (``rule_id``) or every rule's alerts for DAGs in ``scope`` until ``ends_at``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"rule_id": 1, "ends_at": "2026-12-01T08:00:00Z", "comment": "maintenance"},
                {"scope": {"tags": ["nightly"]}, "ends_at": "2026-12-01T08:00:00Z"},
            ]
        },
    )

    rule_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    scope: Scope | None = None
    starts_at: datetime | None = Field(default=None, description="Default: now.")
    ends_at: datetime
    comment: str = Field(default="", max_length=2000, pattern=NO_NUL)


class SilenceOut(BaseModel):
    """A silence."""

    model_config = ConfigDict(json_schema_extra={"examples": [SILENCE_EXAMPLE]})

    id: int
    rule_id: int | None
    scope: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    active: bool = Field(description="Whether it mutes alerts right now.")


def _in_range(value: datetime) -> bool:
    """Dates far from now overflow when converted to UTC (year 0 or 10000); nobody means them."""
    return 1970 <= value.year <= 9000


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
        active=s.starts_at <= now < s.ends_at,
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
    from ylai_plugin.alerts.engine import utcnow

    now = utcnow()
    starts = body.starts_at or now
    problems = [
        {"field": f"body.{name}", "reason": "must be between the years 1970 and 9000"}
        for name, value in (("starts_at", body.starts_at), ("ends_at", body.ends_at))
        if value is not None and not _in_range(value)
    ]
    if problems:
        raise ApiError(422, "Invalid input", problems)
    if body.rule_id is None and (body.scope is None or body.scope.is_all):
        problems.append({"field": "body.rule_id", "reason": "give a rule_id or a non-empty scope"})
    naive = [name for name, value in (("starts_at", starts), ("ends_at", body.ends_at)) if value.tzinfo is None]
    for name in naive:
        problems.append({"field": f"body.{name}", "reason": "must include a time zone, e.g. 2026-12-01T08:00:00Z"})
    if not naive and body.ends_at <= max(starts, now):
        problems.append({"field": "body.ends_at", "reason": "must be in the future and after starts_at"})
    if body.rule_id is not None and session.get(AlertRule, body.rule_id) is None:
        problems.append({"field": "body.rule_id", "reason": f"no alert rule {body.rule_id}"})
    if problems:
        raise ApiError(422, "Invalid input", problems)
    silence = AlertSilence(
        rule_id=body.rule_id,
        scope=body.scope.model_dump() if body.scope else None,
        starts_at=starts,
        ends_at=body.ends_at,
        comment=body.comment,
        created_by=user.get_name(),
        created_at=now,
    )
    session.add(silence)
    session.flush()
    return _silence_out(silence, now)


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
    from sqlalchemy import or_

    from ylai_plugin.alerts.engine import utcnow

    now = utcnow()
    where: list[Any] = []
    if active is True:
        where += [AlertSilence.starts_at <= now, AlertSilence.ends_at > now]
    elif active is False:
        where.append(or_(AlertSilence.starts_at > now, AlertSilence.ends_at <= now))
    if rule_id is not None:
        where.append(AlertSilence.rule_id == rule_id)
    rows, total = fetch_page(session, AlertSilence, where, order_by, limit, offset)
    return Page[SilenceOut](items=[_silence_out(s, now) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/silences/{silence_id}", response_model=SilenceOut, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_silence(silence_id: IdPath, session: SessionDep) -> SilenceOut:
    """One silence."""
    from ylai_plugin.alerts.engine import utcnow

    silence = session.get(AlertSilence, silence_id)
    if silence is None:
        raise not_found("Silence", silence_id)
    return _silence_out(silence, utcnow())


@router.delete("/silences/{silence_id}", status_code=204, dependencies=[Depends(requires(RESOURCE_ALERTS, "DELETE"))])
def delete_silence(silence_id: IdPath, session: SessionDep) -> Response:
    """End a silence now (it is deleted)."""
    silence = session.get(AlertSilence, silence_id)
    if silence is None:
        raise not_found("Silence", silence_id)
    session.delete(silence)
    return Response(status_code=204)


# ---------------------------------------------------------------- history

ALERT_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "rule_id": 1,
    "rule_name": "nightly pipeline failed",
    "condition_type": "run_failed",
    "dedup_key": "dag:pipeline__nightly_sales",
    "state": "resolved",
    "severity": "critical",
    "suppressed": None,
    "title": "DAG run failed: pipeline__nightly_sales",
    "summary": "ValueError: no rows for 2026-11-27",
    "details": {
        "dag_id": "pipeline__nightly_sales",
        "run_id": "scheduled__2026-11-27T01:00:00+00:00",
        "error_tail": "ValueError: no rows for 2026-11-27",
        "links": {
            "run": "https://airflow.example.com/dags/pipeline__nightly_sales/runs/scheduled__2026-11-27T01:00:00+00:00"
        },
    },
    "dag_id": "pipeline__nightly_sales",
    "run_id": "scheduled__2026-11-27T01:00:00+00:00",
    "started_at": "2026-11-28T01:03:10Z",
    "resolved_at": "2026-11-28T02:04:00Z",
    "last_notified_at": "2026-11-28T02:04:01Z",
    "escalation_level": 0,
}
ATTEMPT_EXAMPLE: dict[str, Any] = {
    "attempted_at": "2026-11-28T01:03:11Z",
    "ok": True,
    "error": None,
    "duration_ms": 182.5,
    "worker": "scheduler-1:4242",
}
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 11,
    "kind": "firing",
    "channel_type": "slack",
    "target": "#data-alerts",
    "connection_id": None,
    "language": "en",
    "status": "sent",
    "attempts": 1,
    "next_attempt_at": None,
    "last_error": None,
    "created_at": "2026-11-28T01:03:10Z",
    "sent_at": "2026-11-28T01:03:11Z",
    "attempt_log": [ATTEMPT_EXAMPLE],
}


class AlertOut(BaseModel):
    """One alert (incident): firing until it resolves; ``suppressed`` ones were recorded but not sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE]})

    id: int
    rule_id: int | None
    rule_name: str
    condition_type: str
    dedup_key: str
    state: Literal["firing", "resolved"]
    severity: Severity
    suppressed: Literal["silenced", "rate_limited"] | None
    title: str
    summary: str
    details: dict[str, Any]
    dag_id: str | None
    run_id: str | None
    started_at: datetime
    resolved_at: datetime | None
    last_notified_at: datetime | None
    escalation_level: int


class AttemptOut(BaseModel):
    """One try at sending."""

    model_config = ConfigDict(json_schema_extra={"examples": [ATTEMPT_EXAMPLE]})

    attempted_at: datetime
    ok: bool
    error: str | None
    duration_ms: float
    worker: str


class DeliveryOut(BaseModel):
    """One message to one channel, with every attempt."""

    model_config = ConfigDict(json_schema_extra={"examples": [DELIVERY_EXAMPLE]})

    id: int
    kind: Literal["firing", "resolved", "escalation"]
    channel_type: Literal["slack", "email", "webhook"]
    target: str
    connection_id: str | None
    language: str
    status: Literal["pending", "sent"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    attempt_log: list[AttemptOut]


class AlertDetail(AlertOut):
    """An alert with its deliveries."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE | {"deliveries": [DELIVERY_EXAMPLE]}]})

    deliveries: list[DeliveryOut]


def _alert_out(alert: Alert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in AlertOut.model_fields}


def _visible_alerts(user: Any) -> Any:
    from sqlalchemy import or_

    return or_(Alert.dag_id.is_(None), Alert.dag_id.in_(readable_dag_ids(user)))


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
    where: list[Any] = [_visible_alerts(user)]
    if rule_id is not None:
        where.append(Alert.rule_id == rule_id)
    if state:
        where.append(Alert.state == state)
    if severity:
        where.append(Alert.severity == severity)
    if dag_id:
        where.append(Alert.dag_id == dag_id)
    if suppressed is True:
        where.append(Alert.suppressed.is_not(None))
    elif suppressed is False:
        where.append(Alert.suppressed.is_(None))
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "Invalid input", [{"field": f"query.{name}", "reason": "must include a time zone"}])
        if value is not None and not _in_range(value):
            raise ApiError(
                422, "Invalid input", [{"field": f"query.{name}", "reason": "must be between the years 1970 and 9000"}]
            )
    if since is not None:
        where.append(Alert.started_at >= since)
    if until is not None:
        where.append(Alert.started_at < until)
    rows, total = fetch_page(session, Alert, where, order_by, limit, offset)
    page = Page[AlertOut](
        items=[AlertOut.model_validate(_alert_out(a)) for a in rows], total=total, limit=limit, offset=offset
    )
    return select_fields(page, fields, AlertOut)


@router.get("/events/{alert_id}", response_model=AlertDetail, dependencies=[Depends(requires(RESOURCE_ALERTS))])
def get_event(alert_id: IdPath, user: UserDep, session: SessionDep) -> AlertDetail:
    """One alert with each delivery and each of its attempts."""
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, _visible_alerts(user)))
    if alert is None:
        raise not_found("Alert", alert_id)
    deliveries = session.scalars(
        select(AlertDelivery).where(AlertDelivery.alert_id == alert.id).order_by(AlertDelivery.id)
    ).all()
    attempts: dict[int, list[AttemptOut]] = {}
    if deliveries:
        for a in session.scalars(
            select(AlertDeliveryAttempt)
            .where(AlertDeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(AlertDeliveryAttempt.id)
        ):
            attempts.setdefault(a.delivery_id, []).append(
                AttemptOut(
                    attempted_at=a.attempted_at, ok=a.ok, error=a.error, duration_ms=a.duration_ms, worker=a.worker
                )
            )
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
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            created_at=d.created_at,
            sent_at=d.sent_at,
            attempt_log=attempts.get(d.id, []),
        )
        for d in deliveries
    ]
    return AlertDetail.model_validate(_alert_out(alert) | {"deliveries": items})
