"""``/usage``: the page-view beacon (batched, rate-limited, bounded, private), statistics and heatmaps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from tests.unit.api_client import headers
from tests.unit.ylai_plugin.api.routes.test_pipelines import Grants
from ylai_plugin.api.app import create_app
from ylai_plugin.db.usage_models import ClickDaily, UsageDaily, UsageEvent, UsageUser
from ylai_plugin.domain import usage

ADMIN = headers("admin", "root")
VIEW = {"type": "page_view", "page": "run"}
CLICK = {"type": "click", "page": "run", "region": "main", "x": 0.5, "y": 0.25}


@pytest.fixture(scope="module")
def client(airflow_db: object) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Grants]:
    """A fresh per-process usage state (buckets, caps) and ylai's FAB grants (only Admin has Insights)."""
    from ylai_plugin.domain import access

    usage.reset()
    applied = Grants(access.auth_manager())
    monkeypatch.setattr(access, "auth_manager", lambda: applied)
    yield applied
    usage.reset()


def session() -> Any:
    from airflow.utils.session import create_session

    return create_session()


def raw_count(user: str) -> int:
    with session() as s:
        return int(s.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.user == user)) or 0)


def person(name: str, role: str = "user") -> Any:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return SimpleAuthManagerUser(username=name, role=role)


# ---------------------------------------------------------------- the beacon


def test_a_batch_is_recorded_and_counted(client: TestClient) -> None:
    who = headers("user", "beacon_ben")
    resp = client.post("/api/v1/usage/events", json={"events": [VIEW, VIEW, CLICK]}, headers=who)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"accepted": 3, "enabled": True}
    assert raw_count("beacon_ben") == 2  # page views only: clicks carry no user
    today = datetime.now(UTC).date()
    with session() as s:
        daily = s.scalar(
            select(UsageDaily.count).where(UsageDaily.user == "beacon_ben", UsageDaily.kind == "page_view")
        )
        seen = s.get(UsageUser, "beacon_ben")
        assert seen is not None
        assert seen.role == "User"
    assert daily == 2
    stats = client.get("/api/v1/usage/stats", params={"start": str(today), "end": str(today)}, headers=ADMIN).json()
    run = next(p for p in stats["page_views"] if p["page"] == "run")
    assert run["views"] >= 2
    assert run["users"] >= 1


def test_more_than_50_events_in_a_batch_is_422(client: TestClient) -> None:
    resp = client.post("/api/v1/usage/events", json={"events": [VIEW] * 51}, headers=headers("user", "greedy"))
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "body.events"
    assert client.post("/api/v1/usage/events", json={"events": []}, headers=ADMIN).status_code == 422


def test_a_client_sending_too_fast_gets_429_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_BURST", "3")
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_RATE_PER_MINUTE", "1")
    who = headers("user", "flooder")
    codes = [client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=who).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    refused = client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=who)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["details"]["retry_after"] >= 1
    assert raw_count("flooder") == 3
    # Another user has a bucket of their own.
    assert (
        client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=headers("user", "calm")).status_code == 202
    )


def test_a_users_raw_events_per_day_are_capped(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_MAX_EVENTS_PER_USER_DAY", "5")
    who = headers("user", "capped")
    accepted = [
        client.post("/api/v1/usage/events", json={"events": [VIEW] * 3}, headers=who).json()["accepted"]
        for _ in range(4)
    ]
    assert accepted == [3, 2, 0, 0]
    assert raw_count("capped") == 5
    # A restarted process (or another worker) starts from what the database holds.
    usage.reset()
    assert client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=who).json() == {
        "accepted": 0,
        "enabled": True,
    }
    assert raw_count("capped") == 5


