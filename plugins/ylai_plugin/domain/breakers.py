"""Circuit breakers around outgoing dependencies: alert channels, the Redis cache and rate limit.

A breaker counts consecutive failures of one dependency. At ``[ylai] breaker_failure_threshold``
it opens: calls fail fast with :class:`BreakerOpen` (they never reach the dependency) for
``breaker_open_seconds``. Then it is half-open: ``breaker_half_open_calls`` trial calls go
through; if they all succeed it closes, if one fails it opens again for another period.

Breakers live in each process (the ``ylai alerts`` evaluator, the scheduler's listener, every
api-server worker): each sees the dependency from where it runs, and no shared store is needed
to decide (Redis, one of the guarded dependencies, could not be that store). Each process
publishes its breakers to ``ylai_breaker_state`` from a background thread when a state changes
(at most every :data:`PUBLISH_MIN_SECONDS`) and every :data:`HEARTBEAT_SECONDS`, so
``/monitor/dependencies`` shows every process's breakers; a row not refreshed for
:data:`STALE_SECONDS` belongs to a process that is gone and is not shown.

Use a breaker through :meth:`Breaker.guard` (or :meth:`Breaker.admit` and the ticket's
``success``/``failure`` where a block does not fit)::

    breaker = get_breaker("redis-rate-limit", dependency="redis")
    try:
        with breaker.guard(counts=lambda exc: isinstance(exc, redis.RedisError | OSError)):
            allowed = take_token_in_redis(...)
    except BreakerOpen:
        allowed = take_token_in_process(...)  # explicit degradation while Redis is away

Not ``pybreaker``: its ``CircuitBreaker.call`` holds one lock for the whole call, so concurrent
requests through a breaker would run one at a time; and its clock cannot be injected.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ylai_plugin import config

log = logging.getLogger(__name__)

State = Literal["closed", "open", "half-open"]
CLOSED: State = "closed"
OPEN: State = "open"
HALF_OPEN: State = "half-open"

PUBLISH_MIN_SECONDS = 2.0  # throttle: a flapping breaker writes its row at most this often
HEARTBEAT_SECONDS = 60.0  # every breaker's row is rewritten this often, so live processes stay listed
STALE_SECONDS = 3 * HEARTBEAT_SECONDS
FORGET_DAYS = 1  # rows of processes gone for this long are deleted

Clock = Callable[[], float]


class BreakerOpen(Exception):
    """The breaker ``name`` is open (or half-open with its trial calls taken): the call was not made."""

    def __init__(self, name: str, retry_at: float) -> None:
        self.name = name
        self.retry_at = retry_at  # epoch seconds: when a trial call may go through
        super().__init__(f"circuit breaker {name!r} is open; not called")

    @property
    def retry_at_datetime(self) -> datetime:
        """``retry_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.retry_at, UTC)


@dataclass(frozen=True)
class Snapshot:
    """A breaker's state and counters at one moment (times in epoch seconds)."""

    name: str
    dependency: str
    state: State
    consecutive_failures: int
    failures: int
    successes: int
    rejected: int
    times_opened: int
    last_failure_at: float | None
    last_error: str | None
    opened_at: float | None
    next_probe_at: float | None


class Ticket:
    """One admitted call: report its outcome exactly once with :meth:`success` or :meth:`failure`."""

    __slots__ = ("_breaker", "_done", "generation", "trial")

    def __init__(self, breaker: Breaker, generation: int, trial: bool) -> None:
        self._breaker = breaker
        self.generation = generation
        self.trial = trial
        self._done = False

    def success(self) -> bool:
        """The call succeeded; True when this closed the breaker (held-back work may go now)."""
        if self._done:
            return False
        self._done = True
        return self._breaker._finish(self, None)

    def failure(self, exc: BaseException) -> None:
        """The call failed because of the dependency."""
        if not self._done:
            self._done = True
            self._breaker._finish(self, exc)


