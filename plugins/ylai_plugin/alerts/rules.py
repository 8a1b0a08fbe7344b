"""Alert rules, silences and the alert history as the API manages them, without HTTP.

Lookups raise :class:`~ylai_plugin.domain.errors.NotFound`, bad input
:class:`~ylai_plugin.domain.errors.Invalid` (naming each field), a rule from a manifest that
the API may not change :class:`~ylai_plugin.domain.errors.Conflict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select

from ylai_plugin.alerts.engine import utcnow
from ylai_plugin.alerts.schemas import RuleBody, Scope
from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertRule, AlertSilence
from ylai_plugin.domain import audit
from ylai_plugin.domain.errors import (
    CANNOT_BE_NULL,
    Conflict,
    Invalid,
    Text,
    flush_or_conflict,
    not_found,
    text,
    validation_reason,
)

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

# ---------------------------------------------------------------- rules


def invalid(exc: ValidationError, prefix: str = "body") -> Invalid:
    """A pydantic error as :class:`Invalid`, one problem per field (``body.condition.max_seconds``)."""
    return Invalid(
        {
            "field": prefix + "." + ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-")),
            "reason": validation_reason(err),
        }
        for err in exc.errors()
    )


def name_taken(name: str) -> Text:
    """The conflict of a second rule with the same name (rule names are unique)."""
    return text("alert_rule.name_taken", "An alert rule named {name!r} already exists", name=name)


def rule_fields(rule: AlertRule) -> dict[str, Any]:
    """Every stored column of a rule, by name."""
    return {
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
    }


def firing_counts(session: Any, rule_ids: list[int]) -> dict[int, int]:
    """How many incidents of each rule are firing now."""
    if not rule_ids:
        return {}
    rows = session.execute(
        select(Alert.rule_id, func.count())
        .where(Alert.rule_id.in_(rule_ids), Alert.state == "firing")
        .group_by(Alert.rule_id)
    )
    return {int(r): int(n) for r, n in rows}


def firing_count(session: Any, rule: AlertRule) -> int:
    """How many incidents of ``rule`` are firing now."""
    return firing_counts(session, [rule.id]).get(rule.id, 0)


def _store(rule: AlertRule, body: RuleBody) -> None:
    data = body.model_dump(mode="json")
    for key, value in data.items():
        setattr(rule, key, value)
    rule.condition_type = data["condition"]["type"]


def get_rule(session: Any, rule_id: int) -> AlertRule:
    """The rule, or :class:`NotFound`."""
    rule: AlertRule | None = session.get(AlertRule, rule_id)
    if rule is None:
        raise not_found("Alert rule", rule_id)
    return rule


def create_rule(session: Any, body: RuleBody, created_by: str) -> AlertRule:
    """Store a new rule made through the API; :class:`Conflict` when its name is taken."""
    rule = AlertRule(created_by=created_by, source="api")
    _store(rule, body)
    session.add(rule)
    flush_or_conflict(session, name_taken(body.name))
    _audit(session, created_by, "create", rule, f"created alert rule {rule.name!r}")
    return rule


def _audit(session: Any, by: str, verb: str, rule: AlertRule, summary: str, **extra: Any) -> None:
    audit.record(session, by, f"ylai.alert_rule.{verb}", "alert_rule", rule.id, summary=summary, **extra)


def replace_rule(session: Any, rule_id: int, body: RuleBody, by: str) -> AlertRule:
    """Replace a rule made through the API (a manifest's rule changes in its ``alerts:`` section)."""
    rule = get_rule(session, rule_id)
    if rule.source == "manifest":
        raise Conflict(
            text(
                "alert_rule.from_manifest",
                "Rule {rule_id} comes from {source}; edit its alerts: section instead",
                rule_id=rule_id,
                source=rule.source_ref,
            )
        )
    _store(rule, body)
    flush_or_conflict(session, name_taken(body.name))
    _audit(session, by, "replace", rule, f"replaced alert rule {rule.name!r}")
    return rule


def update_rule(session: Any, rule_id: int, changes: Mapping[str, Any], by: str) -> AlertRule:
    """Change some fields; the merged rule is validated as a whole. A manifest's rule only takes ``enabled``."""
    rule = get_rule(session, rule_id)
    if rule.source == "manifest" and set(changes) - {"enabled"}:
        raise Conflict(
            text(
                "alert_rule.from_manifest_enabled_only",
                "Rule {rule_id} comes from {source}; only 'enabled' can be changed here",
                rule_id=rule_id,
                source=rule.source_ref,
            )
        )
    for key in ("name", "enabled", "severity", "scope", "condition", "channels"):
        if key in changes and changes[key] is None:
            raise Invalid.at(f"body.{key}", CANNOT_BE_NULL)
    stored = rule_fields(rule)
    current = RuleBody.model_validate({name: stored[name] for name in RuleBody.model_fields}).model_dump(mode="json")
    try:
        merged = RuleBody.model_validate(current | dict(changes))
    except ValidationError as exc:
        raise invalid(exc) from None
    _store(rule, merged)
    flush_or_conflict(session, name_taken(merged.name))
    changed = audit.changed_fields(dict(changes))
    summary = f"changed {', '.join(changed) or 'nothing'} of alert rule {rule.name!r}"
    _audit(session, by, "update", rule, summary, changed=changed)
    return rule


def delete_rule(session: Any, rule_id: int, by: str) -> None:
    """Delete a rule made through the API; its alert history stays (with the rule's name)."""
    rule = get_rule(session, rule_id)
    if rule.source == "manifest":
        raise Conflict(
            text(
                "alert_rule.from_manifest_delete",
                "Rule {rule_id} comes from {source}; remove its alerts: section instead",
                rule_id=rule_id,
                source=rule.source_ref,
            )
        )
    session.delete(rule)
    _audit(session, by, "delete", rule, f"deleted alert rule {rule.name!r}")


def rule_filters(
    enabled: bool | None, condition_type: str | None, severity: str | None, source: str | None, q: str | None
) -> list[Any]:
    """The WHERE clauses of a rule listing."""
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
    return where


# ---------------------------------------------------------------- silences

OUT_OF_RANGE = text("field.year_out_of_range", "must be between the years 1970 and 9000")
NEEDS_TIME_ZONE_EXAMPLE = text("field.needs_time_zone_example", "must include a time zone, e.g. 2026-12-01T08:00:00Z")


def in_range(value: datetime) -> bool:
    """Dates far from now overflow when converted to UTC (year 0 or 10000); nobody means them."""
    return 1970 <= value.year <= 9000


def is_active(silence: AlertSilence, now: datetime) -> bool:
    """Whether the silence mutes alerts at ``now``."""
    return bool(silence.starts_at <= now < silence.ends_at)


def create_silence(
    session: Any,
    *,
    rule_id: int | None,
    scope: Scope | None,
    starts_at: datetime | None,
    ends_at: datetime,
    comment: str,
    created_by: str,
) -> AlertSilence:
    """Silence a rule, or a scope of DAGs, from ``starts_at`` (default now) until ``ends_at``."""
    now = utcnow()
    starts = starts_at or now
    problems: list[dict[str, str | Text]] = [
        {"field": f"body.{name}", "reason": OUT_OF_RANGE}
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at))
        if value is not None and not in_range(value)
    ]
    if problems:
        raise Invalid(problems)
    if rule_id is None and (scope is None or scope.is_all):
        problems.append(
            {"field": "body.rule_id", "reason": text("silence.target", "give a rule_id or a non-empty scope")}
        )
    naive = [name for name, value in (("starts_at", starts), ("ends_at", ends_at)) if value.tzinfo is None]
    for name in naive:
        problems.append({"field": f"body.{name}", "reason": NEEDS_TIME_ZONE_EXAMPLE})
    if not naive and ends_at <= max(starts, now):
        problems.append(
            {"field": "body.ends_at", "reason": text("silence.ends_at", "must be in the future and after starts_at")}
        )
    if rule_id is not None and session.get(AlertRule, rule_id) is None:
        problems.append(
            {"field": "body.rule_id", "reason": text("silence.no_rule", "no alert rule {rule_id}", rule_id=rule_id)}
        )
    if problems:
        raise Invalid(problems)
    silence = AlertSilence(
        rule_id=rule_id,
        scope=scope.model_dump() if scope else None,
        starts_at=starts,
        ends_at=ends_at,
        comment=comment,
        created_by=created_by,
        created_at=now,
    )
    session.add(silence)
    session.flush()
    target = f"alert rule {rule_id}" if rule_id is not None else "a scope of DAGs"
    summary = f"silenced {target} until {ends_at.isoformat()}"
    audit.record(session, created_by, "ylai.silence.create", "silence", silence.id, summary=summary, rule_id=rule_id)
    return silence


