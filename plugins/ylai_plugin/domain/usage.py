"""Usage statistics and click heatmaps: what people use on ylai's pages, recorded cheaply.

Two ways in:

- the page-view beacon (``POST /usage/events``): page views and clicks, batched by the UI;
- server-side recording of feature use from API calls (:func:`record_feature`): runs from the
  Run page (``X-Ylai-Source: ui``) or the API, presets, exports and editor saves. Scheduled runs
  are not recorded at all: :func:`stats` counts them from Airflow's ``dag_run`` (``run_type``).

What is stored (``db/usage_models.py``): raw events (page views and feature uses, with user and
time) that expire after ``[ylai] usage_retention_days``; daily counts per user, kind, key and
source, kept; per user when they were first seen and first ran something; and click cells per
day, page, region and position bucket, with no user at all. No text, no input values: a click is
a page id and a region from fixed vocabularies and a position in 0..1, nothing else.

Cheap on purpose: a beacon batch costs one bulk insert and two multi-row upserts (counts are
summed in Python first); the per-user daily cap is counted in Redis when ``[ylai] cache_url`` is
set, shared by every api-server process, else (or while Redis is away) in process; either count
starts from the database once per user and day. Pruning runs at most once an hour per process,
on a write. Counted in process, ``N`` api-server processes let a user reach ``N`` times the cap:
the bound stays a bound.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, distinct, func, insert, select, update

from ylai_plugin import config
from ylai_plugin.db.usage_models import ClickDaily, UsageDaily, UsageEvent, UsageUser
from ylai_plugin.domain import access, rate_limit

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The layout regions a click may name (the UI tags its layout with them).
REGIONS = ("topbar", "nav", "header", "main", "aside", "footer", "dialog")
#: What the beacon may send.
EVENT_TYPES = ("page_view", "click")
#: Feature uses recorded from API calls, and where a call came from.
FEATURES = ("run", "preset", "export", "editor_save")
SOURCES = ("ui", "api")
#: Runs Airflow's scheduler started count as this source.
SCHEDULE = "schedule"
#: The heatmap's grid: positions are cut into this many buckets along each axis of a region.
BUCKETS = 20
#: The most events one beacon batch may carry.
MAX_BATCH = 50
#: The header the UI sends on every call, naming where the call came from.
SOURCE_HEADER = "X-Ylai-Source"
#: Main role, first match wins: a user in several roles counts in the most powerful one.
ROLE_ORDER = ("Admin", "Op", "User", "Viewer")
#: A beacon's own timestamp is trusted within this window; otherwise the server's time is used.
TS_PAST = timedelta(hours=24)
TS_FUTURE = timedelta(minutes=5)
PRUNE_EVERY_SECONDS = 3600.0
# Core, not ORM, bulk insert of raw events: built once, compiled once.
_RAW_INSERT = insert(cast(Table, UsageEvent.__table__))
KEY_PREFIX = "ylai:usage:"
# The ylai DAGs whose scheduled runs count: scripts, pipelines and saved tasks.
RUN_PREFIXES = ("script__", "pipeline__", "task__")


@cache
def pages() -> frozenset[str]:
    """The page ids of ``ylai_plugin/pages.json``: the only pages the beacon may name."""
    listed = json.loads((Path(__file__).parents[1] / "pages.json").read_text(encoding="utf-8"))
    return frozenset(str(page["id"]) for page in listed)


def source_of(header: str | None) -> str:
    """``ui`` when the call says it comes from ylai's pages, ``api`` otherwise."""
    return "ui" if (header or "").strip().lower() == "ui" else "api"


def main_role(user: BaseUser) -> str:
    """The user's most powerful role (:data:`ROLE_ORDER`), else their first role by name, else ``none``."""
    roles = {r.capitalize() if r.lower() in {o.lower() for o in ROLE_ORDER} else r for r in access.user_roles(user)}
    for role in ROLE_ORDER:
        if role in roles:
            return role
    return sorted(roles)[0][:64] if roles else "none"


def day_of(ts: datetime) -> date:
    """The UTC day of ``ts``."""
    return ts.astimezone(UTC).date()


def event_time(ts: datetime | None, now: datetime) -> datetime:
    """The beacon's own time when plausible (the last 24 h, not ahead), else ``now``."""
    if ts is None:
        return now
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts if now - TS_PAST <= ts <= now + TS_FUTURE else now


