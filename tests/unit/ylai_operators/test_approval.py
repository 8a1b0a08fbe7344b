"""``approval:`` in manifests and pipelines, the gate task the DAG builders put first, and its assignees."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ylai_operators import approval as gate
from ylai_operators.manifest import ApprovalSpec, ScriptManifest
from ylai_operators.pipeline_spec import Pipeline, PipelineSpec, check_pipeline
from ylai_operators.registry import Registry, Script
from ylai_operators.script_dags import build_script_dag


def manifest(**fields: Any) -> ScriptManifest:
    return ScriptManifest.model_validate({"name": "rotate", "runtime": "bash", **fields})


def script(m: ScriptManifest) -> Script:
    return Script(
        manifest=m, path=Path(f"{m.name}.sh"), manifest_path=Path(f"{m.name}.yaml"), content="true", version=1
    )


@pytest.fixture
def no_policy(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The Variables the plugin publishes, as a dict the test fills (empty: not published)."""
    published: dict[str, Any] = {}
    monkeypatch.setattr(gate, "_variable", lambda name: published.get(name, {}))
    return published


class TestSpec:
    def test_defaults_and_durations(self) -> None:
        spec = ApprovalSpec.model_validate({"approvers": ["Op", "alice"], "timeout": "2h"})
        assert spec.timeout == timedelta(hours=2)
        assert (spec.four_eyes, spec.reason_required, spec.notify) == (True, False, [])
        assert ApprovalSpec().approvers == ["Admin", "Op"]
        assert spec.as_record()["timeout_seconds"] == 7200.0

    @pytest.mark.parametrize(
        ("approval", "field", "reason"),
        [
            ({"approvers": []}, ("approval", "approvers"), "at least 1 item"),
            ({"approvers": ["Op"], "timeout": "soon"}, ("approval", "timeout"), "expected a duration"),
            ({"approvers": ["bad;name"]}, ("approval", "approvers"), "role name or a username"),
            ({"approvers": ["Op"], "four_eyes": "maybe"}, ("approval", "four_eyes"), "valid boolean"),
            (
                {"approvers": ["Op"], "notify": [{"type": "pager", "target": "x"}]},
                ("approval", "notify", 0, "type"),
                "",
            ),
            ({"approvers": ["Op"], "approver": ["x"]}, ("approval", "approver"), "Extra inputs"),
        ],
    )
    def test_a_bad_approval_names_its_field(self, approval: Any, field: tuple[Any, ...], reason: str) -> None:
        with pytest.raises(ValidationError) as exc:
            manifest(approval=approval)
        errors = exc.value.errors()
        assert [e["loc"] for e in errors] == [field], errors
        assert reason in errors[0]["msg"]

    def test_a_pipeline_takes_an_approval_and_writes_it_back(self) -> None:
        from ylai_operators.pipeline_spec import to_data

        spec = PipelineSpec.model_validate(
            {"name": "p", "nodes": {"a": {"script": "x"}}, "approval": {"approvers": ["Op"], "timeout": "30m"}}
        )
        assert spec.approval is not None
        assert spec.approval.timeout == timedelta(minutes=30)
        assert to_data(spec)["approval"] == {"approvers": ["Op"], "timeout": "1800s"}
        assert PipelineSpec.model_validate(to_data(spec)) == spec