def silence_filters(active: bool | None, rule_id: int | None, now: datetime) -> list[Any]:
    """The WHERE clauses of a silence listing."""
    where: list[Any] = []
    if active is True:
        where += [AlertSilence.starts_at <= now, AlertSilence.ends_at > now]
    elif active is False:
        where.append(or_(AlertSilence.starts_at > now, AlertSilence.ends_at <= now))
    if rule_id is not None:
        where.append(AlertSilence.rule_id == rule_id)
    return where


def get_silence(session: Any, silence_id: int) -> AlertSilence:
    """The silence, or :class:`NotFound`."""
    silence: AlertSilence | None = session.get(AlertSilence, silence_id)
    if silence is None:
        raise not_found("Silence", silence_id)
    return silence


def delete_silence(session: Any, silence_id: int, by: str) -> None:
    """End a silence now (it is deleted)."""
    silence = get_silence(session, silence_id)
    session.delete(silence)
    summary = f"ended silence {silence_id}"
    audit.record(session, by, "ylai.silence.delete", "silence", silence_id, summary=summary, rule_id=silence.rule_id)


# ---------------------------------------------------------------- history


def visible_alerts(user: BaseUser) -> Any:
    """Alerts about DAGs the user may read, and alerts about no DAG (workers)."""
    from ylai_plugin.domain.access import readable_dag_ids

    return or_(Alert.dag_id.is_(None), Alert.dag_id.in_(readable_dag_ids(user)))


