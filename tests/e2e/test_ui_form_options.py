"""Live run-form options in Chromium (issue 20): a Postgres-backed cascade (database, then table) and a slow source.

As a user would: an Airflow connection to the machine's Postgres through Airflow's REST API, two
throwaway databases (one with two tables, one with another), and database scripts whose manifests
take their choices from SQL through that connection. On the Run page the table list follows the
chosen database, a table the new database lacks is cleared with a notice, and the run gets the
chosen values. A source slower than the time limit shows its message next to its field while the
rest of the form stays usable.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import require_service
from tests.e2e.conftest import Session, login, screenshot, wait_for_text
from tests.integration.conftest import POSTGRES_URL
from tests.integration.running_platform import RunningPlatform, postgres_database

CONN_ID = "e2e_form_options_pg"
PREFIX = "ylai_e2e_opts"  # the databases' names start with it (the database query lists those)
NAME = "e2e_db_tables"
DAG = f"script__{NAME}"
SLOW = "e2e_slow_options"
SLOW_DAG = f"script__{SLOW}"

# The script prints what it was given: the run's outputs are the chosen values.
CONTENT = """database=""
table=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --database) database="$2"; shift 2 ;;
    --table) table="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "chosen: $database / $table"
printf '{"database": "%s", "table": "%s"}\\n' "$database" "$table" > "$YLAI_RESULT_FILE"
"""

MANIFEST: dict[str, Any] = {
    "title": "E2E form options",
    "description": "A table of a database, both from live lists.",
    "params": {
        "database": {
            "type": "string",
            "title": "Database",
            "options_from": {
                "source": "sql",
                "conn_id": CONN_ID,
                # Only this module's databases: the server may hold other tests' ones.
                "query": "select datname from pg_database where starts_with(datname, 'ylai_e2e_opts') order by 1",
            },
        },
        "table": {
            "type": "string",
            "title": "Table",
            "depends_on": ["database"],
            "options_from": {
                "source": "sql",
                "conn_id": CONN_ID,
                "database_param": "database",
                "query": "select table_name from information_schema.tables where table_schema = 'public' order by 1",
            },
        },
    },
    "outputs": {"database": {"type": "string"}, "table": {"type": "string"}},
}

SLOW_MANIFEST: dict[str, Any] = {
    "title": "E2E slow options",
    "params": {
        "slow": {
            "type": "string",
            "title": "Slow choice",
            "options_from": {"source": "sql", "conn_id": CONN_ID, "query": "select pg_sleep(5)::text"},
        },
        "note": {"type": "string", "title": "Note"},
    },
}


@dataclass
class Databases:
    """The two throwaway databases: ``shop`` holds ``customers`` and ``orders``, ``hr`` holds ``people``."""

    shop: str
    hr: str


def _name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    require_service("PostgreSQL", POSTGRES_URL)
    import psycopg

    with contextlib.ExitStack() as stack:
        shop = stack.enter_context(postgres_database(POSTGRES_URL, f"{PREFIX}_shop"))
        hr = stack.enter_context(postgres_database(POSTGRES_URL, f"{PREFIX}_hr"))
        for url, tables in ((shop, ("orders", "customers")), (hr, ("people",))):
            with psycopg.connect(url, autocommit=True) as conn:
                for table in tables:
                    conn.execute(f"CREATE TABLE {table} (id integer primary key)")
        yield Databases(_name(shop), _name(hr))


@pytest.fixture(scope="module")
def scripts(platform: RunningPlatform, databases: Databases) -> None:
    """The Postgres connection (Airflow's REST API) and the two scripts (ylai's API), their DAGs parsed."""
    created = platform.create_postgres_connection(CONN_ID, POSTGRES_URL)
    assert created.status == 201, created.body[:500]
    for name, manifest in ((NAME, MANIFEST), (SLOW, SLOW_MANIFEST)):
        body = {"name": name, "runtime": "bash", "content": CONTENT, "manifest": manifest, "comment": "e2e"}
        made = platform.request("POST", "/ylai/api/v1/scripts", body)
        assert made.status == 201, made.body[:500]
    platform.wait_for_dag(DAG)
    platform.wait_for_dag(SLOW_DAG)


@pytest.fixture(scope="module")
def session(browser: Any, platform: RunningPlatform) -> Iterator[Session]:
    """A browser session of this module's own: the slow source's 503 is a console error other modules must not see."""
    own = login(browser, platform, platform.username, platform.password, "localStorage.setItem('i18nextLng', 'en')")
    yield own
    own.context.close()


def offered(page: Any, field: str) -> list[str]:
    """The values the open list of ``field`` offers."""
    values: list[str] = page.eval_on_selector_all(
        f'[data-testid="field-{field}-option"]', "els => els.map(e => e.dataset.value)"
    )
    return values


def pick(page: Any, field: str, value: str) -> None:
    """Choose ``value`` in a live field: open its list once it is ready, type to search, click the choice."""
    box = page.locator(f'[data-testid="field-{field}"]:not([disabled])')
    box.wait_for(timeout=60_000)
    box.click()
    box.fill(value)
    page.locator(f'[data-testid="field-{field}-option"][data-value="{value}"]').click()


def test_cascade_database_then_table_and_the_run_gets_them(
    session: Session, platform: RunningPlatform, databases: Databases, scripts: None
) -> None:
    page = session.page()
    session.goto(page, "run", f"?dag_id={DAG}")
    page.wait_for_selector('[data-testid="param-form"]', timeout=60_000)
    # the table waits for a database
    wait_for_text(page, '[data-testid="options-waiting-table"]', "Waiting for Database")
    assert page.locator('[data-testid="field-table"]').is_disabled()

    page.locator('[data-testid="field-database"]:not([disabled])').wait_for(timeout=60_000)
    page.click('[data-testid="field-database"]')
    assert {databases.shop, databases.hr} <= set(offered(page, "database"))
    pick(page, "database", databases.shop)
    page.locator('[data-testid="field-table"]:not([disabled])').wait_for(timeout=60_000)
    page.click('[data-testid="field-table"]')
    assert offered(page, "table") == ["customers", "orders"]
    pick(page, "table", "orders")
    screenshot(page, "form-options-cascade")

    # another database: its list lacks "orders", so the choice is cleared with a notice
    pick(page, "database", databases.hr)
    wait_for_text(page, '[data-testid="options-notice-table"]', "“orders” is no longer offered for Table")
    page.locator('[data-testid="field-table"]:not([disabled])').wait_for(timeout=60_000)
    page.click('[data-testid="field-table"]')
    assert offered(page, "table") == ["people"]
    page.keyboard.press("Escape")
    screenshot(page, "form-options-cleared")

    pick(page, "database", databases.shop)
    pick(page, "table", "orders")
    wait_for_text(page, '[data-testid="conf-preview"]', '"table": "orders"')
    preview = json.loads(page.inner_text('[data-testid="conf-preview"]'))
    assert preview == {"database": databases.shop, "table": "orders"}

    page.click('[data-testid="run-button"]')
    page.wait_for_selector('[data-testid="followed-run"]', timeout=60_000)
    run_id = page.inner_text('[data-testid="followed-run"]').strip()
    assert platform.wait_for_run(DAG, run_id) == "success", platform.tail()
    assert platform.xcom(DAG, run_id, NAME)["outputs"] == {"database": databases.shop, "table": "orders"}
    quoted = urllib.parse.quote(run_id, safe="")
    run = platform.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{quoted}").json()
    assert run["conf"] == {"database": databases.shop, "table": "orders"}
    assert not session.own_errors(), session.own_errors()


def test_a_slow_source_times_out_next_to_its_field(session: Session, platform: RunningPlatform, scripts: None) -> None:
    page = session.page()
    session.goto(page, "run", f"?dag_id={SLOW_DAG}")
    page.wait_for_selector('[data-testid="param-form"]', timeout=60_000)
    wait_for_text(page, '[data-testid="options-error-slow"]', "timed out", timeout=60_000)
    error = page.locator('[data-testid="options-error-slow"]')
    assert error.inner_text().startswith("The choices could not be loaded:")
    # next to its own field, with a retry
    field = page.locator(".y-field", has=error)
    assert "Slow choice" in field.locator("label").inner_text()
    assert field.locator('[data-testid="options-retry-slow"]').is_visible()
    # the rest of the form stays usable
    page.fill('[data-testid="field-note"]', "still usable")
    wait_for_text(page, '[data-testid="conf-preview"]', "still usable")
    assert page.locator('[data-testid="run-button"]').is_enabled()
    screenshot(page, "form-options-timeout")
    # a retry asks again and times out again: the message comes back
    with page.expect_response(lambda r: urllib.parse.urlsplit(r.url).path.endswith("/options/slow")) as answer:
        page.click('[data-testid="options-retry-slow"]')
    assert answer.value.status == 503
    wait_for_text(page, '[data-testid="options-error-slow"]', "timed out", timeout=60_000)
    only_the_slow_source = session.own_errors(lambda e: "/forms/" in e["url"] or "503" in e["text"])
    assert not only_the_slow_source, only_the_slow_source