def test_the_daily_cap_is_shared_by_every_process_through_redis(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    """With [ylai] cache_url, a second api-server process does not get a cap of its own."""
    import uuid

    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_MAX_EVENTS_PER_USER_DAY", "5")
    monkeypatch.setenv("AIRFLOW__YLAI__CACHE_URL", redis_url)
    name = f"shared_cap_{uuid.uuid4().hex[:8]}"  # the counter in Redis outlives the test
    who = headers("user", name)
    usage.reset()
    first = usage._state  # process A
    assert client.post("/api/v1/usage/events", json={"events": [VIEW] * 4}, headers=who).json()["accepted"] == 4
    usage.reset()  # process B: nothing counted in it yet
    assert usage.limiter().backend == "redis"
    assert client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=who).json()["accepted"] == 1
    # Back in A: counted in process it would still see room for 1 (its count says 4).
    monkeypatch.setattr(usage, "_state", first)
    assert client.post("/api/v1/usage/events", json={"events": [VIEW] * 4}, headers=who).json()["accepted"] == 0
    assert raw_count(name) == 5
    # Redis away: the in-process count takes over, started from the database (the bound holds).
    monkeypatch.setenv("AIRFLOW__YLAI__CACHE_URL", "redis://127.0.0.1:1/0")
    usage.reset()
    assert client.post("/api/v1/usage/events", json={"events": [VIEW] * 4}, headers=who).json()["accepted"] == 0
    assert raw_count(name) == 5
    usage.reset()