def alert_filters(
    user: BaseUser,
    *,
    rule_id: int | None = None,
    state: str | None = None,
    severity: str | None = None,
    dag_id: str | None = None,
    suppressed: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Any]:
    """The WHERE clauses of an alert listing; :class:`Invalid` for a time without zone or out of range."""
    where: list[Any] = [visible_alerts(user)]
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
            raise Invalid.at(f"query.{name}", text("field.needs_time_zone", "must include a time zone"))
        if value is not None and not in_range(value):
            raise Invalid.at(f"query.{name}", OUT_OF_RANGE)
    if since is not None:
        where.append(Alert.started_at >= since)
    if until is not None:
        where.append(Alert.started_at < until)
    return where


def get_alert(session: Any, alert_id: int, user: BaseUser) -> Alert:
    """An alert the user may see, or :class:`NotFound`."""
    alert: Alert | None = session.scalar(select(Alert).where(Alert.id == alert_id, visible_alerts(user)))
    if alert is None:
        raise not_found("Alert", alert_id)
    return alert


def deliveries_of(session: Any, alert: Alert) -> list[tuple[AlertDelivery, list[AlertDeliveryAttempt]]]:
    """Each delivery of the alert with its attempts, oldest first."""
    deliveries = session.scalars(
        select(AlertDelivery).where(AlertDelivery.alert_id == alert.id).order_by(AlertDelivery.id)
    ).all()
    attempts: dict[int, list[AlertDeliveryAttempt]] = {}
    if deliveries:
        for a in session.scalars(
            select(AlertDeliveryAttempt)
            .where(AlertDeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(AlertDeliveryAttempt.id)
        ):
            attempts.setdefault(a.delivery_id, []).append(a)
    return [(d, attempts.get(d.id, [])) for d in deliveries]
