"""Feedback from ylai's pages: people rate and comment, Admins read, mark handled and reply.

Anyone signed in may give feedback; reading and handling it needs ``ylai Feedback`` (the API
checks the resource). Both writes are audited. Forwarding a new feedback to a chat channel is
the alerts feature's job (:mod:`ylai_plugin.alerts.feedback_notices`): this module only stores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ylai_plugin.db.usage_models import Feedback
from ylai_plugin.domain import audit
from ylai_plugin.domain.errors import not_found
from ylai_plugin.domain.paging import PageQuery, fetch_page, given_equal

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

#: What the list may be sorted by (``-`` for descending).
SORTS = ("created_at", "-created_at", "rating", "-rating")
FIELDS = (
    "id",
    "created_at",
    "user",
    "rating",
    "comment",
    "page",
    "app_version",
    "last_error",
    "handled",
    "reply_note",
    "handled_by",
    "handled_at",
)


def view(row: Feedback) -> dict[str, Any]:
    """One feedback as the API shows it."""
    return {name: getattr(row, name) for name in FIELDS}


def create(session: Session, user: BaseUser, body: dict[str, Any]) -> dict[str, Any]:
    """Store a feedback of ``user`` (``rating``, ``comment``, ``page``, ``app_version``, ``last_error``); audited."""
    row = Feedback(
        user=user.get_name(),
        rating=int(body["rating"]),
        comment=body.get("comment") or "",
        page=body["page"],
        app_version=body["app_version"],
        last_error=body.get("last_error") or None,
        handled=False,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    # The comment stays out of the audit log: it is the feedback's, shown on the Feedback page.
    audit.record(
        session, user, "ylai.feedback.create", "feedback", row.id, summary=f"rating {row.rating} on page {row.page}"
    )
    return view(row)


def get(session: Session, feedback_id: int) -> Feedback:
    """The feedback ``feedback_id``.

    :raises NotFound: there is none.
    """
    row = session.get(Feedback, feedback_id)
    if row is None:
        raise not_found("Feedback", feedback_id)
    return row


def update(session: Session, user: BaseUser, feedback_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Mark a feedback handled (or not) and/or set its reply note; audited with the changed fields' names."""
    row = get(session, feedback_id)
    changed: dict[str, Any] = {}
    if "handled" in changes and changes["handled"] is not None and bool(changes["handled"]) != row.handled:
        row.handled = bool(changes["handled"])
        row.handled_by = user.get_name() if row.handled else None
        row.handled_at = datetime.now(UTC) if row.handled else None
        changed["handled"] = row.handled
    if "reply_note" in changes and changes["reply_note"] != row.reply_note:
        row.reply_note = changes["reply_note"] or None
        changed["reply_note"] = True
    session.flush()
    summary = "marked handled" if changed.get("handled") else "updated"
    audit.record(
        session,
        user,
        "ylai.feedback.update",
        "feedback",
        row.id,
        summary=f"{summary} feedback {row.id}",
        changed=audit.changed_fields(changed),
    )
    return view(row)


def where(handled: bool | None = None, page: str | None = None, rating: int | None = None) -> list[Any]:
    """SQL conditions of the list's filters (each optional)."""
    conditions = given_equal((Feedback.page, page), (Feedback.rating, rating))
    if handled is not None:
        conditions.append(Feedback.handled.is_(handled))
    return conditions


def page(
    session: Session, paging: PageQuery, handled: bool | None = None, page: str | None = None, rating: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """One page of feedback, newest first by default, and the number of matches."""
    rows, total = fetch_page(
        session, Feedback, where(handled, page, rating), paging.order_by, paging.limit, paging.offset
    )
    return [view(r) for r in rows], total