def test_switched_off_nothing_is_recorded(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_ENABLED", "False")
    who = headers("user", "quiet")
    resp = client.post("/api/v1/usage/events", json={"events": [VIEW, CLICK]}, headers=who)
    assert (resp.status_code, resp.json()) == (202, {"accepted": 0, "enabled": False})
    assert raw_count("quiet") == 0
    with session() as s:
        usage.record_feature(s, person("quiet"), "run", "script__x", "ui")
        assert s.get(UsageUser, "quiet") is None
    assert raw_count("quiet") == 0
    assert client.get("/api/v1/usage/stats", headers=ADMIN).json()["enabled"] is False


def test_the_beacon_writes_no_audit_entry(client: TestClient) -> None:
    from airflow.models.log import Log

    with session() as s:
        before = s.scalar(select(func.count()).select_from(Log))
    client.post("/api/v1/usage/events", json={"events": [VIEW, CLICK]}, headers=headers("user", "unaudited"))
    with session() as s:
        assert s.scalar(select(func.count()).select_from(Log)) == before


# ---------------------------------------------------------------- privacy


@pytest.mark.parametrize(
    "event",
    [
        {**CLICK, "value": "hunter2"},  # an input's value
        {**CLICK, "text": "Delete all"},  # the clicked element's text
        {**CLICK, "key": "a"},  # a keystroke
        {**CLICK, "target": "input#password"},
        {**CLICK, "user": "alice"},
        {**CLICK, "region": "input#password"},  # regions are a fixed set
        {**CLICK, "page": "run?param=secret"},  # pages are ids, no query strings
        {**CLICK, "page": "scripts/etl"},  # no object names in a page
        {**CLICK, "page": "not_a_page"},
        {**CLICK, "x": "0.5"},  # positions are numbers, never strings
        {**CLICK, "x": 1.5},
        {**CLICK, "y": -0.1},
        {**VIEW, "x": 0.5, "y": 0.5, "region": "main"},  # a page view carries no position
        {"type": "click", "page": "run"},  # a click without its position
        {"type": "keypress", "page": "run"},
    ],
)
def test_no_event_can_carry_text_or_input_values(client: TestClient, event: dict[str, Any]) -> None:
    resp = client.post("/api/v1/usage/events", json={"events": [event]}, headers=headers("user", "nosy"))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"][0]["field"].startswith("body.events.0")
    assert raw_count("nosy") == 0


def test_extra_keys_on_the_batch_are_refused(client: TestClient) -> None:
    resp = client.post("/api/v1/usage/events", json={"events": [VIEW], "form": {"q": "x"}}, headers=ADMIN)
    assert resp.status_code == 422


def test_stored_events_have_no_column_for_text() -> None:
    """What is stored is only ids from fixed vocabularies, numbers and times: nowhere to put a value."""
    from ylai_plugin.db.base import metadata

    columns = {
        name: {c.name for c in metadata.tables[name].columns} for name in ("ylai_click_daily", "ylai_usage_event")
    }
    assert columns["ylai_click_daily"] == {"id", "day", "page", "region", "x", "y", "count"}  # no user either
    assert columns["ylai_usage_event"] == {"id", "ts", "user", "kind", "key", "source"}


# ---------------------------------------------------------------- heatmap


def test_heatmap_aggregates_clicks_into_region_buckets(client: TestClient) -> None:
    today = str(datetime.now(UTC).date())
    clicks = [
        {"type": "click", "page": "logs", "region": "main", "x": 0.01, "y": 0.01},
        {"type": "click", "page": "logs", "region": "main", "x": 0.04, "y": 0.049},
        {"type": "click", "page": "logs", "region": "main", "x": 1, "y": 1},
        {"type": "click", "page": "logs", "region": "nav", "x": 0.5, "y": 0.12},
        {"type": "click", "page": "monitor", "region": "main", "x": 0.5, "y": 0.5},
    ]
    assert (
        client.post("/api/v1/usage/events", json={"events": clicks}, headers=headers("op", "clicker")).status_code
        == 202
    )
    again = [{**clicks[0], "x": 0.02}]
    assert (
        client.post("/api/v1/usage/events", json={"events": again}, headers=headers("user", "other")).status_code == 202
    )
    resp = client.get("/api/v1/usage/heatmap", params={"page": "logs", "start": today, "end": today}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["buckets"] == usage.BUCKETS == 20
    cells = {(c["region"], c["x"], c["y"]): c["count"] for c in body["cells"]}
    assert cells == {("nav", 10, 2): 1, ("main", 0, 0): 3, ("main", 19, 19): 1}
    assert body["total"] == 5
    with session() as s:
        assert s.scalar(select(func.sum(ClickDaily.count)).where(ClickDaily.page == "logs")) == 5


def test_heatmap_asks_for_a_known_page_and_a_sane_period(client: TestClient) -> None:
    assert client.get("/api/v1/usage/heatmap", params={"page": "nope"}, headers=ADMIN).status_code == 422
    bad = client.get("/api/v1/usage/stats", params={"start": "2026-02-01", "end": "2026-01-01"}, headers=ADMIN)
    assert (bad.status_code, bad.json()["error"]["details"][0]["field"]) == (422, "query.start")
    long = client.get("/api/v1/usage/stats", params={"start": "2020-01-01", "end": "2026-01-01"}, headers=ADMIN)
    assert long.status_code == 422


@pytest.mark.parametrize("role", ["viewer", "user", "op"])
def test_only_admins_read_insights(client: TestClient, role: str) -> None:
    who = headers(role, f"{role}_reader")
    stats = client.get("/api/v1/usage/stats", headers=who)
    assert stats.status_code == 403
    assert stats.json()["error"]["message"] == "You may not read ylai Insights"
    assert client.get("/api/v1/usage/heatmap", params={"page": "run"}, headers=who).status_code == 403
    # ... but every signed-in user sends the beacon.
    assert client.post("/api/v1/usage/events", json={"events": [VIEW]}, headers=who).status_code == 202


# ---------------------------------------------------------------- statistics from a seeded set

DAY1 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday, far from the other tests' days


def at(days: float, hours: float = 0) -> datetime:
    return DAY1 + timedelta(days=days, hours=hours)


@pytest.fixture(scope="module")
def seeded(airflow_db: object) -> Iterator[None]:
    """Three people over two weeks, runs from the UI, the API and Airflow's scheduler."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState

    ann, bob, cid = person("seed_ann", "user"), person("seed_bob", "op"), person("seed_cid", "viewer")
    usage.reset()
    with session() as s:
        usage.record_events(s, bob, [{"type": "page_view", "page": "run"}], now=at(0))  # bob first seen 09:00
        usage.record_events(
            s, ann, [{"type": "page_view", "page": "run"}, {"type": "page_view", "page": "scripts"}], now=at(0, 1)
        )
        usage.record_events(s, cid, [{"type": "page_view", "page": "overview"}], now=at(0, 2))
        usage.record_run(s, ann, "script__alpha", "ui", preset_id=7, now=at(0, 1 + 10 / 60))  # 600 s after first seen
        usage.record_run(s, ann, "script__alpha", "ui", now=at(1))
        usage.record_run(s, bob, "script__alpha", "api", now=at(1))  # 1 day after first seen
        usage.record_run(s, bob, "pipeline__beta", "api", now=at(2))
        usage.record_feature(s, ann, "export", "runs", "ui", now=at(2))
        usage.record_feature(s, cid, "editor_save", "script__alpha", "ui", now=at(2))
        usage.record_events(s, ann, [{"type": "page_view", "page": "run"}], now=at(8))  # the second week
        for n in range(3):
            s.add(
                DagRun(
                    dag_id="script__usage_seeded",
                    run_id=f"scheduled__usage_seed_{n}",
                    run_type="scheduled",
                    run_after=at(n),
                    logical_date=at(n),
                    state=DagRunState.SUCCESS,
                )
            )
        s.add(
            DagRun(
                dag_id="other_dag",
                run_id="scheduled__usage_seed",
                run_type="scheduled",
                run_after=at(1),
                logical_date=at(1),
            )
        )
    usage.reset()
    yield
    with session() as s:
        s.query(DagRun).filter(DagRun.run_id.like("scheduled__usage_seed%")).delete(synchronize_session=False)


def test_stats_match_the_seeded_events(client: TestClient, seeded: None) -> None:
    resp = client.get("/api/v1/usage/stats", params={"start": "2025-03-03", "end": "2025-03-16"}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    assert stats["page_views"] == [
        {"page": "run", "views": 3, "users": 2},
        {"page": "overview", "views": 1, "users": 1},
        {"page": "scripts", "views": 1, "users": 1},
    ]
    assert stats["features"] == [
        {"feature": "run", "source": "api", "count": 2},
        {"feature": "run", "source": "schedule", "count": 3},
        {"feature": "run", "source": "ui", "count": 2},
        {"feature": "preset", "source": "ui", "count": 1},
        {"feature": "export", "source": "ui", "count": 1},
        {"feature": "editor_save", "source": "ui", "count": 1},
    ]
    daily = {(d["day"], d["role"]): d["users"] for d in stats["daily_active"]}
    assert daily == {
        ("2025-03-03", "Op"): 1,
        ("2025-03-03", "User"): 1,
        ("2025-03-03", "Viewer"): 1,
        ("2025-03-04", "Op"): 1,
        ("2025-03-04", "User"): 1,
        ("2025-03-05", "Op"): 1,
        ("2025-03-05", "User"): 1,
        ("2025-03-05", "Viewer"): 1,
        ("2025-03-11", "User"): 1,
    }
    weekly = {(w["week"], w["role"]): w["users"] for w in stats["weekly_active"]}
    assert weekly == {
        ("2025-03-03", "Op"): 1,
        ("2025-03-03", "User"): 1,
        ("2025-03-03", "Viewer"): 1,
        ("2025-03-10", "User"): 1,
    }
    assert stats["top_scripts"] == [{"dag_id": "script__alpha", "name": "alpha", "runs": 3, "users": 2}]
    assert stats["top_pipelines"] == [{"dag_id": "pipeline__beta", "name": "beta", "runs": 1, "users": 1}]
    assert stats["first_run"] == {
        "new_users": 3,
        "users_with_run": 2,
        "median_seconds": (600 + 86400) / 2,
        "p90_seconds": 86400.0,
        "mean_seconds": (600 + 86400) / 2,
    }


def test_stats_of_a_period_count_only_its_days(client: TestClient, seeded: None) -> None:
    stats = client.get("/api/v1/usage/stats", params={"start": "2025-03-10", "end": "2025-03-16"}, headers=ADMIN).json()
    assert stats["page_views"] == [{"page": "run", "views": 1, "users": 1}]
    assert stats["features"] == []
    assert stats["first_run"]["new_users"] == 0
    assert stats["first_run"]["median_seconds"] is None


def test_runs_through_the_api_are_recorded_by_source(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Run page's header makes a run ``ui``; without it, ``api``."""
    from tests.unit.api_client import sync_repo_dags
    from ylai_plugin.domain import dags

    sync_repo_dags()
    monkeypatch.setattr(dags, "trigger", _fake_trigger)
    who = headers("op", "run_source")
    ui = client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 2}, "preset_id": 3},
                     headers={**who, "X-Ylai-Source": "ui"})  # fmt: skip
    assert ui.status_code == 201, ui.text
    assert client.post("/api/v1/scripts/disk_usage/run", json={"params": {"top": 2}}, headers=who).status_code == 201
    with session() as s:
        rows = s.execute(
            select(UsageDaily.kind, UsageDaily.source, UsageDaily.key, UsageDaily.count).where(
                UsageDaily.user == "run_source"
            )
        ).all()
        seen = s.get(UsageUser, "run_source")
        assert seen is not None
        assert seen.first_run_at is not None
    assert sorted(tuple(r) for r in rows) == [
        ("preset", "ui", "script__disk_usage", 1),
        ("run", "api", "script__disk_usage", 1),
        ("run", "ui", "script__disk_usage", 1),
    ]


