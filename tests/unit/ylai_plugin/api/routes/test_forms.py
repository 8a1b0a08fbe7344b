"""``GET /forms/{dag_id}/options/{param}`` and the run-time check, on real sources.

The metadata sources (connections, variables, pools, DAGs) read the unit tests' SQLite DB; the
SQL source reads a throw-away database on the machine's Postgres (127.0.0.1:5432, user
postgres); the HTTP source asks a server started here; the script source runs a database script
as a process. ``table_snapshot`` (dags/scripts) is the repository's example.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.alert_receivers import free_port
from tests.conftest import require_service
from tests.http_receiver import QuietHandler, close, serve
from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin.api.app import create_app
from ylai_plugin.domain import access, form_options

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
EXAMPLE = "/api/v1/forms/script__table_snapshot/options"
INJECTION = "x'; drop table orders; --"


def _pg(sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def _set_connection(conn_id: str, conn_type: str, **fields: Any) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id == conn_id))
        session.add(Connection(conn_id=conn_id, conn_type=conn_type, **fields))


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A throw-away Postgres database with two tables, reached through ``ylai_example_pg``."""
    require_service("Postgres", PG)
    name = f"ylai_forms_{uuid.uuid4().hex[:8]}"
    _pg(f"create database {name}")
    _pg("create table orders (id int, placed date, total numeric); create table customers (id int, name text)", name)
    _pg("insert into orders values (1, '2026-01-01', 9.5)", name)
    yield name
    _pg(f"drop database if exists {name} with (force)")


@pytest.fixture(scope="module")
def client(airflow_db: object, shop: str) -> Iterator[TestClient]:
    # What Airflow's api-server sets (airflow/api_fastapi/main.py): hooks read connections from the metadata DB.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
        yield from _client()


def _client() -> Iterator[TestClient]:
    sync_repo_dags()
    _set_connection("ylai_example_pg", "postgres", host="127.0.0.1", port=5432, login="postgres", schema="postgres")
    form_options.reset()
    with TestClient(create_app(), headers=headers("op", "former")) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_options() -> Iterator[None]:
    form_options.reset()
    yield
    form_options.reset()


def _db_script(client: TestClient, name: str, content: str, params: dict[str, Any], runtime: str = "bash") -> str:
    """A database script with ``params`` (its manifest's); its DAG id."""
    body = {"name": name, "runtime": runtime, "content": content, "manifest": {"params": params}}
    resp = client.post("/api/v1/scripts", json=body)
    assert resp.status_code == 201, resp.text
    return f"script__{name}"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------- the SQL cascade


def test_a_database_then_one_of_its_tables_then_a_column(client: TestClient, shop: str) -> None:
    databases = client.get(f"{EXAMPLE}/database")
    assert databases.status_code == 200, databases.text
    answer = databases.json()
    assert (answer["param"], answer["truncated"], answer["cached"]) == ("database", False, False)
    assert {"value": shop, "label": shop} in answer["options"]
    assert client.get(f"{EXAMPLE}/database").json()["cached"] is True

    tables = client.get(f"{EXAMPLE}/table", params={"database": shop}).json()
    assert tables["options"] == [
        {"value": "public.customers", "label": "customers"},
        {"value": "public.orders", "label": "orders"},
    ]
    columns = client.get(f"{EXAMPLE}/order_by", params={"database": shop, "table": "public.orders"}).json()
    assert [o["value"] for o in columns["options"]] == ["id", "placed", "total"]
    # Another database: other tables (the value is the connection's database, not a cached answer).
    other = client.get(f"{EXAMPLE}/table", params={"database": "postgres"}).json()["options"]
    assert {"value": "public.orders", "label": "orders"} not in other


def test_a_missing_parent_value_is_422_naming_it(client: TestClient, shop: str) -> None:
    resp = client.get(f"{EXAMPLE}/order_by", params={"database": shop})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"] == [{"field": "order_by", "reason": "needs a value for table"}]


