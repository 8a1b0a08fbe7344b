"""``GET /logs/search``: real task-log files in Airflow's format, real runs in the metadata DB."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app

SEARCH = "/api/v1/logs/search"
DISK = "script__disk_usage"
HTTP = "script__http_check"
ADMIN = headers("admin", "alice")
DORA = headers("viewer", "dora")  # may read script__disk_usage's logs only (DiskOnly)
# A word only this module's logs hold: the unit DB is shared with other modules.
MARK = f"needle{uuid.uuid4().hex[:8]}"


class DiskOnly:
    """An auth manager for user "dora": a custom role that may read script__disk_usage and its task logs only."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        ids = set(self.real.get_authorized_dag_ids(user=user, method=method, **kw))
        return ids & {DISK} if user.get_name() == "dora" else ids

    def is_authorized_dag(self, *, method: str, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == "dora" and (details is None or details.id != DISK):
            return False
        return bool(self.real.is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def disk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from ylai_plugin.domain import access

    manager = DiskOnly(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: manager)


def _write_log(folder: Path, ti: Any, try_number: int, records: list[dict[str, Any]]) -> Path:
    """A try's log where Airflow's file task handler puts it, as JSON lines like the task runner writes."""
    from airflow.utils.log.log_reader import TaskLogReader

    path: Path = folder / TaskLogReader().log_handler._render_filename(ti, try_number)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = ti.start_date.astimezone(UTC).replace(tzinfo=None)
    stamped = [{"timestamp": _stamp(start + timedelta(seconds=i)), **r} for i, r in enumerate(records)]
    path.write_text("".join(json.dumps(r) + "\n" for r in stamped))
    return path


def _stamp(moment: datetime) -> str:
    """A time as Airflow's task logs write it (``2026-12-04T10:00:00.000000Z``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(event: str, level: str = "info") -> dict[str, Any]:
    return {"event": event, "level": level, "logger": "task.stdout"}


def _finished_run(dag_id: str, started: datetime, state: str = "success", tries: int = 1) -> Any:
    """A run of ``dag_id`` whose only task instance ran ``tries`` times, started at ``started``."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin.domain import dags

    with create_session() as session:
        params = {"url": "http://127.0.0.1:1/"} if dag_id == HTTP else {}
        run = dags.trigger(dag_id, params, SimpleAuthManagerUser(username="alice", role="admin"), session)
        run.state, run.start_date, run.end_date = state, started, started + timedelta(seconds=5)
        ti = session.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id)).one()
        ti.state, ti.try_number = state, tries
        ti.start_date, ti.end_date = started, started + timedelta(seconds=5)
        session.flush()
        session.expunge_all()
    with create_session() as session:
        return session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).one()


