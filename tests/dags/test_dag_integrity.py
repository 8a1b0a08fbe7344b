"""Every file in ``dags/`` imports cleanly and every DAG follows the house rules."""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from ylai_operators.catalog import APPROVAL_TASK_ID

DAGS_FOLDER = REPO_ROOT / "dags"


@cache
def _dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    kwargs: dict[str, Any] = {"dag_folder": str(DAGS_FOLDER)}
    # Airflow 3.3 dropped include_examples; guard by signature like dag-factory does.
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    return DagBag(**kwargs)


def _import_errors() -> list[tuple[str, str]]:
    return sorted(_dagbag().import_errors.items())


def _dags() -> list[Any]:
    return sorted(_dagbag().dags.values(), key=lambda d: d.dag_id)


def test_dags_folder_has_dags() -> None:
    assert _dags(), f"no DAGs found in {DAGS_FOLDER}"


def test_no_import_errors() -> None:
    errors = {str(path).replace(str(DAGS_FOLDER) + "/", ""): err for path, err in _import_errors()}
    assert errors == {}, "\n\n".join(f"{path}:\n{err}" for path, err in errors.items())


@pytest.mark.parametrize("dag", _dags(), ids=lambda d: d.dag_id)
class TestDagPolicy:
    def test_has_tags(self, dag: Any) -> None:
        assert dag.tags, f"{dag.dag_id} has no tags"

    def test_has_an_owner(self, dag: Any) -> None:
        owners = {task.owner for task in dag.tasks}
        assert owners, f"{dag.dag_id} has no tasks"
        assert "airflow" not in owners, f"{dag.dag_id} tasks need a real owner, got {owners}"

    def test_retries_at_least_one(self, dag: Any) -> None:
        # The approval gate is the exception: a decision is not retried (a retry would ask the approvers
        # again after a rejection or a timeout, docs/approvals.md).
        low = [task.task_id for task in dag.tasks if (task.retries or 0) < 1 and task.task_id != APPROVAL_TASK_ID]
        assert not low, f"{dag.dag_id}: tasks without retries: {low}"

    def test_has_documentation(self, dag: Any) -> None:
        assert (dag.doc_md or dag.description or "").strip(), f"{dag.dag_id} has no doc_md or description"