def bucket(position: float) -> int:
    """The heatmap bucket of a position in 0..1 (1 falls into the last bucket)."""
    return min(BUCKETS - 1, max(0, int(position * BUCKETS)))


# ---------------------------------------------------------------- the process's state


class _State:
    """Per-process bookkeeping: the daily cap's counters, users already known, the last prune."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.day: date | None = None
        self.counts: dict[str, int] = {}
        # user -> (main role, whether their first run is recorded)
        self.users: dict[str, tuple[str, bool]] = {}
        self.last_prune = 0.0
        self.limiter: rate_limit.RateLimiter | None = None
        self.quota_script: Any = None  # the daily cap's Lua script on the limiter's Redis client


_state = _State()


def reset() -> None:
    """Forget the process's counters, known users and limiter (tests; a new configuration)."""
    global _state
    _state = _State()


def limiter() -> rate_limit.RateLimiter:
    """The beacon's own per-user token buckets: ``[ylai] usage_rate_per_minute`` and ``usage_burst``."""
    with _state.lock:
        if _state.limiter is None:
            _state.limiter = rate_limit.RateLimiter(
                rate=max(config.USAGE_RATE_PER_MINUTE.get(), 1) / 60.0,
                burst=max(config.USAGE_BURST.get(), 1),
                redis_url=config.CACHE_URL.get(),
                prefix=KEY_PREFIX,
            )
        return _state.limiter


def take_beacon_token(user: BaseUser) -> float:
    """Take a token from the user's beacon bucket: 0 when allowed, else the seconds to wait."""
    return limiter().take(f"{type(user).__name__}:{user.get_id()}")


# The daily cap's counter in Redis: KEYS[1] the user's counter of the day; ARGV: wanted, cap, and
# the count to start from when the key is missing ('' asks the caller to read it: -1).
QUOTA_SCRIPT = """
local have = redis.call('GET', KEYS[1])
if not have then
  if ARGV[3] == '' then return -1 end
  have = ARGV[3]
end
have = tonumber(have)
local allowed = math.max(0, math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - have))
redis.call('SET', KEYS[1], have + allowed, 'EX', 172800)
return allowed
"""


def _recorded_today(session: Session, name: str, today: date) -> int:
    """The user's raw events of ``today`` in the database (what other processes or a restart recorded)."""
    start = datetime(today.year, today.month, today.day, tzinfo=UTC)
    query = select(func.count()).select_from(UsageEvent).where(UsageEvent.user == name, UsageEvent.ts >= start)
    return int(session.scalar(query) or 0)


def _shared_quota(session: Session, name: str, today: date, wanted: int, cap: int) -> int | None:
    """:func:`_quota` counted in Redis, shared by every process; None when Redis is not configured or away."""
    bucket = limiter()
    if bucket.redis is None:
        return None
    key = f"{KEY_PREFIX}cap:{today.isoformat()}:{name}"
    with _state.lock:  # registered once per limiter (per configuration), not on every batch
        if _state.quota_script is None:
            _state.quota_script = bucket.redis.client.register_script(QUOTA_SCRIPT)
        script = _state.quota_script

    def count(_redis: rate_limit.RedisBucket) -> int:
        allowed = int(script(keys=[key], args=[wanted, cap, ""]))
        if allowed < 0:  # the day's first event in Redis: seeded with what the database has
            allowed = int(script(keys=[key], args=[wanted, cap, _recorded_today(session, name, today)]))
        return allowed

    return bucket.through_redis(count)


def _quota(session: Session, name: str, today: date, wanted: int) -> int:
    """How many of ``wanted`` events the user may still record today; counts them as recorded."""
    cap = max(config.USAGE_MAX_EVENTS_PER_USER_DAY.get(), 0)
    shared = _shared_quota(session, name, today, wanted, cap)
    if shared is not None:
        return shared
    with _state.lock:
        if _state.day != today:
            _state.day, _state.counts = today, {}
        known = _state.counts.get(name)
    if known is None:
        # Once per user and day and process: what other processes (or a restart) recorded already.
        known = _recorded_today(session, name, today)
    with _state.lock:
        have = max(_state.counts.get(name, 0), known)
        allowed = max(0, min(wanted, cap - have))
        _state.counts[name] = have + allowed
    return allowed


# ---------------------------------------------------------------- writing


