"""Each api-server worker builds Airflow's Task Execution API before it serves (api/warmup.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import types
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from ylai_plugin.api import warmup


def test_each_worker_builds_the_execution_api_in_its_lifespan_before_the_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The api-server's shape: Airflow's root app and root lifespan (which enters the lifespan of
    # every mounted app, the Task Execution API's first, then the plugins'), ylai under /ylai.
    from airflow.api_fastapi.app import lifespan as airflow_root_lifespan
    from airflow.api_fastapi.execution_api.app import create_task_execution_api_app

    from ylai_plugin.api.app import create_app

    root = FastAPI(lifespan=airflow_root_lifespan)
    execution: Any = create_task_execution_api_app()
    root.mount("/execution", execution)
    root.mount("/ylai", create_app())
    monkeypatch.setitem(sys.modules, "airflow.api_fastapi.main", types.SimpleNamespace(app=root))
    assert warmup.root_app() is root
    # Cadwyn builds its versioned routers in the first request it gets (what stalled the worker).
    assert execution._cadwyn_initialized is False

    with TestClient(root) as client:
        assert execution._cadwyn_initialized is True  # built during start-up, before any request
        assert client.get("/execution/health/ping").status_code == 200


def _run(coro: Any) -> Any:
    # In a thread of its own: an earlier test of the session may leave an event loop running in
    # this one, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_without_an_execution_api_there_is_nothing_to_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "airflow.api_fastapi.main", raising=False)
    assert _run(warmup.warm_execution_api()) is False  # not in an api-server worker
    assert _run(warmup.warm_execution_api(FastAPI())) is False  # apps without /execution


def test_a_failing_warm_up_is_logged_and_does_not_stop_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("routes could not be built")

    root = FastAPI()
    root.routes.append(Mount("/execution", app=broken))
    with caplog.at_level(logging.WARNING, logger=warmup.__name__):
        assert _run(warmup.warm_execution_api(root)) is False
    assert "could not warm Airflow's Task Execution API" in caplog.text
