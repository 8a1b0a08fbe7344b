"""The dag-processor's catalog watch: parse requests for ylai's DAG files when the catalog changed, only then."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ylai_plugin.domain import dag_reparse
from ylai_plugin.domain.dag_reparse import Bundle, CatalogWatcher

BUNDLE = "ylai-watch-test"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "scripts" / "hello").mkdir(parents=True)
    (tmp_path / "scripts" / "hello" / "manifest.yaml").write_text("name: hello\n")
    (tmp_path / "ylai_scripts_0.py").write_text("from ylai_operators.dag_factory import script_dags\n")
    (tmp_path / "ylai_pipelines_0.py").write_text("from ylai_operators.dag_factory import pipeline_dags\n")
    (tmp_path / "someone_elses.py").write_text("from airflow.sdk import DAG\n")
    return tmp_path


@pytest.fixture
def session(airflow_db: object) -> Iterator[Any]:
    from airflow.models.dagbag import DagPriorityParsingRequest
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as s:
        s.execute(delete(DagPriorityParsingRequest).where(DagPriorityParsingRequest.bundle_name == BUNDLE))
        s.execute(delete(Variable).where(Variable.key.in_(dag_reparse.WATCHED_VARIABLES)))
    with create_session() as s:
        yield s
    with create_session() as s:
        s.execute(delete(DagPriorityParsingRequest).where(DagPriorityParsingRequest.bundle_name == BUNDLE))
        s.execute(delete(Variable).where(Variable.key.in_(dag_reparse.WATCHED_VARIABLES)))


def requested(session: Any) -> list[str]:
    from airflow.models.dagbag import DagPriorityParsingRequest
    from sqlalchemy import select

    session.flush()
    query = select(DagPriorityParsingRequest.relative_fileloc).where(DagPriorityParsingRequest.bundle_name == BUNDLE)
    return sorted(session.scalars(query))


def touch_later(path: Path) -> None:
    """A new modification time, whatever the file system's timestamp resolution."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_nothing_is_asked_for_while_nothing_changes(folder: Path, session: Any) -> None:
    watcher = CatalogWatcher([Bundle(BUNDLE, folder)])
    assert watcher.look(session) == 0  # the first look only notes what is there
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "ylai_scripts_0.cpython-311.pyc").write_bytes(b"written by parsing")
    assert watcher.look(session) == 0
    assert requested(session) == []


def test_a_changed_manifest_asks_for_ylais_dag_files_once(folder: Path, session: Any) -> None:
    watcher = CatalogWatcher([Bundle(BUNDLE, folder)])
    watcher.look(session)
    touch_later(folder / "scripts" / "hello" / "manifest.yaml")
    assert watcher.look(session) == 2
    assert requested(session) == ["ylai_pipelines_0.py", "ylai_scripts_0.py"]  # not someone_elses.py
    # Another change before the dag-processor took them: the waiting requests are not doubled.
    (folder / "scripts" / "new").mkdir()
    (folder / "scripts" / "new" / "manifest.yaml").write_text("name: new\n")
    assert watcher.look(session) == 0
    assert requested(session) == ["ylai_pipelines_0.py", "ylai_scripts_0.py"]


def test_a_deleted_script_is_a_change_too(folder: Path, session: Any) -> None:
    watcher = CatalogWatcher([Bundle(BUNDLE, folder)])
    watcher.look(session)
    (folder / "scripts" / "hello" / "manifest.yaml").unlink()
    assert watcher.look(session) == 2


def test_a_script_published_by_the_api_asks_for_the_files(folder: Path, session: Any) -> None:
    from airflow.models.variable import Variable

    watcher = CatalogWatcher([Bundle(BUNDLE, folder)])
    watcher.look(session)
    Variable.set("ylai_db_scripts", {"greeter": {"version": 1}}, serialize_json=True, session=session)
    session.flush()
    assert watcher.look(session) == 2
    # A Variable the DAG files do not read while parsing changes nothing.
    Variable.set("ylai_approval_directory", {"users": {}}, serialize_json=True, session=session)
    session.flush()
    assert watcher.look(session) == 0


def test_the_dags_folder_is_the_local_bundle(airflow_db: object) -> None:
    from airflow.configuration import conf

    bundles = dag_reparse.local_bundles()
    assert Path(conf.get("core", "dags_folder")).resolve() in {b.path.resolve() for b in bundles}


def test_a_change_whose_requests_were_not_committed_is_seen_again(folder: Path, session: Any) -> None:
    watcher = CatalogWatcher([Bundle(BUNDLE, folder)])
    watcher.look(session)
    touch_later(folder / "scripts" / "hello" / "manifest.yaml")
    assert watcher.look(session, confirm=False) == 2
    session.rollback()  # the commit failed: nothing was asked for
    assert requested(session) == []
    assert watcher.look(session, confirm=False) == 2  # still a change against what was last confirmed
    watcher.confirm()
    assert requested(session) == ["ylai_pipelines_0.py", "ylai_scripts_0.py"]
    assert watcher.look(session) == 0


def test_the_watch_survives_a_failed_look_and_stops_when_told(
    folder: Path, airflow_db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    looks: list[int] = []

    def look(self: CatalogWatcher, session: Any, *, confirm: bool = True) -> int:
        looks.append(1)
        if len(looks) == 1:
            raise OSError("database is down")
        if len(looks) == 3:
            stop.set()
        return 0

    monkeypatch.setattr(dag_reparse, "local_bundles", lambda: [Bundle(BUNDLE, folder)])
    monkeypatch.setattr(CatalogWatcher, "look", look)
    stop = threading.Event()
    dag_reparse.watch(stop, interval=0.01)
    assert len(looks) == 3


def test_switched_off_no_thread_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__CATALOG_WATCH_SECONDS", "0")
    assert dag_reparse.start_watcher() is None