def _add_counts(session: Session, model: Any, keys: Sequence[str], counts: dict[tuple[Any, ...], int]) -> None:
    """Add ``counts`` (key values -> n) to ``model``'s ``count`` column, inserting missing rows.

    One ``INSERT ... ON CONFLICT DO UPDATE`` (``ON DUPLICATE KEY UPDATE`` on MySQL) executed for
    every row at once; the statement is built once per table and dialect, so SQLAlchemy compiles it
    once (a multi-row ``VALUES`` literal would be compiled anew for every batch: most of a beacon's
    CPU). Rows in key order, so concurrent writers lock in the same order.
    """
    if not counts:
        return
    rows = [{**dict(zip(keys, key, strict=True)), "count": n} for key, n in sorted(counts.items(), key=_sort_key)]
    dialect = session.get_bind().dialect.name
    stmt = _upsert(model, tuple(keys), dialect)
    if stmt is not None:
        session.execute(stmt, rows)
        return
    table = model.__table__  # any other database: update, else insert (not atomic across processes)
    for row in rows:
        where = [table.c[k] == row[k] for k in keys]
        done = session.execute(update(table).where(*where).values(count=table.c.count + row["count"]))
        if not getattr(done, "rowcount", 0):
            session.execute(insert(table).values(row))


@cache
def _upsert(model: Any, keys: tuple[str, ...], dialect: str) -> Any:
    """The add-to-count upsert of ``model`` for ``dialect``, or ``None`` where there is none."""
    table = model.__table__
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_update(
            index_elements=list(keys), set_={"count": table.c.count + lite.excluded.count}
        )
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table)
        return pg.on_conflict_do_update(index_elements=list(keys), set_={"count": table.c.count + pg.excluded.count})
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my = mysql_insert(table)
        return my.on_duplicate_key_update(count=table.c.count + my.inserted.count)
    return None


def _sort_key(item: tuple[tuple[Any, ...], int]) -> tuple[str, ...]:
    return tuple(str(v) for v in item[0])