@pytest.fixture(scope="module")
def log_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary ``[logging] base_log_folder`` for this module's logs."""
    folder = tmp_path_factory.mktemp("task-logs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(folder))
        yield folder


@pytest.fixture(scope="module")
def runs(airflow_db: object, log_folder: Path) -> dict[str, Any]:
    """Three runs with logs: disk_usage (newest, two tries), http_check, an older disk_usage."""
    sync_repo_dags()
    now = datetime.now(UTC).replace(microsecond=0)
    newest = _finished_run(DISK, now - timedelta(minutes=1), state="failed", tries=2)
    _write_log(log_folder, newest, 1, [_record("starting"), _record(f"first try {MARK} failed", "error")])
    _write_log(
        log_folder,
        newest,
        2,
        [
            _record("starting"),
            _record(f"disk {MARK} at 91% on /var", "warning"),
            _record("password is ***"),
            _record(f"second try {MARK.upper()} failed", "error"),
        ],
    )
    other = _finished_run(HTTP, now - timedelta(minutes=2))
    _write_log(log_folder, other, 1, [_record(f"GET http://example {MARK} 200")])
    older = _finished_run(DISK, now - timedelta(minutes=3))
    _write_log(log_folder, older, 1, [_record(f"older run {MARK} line {i}") for i in range(40)])
    return {"newest": newest, "other": other, "older": older}


@pytest.fixture(scope="module")
def client(runs: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _search(client: TestClient, who: dict[str, str] = ADMIN, **params: Any) -> dict[str, Any]:
    resp = client.get(SEARCH, params={"q": MARK, **params}, headers=who)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _all(client: TestClient, who: dict[str, str] = ADMIN, **params: Any) -> list[dict[str, Any]]:
    """Every hit, following the cursor page by page."""
    hits: list[dict[str, Any]] = []
    cursor = None
    for _ in range(500):
        body = _search(client, who, **params, **({"cursor": cursor} if cursor else {}))
        hits += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return hits
    raise AssertionError("the cursor never ended")


def test_finds_a_line_a_run_wrote_with_its_place_and_links(client: TestClient, runs: dict[str, Any]) -> None:
    newest = runs["newest"]
    body = _search(client, level="warning")
    assert body["stopped_by"] is None
    assert body["next_cursor"] is None
    [hit] = body["items"]
    assert hit["dag_id"] == DISK
    assert (hit["kind"], hit["name"]) == ("script", "disk_usage")
    assert hit["run_id"] == newest.run_id
    assert hit["run_state"] == "failed"
    assert (hit["task_id"], hit["map_index"], hit["try_number"], hit["line_number"]) == ("disk_usage", -1, 2, 2)
    assert hit["level"] == "warning"
    assert hit["timestamp"] == _stamp(newest.start_date.astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=1))
    assert hit["text"] == f"disk {MARK} at 91% on /var"
    start = hit["text"].index(MARK)
    assert hit["matches"] == [[start, start + len(MARK)]]
    from urllib.parse import quote

    run_link = f"dags/{DISK}/runs/{quote(newest.run_id, safe='')}"
    assert hit["run_link"] == run_link
    assert hit["line_link"] == f"{run_link}/tasks/disk_usage?try_number=2#2"
    # nothing of the record but its message, level and time (its logger, say, stays out)
    assert "task.stdout" not in json.dumps(hit)


def test_newest_task_instances_first_every_try_case_insensitive(client: TestClient) -> None:
    hits = _all(client)
    places = [(h["dag_id"], h["try_number"], h["line_number"]) for h in hits]
    assert places[:5] == [(DISK, 2, 2), (DISK, 2, 4), (DISK, 1, 2), (HTTP, 1, 1), (DISK, 1, 1)]
    assert len(hits) == 4 + 40
    assert [h["line_number"] for h in hits[4:]] == list(range(1, 41))


def test_filters_by_level_dag_script_state_and_time(client: TestClient, runs: dict[str, Any]) -> None:
    assert {h["level"] for h in _all(client, level=["error"])} == {"error"}
    assert len(_all(client, level=["error", "warning"])) == 3
    assert {h["dag_id"] for h in _all(client, script="http_check")} == {HTTP}
    assert {h["dag_id"] for h in _all(client, dag_id=DISK)} == {DISK}
    assert _all(client, pipeline="no_such_pipeline") == []
    assert {h["run_state"] for h in _all(client, state=["failed"])} == {"failed"}
    assert len(_all(client, state=["success", "failed"])) == 44
    started = runs["other"].start_date
    recent = _all(client, since=(started - timedelta(seconds=1)).isoformat())
    assert {h["run_id"] for h in recent} == {runs["newest"].run_id, runs["other"].run_id}
    old = _all(client, until=(started + timedelta(seconds=1)).isoformat(), dag_id=DISK)
    assert {h["run_id"] for h in old} == {runs["older"].run_id}
    naive = client.get(SEARCH, params={"since": "2026-12-04T10:00:00"}, headers=ADMIN)
    assert naive.status_code == 422
    assert naive.json()["error"]["details"][0]["field"] == "query.since"


def test_a_regex_matches_and_highlights(client: TestClient) -> None:
    hits = _all(client, q=r"(first|second) try \w+ failed$", regex="true")
    assert [h["try_number"] for h in hits] == [2, 1]
    assert hits[0]["matches"] == [[0, len(hits[0]["text"])]]
    assert _all(client, q=MARK + r" line 3\d", regex="true", dag_id=DISK)[0]["text"].endswith("line 30")


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        ("(unclosed", "is not a valid regular expression: missing ), unterminated subpattern at position 0"),
        ("(a+)+b", "may not repeat a repetition, as in (a+)+: it can take exponential time"),
        ("(x|xx)*y", "may not repeat an alternation, as in (a|b)+: it can take exponential time"),
        (r"(\w+)\1", "may not refer back to a group (\\1)"),
        ("a.*b.*c.*d.*e.*", "has more than 4 repetitions (*, +, {n,})"),
        ("x" * 301, "is longer than 300 characters"),
    ],
)
def test_a_bad_or_catastrophic_regex_is_422_on_q(client: TestClient, q: str, reason: str) -> None:
    resp = client.get(SEARCH, params={"q": q, "regex": "true"}, headers=ADMIN)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"] == [{"field": "query.q", "reason": reason}]
    # as plain text, the same characters are just text
    assert client.get(SEARCH, params={"q": q[:300]}, headers=ADMIN).status_code == 200


