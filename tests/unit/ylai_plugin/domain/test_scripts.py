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