def test_injection_in_a_parent_value_stays_data(client: TestClient, shop: str) -> None:
    # As a bound parameter of the query: no row matches that "table" (a free value, never SQL).
    resp = client.get(f"{EXAMPLE}/order_by", params={"database": shop, "table": INJECTION})
    assert resp.status_code == 200, resp.text
    assert resp.json()["options"] == []
    # As the connection's database: only a database the database field offers is ever connected to.
    resp = client.get(f"{EXAMPLE}/table", params={"database": INJECTION})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"] == [
        {"field": "database", "reason": f"{INJECTION!r} is not one of the live options"}
    ]
    assert _pg("select count(*) from orders", shop) == [(1,)]


def test_the_query_runs_read_only(client: TestClient, shop: str) -> None:
    name = _unique("writer")
    query = "insert into customers values (2, 'mallory') returning name"
    options_from = {"source": "sql", "conn_id": "ylai_example_pg", "database_param": "db", "query": query}
    dag_id = _db_script(
        client,
        name,
        "echo hi\n",
        {"db": {"type": "string"}, "who": {"depends_on": ["db"], "options_from": options_from}},
    )
    resp = client.get(f"/api/v1/forms/{dag_id}/options/who", params={"db": shop})
    assert resp.status_code == 503, resp.text
    assert "read-only" in resp.json()["error"]["details"]["reason"]
    assert _pg("select count(*) from customers", shop) == [(0,)]


def test_a_source_that_is_down_is_503_with_retry_after(client: TestClient) -> None:
    _set_connection("ylai_forms_dead", "postgres", host="127.0.0.1", port=free_port(), login="postgres")
    name = _unique("dead")
    options_from = {"source": "sql", "conn_id": "ylai_forms_dead", "query": "select 1"}
    dag_id = _db_script(client, name, "echo hi\n", {"pick": {"options_from": options_from}})
    resp = client.get(f"/api/v1/forms/{dag_id}/options/pick")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"].isdigit()
    details = resp.json()["error"]["details"]
    assert details == {"field": "pick", "source": "sql", "reason": details["reason"]}
    assert details["reason"].startswith("connection refused")


# ----------------------------------------------------------------------------- metadata sources


def test_connections_variables_pools_and_dags(client: TestClient) -> None:
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    _set_connection("ylai_forms_http", "http", host="example.com")
    Variable.set("forms_region_eu", "x")
    Variable.set("forms_region_us", "y")
    Variable.set("other_thing", "z")
    with create_session() as session:
        if session.get(Pool, 1) is None or not session.query(Pool).filter(Pool.pool == "forms_pool").count():
            session.add(Pool(pool="forms_pool", slots=2, include_deferred=False))
    params = {
        "conn": {"options_from": {"source": "connections", "conn_type": "http"}},
        "var": {"options_from": {"source": "variables", "prefix": "forms_region_"}},
        "pool": {"options_from": {"source": "pools"}},
        "dag": {"options_from": {"source": "dags", "tag": "forms"}},
        "any_dag": {"options_from": {"source": "dags"}},
    }
    dag_id = _db_script(client, _unique("meta"), "echo hi\n", params)

    def values(param: str) -> list[Any]:
        resp = client.get(f"/api/v1/forms/{dag_id}/options/{param}")
        assert resp.status_code == 200, resp.text
        return [o["value"] for o in resp.json()["options"]]

    http_connections = values("conn")
    assert "ylai_forms_http" in http_connections
    assert "ylai_example_pg" not in http_connections
    assert values("var") == ["forms_region_eu", "forms_region_us"]
    assert {"default_pool", "forms_pool"} <= set(values("pool"))
    assert values("dag") == ["script__table_snapshot"]
    assert {"script__disk_usage", "script__table_snapshot"} <= set(values("any_dag"))