class TestWhichRunsNeedApproval:
    def test_a_plain_script_needs_none(self, no_policy: dict[str, Any]) -> None:
        assert gate.script_approval(manifest()) is None

    def test_a_sensitive_script_needs_one_by_default(self, no_policy: dict[str, Any]) -> None:
        found = gate.script_approval(manifest(sensitive=True))
        assert found is not None
        assert found.approvers == ["Admin", "Op"]

    def test_the_policy_turns_the_default_off_or_changes_its_approvers(self, no_policy: dict[str, Any]) -> None:
        no_policy[gate.POLICY_VARIABLE] = {"sensitive_requires_approval": True, "approvers": ["Security"]}
        found = gate.script_approval(manifest(sensitive=True))
        assert found is not None
        assert found.approvers == ["Security"]
        no_policy[gate.POLICY_VARIABLE] = {"sensitive_requires_approval": False}
        assert gate.script_approval(manifest(sensitive=True)) is None

    def test_a_manifest_decides_for_itself(self, no_policy: dict[str, Any]) -> None:
        off = manifest(sensitive=True, approval=False)
        assert (off.approval, off.approval_off) == (None, True)
        assert gate.script_approval(off) is None
        own = gate.script_approval(manifest(approval={"approvers": ["alice"]}))
        assert own is not None
        assert own.approvers == ["alice"]


class TestDags:
    def test_the_approval_is_the_first_task_of_a_script_dag(self, no_policy: dict[str, Any]) -> None:
        from airflow.providers.standard.operators.hitl import ApprovalOperator

        m = manifest(approval={"approvers": ["Op"], "timeout": "1h", "reason_required": True})
        dag = build_script_dag(script(m))
        first = dag.get_task(gate.APPROVAL_TASK_ID)
        assert isinstance(first, ApprovalOperator)
        assert first.upstream_task_ids == set()
        assert first.downstream_task_ids == {"rotate"}
        assert dag.get_task("rotate").upstream_task_ids == {gate.APPROVAL_TASK_ID}
        assert first.fail_on_reject is True  # a rejection fails the run, it does not skip the script
        assert first.retries == 0
        assert first.response_timeout == timedelta(hours=1)
        assert set(first.params) == {gate.COMMENT_PARAM}

    def test_a_script_without_approval_has_no_gate(self, no_policy: dict[str, Any]) -> None:
        dag = build_script_dag(script(manifest()))
        assert [t.task_id for t in dag.tasks] == ["rotate"]

    def test_a_pipeline_waits_before_every_first_node(self, no_policy: dict[str, Any]) -> None:
        from ylai_operators.pipeline_dags import build_pipeline_dag

        plain = manifest(name="plain", outputs={"n": {"type": "integer"}})
        secret = manifest(name="secret", sensitive=True)
        registry = Registry(scripts={"plain": script(plain), "secret": script(secret)}, errors=[])
        spec = PipelineSpec.model_validate(
            {
                "name": "chain",
                "nodes": {
                    "a": {"script": "plain"},
                    "b": {"script": "plain"},
                    "c": {"script": "secret", "depends_on": ["a", "b"]},
                },
            }
        )
        pipeline = check_pipeline(spec, Path("chain.yaml"), registry)
        assert isinstance(pipeline, Pipeline), pipeline
        dag = build_pipeline_dag(pipeline, registry)
        first = dag.get_task(gate.APPROVAL_TASK_ID)
        assert first.upstream_task_ids == set()
        assert first.downstream_task_ids == {"a", "b"}  # c starts after them, so after the approval too