def _insert_missing(session: Session, model: Any, row: dict[str, Any]) -> None:
    """Insert ``row`` unless its primary key exists (two processes may meet a new user at once)."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).values(row).on_conflict_do_nothing())
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).values(row).on_conflict_do_nothing())
    elif dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        session.execute(mysql_insert(table).values(row).prefix_with("IGNORE"))
    else:
        keys = [c.name for c in table.primary_key.columns]
        if session.execute(select(*table.primary_key.columns).where(*(table.c[k] == row[k] for k in keys))).first():
            return
        session.execute(insert(table).values(row))


def _see_user(session: Session, user: BaseUser, now: datetime, ran: bool) -> None:
    """Make sure the user has a ``UsageUser`` row (first seen now); note their first run.

    Once a process knows the user (and their first run), this writes nothing.
    """
    name = user.get_name()
    with _state.lock:
        known = _state.users.get(name)
    if known is not None and (known[1] or not ran):
        return  # the common case: nothing to write
    role = main_role(user)
    if known is None:
        _insert_missing(
            session, UsageUser, {"user": name, "role": role, "first_seen": now, "first_run_at": now if ran else None}
        )
        session.execute(update(UsageUser).where(UsageUser.user == name, UsageUser.role != role).values(role=role))
    if ran:
        session.execute(
            update(UsageUser).where(UsageUser.user == name, UsageUser.first_run_at.is_(None)).values(first_run_at=now)
        )
    with _state.lock:
        _state.users[name] = (role, ran or (known is not None and known[1]))


def record_events(
    session: Session, user: BaseUser, events: Iterable[dict[str, Any]], now: datetime | None = None
) -> int:
    """Record a beacon batch (already validated: ``type``, ``page``, ``ts``, ``region``, ``x``, ``y``).

    Page views become raw events and daily counts of the user; clicks become heatmap cells with
    no user. Events past the user's daily cap are dropped. Returns how many were recorded.
    """
    now = now or datetime.now(UTC)
    batch = list(events)
    allowed = _quota(session, user.get_name(), day_of(now), len(batch))
    if not allowed:
        return 0
    kept = batch[:allowed]
    name = user.get_name()
    raw: list[dict[str, Any]] = []
    daily: Counter[tuple[Any, ...]] = Counter()
    cells: Counter[tuple[Any, ...]] = Counter()
    for event in kept:
        ts = event_time(event.get("ts"), now)
        if event["type"] == "page_view":
            raw.append({"ts": ts, "user": name, "kind": "page_view", "key": event["page"], "source": "ui"})
            daily[(day_of(ts), name, "page_view", event["page"], "ui")] += 1
        else:
            cells[(event["page"], day_of(ts), event["region"], bucket(event["x"]), bucket(event["y"]))] += 1
    if raw:
        session.execute(_RAW_INSERT, raw)
    _add_counts(session, UsageDaily, ("day", "user", "kind", "key", "source"), daily)
    _add_counts(session, ClickDaily, ("page", "day", "region", "x", "y"), cells)
    _see_user(session, user, now, ran=False)
    maybe_prune(session, now)
    return len(kept)


def record_feature(
    session: Session, user: BaseUser, feature: str, key: str, source: str, now: datetime | None = None
) -> None:
    """Record one feature use from an API call: ``run``, ``preset``, ``export`` or ``editor_save``.

    :param key: what was used: the DAG id of a run or a preset's DAG, the export's kind, the
        script or pipeline DAG saved.
    :param source: ``ui`` or ``api`` (:func:`source_of` the request's header).
    Does nothing when ``[ylai] usage_enabled`` is off. Not capped: these are calls people make on purpose.
    """
    if not config.USAGE_ENABLED.get():
        return
    now = now or datetime.now(UTC)
    name = user.get_name()
    key = key[:250]
    session.execute(_RAW_INSERT, [{"ts": now, "user": name, "kind": feature, "key": key, "source": source}])
    _add_counts(
        session, UsageDaily, ("day", "user", "kind", "key", "source"), {(day_of(now), name, feature, key, source): 1}
    )
    _see_user(session, user, now, ran=feature == "run")
    maybe_prune(session, now)


def record_run(
    session: Session,
    user: BaseUser,
    dag_id: str,
    source: str,
    preset_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Record a run started through ylai (and the preset it started from, when one did)."""
    record_feature(session, user, "run", dag_id, source, now)
    if preset_id is not None:
        record_feature(session, user, "preset", dag_id, source, now)


def record_feature_now(user: BaseUser, feature: str, key: str, source: str) -> None:
    """:func:`record_feature` in a session of its own (for calls that hold none, like a direct export)."""
    if not config.USAGE_ENABLED.get():
        return
    from airflow.utils.session import create_session

    with create_session() as session:
        record_feature(session, user, feature, key, source)


def prune(session: Session, now: datetime | None = None) -> int:
    """Delete raw events older than ``[ylai] usage_retention_days``; the number deleted. Aggregates stay."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=max(config.USAGE_RETENTION_DAYS.get(), 1))
    result = session.execute(delete(UsageEvent).where(UsageEvent.ts < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def maybe_prune(session: Session, now: datetime | None = None) -> int:
    """:func:`prune`, at most once per :data:`PRUNE_EVERY_SECONDS` in this process (called on writes)."""
    clock = time.monotonic()
    with _state.lock:
        if _state.last_prune and clock - _state.last_prune < PRUNE_EVERY_SECONDS:
            return 0
        _state.last_prune = clock
    try:
        return prune(session, now)
    except Exception:  # pruning is housekeeping: it never fails a beacon
        log.warning("ylai: pruning old usage events failed", exc_info=True)
        return 0


# ---------------------------------------------------------------- reading


def _days(start: date, end: date) -> list[Any]:
    return [UsageDaily.day >= start, UsageDaily.day <= end]


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of sorted ``values`` (nearest rank)."""
    index = max(0, min(len(values) - 1, round(share * len(values) + 0.5) - 1))
    return values[index]


def scheduled_runs(session: Session, start: date, end: date) -> dict[str, int]:
    """Runs Airflow's scheduler started of ylai's DAGs in the days, by DAG id (from ``dag_run``)."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import or_

    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    finish = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    rows = session.execute(
        select(DagRun.dag_id, func.count())
        .where(
            DagRun.run_type == "scheduled",
            DagRun.run_after >= begin,
            DagRun.run_after < finish,
            or_(*(DagRun.dag_id.startswith(p, autoescape=True) for p in RUN_PREFIXES)),
        )
        .group_by(DagRun.dag_id)
    ).all()
    return {str(dag_id): int(n) for dag_id, n in rows}


def _top(session: Session, start: date, end: date, prefix: str, limit: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(UsageDaily.key, func.sum(UsageDaily.count), func.count(distinct(UsageDaily.user)))
        .where(*_days(start, end), UsageDaily.kind == "run", UsageDaily.key.startswith(prefix, autoescape=True))
        .group_by(UsageDaily.key)
    ).all()
    ranked = sorted(((int(runs or 0), int(users or 0), str(key)) for key, runs, users in rows), key=_by_runs)
    return [{"dag_id": key, "name": key.removeprefix(prefix), "runs": r, "users": u} for r, u, key in ranked[:limit]]


def _by_runs(row: tuple[int, int, str]) -> tuple[int, int, str]:
    return (-row[0], -row[1], row[2])


def stats(session: Session, start: date, end: date, top: int = 20) -> dict[str, Any]:
    """The Insights page's figures for the days ``start`` to ``end`` (both included, UTC)."""
    where = _days(start, end)
    viewed = session.execute(
        select(UsageDaily.key, func.sum(UsageDaily.count), func.count(distinct(UsageDaily.user)))
        .where(*where, UsageDaily.kind == "page_view")
        .group_by(UsageDaily.key)
    ).all()
    ranked = sorted(((int(views or 0), int(users or 0), str(page)) for page, views, users in viewed), key=_by_runs)
    page_views = [{"page": page, "views": views, "users": users} for views, users, page in ranked]
    features = [
        {"feature": kind, "source": source, "count": int(n or 0)}
        for kind, source, n in session.execute(
            select(UsageDaily.kind, UsageDaily.source, func.sum(UsageDaily.count))
            .where(*where, UsageDaily.kind.in_(FEATURES))
            .group_by(UsageDaily.kind, UsageDaily.source)
        ).all()
    ]
    scheduled = scheduled_runs(session, start, end)
    if scheduled:
        features.append({"feature": "run", "source": SCHEDULE, "count": sum(scheduled.values())})
    features.sort(key=lambda r: (FEATURES.index(r["feature"]), r["source"]))

    # Active users: distinct (day, user) pairs with their main role, then per day and per week.
    pairs = session.execute(
        select(UsageDaily.day, UsageDaily.user, UsageUser.role)
        .join(UsageUser, UsageUser.user == UsageDaily.user, isouter=True)
        .where(*where)
        .distinct()
    ).all()
    daily: dict[tuple[date, str], set[str]] = defaultdict(set)
    weekly: dict[tuple[date, str], set[str]] = defaultdict(set)
    for day, user, role in pairs:
        daily[(day, role or "none")].add(user)
        weekly[(_week(day), role or "none")].add(user)
    daily_active = [{"day": d, "role": r, "users": len(u)} for (d, r), u in sorted(daily.items())]
    weekly_active = [{"week": w, "role": r, "users": len(u)} for (w, r), u in sorted(weekly.items())]

    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    finish = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    newcomers = session.execute(
        select(UsageUser.first_seen, UsageUser.first_run_at).where(
            UsageUser.first_seen >= begin, UsageUser.first_seen < finish
        )
    ).all()
    waits = sorted(max(0.0, (ran - seen).total_seconds()) for seen, ran in newcomers if ran is not None)
    first_run = {
        "new_users": len(newcomers),
        "users_with_run": len(waits),
        "median_seconds": statistics.median(waits) if waits else None,
        "p90_seconds": _percentile(waits, 0.9) if waits else None,
        "mean_seconds": statistics.fmean(waits) if waits else None,
    }
    return {
        "start": start,
        "end": end,
        "enabled": config.USAGE_ENABLED.get(),
        "page_views": page_views,
        "features": features,
        "daily_active": daily_active,
        "weekly_active": weekly_active,
        "top_scripts": _top(session, start, end, "script__", top),
        "top_pipelines": _top(session, start, end, "pipeline__", top),
        "first_run": first_run,
    }


def heatmap(session: Session, page: str, start: date, end: date) -> dict[str, Any]:
    """Click cells of ``page`` in the days, summed: region, x and y bucket, count."""
    rows = session.execute(
        select(ClickDaily.region, ClickDaily.x, ClickDaily.y, func.sum(ClickDaily.count))
        .where(ClickDaily.page == page, ClickDaily.day >= start, ClickDaily.day <= end)
        .group_by(ClickDaily.region, ClickDaily.x, ClickDaily.y)
    ).all()
    cells = [{"region": r, "x": int(x), "y": int(y), "count": int(n or 0)} for r, x, y, n in rows]
    cells.sort(key=lambda c: (REGIONS.index(c["region"]) if c["region"] in REGIONS else 99, c["y"], c["x"]))
    return {
        "page": page,
        "start": start,
        "end": end,
        "buckets": BUCKETS,
        "cells": cells,
        "total": sum(c["count"] for c in cells),
    }
