"""The script service and run logs without HTTP: domain errors, DAG-level access, the form schema."""

from __future__ import annotations

from typing import Any

import pytest

from ylai_plugin.domain import access, db_scripts, runs, scripts
from ylai_plugin.domain.errors import Invalid, NotFound


class OnlyDags:
    """An auth manager that lets the user read (and run) only ``dag_ids``."""

    def __init__(self, *dag_ids: str) -> None:
        self.dag_ids = set(dag_ids)

    def is_authorized_dag(self, *, method: str, access_entity: Any, details: Any, user: Any) -> bool:
        return details.id in self.dag_ids

    def get_authorized_dag_ids(self, *, user: Any, method: str) -> set[str]:
        return self.dag_ids


@pytest.fixture
def session(airflow_db: object, monkeypatch: pytest.MonkeyPatch) -> Any:
    from airflow.utils.session import create_session

    monkeypatch.setattr(access, "auth_manager", lambda: OnlyDags("script__disk_usage"))
    with create_session() as s:
        yield s


def test_lookups_raise_domain_errors_and_respect_dag_access(session: Any) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    user = SimpleAuthManagerUser(username="alice", role="viewer")
    assert scripts.get(session, user, "disk_usage").name == "disk_usage"
    with pytest.raises(NotFound, match="Script 'nope' not found"):
        scripts.get(session, user, "nope")
    # An existing script whose DAG the user may not read is as absent as an unknown one.
    with pytest.raises(NotFound, match="DAG 'script__csv_profiler' not found"):
        scripts.get(session, user, "csv_profiler")
    assert [s.name for s in scripts.matching(session, user)] == ["disk_usage"]
    assert scripts.matching(session, user, runtime="python") == []
    with pytest.raises(NotFound, match="Database script 'disk_usage' not found"):
        scripts.get_stored(session, user, "disk_usage")


def test_describe_answers_kind_name_and_the_form_schema(session: Any) -> None:
    from ylai_operators.param_schema import form_schema

    profiler = scripts.all_scripts(session)["csv_profiler"]
    described = scripts.describe(profiler)
    assert (described["dag_id"], described["kind"], described["name"]) == (
        "script__csv_profiler",
        "script",
        "csv_profiler",
    )
    assert described["params_schema"] == form_schema(profiler.manifest.params, sensitive=profiler.manifest.sensitive)
    assert described["params_schema"]["required"] == ["path"]


def test_an_invalid_manifest_is_invalid_with_field_paths() -> None:
    with pytest.raises(Invalid) as caught:
        db_scripts.validate_manifest("x", "python", {"name": "y", "timeout": "soon"})
    assert caught.value.message == "Invalid manifest"
    assert [p["field"] for p in caught.value.problems] == ["body.manifest.name"]
    with pytest.raises(Invalid) as caught:
        db_scripts.validate_manifest("x", "python", {"timeout": "soon"})
    assert [p["field"] for p in caught.value.problems] == ["body.manifest.timeout"]


def test_run_logs_of_an_unknown_run_are_not_found(session: Any) -> None:
    with pytest.raises(NotFound, match="Run 'script__disk_usage/nope' not found"):
        runs.run_logs(session, "script__disk_usage", "nope")


def _running_on_a_worker(dag_id: str) -> str:
    """A run whose one task runs on a worker: its log is only on that worker's log server."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from tests.unit.api_client import sync_repo_dags
    from ylai_plugin.domain import dags

    sync_repo_dags()
    with create_session() as s:
        run = dags.trigger(dag_id, {"top": 2}, SimpleAuthManagerUser(username="alice", role="op"), s)
        run.state = "running"
        ti = s.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).one()
        # A closed port: the log server does not answer, as while a worker restarts.
        ti.state, ti.try_number, ti.hostname = "running", 1, "127.0.0.1:9"
        return str(run.run_id)


def test_run_logs_read_from_a_log_server_keep_every_task_and_the_run_state(airflow_db: object) -> None:
    # Airflow's log reader opens and closes the thread's scoped session inside (nested
    # create_session): task instances loaded before were detached, and reading the served log of
    # the next one failed with DetachedInstanceError (seen in the api-server during the e2e tests).
    from airflow.utils.session import create_session

    run_id = _running_on_a_worker("script__disk_usage")
    with create_session() as session:
        logs = runs.run_logs(session, "script__disk_usage", run_id)
    assert logs["state"] == "running"
    [task] = logs["tasks"]
    assert (task["task_id"], task["state"], task["try_number"]) == ("disk_usage", "running", 1)
    assert "DetachedInstanceError" not in str(task["lines"])
    assert "Could not read served logs" in str(task["lines"])  # the log server was asked, and said so

    state, snapshot = runs.snapshot("script__disk_usage", run_id)
    assert state == "running"
    assert [key for key, _, _ in snapshot] == ["disk_usage:-1:1"]
