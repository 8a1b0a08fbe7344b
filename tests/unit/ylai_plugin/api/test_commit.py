"""Write routes commit before they return (ylai_plugin.api.commit): the write lock is released in the route's thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from ylai_plugin.api.commit import commit_in_worker_thread


def test_a_sync_route_with_a_session_commits_in_its_own_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("create table t (v integer)"))
    seen: dict[str, Any] = {}

    def session_dep() -> Any:
        with Session(engine) as session:
            yield session
            # What the dependency's teardown finds: nothing left to commit.
            seen["open_at_teardown"] = session.in_transaction()

    app = FastAPI()

    @app.post("/write")
    def write(session: Any = Depends(session_dep)) -> dict[str, bool]:
        session.execute(text("insert into t values (1)"))
        seen["thread"] = threading.current_thread().name
        return {"ok": True}

    @app.get("/read")
    async def read() -> dict[str, bool]:  # an async route is left alone
        return {"ok": True}

    commit_in_worker_thread(app.routes)
    routes = {r.path: r for r in app.routes if isinstance(r, APIRoute)}
    assert hasattr(routes["/write"].dependant.call, "__wrapped__")
    assert not hasattr(routes["/read"].dependant.call, "__wrapped__")
    with TestClient(app) as client:
        assert client.post("/write").json() == {"ok": True}
    assert seen["open_at_teardown"] is False
    assert seen["thread"] != "MainThread"
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from t")).scalar() == 1


def test_every_ylai_write_route_with_a_session_is_wrapped() -> None:
    from ylai_plugin.api.app import create_app

    app = create_app()
    writes = [
        r
        for r in app.routes
        if isinstance(r, APIRoute)
        and r.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and r.dependant.call is not None
        and "session" in getattr(r.dependant.call, "__wrapped__", r.dependant.call).__code__.co_varnames
    ]
    assert writes, "no write route takes a session"
    assert all(hasattr(r.dependant.call, "__wrapped__") for r in writes)
