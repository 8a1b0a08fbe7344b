"""The approval gate: the first task of a DAG whose runs need a person's approval.

Built on Airflow's human-in-the-loop support (the standard provider's ``ApprovalOperator``):
the task writes a HITL request (so the pending approval shows in Airflow's own UI, "Required
actions", and REST API, ``/api/v2/.../hitlDetails``) and waits, in Airflow 3.3's
``awaiting_input`` state, until someone answers or the timeout passes. Nothing downstream
starts before. A rejection or a timeout fails the task, and so the run (not a skip).

Who may answer:

- ylai's API (``/ylai/api/v1/approvals``) checks the approvers and four eyes itself;
- Airflow's own HITL API only lets the request's ``assigned_users`` answer. The gate resolves
  its approvers (roles or usernames, and Admins) to users from the ``ylai_approval_directory``
  Variable the plugin publishes, leaving out whoever started the run (four eyes). Without that
  Variable the request has no assigned users and Airflow lets anyone allowed to answer HITL
  requests of the DAG answer; ylai's API still applies its rules.

What ylai needs to show the request (kind, target, approvers, who asked, timeout) the gate
pushes as the XCom ``ylai_approval`` before it waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ylai_operators.manifest import DEFAULT_APPROVAL_TIMEOUT, DEFAULT_APPROVERS, ApprovalSpec, ScriptManifest

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

APPROVAL_TASK_ID = "approval"
APPROVAL_XCOM_KEY = "ylai_approval"
# The HITL form field of the approver's comment (a name no script param is likely to have:
# run conf overrides task params of the same name).
COMMENT_PARAM = "approval_comment"
POLICY_VARIABLE = "ylai_approval_policy"
DIRECTORY_VARIABLE = "ylai_approval_directory"
ADMIN_ROLE = "Admin"
NOBODY = {"id": "ylai:no-eligible-approver", "name": "(no eligible approver: decide through ylai)"}
APPROVE = "Approve"
REJECT = "Reject"


def _variable(name: str) -> dict[str, Any]:
    try:
        from ylai_operators.db_scripts import read_json_variable

        value = read_json_variable(name)
    except Exception:  # no metadata DB (a unit test, a parse without one): the safe defaults
        return {}
    return value if isinstance(value, dict) else {}


def spec_from_record(record: Mapping[str, Any]) -> ApprovalSpec:
    """The spec back from :meth:`ApprovalSpec.as_record` (as a saved task's DAG reads it)."""
    data = {k: v for k, v in record.items() if k != "timeout_seconds"}
    return ApprovalSpec.model_validate({**data, "timeout": float(record["timeout_seconds"])})


def sensitive_default() -> ApprovalSpec | None:
    """The approval a sensitive script without an ``approval`` of its own needs (None: none).

    The plugin publishes its ``[ylai] sensitive_requires_approval`` and ``sensitive_approvers``
    options to the ``ylai_approval_policy`` Variable; until it has, a
    sensitive script needs approval by :data:`DEFAULT_APPROVERS` (the safe side).
    """
    policy = _variable(POLICY_VARIABLE)
    if not policy.get("sensitive_requires_approval", True):
        return None
    approvers = [str(a) for a in policy.get("approvers") or DEFAULT_APPROVERS]
    seconds = float(policy.get("timeout_seconds") or DEFAULT_APPROVAL_TIMEOUT.total_seconds())
    return ApprovalSpec(approvers=approvers, timeout=timedelta(seconds=seconds))


def script_approval(manifest: ScriptManifest) -> ApprovalSpec | None:
    """The approval a script's runs need: its own ``approval``, else the sensitive default, else none."""
    if manifest.approval_off:
        return None
    if manifest.approval is not None:
        return manifest.approval
    return sensitive_default() if manifest.sensitive else None


def pipeline_approval(own: ApprovalSpec | None, manifests: Iterable[ScriptManifest]) -> ApprovalSpec | None:
    """A pipeline's approval: its own, else that of its first script that needs one."""
    if own is not None:
        return own
    return next((spec for m in manifests if (spec := script_approval(m)) is not None), None)


def eligible_usernames(approvers: Iterable[str], roles: Mapping[str, Iterable[str]]) -> set[str]:
    """The users an approver list names: members of the listed roles, listed users, and every Admin."""
    names: set[str] = set(roles.get(ADMIN_ROLE, ()))
    for approver in approvers:
        if approver in roles:
            names.update(roles[approver])
        else:
            names.add(approver)
    return names


def assignees(approval: Mapping[str, Any], requester: str | None, directory: Mapping[str, Any]) -> list[dict[str, str]]:
    """The HITL ``assigned_users`` of a request: eligible users with an id, minus the requester under four eyes."""
    users: Mapping[str, Any] = directory.get("users") or {}
    roles: Mapping[str, Iterable[str]] = directory.get("roles") or {}
    names = eligible_usernames(approval.get("approvers") or [], roles)
    if approval.get("four_eyes", True) and requester:
        names.discard(requester)
    return [{"id": str(users[n]), "name": n} for n in sorted(names) if n in users]


def describe(approval: Mapping[str, Any], kind: str, target: str) -> str:
    """The HITL request's body (Markdown), as Airflow's UI shows it."""
    lines = [
        f"Run of {kind} `{target}` waits for approval.",
        "",
        f"- Approvers: {', '.join(approval.get('approvers') or [])} (or an Admin)",
        f"- Four eyes: {'yes, whoever started the run cannot approve it' if approval.get('four_eyes') else 'no'}",
        f"- Comment required: {'yes' if approval.get('reason_required') else 'only to reject'}",
    ]
    return "\n".join(lines)


def approval_task(approval: ApprovalSpec, *, kind: str, target: str) -> BaseOperator:
    """The gate task (:data:`APPROVAL_TASK_ID`) of a DAG; build it inside the ``with DAG`` block."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk import Param

    class YlaiApprovalOperator(ApprovalOperator):
        """``ApprovalOperator`` with ylai's assignees, its request record and failing on a rejection."""

        def __init__(self, *, approval: dict[str, Any], kind: str, target: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.approval = approval
            self.kind = kind
            self.target = target

        def execute(self, context: Any) -> Any:
            requester = getattr(context["dag_run"], "triggering_user_name", None)
            directory = _variable(DIRECTORY_VARIABLE)
            if directory:
                # Nobody eligible (the only approver started the run): a placeholder no user matches,
                # since no assignees at all would let anyone answer through Airflow's own UI.
                found = assignees(self.approval, requester, directory) or [NOBODY]
                self.assigned_users = found  # type: ignore[assignment]
            timeout_at = datetime.now(UTC) + timedelta(seconds=float(self.approval["timeout_seconds"]))
            record = {
                **self.approval,
                "kind": self.kind,
                "target": self.target,
                "requested_by": requester,
                "timeout_at": timeout_at.isoformat(),
            }
            context["ti"].xcom_push(key=APPROVAL_XCOM_KEY, value=record)
            who = ", ".join(self.approval["approvers"])
            self.log.info("Waiting for approval by %s (or an Admin) until %s", who, timeout_at.isoformat())
            return super().execute(context)

        def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
            if event.get("error_type") == "timeout":
                timeout = timedelta(seconds=float(self.approval["timeout_seconds"]))
                self.log.error("Approval timed out: nobody answered within %s; the run fails", timeout)
            elif REJECT in (event.get("chosen_options") or []):
                by = (event.get("responded_by_user") or {}).get("name", "?")
                comment = (event.get("params_input") or {}).get(COMMENT_PARAM) or ""
                self.log.error("Rejected by %s: %s", by, comment)
            else:
                by = (event.get("responded_by_user") or {}).get("name", "?")
                comment = (event.get("params_input") or {}).get(COMMENT_PARAM) or ""
                self.log.info("Approved by %s%s", by, f": {comment}" if comment else "")
            return super().execute_complete(context, event)

    record = approval.as_record()
    return YlaiApprovalOperator(
        task_id=APPROVAL_TASK_ID,
        task_display_name="Approval",
        approval=record,
        kind=kind,
        target=target,
        subject=f"Approve the run of {kind} {target}?",
        body=describe(record, kind, target),
        params={
            COMMENT_PARAM: Param(
                None, type=["null", "string"], title="Comment", description="Why; required to reject.", source="task"
            )
        },
        response_timeout=approval.timeout,
        fail_on_reject=True,
        retries=0,
        owner="ylai",
    )