class OnlyDisk:
    """An auth manager that lets the caller read ``script__disk_usage`` and ``script__table_snapshot`` only."""

    readable = frozenset({"script__disk_usage", "script__table_snapshot"})

    def is_authorized_dag(self, *, method: str, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        return details is not None and details.id in self.readable

    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        return set(self.readable)

    def is_authorized_custom_view(self, **kw: Any) -> bool:
        return True


def test_permissions_403_and_the_dags_source_lists_only_readable_dags(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag_id = _db_script(client, _unique("perm"), "echo hi\n", {"dag": {"options_from": {"source": "dags"}}})
    monkeypatch.setattr(access, "auth_manager", lambda: OnlyDisk())
    denied = client.get(f"/api/v1/forms/{dag_id}/options/dag")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert client.get(f"{EXAMPLE}/pool").status_code == 200
    # The same param, through a DAG the caller may read, lists only what it may read.
    OnlyDisk.readable = frozenset({*OnlyDisk.readable, dag_id})
    listed = client.get(f"/api/v1/forms/{dag_id}/options/dag").json()["options"]
    # Only the two parsed DAGs it may read (the database script's DAG is not parsed here).
    assert [o["value"] for o in listed] == ["script__disk_usage", "script__table_snapshot"]


def test_unknown_dag_or_param_is_404(client: TestClient) -> None:
    for path in (
        "/api/v1/forms/script__no_such_script/options/x",
        "/api/v1/forms/script__disk_usage/options/top",
        f"{EXAMPLE}/nope",
        "/api/v1/forms/some_plain_dag/options/x",
    ):
        resp = client.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["error"]["message"]


# ----------------------------------------------------------------------------- HTTP and script sources


class Regions(QuietHandler):
    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path == "/slow":
            time.sleep(3)
        cloud = query.get("cloud", ["?"])[0]
        items = [{"id": f"{cloud}-1", "name": f"{cloud} one"}, {"id": f"{cloud}-2", "name": f"{cloud} two"}]
        self.answer(200, json.dumps({"data": {"items": items}}).encode())


@pytest.fixture(scope="module")
def regions() -> Iterator[int]:
    port = free_port()
    server = serve(Regions, port)
    yield port
    close(server)


def _http_script(client: TestClient, port: int, endpoint: str = "/regions") -> str:
    _set_connection("ylai_forms_api", "http", host="127.0.0.1", port=port, schema="http")
    options_from = {
        "source": "http",
        "conn_id": "ylai_forms_api",
        "endpoint": endpoint,
        "values": "data.items.id",
        "labels": "data.items.name",
    }
    params = {"cloud": {"type": "string"}, "region": {"depends_on": ["cloud"], "options_from": options_from}}
    return _db_script(client, _unique("http"), "echo hi\n", params)


def test_http_source_passes_parents_as_query_parameters(client: TestClient, regions: int) -> None:
    dag_id = _http_script(client, regions)
    resp = client.get(f"/api/v1/forms/{dag_id}/options/region", params={"cloud": "a&b=c"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["options"] == [
        {"value": "a&b=c-1", "label": "a&b=c one"},
        {"value": "a&b=c-2", "label": "a&b=c two"},
    ]


def test_a_slow_source_times_out_with_the_reason(
    client: TestClient, regions: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__FORM_OPTIONS_TIMEOUT", "1")
    dag_id = _http_script(client, regions, "/slow")
    started = time.monotonic()
    resp = client.get(f"/api/v1/forms/{dag_id}/options/region", params={"cloud": "x"})
    assert time.monotonic() - started < 2.5
    assert resp.status_code == 503
    assert resp.json()["error"]["details"] == {"field": "region", "source": "http", "reason": "timed out after 1 s"}
    assert "timed out after 1 s" in resp.json()["error"]["message"]


SCRIPT = """#!/bin/bash
# Called with --cloud <value>: prints the clusters of that cloud as JSON options.
cloud="$2"
printf '[{"value": "%s-a", "label": "A"}, "%s-b"]' "$cloud" "$cloud"
"""


def test_script_source_prints_the_options(client: TestClient) -> None:
    lister = _unique("clusters")
    _db_script(client, lister, SCRIPT, {"cloud": {"type": "string"}})
    options_from = {"source": "script", "script": lister}
    params = {"cloud": {"type": "string"}, "cluster": {"depends_on": ["cloud"], "options_from": options_from}}
    dag_id = _db_script(client, _unique("uses"), "echo hi\n", params)
    resp = client.get(f"/api/v1/forms/{dag_id}/options/cluster", params={"cloud": "$(touch /tmp/pwned)"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["options"] == [
        {"value": "$(touch /tmp/pwned)-a", "label": "A"},
        {"value": "$(touch /tmp/pwned)-b", "label": "$(touch /tmp/pwned)-b"},
    ]


def test_a_slow_script_is_stopped(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__FORM_OPTIONS_TIMEOUT", "0.5")
    lister = _unique("sleepy")
    _db_script(client, lister, "sleep 30\necho '[]'\n", {})
    dag_id = _db_script(
        client, _unique("waits"), "echo hi\n", {"x": {"options_from": {"source": "script", "script": lister}}}
    )
    resp = client.get(f"/api/v1/forms/{dag_id}/options/x")
    assert resp.status_code == 503
    assert resp.json()["error"]["details"]["reason"] == "timed out after 0.5 s"


# ----------------------------------------------------------------------------- at run time


def test_a_run_with_a_value_not_in_the_live_options_is_422(client: TestClient, shop: str) -> None:
    bad = client.post("/api/v1/scripts/table_snapshot/run", json={"params": {"database": shop, "table": "public.nope"}})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"] == [
        {"field": "params.table", "reason": "'public.nope' is not one of the live options"}
    ]
    injected = client.post(
        "/api/v1/scripts/table_snapshot/run", json={"params": {"database": shop, "table": INJECTION}}
    )
    assert injected.status_code == 422
    ok = client.post(
        "/api/v1/scripts/table_snapshot/run",
        json={"params": {"database": shop, "table": "public.orders", "order_by": "total"}},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["conf"]["table"] == "public.orders"


def test_a_task_run_is_checked_with_its_saved_params(client: TestClient, shop: str) -> None:
    task = client.post(
        "/api/v1/tasks",
        json={
            "name": _unique("snap"),
            "script": "table_snapshot",
            "params": {"database": shop, "table": "public.orders"},
        },
    )
    assert task.status_code == 201, task.text
    run = client.post(f"/api/v1/tasks/{task.json()['id']}/run", json={"params": {"order_by": "no_such_column"}})
    assert run.status_code == 422, run.text
    assert run.json()["error"]["details"][0]["field"] == "params.order_by"


def test_a_run_while_the_source_is_down_is_503(client: TestClient, shop: str) -> None:
    _set_connection("ylai_example_pg", "postgres", host="127.0.0.1", port=free_port(), login="postgres")
    try:
        resp = client.post(
            "/api/v1/scripts/table_snapshot/run", json={"params": {"database": shop, "table": "public.orders"}}
        )
        assert resp.status_code == 503, resp.text
        assert resp.json()["error"]["details"]["field"] == "params.database"
    finally:
        _set_connection("ylai_example_pg", "postgres", host="127.0.0.1", port=5432, login="postgres", schema="postgres")


def test_a_pipeline_run_is_checked_against_its_params_live_options(client: TestClient) -> None:
    from airflow.models.variable import Variable

    Variable.set("forms_zone_a", "1")
    name = _unique("zones")
    spec = {
        "name": name,
        "params": {"zone": {"required": True, "options_from": {"source": "variables", "prefix": "forms_zone_"}}},
        "nodes": {"usage": {"script": "disk_usage", "params": {"top": 2}}},
    }
    created = client.post("/api/v1/pipelines", json={"spec": spec})
    assert created.status_code == 201, created.text
    try:
        options = client.get(f"/api/v1/forms/pipeline__{name}/options/zone").json()["options"]
        assert options == [{"value": "forms_zone_a", "label": "forms_zone_a"}]
        resp = client.post(f"/api/v1/pipelines/{name}/run", json={"params": {"zone": "forms_zone_b"}})
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"] == [
            {"field": "params.zone", "reason": "'forms_zone_b' is not one of the live options"}
        ]
    finally:
        client.delete(f"/api/v1/pipelines/{name}")


def test_a_long_list_is_cut_at_1000_and_says_so(client: TestClient) -> None:
    options_from = {
        "source": "sql",
        "conn_id": "ylai_example_pg",
        "query": "select n, 'row ' || n from generate_series(1, 1500) n",
    }
    dag_id = _db_script(client, _unique("long"), "echo hi\n", {"n": {"type": "integer", "options_from": options_from}})
    answer = client.get(f"/api/v1/forms/{dag_id}/options/n").json()
    assert answer["truncated"] is True
    assert len(answer["options"]) == 1000
    assert answer["options"][0] == {"value": 1, "label": "row 1"}