def test_a_bad_cursor_is_422_on_cursor(client: TestClient) -> None:
    resp = client.get(SEARCH, params={"q": MARK, "cursor": "not-a-cursor"}, headers=ADMIN)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "query.cursor"


@pytest.mark.usefixtures("disk_only")
def test_only_dags_whose_task_logs_the_caller_may_read(client: TestClient, runs: dict[str, Any]) -> None:
    everything = _all(client)
    assert HTTP in {h["dag_id"] for h in everything}
    mine = _all(client, DORA)
    assert {h["dag_id"] for h in mine} == {DISK}
    assert len(mine) == len(everything) - 1
    # naming the hidden DAG finds nothing, rather than telling it exists
    assert _all(client, DORA, script="http_check") == []


def test_the_page_limit_and_the_cursor_continue_in_order(client: TestClient) -> None:
    whole = _all(client)
    first = _search(client, limit=3)
    assert first["stopped_by"] == "page"
    assert len(first["items"]) == 3
    paged = _all(client, limit=3)
    assert [(h["run_id"], h["try_number"], h["line_number"]) for h in paged] == [
        (h["run_id"], h["try_number"], h["line_number"]) for h in whole
    ]


def test_the_scan_stops_at_its_byte_limit_and_the_cursor_continues(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _all(client)
    monkeypatch.setenv("AIRFLOW__YLAI__LOG_SEARCH_MAX_BYTES", "300")
    first = _search(client)
    assert first["stopped_by"] == "scan_limit"
    assert first["max_scan_bytes"] == 300
    assert first["scanned_bytes"] <= 300
    assert first["next_cursor"]
    pages = 0
    hits: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = _search(client, **({"cursor": cursor} if cursor else {}))
        pages += 1
        # one line over the limit at most: a line is read whole or not at all
        assert body["scanned_bytes"] <= 300 or len(body["items"]) <= 1
        hits += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages > 5
    assert [(h["run_id"], h["try_number"], h["line_number"]) for h in hits] == [
        (h["run_id"], h["try_number"], h["line_number"]) for h in whole
    ]


def test_needs_login_and_the_monitor_permission(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.ylai_plugin.api.routes.test_monitor import OnlyFanout
    from ylai_plugin.domain import access

    assert client.get(SEARCH).status_code == 401
    manager = OnlyFanout(access.auth_manager(), deny_monitor=True)
    monkeypatch.setattr(access, "auth_manager", lambda: manager)
    denied = client.get(SEARCH, headers=headers("op", "fiona"))
    assert denied.status_code == 403


@pytest.mark.parametrize("map_index", [-1, 3])
def test_the_default_template_fast_path_names_the_file_jinja_names(map_index: int) -> None:
    from datetime import UTC, datetime

    from ylai_plugin.domain import log_search

    c = log_search.Candidate(
        start_date=datetime.now(UTC),
        dag_id="script__a",
        run_id="manual__2026-12-04T10:00:00+00:00",
        task_id="a",
        map_index=map_index,
        try_number=2,
        run_state=None,
        template=None,
        ts="",
    )
    import jinja2

    fast = log_search.log_path(Path("/logs"), c, 1)
    ti = log_search._TI(c)
    slow = jinja2.Template(log_search.AIRFLOW_DEFAULT_TEMPLATE).render(ti=ti, ts="", try_number=1)
    assert fast == Path("/logs") / slow
    assert log_search._default_template() == log_search.AIRFLOW_DEFAULT_TEMPLATE
