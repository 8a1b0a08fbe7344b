"""The Celery result backend ylai configures keeps the scheduler's database connection (issue 21).

Airflow's scheduler asks the result backend for the state of its running Celery tasks on every
loop; Celery's own database backend opened a new connection for each ask outside forked workers.
Checked against the machine's Postgres, in a fresh interpreter configured as ``ylai run`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.integration.conftest import POSTGRES_URL

SCRIPT = r"""
import json, os, sys
import psycopg2
from celery.result import AsyncResult
from airflow.providers.celery.executors import celery_executor_utils as utils

app = utils.app
backend = app.backend
backend.store_result("done-task", None, "SUCCESS")
fetcher = utils.BulkStateFetcher(1)
asked = [AsyncResult("done-task", app=app), AsyncResult("unknown-task", app=app)]
for _ in range(30):  # thirty scheduler loops
    states = fetcher.get_many(asked)
with psycopg2.connect(os.environ["ADMIN_URL"]) as admin, admin.cursor() as cur:
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (os.environ["DB_NAME"],))
    open_connections = cur.fetchone()[0]
    # The database drops the connection (a restart, an idle timeout): the next loop gets a new one.
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()", (os.environ["DB_NAME"],))
after_drop = fetcher.get_many(asked)["done-task"][0]
pid = os.fork()
if pid == 0:  # a forked child (the executor's send pool) asks, then exits normally
    ok = fetcher.get_many(asked)["done-task"][0] == "SUCCESS"
    sys.exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
after_fork = fetcher.get_many(asked)["done-task"][0]
print(json.dumps({
    "backend": type(backend).__name__,
    "states": {k: v[0] for k, v in states.items()},
    "engines": len(backend.session_manager._engines),
    "open_connections": open_connections,
    "after_drop": after_drop,
    "child_exit": os.waitstatus_to_exitcode(status),
    "parent_after_fork": after_fork,
}))
"""


def test_the_scheduler_keeps_one_pooled_connection_to_the_result_backend(empty_postgres: str) -> None:
    env = {
        **os.environ,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + empty_postgres.replace("postgresql://", "postgresql+psycopg://"),
        "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6379/7",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "ylai_plugin.monitoring.celery_config.CELERY_CONFIG",
        "ADMIN_URL": POSTGRES_URL,
        "DB_NAME": empty_postgres.rsplit("/", 1)[1],
    }
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["backend"] == "PooledDatabaseBackend"
    assert found["states"] == {"done-task": "SUCCESS", "unknown-task": "PENDING"}
    assert found["engines"] == 1
    assert found["open_connections"] == 1  # kept between loops (Celery's own backend: 0, one per ask)
    assert found["after_drop"] == "SUCCESS"  # a dropped connection is replaced, not an error for the scheduler
    assert found["child_exit"] == 0  # the child opened its own connection...
    assert found["parent_after_fork"] == "SUCCESS"  # ...and did not close the parent's
