"""Approvals of runs: the pending and past requests of the approval gates, and answering them.

A run that needs approval starts with the gate task of :mod:`ylai_operators.approval`: an
Airflow human-in-the-loop request (``hitl_detail`` row, keyed by the task instance's id) and the
XCom ``ylai_approval`` with what ylai shows (kind, target, approvers, who asked, timeout). This
module reads both, applies ylai's rules (approvers, Admins, four eyes, comments) and answers a
request the way Airflow's own HITL API does, so the waiting task resumes at once (or, answered
within seconds of starting to wait, once that is safe: :func:`resume_when_settled`).

It also publishes what the gates read while parsing and running: the sensitive-script policy
(``ylai_approval_policy``) and the users of each role (``ylai_approval_directory``), from which
a gate sets the request's ``assigned_users`` so Airflow's own UI limits who may answer.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, select

from ylai_operators.catalog import (
    APPROVAL_COMMENT_PARAM,
    APPROVAL_DIRECTORY_VARIABLE,
    APPROVAL_POLICY_VARIABLE,
    APPROVAL_TASK_ID,
    APPROVAL_XCOM_KEY,
    APPROVE_OPTION,
    PIPELINE_PREFIX,
    REJECT_OPTION,
    SCRIPT_PREFIX,
    TASK_PREFIX,
    eligible_usernames,
    parse_dag_id,
)
from ylai_plugin import config
from ylai_plugin.domain import access, audit, dags
from ylai_plugin.domain.errors import Conflict, Forbidden, Invalid, not_found, text
from ylai_plugin.permissions import RESOURCE_APPROVALS

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

View = Literal["waiting_for_me", "mine", "all"]
State = Literal["pending", "approved", "rejected", "timed_out"]
ADMIN_ROLE = "Admin"
# Most requests one list reads before filtering by view and state (newest first).
SCAN_LIMIT = 5000
_FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}

FOUR_EYES = text("approval.four_eyes", "You started this run; someone else must approve it (four eyes)")
NO_RIGHT = text("approval.no_right", "Your role may not decide on approvals (no can_edit on ylai Approvals)")


def _parse_uuid(approval_id: str) -> Any:
    from uuid import UUID

    try:
        return UUID(approval_id)
    except ValueError:
        raise not_found("Approval", approval_id) from None


def _rows(session: Session, where: list[Any]) -> list[Any]:
    from airflow.models import DagRun
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.xcom import XComModel

    query = (
        select(
            HITLDetail, TI.dag_id, TI.run_id, TI.task_id, TI.state, DagRun.triggering_user_name, DagRun.conf, XComModel
        )
        .join(TI, TI.id == HITLDetail.ti_id)
        .join(DagRun, and_(DagRun.dag_id == TI.dag_id, DagRun.run_id == TI.run_id))
        .outerjoin(
            XComModel,
            and_(
                XComModel.dag_id == TI.dag_id,
                XComModel.run_id == TI.run_id,
                XComModel.task_id == TI.task_id,
                XComModel.map_index == TI.map_index,
                XComModel.key == APPROVAL_XCOM_KEY,
            ),
        )
        .where(TI.task_id == APPROVAL_TASK_ID, *where)
        .order_by(HITLDetail.created_at.desc())
        .limit(SCAN_LIMIT)
    )
    return list(session.execute(query).all())


def _ylai_dag(dag_id: Any) -> Any:
    from sqlalchemy import or_

    return or_(*(dag_id.startswith(p, autoescape=True) for p in (SCRIPT_PREFIX, PIPELINE_PREFIX, TASK_PREFIX)))


def _record(xcom: Any) -> dict[str, Any]:
    if xcom is None:
        return {}
    from airflow.models.xcom import XComModel

    value = XComModel.deserialize_value(xcom)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _state(detail: Any, ti_state: Any) -> State:
    chosen = detail.chosen_options or []
    if detail.responded_at is not None and REJECT_OPTION in chosen:
        return "rejected"
    if detail.responded_at is not None and detail.responded_by is not None:
        return "approved"
    if str(ti_state) in _FINISHED:
        return "timed_out"
    return "pending"


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _view(row: Any, secrets: dict[str, frozenset[str]]) -> dict[str, Any]:
    detail, dag_id, run_id, task_id, ti_state, requested_by, conf, xcom = row
    record = _record(xcom)
    parsed = parse_dag_id(dag_id)
    kind = record.get("kind") or (parsed.kind.value if parsed else "script")
    responded = detail.responded_by or {}
    return {
        "id": str(detail.ti_id),
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "kind": kind if kind in ("script", "pipeline", "task") else "script",
        "target": record.get("target") or (parsed.name if parsed else dag_id),
        "requested_by": record.get("requested_by") or requested_by,
        "requested_at": detail.created_at,
        "approvers": list(record.get("approvers") or []),
        "reason_required": bool(record.get("reason_required", False)),
        "four_eyes": bool(record.get("four_eyes", True)),
        "timeout_at": _as_datetime(record.get("timeout_at")),
        "state": _state(detail, ti_state),
        "decided_by": responded.get("name"),
        "decided_at": detail.responded_at,
        "comment": (detail.params_input or {}).get(APPROVAL_COMMENT_PARAM),
        "params": dags.mask(conf or {}, secrets.get(dag_id, frozenset())),
    }


def decision_block(user: BaseUser, item: dict[str, Any]) -> Any:
    """Why ``user`` may not approve or reject ``item`` (a :class:`Text`), or None when they may."""
    if item["state"] != "pending":
        return text("approval.decided", "This approval is already {state}", state=item["state"])
    if not access.can_access_view(user, RESOURCE_APPROVALS, "PUT"):
        return NO_RIGHT
    name = user.get_name()
    if item["four_eyes"] and item["requested_by"] and name == item["requested_by"]:
        return FOUR_EYES
    # Role names compare without case: FAB's are "Op", Airflow's simple auth manager's "op".
    roles = {r.lower() for r in access.user_roles(user)}
    if ADMIN_ROLE.lower() in roles:
        return None
    if name in item["approvers"] or roles & {a.lower() for a in item["approvers"]}:
        return None
    return text(
        "approval.not_approver",
        "Only {approvers} (or an Admin) may decide on this run",
        approvers=", ".join(item["approvers"]),
    )


def _for_user(user: BaseUser, item: dict[str, Any]) -> dict[str, Any]:
    block = decision_block(user, item)
    # The reason stays a Text: the API words it in the caller's language.
    return {**item, "can_decide": block is None, "cannot_decide_reason": block}


def _refresh(session: Session) -> None:
    """:func:`publish` in a savepoint: keeps the gates' view of roles fresh; a lost race is no error."""
    import logging

    try:
        with session.begin_nested():
            publish(session)
    except Exception as exc:  # another request published the same at the same time
        logging.getLogger(__name__).info("ylai: approval Variables not refreshed: %s", exc)


