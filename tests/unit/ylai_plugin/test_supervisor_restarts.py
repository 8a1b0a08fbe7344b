"""Restarts of ``ylai run``'s components: backoff, waiting for dependencies, giving up, stopping.

Real child processes (small ``python -c`` programs that exit) and real sockets (a listening
socket for a dependency that answers, a closed port for one that does not); no mocks.
"""

from __future__ import annotations

import io
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.ylai_plugin.polling import wait_for
from ylai_plugin.supervisor import Dependency, RestartPolicy, Supervisor, sql_probe, tcp_probe

PY = sys.executable
# Small delays so that the tests are quick; the behaviour is the same as with the defaults.
FAST = RestartPolicy(initial_delay=0.05, factor=2.0, max_delay=0.2, jitter=0.0, stable_after=60.0)
# Restarts take a few backoffs and process starts; generous on a busy machine.
RESTARTS_WITHIN = 20.0


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Listener:
    """A real TCP server socket that accepts (and drops) connections on a fixed port."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.close()


def _dep(port: int, name: str = "broker") -> Dependency:
    return Dependency(name, f"127.0.0.1:{port}", tcp_probe("127.0.0.1", port, timeout=0.5), timeout=2.0)


def _sup(policy: RestartPolicy = FAST) -> Supervisor:
    return Supervisor(env=dict(os.environ), out=io.StringIO(), policy=policy, rng=random.Random(7))  # noqa: S311 - jitter


def _text(sup: Supervisor) -> str:
    assert isinstance(sup.out, io.StringIO)
    return sup.out.getvalue()


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _counting_child(path: Path, *, code: int = 1, sleep: float = 0.0) -> list[str]:
    """A component that appends a line to ``path`` each time it starts, then exits with ``code``."""
    return [
        PY,
        "-c",
        f"import sys, time; open({str(path)!r}, 'a').write('x\\n'); time.sleep({sleep}); sys.exit({code})",
    ]


class _Supervising:
    """Run ``supervise()`` in a thread; stop and join on exit."""

    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup
        self.result: list[object] = []
        self.thread = threading.Thread(target=lambda: self.result.append(sup.supervise(tick=0.05)), daemon=True)

    def __enter__(self) -> _Supervising:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sup.request_stop()
        self.thread.join(20)
        self.sup.stop(timeout=5)


class TestRestartPolicy:
    def test_delay_doubles_from_the_initial_delay_up_to_the_cap(self) -> None:
        policy = RestartPolicy(initial_delay=1.0, factor=2.0, max_delay=30.0, jitter=0.0)
        assert [policy.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]

    def test_a_huge_crash_count_stays_at_the_cap(self) -> None:
        assert RestartPolicy(jitter=0.0).delay(10_000) == 30.0

    def test_jitter_only_shortens_the_delay_and_spreads_it(self) -> None:
        policy = RestartPolicy(initial_delay=1.0, max_delay=30.0, jitter=0.25)
        rng = random.Random(1)  # noqa: S311 - jitter
        delays = [policy.delay(6, rng=rng) for _ in range(200)]
        assert all(22.5 <= d <= 30.0 for d in delays)
        assert len({round(d, 3) for d in delays}) > 50  # components crashing together spread out

    def test_defaults_are_the_documented_ones(self) -> None:
        policy = RestartPolicy()
        assert (policy.initial_delay, policy.factor, policy.max_delay) == (1.0, 2.0, 30.0)
        assert policy.stable_after == 120.0
        assert policy.max_healthy_crashes == 10


class TestDependency:
    def test_a_listening_socket_answers(self, listener: Listener) -> None:
        assert _dep(listener.port).answers()

    def test_a_closed_port_does_not_answer(self) -> None:
        assert not _dep(_closed_port()).answers()

    def test_a_hung_probe_is_cut_off_after_its_timeout(self) -> None:
        hang = threading.Event()
        dep = Dependency("frozen", "127.0.0.1:1", lambda: hang.wait(30), timeout=0.3)
        started = time.monotonic()
        assert not dep.answers()
        assert time.monotonic() - started < 10
        hang.set()

    def test_a_stop_request_ends_a_probe_at_once(self) -> None:
        hang, stopping = threading.Event(), threading.Event()
        stopping.set()
        dep = Dependency("frozen", "127.0.0.1:1", lambda: hang.wait(30), timeout=30)
        started = time.monotonic()
        assert not dep.answers(stopping=stopping)
        assert time.monotonic() - started < 10
        hang.set()

    def test_repr_holds_no_probe_and_no_url(self) -> None:
        dep = Dependency("metadata database", "db:5432", sql_probe("postgresql://u:s3cret@db:5432/x"))
        assert "s3cret" not in repr(dep)

    def test_sql_probe_on_a_closed_port_fails(self) -> None:
        dep = Dependency("metadata database", "x", sql_probe(f"postgresql://postgres@127.0.0.1:{_closed_port()}/x"))
        assert not dep.answers()

    def test_sql_probe_on_a_real_postgres_answers(self) -> None:
        from tests.conftest import require_service

        url = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        require_service("PostgreSQL", url)
        assert Dependency("metadata database", "x", sql_probe(url)).answers()


class TestWaitFor:
    def test_logs_once_and_returns_when_the_dependency_comes_up(self) -> None:
        sup = _sup()
        port = _closed_port()
        later: list[Listener] = []
        timer = threading.Timer(1.0, lambda: later.append(Listener(port)))
        timer.start()
        try:
            assert sup.wait_for([_dep(port)], interval=0.1)
        finally:
            timer.join()
            for srv in later:
                srv.close()
        out = _text(sup)
        assert out.count(f"waiting for broker (127.0.0.1:{port})") == 1
        assert f"broker (127.0.0.1:{port}) answers again" in out

    def test_returns_false_on_a_stop_request(self) -> None:
        sup = _sup()
        threading.Timer(0.3, sup.request_stop).start()
        started = time.monotonic()
        assert not sup.wait_for([_dep(_closed_port())], interval=0.1)
        assert time.monotonic() - started < 10

    def test_no_dependencies_means_no_wait(self) -> None:
        assert _sup().wait_for([])


class TestSupervise:
    def test_a_crashed_component_is_restarted_with_its_dependencies_up(
        self, tmp_path: Path, listener: Listener
    ) -> None:
        sup = _sup()
        starts = tmp_path / "starts"
        sup.start("flaky", _counting_child(starts, sleep=0.2), dependencies=[_dep(listener.port)])
        with _Supervising(sup):
            wait_for(lambda: _lines(starts) >= 3, timeout=RESTARTS_WITHIN)
        out = _text(sup)
        assert "flaky exited with code 1; restarting it in" in out
        assert "restarting flaky" in out
        assert "waiting for" not in out

    def test_while_a_dependency_is_down_it_waits_never_gives_up_and_restarts_once_back(self, tmp_path: Path) -> None:
        # One crash with healthy dependencies would be enough to give up; crashes during an
        # outage must not count, however long it lasts.
        sup = _sup(RestartPolicy(initial_delay=0.05, max_delay=0.1, jitter=0.0, max_healthy_crashes=1))
        port = _closed_port()
        starts = tmp_path / "starts"
        comp = sup.start("scheduler", _counting_child(starts), dependencies=[_dep(port, "metadata database")])
        with _Supervising(sup) as running:
            wait_for(lambda: f"waiting for metadata database (127.0.0.1:{port})" in _text(sup), timeout=RESTARTS_WITHIN)
            time.sleep(1.5)  # an outage: many ticks, no restart, no giving up
            assert running.thread.is_alive()
            assert _lines(starts) == 1
            assert comp.restart_at is not None
            srv = Listener(port)
            try:
                # Back: restarted, crashes with its dependency healthy, given up on.
                running.thread.join(20)
            finally:
                srv.close()
            assert running.result == [comp]
        out = _text(sup)
        assert out.count("waiting for metadata database") == 1
        assert "answers again" in out
        assert _lines(starts) == 2
        assert "crashed 1 times in a row while everything it needs answered, giving up" in out

    def test_gives_up_after_max_healthy_crashes_in_a_row(self, tmp_path: Path, listener: Listener) -> None:
        sup = _sup(RestartPolicy(initial_delay=0.02, max_delay=0.05, jitter=0.0, max_healthy_crashes=3))
        starts = tmp_path / "starts"
        comp = sup.start("broken", _counting_child(starts, code=3), dependencies=[_dep(listener.port)])
        with _Supervising(sup) as running:
            running.thread.join(30)
            assert running.result == [comp]
        assert _lines(starts) == 3
        assert "broken exited with code 3; it crashed 3 times in a row" in _text(sup)

    def test_a_stable_run_resets_the_crash_count(self, tmp_path: Path) -> None:
        # Each run lasts longer than stable_after: the count never reaches 2.
        sup = _sup(RestartPolicy(initial_delay=0.02, jitter=0.0, stable_after=0.2, max_healthy_crashes=2))
        starts = tmp_path / "starts"
        comp = sup.start("steady", _counting_child(starts, sleep=0.5))
        with _Supervising(sup) as running:
            wait_for(lambda: _lines(starts) >= 4, timeout=RESTARTS_WITHIN)
            assert running.thread.is_alive()
        assert comp.crashes <= 1

    def test_the_delay_grows_with_consecutive_crashes(self, tmp_path: Path) -> None:
        sup = _sup(RestartPolicy(initial_delay=0.05, factor=2.0, max_delay=0.4, jitter=0.0))
        starts = tmp_path / "starts"
        sup.start("crashy", _counting_child(starts))
        with _Supervising(sup):
            wait_for(lambda: _lines(starts) >= 5, timeout=RESTARTS_WITHIN)
        out = _text(sup)
        for delay in ("0.1 s", "0.2 s", "0.4 s"):
            assert f"restarting it in {delay}" in out

    def test_a_stop_request_during_a_long_backoff_returns_promptly(self, tmp_path: Path) -> None:
        sup = _sup(RestartPolicy(initial_delay=600.0, max_delay=600.0, jitter=0.0))
        sup.start("crashy", _counting_child(tmp_path / "starts"))
        running = _Supervising(sup)
        with running:
            wait_for(lambda: "restarting it in 600.0 s" in _text(sup), timeout=RESTARTS_WITHIN)
            started = time.monotonic()
            sup.request_stop()
            running.thread.join(10)
            assert not running.thread.is_alive()
            assert time.monotonic() - started < 10
        assert running.result == [None]

    def test_a_stop_request_while_waiting_for_a_dependency_returns_promptly(self, tmp_path: Path) -> None:
        sup = _sup()
        sup.start("worker", _counting_child(tmp_path / "starts"), dependencies=[_dep(_closed_port())])
        running = _Supervising(sup)
        with running:
            wait_for(lambda: "waiting for broker" in _text(sup), timeout=RESTARTS_WITHIN)
            started = time.monotonic()
            sup.request_stop()
            running.thread.join(10)
            assert time.monotonic() - started < 10
        assert running.result == [None]

    def test_other_components_keep_running_while_one_waits(self, tmp_path: Path, listener: Listener) -> None:
        sup = _sup()
        healthy = tmp_path / "healthy"
        sup.start("waiting", _counting_child(tmp_path / "w"), dependencies=[_dep(_closed_port())])
        sup.start("api", _counting_child(healthy, sleep=0.1), dependencies=[_dep(listener.port, "db")])
        with _Supervising(sup):
            wait_for(lambda: _lines(healthy) >= 3, timeout=RESTARTS_WITHIN)
        assert _lines(tmp_path / "w") == 1
