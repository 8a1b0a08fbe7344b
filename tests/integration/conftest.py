"""Real services for integration tests: Postgres, Redis and ``ylai run`` platforms.

When ``CI=true`` a missing service fails the test; elsewhere it skips it.
The service addresses can be overridden with ``YLAI_TEST_POSTGRES_URL`` (a
superuser URL) and ``YLAI_TEST_REDIS_URL``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.integration.running_platform import RunningPlatform

POSTGRES_URL = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("YLAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def _require(name: str, url: str) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=3):
            return
    except OSError as exc:
        message = f"{name} is not reachable at {parts.hostname}:{parts.port} ({exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    _require("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture(scope="session")
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new, empty Postgres database for this test session, dropped afterwards."""
    _require("PostgreSQL", POSTGRES_URL)
    import psycopg2

    name = f"ylai_it_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def sqlite_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """``ylai run`` with nothing configured (SQLite + LocalExecutor), shared by the modules that need it."""
    p = RunningPlatform(tmp_path_factory.mktemp("sqlite") / "home", {})
    p.start()
    try:
        p.wait_ready()
        yield p
    finally:
        p.kill()


@pytest.fixture(scope="session")
def celery_platform(
    tmp_path_factory: pytest.TempPathFactory, fresh_postgres_url: str, redis_url: str, celery_queue: str
) -> Iterator[RunningPlatform]:
    """``ylai run`` on Postgres + Redis: CeleryExecutor, a real Celery worker, FAB auth.

    Shared by ``test_api_on_platform.py`` (its Postgres half) and ``test_celery_platform.py``,
    whose last test stops it.
    """
    home = tmp_path_factory.mktemp("celery") / "home"
    p = RunningPlatform(
        home,
        {
            "YLAI_DATABASE_URL": fresh_postgres_url,
            "YLAI_BROKER_URL": redis_url,
            "YLAI_ADMIN_USERNAME": "ops",
            "YLAI_ADMIN_PASSWORD": "celery-test-pw",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": celery_queue,
            # Two api-server workers, as a deployment has: caches and statistics must hold
            # across processes (the list cache in Redis, its change counters in Postgres).
            "AIRFLOW__API__WORKERS": "2",
        },
    )
    p.start()
    try:
        p.wait_ready()
        yield p
    finally:
        p.kill()


@pytest.fixture(scope="session")
def celery_queue() -> str:
    """A queue name no other worker on this Redis listens to."""
    return f"ylai-it-{uuid.uuid4().hex[:8]}"