def test_a_download_link_followed_from_a_page_counts_as_ui(client: TestClient) -> None:
    """A link the UI opens carries no header of ours; the browser's fetch metadata says where it was followed."""
    who = headers("admin", "csv_source")
    page = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "document"}
    typed = {**page, "Sec-Fetch-Site": "none"}  # the URL typed into the address bar
    for extra in (page, typed, {}):
        resp = client.get("/api/v1/exports/feedback", params={"format": "csv"}, headers={**who, **extra})
        assert resp.status_code == 200, resp.text
    with session() as s:
        rows = s.execute(
            select(UsageDaily.source, UsageDaily.count).where(
                UsageDaily.user == "csv_source", UsageDaily.kind == "export"
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == [("api", 2), ("ui", 1)]


def _fake_trigger(dag_id: str, conf: dict[str, Any], user: Any, session: Any, **kw: Any) -> Any:
    """A DagRun-like answer without starting anything (the usage recording is what is tested)."""
    from types import SimpleNamespace

    now = datetime.now(UTC)
    return SimpleNamespace(
        dag_id=dag_id, run_id=f"manual__{now.isoformat()}", state="queued", conf=conf, logical_date=now,
        run_after=now, start_date=None, end_date=None, queued_at=now, run_type="manual", note=kw.get("note"),
        triggering_user_name=user.get_name(), data_interval_start=None, data_interval_end=None,
    )  # fmt: skip


# ---------------------------------------------------------------- retention


def test_old_raw_events_are_pruned_and_aggregates_kept(monkeypatch: pytest.MonkeyPatch, airflow_db: object) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_RETENTION_DAYS", "30")
    now = datetime.now(UTC)
    who = person("pruned_pat")
    with session() as s:
        usage.record_events(s, who, [VIEW], now=now - timedelta(days=40))
        usage.record_events(s, who, [VIEW], now=now - timedelta(days=10))
    with session() as s:
        assert usage.prune(s, now) >= 1
    assert raw_count("pruned_pat") == 1  # the 10-day-old one
    with session() as s:
        kept = s.scalar(select(func.sum(UsageDaily.count)).where(UsageDaily.user == "pruned_pat"))
    assert kept == 2  # both days stay in the aggregates


def test_pruning_runs_at_most_hourly_on_writes(monkeypatch: pytest.MonkeyPatch, airflow_db: object) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__USAGE_RETENTION_DAYS", "30")
    now = datetime.now(UTC)
    who = person("pruned_quinn")
    with session() as s:
        s.add(UsageEvent(ts=now - timedelta(days=60), user="pruned_quinn", kind="page_view", key="run", source="ui"))
    with session() as s:
        usage.record_events(s, who, [VIEW], now=now)  # the first write of the process prunes
    assert raw_count("pruned_quinn") == 1
    with session() as s:
        s.add(UsageEvent(ts=now - timedelta(days=60), user="pruned_quinn", kind="page_view", key="run", source="ui"))
    with session() as s:
        usage.record_events(s, who, [VIEW], now=now)  # within the hour: no second prune
    assert raw_count("pruned_quinn") == 3


def test_tables_exist_in_the_metadata_db(airflow_db: object) -> None:
    from airflow.settings import engine

    assert {"ylai_feedback", "ylai_usage_event", "ylai_usage_daily", "ylai_usage_user", "ylai_click_daily"} <= set(
        inspect(engine).get_table_names()
    )


def test_event_time_trusts_only_recent_timestamps() -> None:
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert usage.event_time(now - timedelta(hours=2), now) == now - timedelta(hours=2)
    assert usage.event_time(now - timedelta(days=3), now) == now
    assert usage.event_time(now + timedelta(hours=1), now) == now
    assert usage.bucket(0.0) == 0
    assert usage.bucket(1.0) == usage.bucket(0.999) == 19
    assert usage.bucket(0.049) == 0
    assert usage.bucket(0.05) == 1