def list_approvals(
    session: Session, user: BaseUser, view: View, state: State | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the approval requests of DAGs the user may read, newest first, and their number.

    ``waiting_for_me``: pending requests the user may decide on; ``mine``: runs the user started.
    """
    from airflow.models.taskinstance import TaskInstance as TI

    _refresh(session)
    readable = access.readable_dag_ids(user)
    rows = _rows(session, [_ylai_dag(TI.dag_id), TI.dag_id.in_(readable)])
    secrets = dags.secret_params({r[1] for r in rows}, session)
    items = [_for_user(user, _view(r, secrets)) for r in rows]
    if view == "waiting_for_me":
        items = [i for i in items if i["can_decide"]]
    elif view == "mine":
        items = [i for i in items if i["requested_by"] == user.get_name()]
    if state is not None:
        items = [i for i in items if i["state"] == state]
    return items[offset : offset + limit], len(items)


def read(session: Session, user: BaseUser, approval_id: str) -> dict[str, Any]:
    """One approval request (404 when it does not exist or its DAG is not readable)."""
    from airflow.models.hitl import HITLDetail

    rows = _rows(session, [HITLDetail.ti_id == _parse_uuid(approval_id)])
    if not rows or not access.can_access_dag(user, rows[0][1], "GET"):
        raise not_found("Approval", approval_id)
    return _for_user(user, _view(rows[0], dags.secret_params([rows[0][1]], session)))


def decide(session: Session, user: BaseUser, approval_id: str, approve: bool, comment: str | None) -> dict[str, Any]:
    """Approve or reject a pending request as ``user``; the waiting gate task resumes at once.

    :raises Forbidden: not an approver, four eyes, or a role without ``can_edit`` on approvals.
    :raises Conflict: already decided (or timed out).
    :raises Invalid: no comment where one is needed (a rejection, or ``reason_required``).
    """
    from airflow._shared.timezones import timezone
    from airflow.models import DagRun
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI

    item = read(session, user, approval_id)
    block = decision_block(user, item)
    if item["state"] != "pending":
        raise Conflict(block)
    if block is not None:
        raise Forbidden(block)
    comment = (comment or "").strip() or None
    if comment is None and (not approve or item["reason_required"]):
        if approve:
            reason = text("approval.comment_required_approve", "a comment is required to approve this run")
        else:
            reason = text("approval.comment_required_reject", "a reason is required to reject this run")
        raise Invalid.at("body.comment", reason)
    # Same locking order as Airflow's own HITL route: the task instance, then the request.
    ti = session.get(TI, _parse_uuid(approval_id), with_for_update={"of": TI})
    detail = session.scalars(
        select(HITLDetail).where(HITLDetail.ti_id == _parse_uuid(approval_id)).with_for_update(of=HITLDetail)
    ).one()
    if detail.responded_at is not None:
        raise Conflict(text("approval.decided", "This approval is already {state}", state=_state(detail, None)))
    user_id = user.get_id()
    detail.responded_by = {"id": str(user_id), "name": user.get_name()}
    detail.responded_at = timezone.utcnow()
    detail.chosen_options = [APPROVE_OPTION if approve else REJECT_OPTION]
    detail.params_input = {APPROVAL_COMMENT_PARAM: comment}
    session.add(detail)
    resume_in = None
    if _waits(ti):
        resume_in = _settle_remaining(ti, detail)
        if resume_in <= 0:
            _resume(session, ti, detail)
            resume_in = None
    verb = "approve" if approve else "reject"
    if not approve:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == item["dag_id"], DagRun.run_id == item["run_id"])
        ).one()
        run.note = (f"Rejected by {user.get_name()}: {comment}", user_id)
    audit.record(
        session,
        user,
        f"ylai.approval.{verb}",
        "approval",
        approval_id,
        summary=f"{verb}d the run of {item['kind']} {item['target']!r}" + (f": {comment}" if comment else ""),
        dag_id=item["dag_id"],
        run_id=item["run_id"],
    )
    session.flush()
    if resume_in is not None:
        import threading

        # Started now, the thread waits past the settle time, by which the route has committed.
        threading.Thread(
            target=resume_when_settled, args=(approval_id, resume_in), name="ylai-approval-resume", daemon=True
        ).start()
    return read(session, user, approval_id)


def _waits(ti: Any) -> bool:
    """Whether the gate task ``ti`` is waiting for its answer (and may be resumed)."""
    from airflow.utils.state import TaskInstanceState

    return ti is not None and ti.state in (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED)


def _resume(session: Session, ti: Any, detail: Any) -> None:
    """Hand the recorded answer to the waiting task, as Airflow's own HITL route does."""
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent

    event = TriggerEvent(detail.as_resume_event_payload())  # type: ignore[no-untyped-call]
    handle_event_submit(event, task_instance=ti, session=session)


def _settle_remaining(ti: Any, detail: Any) -> float:
    """Seconds until a task that started waiting for its answer may be resumed safely (<= 0: now).

    The gate's process exits when the task starts waiting and its executor reports that exit as a
    success of the same try. Resumed and queued again before the scheduler has read that report,
    the new try is failed as "killed externally" (apache/airflow#72716), which fails the run of an
    approval answered within a second or two, as an automated approver does.
    """
    from airflow._shared.timezones import timezone

    since = max(t for t in (detail.created_at, ti.updated_at) if t is not None)
    settle = config.APPROVAL_RESUME_SETTLE_SECONDS.get()
    return float(settle - (timezone.utcnow() - since).total_seconds())


def resume_when_settled(approval_id: str, delay: float, patience: float = 60.0) -> bool:
    """Resume the waiting gate of an answered approval after ``delay`` seconds; True if resumed.

    Runs in a thread started by :func:`decide`. It gives up when the answer is not in the database
    within ``patience`` seconds (the answering request was rolled back), or the task no longer waits
    (resumed through Airflow's own API, cleared, or the run ended). A process that stops before
    then leaves the answer recorded: Airflow's scheduler resumes the task with it at the deadline.
    """
    import logging
    import time

    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    time.sleep(max(delay, 0.0))
    deadline = time.monotonic() + patience
    ti_id = _parse_uuid(approval_id)
    while True:
        try:
            with create_session() as session:
                ti = session.get(TI, ti_id, with_for_update={"of": TI})
                if not _waits(ti):
                    return False
                detail = session.scalars(
                    select(HITLDetail).where(HITLDetail.ti_id == ti_id).with_for_update(of=HITLDetail)
                ).one_or_none()
                if detail is not None and detail.responded_at is not None:
                    _resume(session, ti, detail)
                    return True
        except Exception:  # a database blip: try again until patience runs out
            logging.getLogger(__name__).exception("resuming the approval task %s failed", approval_id)
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)


