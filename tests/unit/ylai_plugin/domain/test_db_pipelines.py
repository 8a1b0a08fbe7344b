"""Database pipelines in the pipeline service: checked, versioned, restored, deleted, shown beside files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ylai_plugin.domain import pipelines
from ylai_plugin.domain.errors import Conflict, Invalid, NotFound


def spec(name: str = "dom_pipe", **change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "nodes": {"usage": {"script": "disk_usage", "params": {"top": 2, "path": "/tmp"}, "timeout": 90}},
        "layout": {"usage": {"x": 1, "y": 2}},
    }
    data.update(change)
    return data


@pytest.fixture
def session(airflow_db: object) -> Iterator[Any]:
    """A session whose writes are rolled back: nothing stays for other tests."""
    from airflow.utils.session import create_session

    with create_session() as s:
        try:
            yield s
        finally:
            s.rollback()


@pytest.fixture
def user() -> Any:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return SimpleAuthManagerUser(username="dom", role="admin")


def test_problem_fields_name_the_body() -> None:
    assert pipelines._problem_field({"node": None, "field": "schedule", "reason": "x"}) == "body.spec.schedule"
    assert pipelines._problem_field({"node": "a", "field": "params.p", "reason": "x"}) == "body.spec.nodes.a.params.p"
    assert pipelines._problem_field({"node": "a", "field": "", "reason": "x"}) == "body.spec.nodes.a"
    assert pipelines._problem_field({"node": None, "field": "", "reason": "x"}) == "body.spec"


def test_the_stored_spec_is_the_normalised_file_form(session: Any) -> None:
    stored = pipelines.checked_spec(session, spec())
    assert stored["nodes"]["usage"]["timeout"] == "90s"  # as a file writes it
    assert stored["layout"] == {"usage": {"x": 1.0, "y": 2.0}}
    with pytest.raises(Invalid) as raised:
        pipelines.checked_spec(session, spec(nodes={"usage": {"script": "nope"}}))
    assert [d["field"] for d in raised.value.details] == ["body.spec.nodes.usage.script"]


def test_versions_restore_and_delete(session: Any, user: Any) -> None:
    created = pipelines.create(session, user, spec(), "one")
    assert created.current_version == 1
    with pytest.raises(Conflict):
        pipelines.create(session, user, spec(), "again")
    pipelines.add_version(session, user, "dom_pipe", spec(title="Two"), "two")
    stored = pipelines.get(session, user, "dom_pipe")
    assert (stored.source, stored.version, stored.spec.title) == ("database", "2", "Two")
    pipelines.restore(session, user, "dom_pipe", 1, "")
    rows = pipelines.versions(session, pipelines.get_stored(session, user, "dom_pipe"))
    assert [(r.version, r.comment) for r in rows] == [(1, "one"), (2, "two"), (3, "Restore of version 1")]
    assert rows[2].spec == rows[0].spec
    detail = pipelines.version_detail(rows[2])
    assert "layout" not in detail["spec"]
    assert detail["layout"] == {"usage": {"x": 1.0, "y": 2.0}}
    with pytest.raises(NotFound):
        pipelines.version(session, user, "dom_pipe", 4)
    pipelines.delete(session, user, "dom_pipe")
    with pytest.raises(NotFound):
        pipelines.get_stored(session, user, "dom_pipe")
    assert "dom_pipe" not in pipelines.stored_pipelines(session)


def test_a_repository_pipeline_wins_and_is_read_only(session: Any, user: Any) -> None:
    assert pipelines.stored_pipelines(session)["generate_and_profile"].source == "repository"
    for call in (
        lambda: pipelines.get_stored(session, user, "generate_and_profile"),
        lambda: pipelines.delete(session, user, "generate_and_profile"),
        lambda: pipelines.add_version(session, user, "generate_and_profile", spec("generate_and_profile"), ""),
    ):
        with pytest.raises(Conflict, match="read-only"):
            call()


def test_scripts_and_pipelines_share_the_head_of_their_description() -> None:
    from ylai_plugin.domain import scripts

    head = ["name", "dag_id", "kind", "title", "description", "owner", "tags"]
    script = scripts.describe(scripts.repository().scripts["disk_usage"])
    pipeline = pipelines.describe(pipelines.all_pipelines()["generate_and_profile"])
    assert list(script)[:7] == list(pipeline)[:7] == head
    assert (script["dag_id"], pipeline["dag_id"]) == ("script__disk_usage", "pipeline__generate_and_profile")


def test_the_sessions_writes_were_rolled_back(airflow_db: object) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.db.models import DbPipeline

    with create_session() as s:
        assert s.scalar(select(DbPipeline).where(DbPipeline.name == "dom_pipe")) is None
