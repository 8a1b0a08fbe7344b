"""Approval requests of runs (``/approvals``), as ylai shows them, and the body of a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ApprovalState = Literal["pending", "approved", "rejected", "timed_out"]

APPROVAL_EXAMPLE: dict[str, Any] = {
    "id": "01939f5e-8f0c-7a51-9f0b-5a3c2f1e4d6a",
    "dag_id": "script__rotate_keys",
    "run_id": "manual__2026-11-27T09:30:00.123456+00:00",
    "task_id": "approval",
    "kind": "script",
    "target": "rotate_keys",
    "requested_by": "alice",
    "requested_at": "2026-11-27T09:30:02Z",
    "approvers": ["Op"],
    "reason_required": False,
    "four_eyes": True,
    "timeout_at": "2026-11-28T09:30:02Z",
    "state": "pending",
    "decided_by": None,
    "decided_at": None,
    "comment": None,
    "params": {"service": "billing", "token": "***"},
    "can_decide": False,
    "cannot_decide_reason": "You started this run; someone else must approve it (four eyes)",
}


class ApprovalOut(BaseModel):
    """One approval request: a run waiting for (or past) a person's decision."""

    model_config = ConfigDict(json_schema_extra={"examples": [APPROVAL_EXAMPLE]})

    id: str = Field(description="The id of the approval's task instance (a UUID), as in Airflow's HITL API.")
    dag_id: str
    run_id: str
    task_id: str
    kind: Literal["script", "pipeline", "task"]
    target: str = Field(description="The script's, pipeline's or task's name.")
    requested_by: str | None = Field(description="Who started the run.")
    requested_at: datetime
    approvers: list[str] = Field(description="Role names or usernames that may decide (an Admin always may).")
    reason_required: bool = Field(description="Approving needs a comment (rejecting always does).")
    four_eyes: bool = Field(description="Whoever started the run cannot decide on it.")
    timeout_at: datetime | None = Field(description="When the request times out and the run fails.")
    state: ApprovalState
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="The run's params, secret values masked.")
    can_decide: bool = Field(description="Whether the caller may approve or reject it now.")
    cannot_decide_reason: str | None = Field(default=None, description="Why not, when `can_decide` is false.")


class RunApproval(BaseModel):
    """The approval a run waits for (or waited for)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": APPROVAL_EXAMPLE["id"], "state": "pending", "approvers": ["Op"]}]}
    )

    id: str
    state: ApprovalState
    approvers: list[str]


class DecisionRequest(BaseModel):
    """The comment of an approval or rejection (required to reject, and to approve when the request says so)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"comment": "checked with the team"}]})

    comment: str | None = Field(default=None, max_length=2000)
