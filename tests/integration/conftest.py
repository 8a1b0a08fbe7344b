"""Real services for integration tests: Postgres, Redis and ``ylai run`` platforms.

When ``CI=true`` a missing service fails the test; elsewhere it skips it.
The service addresses can be overridden with ``YLAI_TEST_POSTGRES_URL`` (a
superuser URL) and ``YLAI_TEST_REDIS_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.integration.running_platform import RunningPlatform, postgres_database
from tests.otlp_receiver import OtlpReceiver
from tests.sentry_receiver import SentryReceiver

POSTGRES_URL = os.environ.get("YLAI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# Its last test stops the shared celery_platform: every other module on that platform runs first.
CELERY_PLATFORM_STOPPER = "test_celery_platform.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
    _celery_platform_users_before_its_stopper(items)


def _celery_platform_users_before_its_stopper(items: list[pytest.Item]) -> None:
    """Move tests on ``celery_platform`` collected after the stopper module (by name) in front of it."""
    first = next((i for i, item in enumerate(items) if Path(str(item.fspath)).name == CELERY_PLATFORM_STOPPER), None)
    if first is None:
        return
    late = [
        item
        for item in items[first:]
        if Path(str(item.fspath)).name != CELERY_PLATFORM_STOPPER
        and "celery_platform" in getattr(item, "fixturenames", ())
    ]
    if late:
        rest = [item for item in items[first:] if item not in late]
        items[first:] = [*late, *rest]


@pytest.fixture(scope="session")
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new, empty Postgres database for this test session, dropped afterwards."""
    require_service("PostgreSQL", POSTGRES_URL)
    with postgres_database(POSTGRES_URL, "ylai_it") as url:
        yield url


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A brand-new, empty Postgres database for one test, dropped afterwards."""
    require_service("PostgreSQL", POSTGRES_URL)
    with postgres_database(POSTGRES_URL, "ylai_empty") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """``ylai run`` with nothing configured (SQLite + LocalExecutor), shared by the modules that need it."""
    with RunningPlatform(tmp_path_factory.mktemp("sqlite") / "home", {}).running() as p:
        yield p


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A real OTLP/HTTP trace receiver on 127.0.0.1 (tests/otlp_receiver.py) the celery platform exports to."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def sentry_receiver() -> Iterator[SentryReceiver]:
    """A real Sentry envelope endpoint on 127.0.0.1 (tests/sentry_receiver.py), the celery platform's SENTRY_DSN."""
    receiver = SentryReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def celery_platform(
    tmp_path_factory: pytest.TempPathFactory,
    fresh_postgres_url: str,
    redis_url: str,
    celery_queue: str,
    otlp_receiver: OtlpReceiver,
    sentry_receiver: SentryReceiver,
) -> Iterator[RunningPlatform]:
    """``ylai run`` on Postgres + Redis: CeleryExecutor, a real Celery worker, FAB auth, traces on, JSON logs.

    Shared by ``test_api_on_platform.py`` (its Postgres half), ``test_traces_platform.py`` and
    ``test_celery_platform.py``, whose last test stops it (the others run first: see
    ``pytest_collection_modifyitems``).
    """
    home = tmp_path_factory.mktemp("celery") / "home"
    platform = RunningPlatform(
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
            # Tracing on (docs: the standard OTEL_* variables; ylai run turns on Airflow's [traces]),
            # exported over OTLP/HTTP to the test's receiver; batches leave every 0.5 s, not 5 s.
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            # Sentry on (docs/sentry.md): ylai run turns on Airflow's [sentry] for tasks; the API reports too.
            "SENTRY_DSN": sentry_receiver.dsn(),
            # JSON logs (docs/logging.md), as the shipped Compose and Helm configs have them: the
            # Celery worker's lines are checked here (the alerts platform covers the evaluator).
            "YLAI_LOG_FORMAT": "json",
        },
    )
    with platform.running() as p:
        yield p


@pytest.fixture(scope="session")
def celery_queue() -> str:
    """A queue name no other worker on this Redis listens to."""
    return f"ylai-it-{uuid.uuid4().hex[:8]}"
