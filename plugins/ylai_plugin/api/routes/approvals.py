"""``/approvals``: runs waiting for a person's approval, and approving or rejecting them.

Reading needs ``can_read`` on "ylai Approvals", deciding ``can_edit``; who may decide on one
request (its approvers or an Admin, never the person who started the run under four eyes) is
the domain's rule (:mod:`ylai_plugin.domain.approvals`).
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, Query, Request

from ylai_plugin.api.datamodels.approvals import ApprovalOut, DecisionRequest
from ylai_plugin.api.datamodels.common import Page
from ylai_plugin.api.errors import ErrorResponse
from ylai_plugin.api.i18n import negotiate, translator
from ylai_plugin.api.listing import Offset
from ylai_plugin.api.security import UserDep, requires
from ylai_plugin.domain import approvals
from ylai_plugin.domain.errors import localized
from ylai_plugin.permissions import RESOURCE_APPROVALS

router = APIRouter(prefix="/approvals", tags=["approvals"], responses={404: {"model": ErrorResponse}})
DECISION_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorResponse, "description": "Not an approver, four eyes, or a role that may not decide."},
    409: {"model": ErrorResponse, "description": "Already decided or timed out."},
    422: {"model": ErrorResponse, "description": "A comment is required."},
}


def _out(request: Request, item: dict[str, Any]) -> ApprovalOut:
    """``item`` with ``cannot_decide_reason`` worded in the request's language (``Accept-Language``)."""
    words = translator(negotiate(request.headers.get("accept-language")))
    return ApprovalOut(**localized(item, words))


@router.get("", response_model=Page[ApprovalOut], dependencies=[Depends(requires(RESOURCE_APPROVALS))])
def list_approvals(
    request: Request,
    user: UserDep,
    session: SessionDep,
    view: Annotated[
        approvals.View,
        Query(description="`waiting_for_me`: pending requests you may decide on; `mine`: runs you started."),
    ] = "all",
    state: approvals.State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[ApprovalOut]:
    """Approval requests of the runs of DAGs you may read, newest first."""
    found, total = approvals.list_approvals(session, user, view, state, limit, offset)
    return Page[ApprovalOut](items=[_out(request, a) for a in found], total=total, limit=limit, offset=offset)


@router.get("/{approval_id}", response_model=ApprovalOut, dependencies=[Depends(requires(RESOURCE_APPROVALS))])
def get_approval(request: Request, approval_id: str, user: UserDep, session: SessionDep) -> ApprovalOut:
    """One approval request, with whether you may decide on it (and why not)."""
    return _out(request, approvals.read(session, user, approval_id))


@router.post(
    "/{approval_id}/approve",
    response_model=ApprovalOut,
    responses=DECISION_ERRORS,
    dependencies=[Depends(requires(RESOURCE_APPROVALS, "PUT"))],
)
def approve(
    request: Request, approval_id: str, user: UserDep, session: SessionDep, body: DecisionRequest
) -> ApprovalOut:
    """Approve the run: its first task ends and the script or pipeline starts. Audited."""
    return _out(request, approvals.decide(session, user, approval_id, True, body.comment))


@router.post(
    "/{approval_id}/reject",
    response_model=ApprovalOut,
    responses=DECISION_ERRORS,
    dependencies=[Depends(requires(RESOURCE_APPROVALS, "PUT"))],
)
def reject(
    request: Request, approval_id: str, user: UserDep, session: SessionDep, body: DecisionRequest
) -> ApprovalOut:
    """Reject the run with a reason (required): it fails, the reason in its note and log. Audited."""
    return _out(request, approvals.decide(session, user, approval_id, False, body.comment))