def for_runs(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{id, state, approvers}`` of the approval of each run that has one, by (dag_id, run_id)."""
    from airflow.models.taskinstance import TaskInstance as TI

    dag_ids = {d for d, _ in keys if d.startswith((SCRIPT_PREFIX, PIPELINE_PREFIX, TASK_PREFIX))}
    if not dag_ids:
        return {}
    rows = _rows(session, [TI.dag_id.in_(dag_ids), TI.run_id.in_({r for _, r in keys})])
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        item = _view(row, {})
        found.setdefault(
            (item["dag_id"], item["run_id"]),
            {"id": item["id"], "state": item["state"], "approvers": item["approvers"]},
        )
    return found


def directory(session: Session) -> dict[str, Any]:
    """The users (name to id) and the usernames of each role, as the gates resolve approvers with.

    Empty under an auth manager other than FAB's (its users are not in the database).
    """
    from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
    from airflow.providers.fab.auth_manager.models import User

    if not isinstance(access.auth_manager(), FabAuthManager):
        return {}

    users: dict[str, str] = {}
    roles: dict[str, list[str]] = {}
    for user in session.scalars(select(User)).unique().all():
        if not user.active:
            continue
        users[user.username] = str(user.id)
        for role in user.roles:
            roles.setdefault(role.name, []).append(user.username)
    return {"users": users, "roles": {name: sorted(members) for name, members in roles.items()}}


def policy() -> dict[str, Any]:
    """The ``[ylai]`` approval options as the DAG files read them."""
    approvers = [a.strip() for a in config.SENSITIVE_APPROVERS.get().split(",") if a.strip()]
    return {"sensitive_requires_approval": config.SENSITIVE_REQUIRES_APPROVAL.get(), "approvers": approvers}


def publish(session: Session) -> None:
    """Publish the policy and the directory to their Variables (written only when changed)."""
    from airflow.models import Variable

    published = [(APPROVAL_POLICY_VARIABLE, policy())]
    if found := directory(session):
        published.append((APPROVAL_DIRECTORY_VARIABLE, found))
    for key, value in published:
        serialized = json.dumps(value, sort_keys=True)
        current = session.scalars(select(Variable).where(Variable.key == key)).first()
        if current is not None and current.val == serialized:
            continue
        Variable.set(key, serialized, description="Managed by ylai: approvals (docs/approvals.md).", session=session)


def eligible(approvers: list[str], session: Session) -> list[str]:
    """The usernames that may decide on a request with ``approvers`` (Admins included)."""
    roles = directory(session).get("roles") or {}
    return sorted(eligible_usernames(approvers, roles))


def publish_now() -> None:
    """:func:`publish` in its own transaction; a failure is logged, never raised (best effort at start-up)."""
    import logging

    from airflow.utils.session import create_session

    try:
        with create_session() as session:
            publish(session)
    except Exception as exc:  # the gates fall back to ylai's own checks without the Variables
        logging.getLogger(__name__).warning("ylai: cannot publish the approval Variables: %s", exc)


def note_failed_approval(dag_id: str, run_id: str) -> None:
    """Give a run its approval's outcome as its note when the approval failed it and it has none.

    Called when a run fails; a rejection through ylai already wrote the note. Covers rejections
    through Airflow's own UI or API and timeouts. Errors are logged, never raised (a listener).
    """
    import logging

    from airflow.models import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    if not dag_id.startswith((SCRIPT_PREFIX, PIPELINE_PREFIX, TASK_PREFIX)):
        return
    try:
        with create_session() as session:
            rows = _rows(session, [TI.dag_id == dag_id, TI.run_id == run_id])
            if not rows:
                return
            item = _view(rows[0], {})
            run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).one()
            if run.note:
                return
            if item["state"] == "rejected":
                run.note = f"Rejected by {item['decided_by']}: {item['comment'] or ''}".rstrip(": ")
            elif item["state"] == "timed_out":
                run.note = "Approval timed out: nobody approved the run in time"
    except Exception as exc:
        logging.getLogger(__name__).warning("ylai: cannot note the approval of %s/%s: %s", dag_id, run_id, exc)