class TestAssignees:
    DIRECTORY = {
        "users": {"ada": "1", "bob": "2", "cy": "3", "dee": "4"},
        "roles": {"Admin": ["ada"], "Op": ["bob", "cy"], "User": ["dee"]},
    }

    def test_roles_and_users_resolve_with_the_admins_minus_the_requester(self) -> None:
        found = gate.assignees({"approvers": ["Op"], "four_eyes": True}, "bob", self.DIRECTORY)
        assert found == [{"id": "1", "name": "ada"}, {"id": "3", "name": "cy"}]

    def test_without_four_eyes_the_requester_stays(self) -> None:
        found = gate.assignees({"approvers": ["dee"], "four_eyes": False}, "dee", self.DIRECTORY)
        assert [u["name"] for u in found] == ["ada", "dee"]

    def test_unknown_names_are_left_out(self) -> None:
        found = gate.assignees({"approvers": ["Nobody", "ghost"], "four_eyes": True}, "ada", self.DIRECTORY)
        assert found == []


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class TestGateTask:
    DIRECTORY = TestAssignees.DIRECTORY

    def run_gate(
        self, monkeypatch: pytest.MonkeyPatch, published: dict[str, Any], requester: str
    ) -> tuple[Any, FakeTI]:
        from types import SimpleNamespace

        from airflow.providers.standard.operators.hitl import ApprovalOperator

        published[gate.DIRECTORY_VARIABLE] = self.DIRECTORY
        waited: list[Any] = []
        monkeypatch.setattr(ApprovalOperator, "execute", lambda op, context: waited.append(op.assigned_users))
        task = gate.approval_task(ApprovalSpec(approvers=["Op"], reason_required=True), kind="script", target="rotate")
        ti = FakeTI()
        context: Any = {"dag_run": SimpleNamespace(triggering_user_name=requester), "ti": ti}
        task.execute(context)
        return waited[0], ti

    def test_it_records_the_request_and_assigns_the_approvers_but_not_the_requester(
        self, monkeypatch: pytest.MonkeyPatch, no_policy: dict[str, Any]
    ) -> None:
        assigned, ti = self.run_gate(monkeypatch, no_policy, "bob")
        assert [u["name"] for u in assigned] == ["ada", "cy"]
        record = ti.pushed[gate.APPROVAL_XCOM_KEY]
        assert (record["kind"], record["target"], record["requested_by"]) == ("script", "rotate", "bob")
        assert (record["approvers"], record["reason_required"], record["four_eyes"]) == (["Op"], True, True)
        assert record["timeout_at"]

    def test_nobody_eligible_still_assigns_someone_airflow_cannot_match(
        self, monkeypatch: pytest.MonkeyPatch, no_policy: dict[str, Any]
    ) -> None:
        self.DIRECTORY = {"users": {"bob": "2"}, "roles": {"Op": ["bob"]}}
        assigned, _ = self.run_gate(monkeypatch, no_policy, "bob")
        assert assigned == [gate.NOBODY]

    def test_a_rejection_or_a_timeout_fails_the_task(self, no_policy: dict[str, Any]) -> None:
        from datetime import UTC, datetime

        from airflow.providers.standard.exceptions import HITLRejectException, HITLTimeoutError

        task: Any = gate.approval_task(ApprovalSpec(approvers=["Op"]), kind="script", target="rotate")
        reject = {
            "chosen_options": ["Reject"],
            "params_input": {gate.COMMENT_PARAM: "no"},
            "responded_at": datetime.now(UTC),
            "responded_by_user": {"id": "3", "name": "cy"},
        }
        with pytest.raises(HITLRejectException):
            task.execute_complete({}, reject)
        with pytest.raises(HITLTimeoutError):
            task.execute_complete({}, {"error": "no answer", "error_type": "timeout"})
        approve = {**reject, "chosen_options": ["Approve"]}
        assert task.execute_complete({}, approve)["chosen_options"] == ["Approve"]


def test_a_saved_record_gives_back_the_same_spec() -> None:
    spec = ApprovalSpec.model_validate(
        {"approvers": ["Op", "alice"], "timeout": "90m", "reason_required": True, "four_eyes": False}
    )
    assert gate.spec_from_record(spec.as_record()) == spec
    assert gate.spec_from_record(spec.as_record()).timeout == timedelta(minutes=90)


def test_a_saved_tasks_dag_puts_the_gate_before_the_trigger() -> None:
    from ylai_operators.scheduled_tasks import build_task_dag

    record = ApprovalSpec(approvers=["Op"]).as_record()
    dag = build_task_dag(
        7, {"name": "nightly", "dag_id": "script__x", "params": {"a": 1}, "schedule": None, "approval": record}
    )
    assert [t.task_id for t in dag.roots] == ["approval"]
    assert dag.get_task("approval").downstream_task_ids == {"trigger"}
    assert dag.dag_id == "task__7"
    assert dag.get_task("approval").retries == 0
    assert dag.get_task("trigger").retries == 0  # a retry would start the target a second time
