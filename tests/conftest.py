"""Session-wide test setup.

Unit tests get a private, throw-away ``AIRFLOW_HOME`` (SQLite) configured
*before* Airflow is imported, so they never touch a developer's ``.airflow``.
Integration tests start their own platforms with their own homes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="ylai-test-home-"))

os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# No background sampler threads writing to the unit tests' SQLite file.
os.environ["AIRFLOW__YLAI__SAMPLE_RESOURCES"] = "False"
# Nor a frozen garbage collector in the test process (tests/unit/ylai_plugin/api/test_gc_tuning.py tests it).
os.environ["AIRFLOW__YLAI__API_GC_FREEZE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
# Values from a developer's shell must not leak into unit tests.
for _key in ("YLAI_DATABASE_URL", "YLAI_BROKER_URL", "YLAI_PORT", "YLAI_ADMIN_PASSWORD"):
    os.environ.pop(_key, None)


REDIS_URL = os.environ.get("YLAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_service(name: str, url: str) -> None:
    """Skip when a service is not listening at ``url``; under ``CI=true``, fail instead."""
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
    """The tests' Redis (``YLAI_TEST_REDIS_URL``), once it is known to listen."""
    require_service("Redis", REDIS_URL)
    return REDIS_URL


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, a skipped test is a failure: real services must be there."""
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        names = ", ".join(r.nodeid for r in skipped)
        if reporter:
            reporter.write_line(f"CI=true: skipped tests count as failures: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the unit tests' SQLite metadata DB once per session; return its path."""
    from airflow.utils.db import initdb

    initdb()
    return _HOME / "airflow.db"


@pytest.fixture(autouse=True)
def _fresh_monitor_cache() -> None:
    """Start every test with empty in-process aggregate and list caches.

    /monitor/* and the /scripts stats are cached per process for their TTL; tests share one
    process (and one unit DB), so a value cached by an earlier test would stand in for the
    rows this test wrote. Only clears a cache that exists: importing it here would load Airflow.
    """
    for name in ("ylai_plugin.domain.cache", "ylai_plugin.domain.list_cache"):
        cache = getattr(sys.modules.get(name), "_cache", None)
        if cache is not None and cache.url is None:
            cache.clear()


# Which tests share a platform. `make test` runs pytest on two xdist workers: a session platform
# starts once in every worker that runs one of its tests, so all the tests on it go to one worker,
# and every other module is a group of its own (its module fixtures start once). xdist's own
# `--dist loadgroup` cannot carry this on pytest 9 (it rewrites a node id attribute pytest no longer
# reads), so each worker writes the groups it collected to a file and the controller's scheduler
# (a LoadScopeScheduling whose scope is that group) reads it.
PLATFORM_GROUPS = {"sqlite_platform": "sqlite-platform", "celery_platform": "celery-platform"}
# test_api_on_platform.py picks its platform by parameter (request.getfixturevalue).
PLATFORM_PARAMS = {"sqlite": "sqlite-platform", "postgres": "celery-platform"}
# Groups handed out first (the longest), so that they do not start last and leave one worker
# idle at the end; every other group follows in collection order.
FIRST_GROUPS = ("sqlite-platform", "celery-platform")
GROUPS_FILE = "ylai_test_groups"


def xdist_group(item: pytest.Item) -> str:
    """The group of tests that must run in the same worker as ``item``."""
    names = getattr(item, "fixturenames", ())
    for fixture, group in PLATFORM_GROUPS.items():
        if fixture in names:
            return group
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("platform") if callspec is not None else None
    if isinstance(param, str) and param in PLATFORM_PARAMS:
        return PLATFORM_PARAMS[param]
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(trylast=True)  # after the directories' own ordering, which the stable sort keeps per group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:  # one process: the collection order stays
        return
    groups = {item.nodeid: xdist_group(item) for item in items}
    first = {group: rank for rank, group in enumerate(FIRST_GROUPS)}
    items.sort(key=lambda item: first.get(groups[item.nodeid], len(FIRST_GROUPS)))
    if GROUPS_FILE in workerinput:
        path = Path(workerinput[GROUPS_FILE]) / f"{workerinput['workerid']}.json"
        path.write_text(json.dumps(groups))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker where to write the groups of the tests it collected."""
    node.workerinput[GROUPS_FILE] = str(_groups_dir(node.config))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadscope``, schedule by :func:`xdist_group` instead of by module or class."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    directory = _groups_dir(config)

    class PlatformGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once every worker has collected (schedule() runs then)
                self.groups = {}
                for found in directory.glob("*.json"):
                    self.groups.update(json.loads(found.read_text()))
            return self.groups.get(nodeid) or nodeid.split("::", 1)[0]

    return PlatformGroupScheduling(config, log)


def _groups_dir(config: pytest.Config) -> Path:
    """The controller's directory for the workers' group files (made once per session)."""
    found: Path | None = getattr(config, "_ylai_groups_dir", None)
    if found is None:
        found = Path(tempfile.mkdtemp(prefix="ylai-test-groups-"))
        config._ylai_groups_dir = found  # type: ignore[attr-defined]
    return found


def pytest_unconfigure(config: pytest.Config) -> None:
    found: Path | None = getattr(config, "_ylai_groups_dir", None)
    if found is not None:
        shutil.rmtree(found, ignore_errors=True)
