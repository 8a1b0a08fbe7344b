"""Fault injection (issue 16): a ``ylai run`` platform on a Postgres and a Redis of its own.

The tests here kill and stop services, so they never use the shared Postgres (5432) and Redis
(6379): :mod:`tests.faults.services` starts a dedicated cluster and server per module and stops
them afterwards, also when a test fails. Every test is marked ``integration`` and ``faults``
(``pytest -m faults`` runs just these). Under ``CI=true`` a missing binary is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.services import DedicatedPostgres, DedicatedRedis
from tests.integration.running_platform import RunningPlatform


def pytest_configure(config: pytest.Config) -> None:
    # Registered here rather than in pyproject.toml: the marker belongs to this directory.
    config.addinivalue_line("markers", "faults: fault injection on dedicated Postgres/Redis (tests/faults)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="module")
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    """A Postgres cluster of this module's own, with an empty ``ylai`` database."""
    pg = DedicatedPostgres()
    try:
        pg.init()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="module")
def dedicated_redis() -> Iterator[DedicatedRedis]:
    """A redis-server of this module's own."""
    redis = DedicatedRedis()
    try:
        redis.start()
        yield redis
    finally:
        redis.destroy()


@pytest.fixture(scope="module")
def fault_platform(
    tmp_path_factory: pytest.TempPathFactory, dedicated_postgres: DedicatedPostgres, dedicated_redis: DedicatedRedis
) -> Iterator[RunningPlatform]:
    """``ylai run`` in Postgres + Redis + Celery mode on the dedicated services, with its defaults.

    Nothing about fault handling is tuned here: the tests check what an operator gets.
    """
    home = tmp_path_factory.mktemp("faults") / "home"
    platform = RunningPlatform(
        home,
        {
            "YLAI_DATABASE_URL": dedicated_postgres.url,
            "YLAI_BROKER_URL": dedicated_redis.url,
            "YLAI_ADMIN_USERNAME": "ops",
            "YLAI_ADMIN_PASSWORD": "faults-test-pw",
        },
    )
    started = time.monotonic()
    platform.start()
    try:
        # Longer than RunningPlatform's default: on a machine busy with other test platforms the
        # first start (migrations of an empty database) has been seen to take more than 8 minutes.
        platform.wait_ready(timeout=900)
        print(f"\n[faults] ylai run ready in {time.monotonic() - started:.0f}s")
        yield platform
    finally:
        platform.kill()


@pytest.fixture
def platform(
    fault_platform: RunningPlatform, dedicated_postgres: DedicatedPostgres, dedicated_redis: DedicatedRedis
) -> RunningPlatform:
    """The module's platform, its services and its components up before each test.

    A fault test that fails in the middle of an outage may leave a service stopped, or the
    platform stopped by its own crash limit; that test has failed already, and the next one
    must still measure its own fault, so services are started and the platform restarted here.
    """
    dedicated_postgres.ensure_running()
    dedicated_redis.ensure_running()
    assert fault_platform.proc is not None
    if fault_platform.proc.poll() is not None:
        with fault_platform.log_path.open("a") as log:
            log.write(f"[tests/faults] ylai run had exited ({fault_platform.proc.returncode}); restarting it\n")
        fault_platform.start()
        fault_platform.wait_ready(timeout=900)
    from tests.faults.platform_checks import wait_all_components

    wait_all_components(fault_platform, timeout=180)
    return fault_platform
