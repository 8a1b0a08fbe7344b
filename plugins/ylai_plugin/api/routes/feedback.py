"""``/feedback``: anyone signed in gives feedback from any ylai page; Admins read and handle it.

Giving feedback needs no ylai permission (only a signed-in user); listing and handling it need
``ylai Feedback`` (read, edit), which only Admin has by default. Both writes are audited. A new
feedback is forwarded to ``[ylai] feedback_slack_channel`` when one is set, in the background.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, BackgroundTasks, Depends, Query

from ylai_plugin.api.datamodels.alerts import NO_NUL
from ylai_plugin.api.datamodels.common import Page
from ylai_plugin.api.datamodels.feedback import FeedbackIn, FeedbackOut, FeedbackPatch, FeedbackSort
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.listing import IdPath, Offset
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import feedback
from ylai_plugin.domain.paging import PageQuery
from ylai_plugin.permissions import RESOURCE_FEEDBACK

router = APIRouter(prefix="/feedback", tags=["feedback"])


@router.post("", status_code=201, response_model=FeedbackOut, responses={422: {"model": ErrorResponse}})
def create_feedback(body: FeedbackIn, user: UserDep, session: SessionDep, background: BackgroundTasks) -> FeedbackOut:
    """Give feedback: a rating, a comment, the page and the app's version (any signed-in user). Audited."""
    from ylai_plugin.alerts import feedback_notices

    stored = feedback.create(session, user, body.model_dump())
    session.commit()  # stored before it is forwarded
    background.add_task(feedback_notices.forward_in_background, stored)
    return FeedbackOut(**stored)


@router.get(
    "",
    response_model=Page[FeedbackOut],
    dependencies=[Depends(requires(RESOURCE_FEEDBACK))],
    responses={403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def list_feedback(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    order_by: FeedbackSort = "-created_at",
    handled: bool | None = None,
    page: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
) -> Page[FeedbackOut]:
    """Feedback, newest first; filter by handled, page and rating. Needs ``ylai Feedback`` (read)."""
    found, total = feedback.page(session, PageQuery(limit, offset, order_by), handled, page, rating)
    return Page[FeedbackOut](items=[FeedbackOut(**f) for f in found], total=total, limit=limit, offset=offset)


@router.patch(
    "/{feedback_id}",
    response_model=FeedbackOut,
    dependencies=[Depends(requires(RESOURCE_FEEDBACK, "PATCH"))],
    responses={403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def update_feedback(feedback_id: IdPath, body: FeedbackPatch, user: UserDep, session: SessionDep) -> FeedbackOut:
    """Mark a feedback handled (or not) and set a reply note. Needs ``ylai Feedback`` (edit). Audited."""
    return FeedbackOut(**feedback.update(session, user, feedback_id, body.model_dump(exclude_unset=True)))