class Breaker:
    """A closed / open / half-open circuit breaker, safe to share between threads.

    The lock is held only to update counters, never during the call itself.

    :param clock: epoch seconds (``time.time``): open and probe times are compared with the
        alert outbox's timestamps and shown across processes, so they are wall-clock times.
    :param on_change: called (outside the lock) after every state change.
    """

    def __init__(
        self,
        name: str,
        *,
        dependency: str,
        failure_threshold: int,
        open_seconds: float,
        half_open_calls: int,
        clock: Clock = time.time,
        on_change: Callable[[Breaker], None] | None = None,
    ) -> None:
        self.name = name
        self.dependency = dependency
        self.failure_threshold = max(1, failure_threshold)
        self.open_seconds = max(0.0, open_seconds)
        self.half_open_calls = max(1, half_open_calls)
        self.clock = clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._state: State = CLOSED
        self._generation = 0  # bumped on every state change: a late ticket no longer steers the state
        self._consecutive = 0
        self._trials_admitted = 0
        self._trials_ok = 0
        self._counts = {"failures": 0, "successes": 0, "rejected": 0, "times_opened": 0}
        self._last_failure_at: float | None = None
        self._last_error: str | None = None
        self._opened_at: float | None = None

    # --- state machine (callers hold the lock) ---

    def _move(self, state: State, now: float) -> None:
        self._state = state
        self._generation += 1
        self._trials_admitted = self._trials_ok = 0
        if state == OPEN:
            self._opened_at = now
            self._counts["times_opened"] += 1
        elif state == CLOSED:
            self._consecutive = 0

    def _refresh(self, now: float) -> bool:
        """Open -> half-open once the open period is over; True if that happened."""
        if self._state == OPEN and self._opened_at is not None and now >= self._opened_at + self.open_seconds:
            self._move(HALF_OPEN, now)
            return True
        return False

    def _next_probe(self, now: float) -> float | None:
        if self._state == OPEN and self._opened_at is not None:
            return self._opened_at + self.open_seconds
        if self._state == HALF_OPEN:  # trials are out: they decide soon, then held-back work is released
            return now + self.open_seconds
        return None

    # --- the public face ---

    @property
    def state(self) -> State:
        """The current state (an open breaker whose time is up reads as half-open)."""
        with self._lock:
            changed = self._refresh(self.clock())
            state = self._state
        if changed:
            self._changed()
        return state

    def admit(self) -> Ticket:
        """Let one call through, or raise :class:`BreakerOpen` (counted as rejected)."""
        with self._lock:
            now = self.clock()
            changed = self._refresh(now)
            ticket: Ticket | None = None
            retry_at = now
            if self._state == CLOSED:
                ticket = Ticket(self, self._generation, trial=False)
            elif self._state == HALF_OPEN and self._trials_admitted < self.half_open_calls:
                self._trials_admitted += 1
                ticket = Ticket(self, self._generation, trial=True)
            else:
                self._counts["rejected"] += 1
                retry_at = self._next_probe(now) or now
        if changed:
            self._changed()
        if ticket is None:
            raise BreakerOpen(self.name, retry_at)
        return ticket

    def _finish(self, ticket: Ticket, exc: BaseException | None) -> bool:
        closed = changed = False
        with self._lock:
            now = self.clock()
            current = ticket.generation == self._generation
            if exc is None:
                self._counts["successes"] += 1
                if current and self._state == CLOSED:
                    self._consecutive = 0
                elif current and self._state == HALF_OPEN and ticket.trial:
                    self._trials_ok += 1
                    if self._trials_ok >= self.half_open_calls:
                        self._move(CLOSED, now)
                        closed = changed = True
            else:
                self._counts["failures"] += 1
                self._last_failure_at = now
                self._last_error = type(exc).__name__  # the type only: messages may carry URLs with secrets
                if current and self._state == CLOSED:
                    self._consecutive += 1
                    if self._consecutive >= self.failure_threshold:
                        self._move(OPEN, now)
                        changed = True
                elif current and self._state == HALF_OPEN:
                    self._move(OPEN, now)
                    changed = True
        if changed:
            log.warning("ylai: circuit breaker %s %s", self.name, "closed" if closed else "opened")
            self._changed()
        else:
            _PUBLISHER.dirty()
        return closed

    @contextlib.contextmanager
    def guard(self, counts: Callable[[BaseException], bool] = lambda exc: True) -> Iterator[Ticket]:
        """Run the block as one call: an exception for which ``counts`` is true is a failure.

        Any other exception (a caller's own error, raised after the dependency answered) counts
        as a success of the dependency and is re-raised. Raises :class:`BreakerOpen` without
        running the block when the breaker does not let the call through.
        """
        ticket = self.admit()
        try:
            yield ticket
        except BaseException as exc:
            if isinstance(exc, Exception) and counts(exc):
                ticket.failure(exc)
            else:
                ticket.success()
            raise
        ticket.success()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` through the breaker; every exception counts as a failure."""
        with self.guard():
            return fn(*args, **kwargs)

    def snapshot(self) -> Snapshot:
        """The state and counters now."""
        with self._lock:
            now = self.clock()
            changed = self._refresh(now)
            snap = Snapshot(
                name=self.name,
                dependency=self.dependency,
                state=self._state,
                consecutive_failures=self._consecutive,
                failures=self._counts["failures"],
                successes=self._counts["successes"],
                rejected=self._counts["rejected"],
                times_opened=self._counts["times_opened"],
                last_failure_at=self._last_failure_at,
                last_error=self._last_error,
                opened_at=self._opened_at if self._state != CLOSED else None,
                next_probe_at=self._next_probe(now),
            )
        if changed:
            self._changed()
        return snap

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change(self)
            except Exception:
                log.exception("ylai: circuit breaker %s: state-change hook failed", self.name)


# ---------------------------------------------------------------- the process's breakers


def process_id() -> str:
    """The process as ``<host>:<pid>`` (the worker name the alert outbox records too)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def component() -> str:
    """What this process is, from its command line: ``airflow api-server``, ``ylai alerts`` ..."""
    argv = sys.argv or ["python"]
    words = [Path(argv[0]).name] + [a for a in argv[1:2] if not a.startswith("-")]
    return " ".join(words)[:64]


class _Registry:
    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.breakers: dict[str, Breaker] = {}


_REGISTRY = _Registry()


def _registry() -> _Registry:
    global _REGISTRY
    if _REGISTRY.pid != os.getpid():  # a forked child: its breakers are its own, as is its publisher
        _REGISTRY = _Registry(_REGISTRY.clock)
    return _REGISTRY


def get_breaker(name: str, *, dependency: str) -> Breaker:
    """The process's breaker ``name`` (created on first use with the ``[ylai] breaker_*`` options)."""
    registry = _registry()
    with registry.lock:
        breaker = registry.breakers.get(name)
        if breaker is None:
            breaker = registry.breakers[name] = Breaker(
                name,
                dependency=dependency,
                failure_threshold=config.BREAKER_FAILURE_THRESHOLD.get(),
                open_seconds=config.BREAKER_OPEN_SECONDS.get(),
                half_open_calls=config.BREAKER_HALF_OPEN_CALLS.get(),
                clock=registry.clock,
                on_change=lambda _b: _PUBLISHER.changed(),
            )
    _PUBLISHER.changed()
    return breaker


def all_breakers() -> list[Breaker]:
    """Every breaker of this process, by name."""
    registry = _registry()
    with registry.lock:
        return [registry.breakers[k] for k in sorted(registry.breakers)]


def reset(clock: Clock = time.time) -> None:
    """Forget every breaker of this process and use ``clock`` for new ones (tests)."""
    global _REGISTRY
    _REGISTRY = _Registry(clock)


# ---------------------------------------------------------------- publishing to ylai_breaker_state


def _dt(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def publish_now() -> int:
    """Write every breaker of this process to ``ylai_breaker_state``; return how many."""
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    from ylai_plugin.db.breaker_models import BreakerState

    snaps = [b.snapshot() for b in all_breakers()]
    if not snaps:
        return 0
    process, comp, now = process_id(), component(), datetime.now(UTC)
    with create_session() as session:
        rows = {
            r.name: r
            for r in session.scalars(
                select(BreakerState).where(
                    BreakerState.process == process, BreakerState.name.in_([s.name for s in snaps])
                )
            )
        }
        for snap in snaps:
            row = rows.get(snap.name) or BreakerState(process=process, name=snap.name)
            row.component = comp
            row.dependency = snap.dependency
            row.state = snap.state
            row.consecutive_failures = snap.consecutive_failures
            row.failures = snap.failures
            row.successes = snap.successes
            row.rejected = snap.rejected
            row.times_opened = snap.times_opened
            row.last_failure_at = _dt(snap.last_failure_at)
            row.last_error = snap.last_error
            row.opened_at = _dt(snap.opened_at)
            row.next_probe_at = _dt(snap.next_probe_at)
            row.updated_at = now
            session.add(row)
        session.execute(delete(BreakerState).where(BreakerState.updated_at < now - timedelta(days=FORGET_DAYS)))
    return len(snaps)


class _Publisher:
    """The background thread that writes this process's breakers: soon after a change, and as a heartbeat."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._dirty = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def dirty(self) -> None:
        """Counters moved: written with the next change or heartbeat."""
        self._dirty = True

    def changed(self) -> None:
        """A state changed (or a breaker appeared): write soon."""
        self._dirty = True
        self._ensure_thread()
        self._wake.set()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="ylai-breaker-publisher", daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def stop(self) -> None:
        """Let a write in progress finish, then end the thread (at exit, before Airflow disposes its engine)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        failing = False
        while True:
            self._wake.wait(HEARTBEAT_SECONDS)
            self._wake.clear()
            if self._stopping:
                return
            self._dirty = False
            try:
                publish_now()
                failing = False
            except Exception:  # the database may be the thing that is down: try again later
                if not failing:
                    log.warning("ylai: cannot publish circuit breaker states; retrying", exc_info=True)
                failing = True
            if self._stopping:
                return
            time.sleep(PUBLISH_MIN_SECONDS)


_PUBLISHER = _Publisher()


def states(session: Any, now: datetime | None = None) -> list[tuple[str, str, Snapshot, datetime]]:
    """Every breaker of every live process: (process, component, snapshot, updated_at).

    This process's breakers are read live; the others' from ``ylai_breaker_state``, leaving out
    processes that have not published for :data:`STALE_SECONDS`.
    """
    from sqlalchemy import select

    from ylai_plugin.db.breaker_models import BreakerState

    now = now or datetime.now(UTC)
    me = process_id()
    out = [(me, component(), b.snapshot(), now) for b in all_breakers()]
    rows = session.scalars(
        select(BreakerState)
        .where(BreakerState.updated_at >= now - timedelta(seconds=STALE_SECONDS), BreakerState.process != me)
        .order_by(BreakerState.process, BreakerState.name)
    )
    for row in rows:
        snap = Snapshot(
            name=row.name,
            dependency=row.dependency,
            state=row.state if row.state in (CLOSED, OPEN, HALF_OPEN) else CLOSED,
            consecutive_failures=row.consecutive_failures,
            failures=row.failures,
            successes=row.successes,
            rejected=row.rejected,
            times_opened=row.times_opened,
            last_failure_at=row.last_failure_at.timestamp() if row.last_failure_at else None,
            last_error=row.last_error,
            opened_at=row.opened_at.timestamp() if row.opened_at else None,
            next_probe_at=row.next_probe_at.timestamp() if row.next_probe_at else None,
        )
        # A published open breaker whose probe time passed is half-open by now (its process
        # moves it on its next call); say so rather than show a stale "open".
        if snap.state == OPEN and snap.next_probe_at is not None and snap.next_probe_at <= now.timestamp():
            snap = replace(snap, state=HALF_OPEN)
        out.append((row.process, row.component, snap, row.updated_at))
    return out


def settings() -> dict[str, Any]:
    """The ``[ylai] breaker_*`` options as this process reads them."""
    return {
        "failure_threshold": config.BREAKER_FAILURE_THRESHOLD.get(),
        "open_seconds": config.BREAKER_OPEN_SECONDS.get(),
        "half_open_calls": config.BREAKER_HALF_OPEN_CALLS.get(),
    }
