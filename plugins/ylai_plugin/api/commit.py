"""Write routes commit in the worker thread that ran them, not in the session dependency's teardown.

Airflow's ``SessionDep`` commits when its dependency is torn down, a step the event loop schedules
after the (sync) route has returned. On SQLite, Airflow's action logging of another request (a
trigger through ``/api/v2``) runs a blocking ``INSERT`` on the event loop itself and waits for
the write lock; a ylai write whose commit is still waiting for that loop then holds the lock:
both waited out SQLite's 60 s busy timeout, every component stalled and the trigger failed
(found with py-spy on the e2e platform). Committing before the route returns releases the lock
without the loop; on Postgres it is the same commit, a moment earlier.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def commit_in_worker_thread(routes: Iterable[BaseRoute]) -> None:
    """Have every sync route with a ``session`` parameter commit it before it returns."""
    for route in routes:
        if not isinstance(route, APIRoute) or route.dependant.call is None:
            continue
        call = route.dependant.call
        if inspect.iscoroutinefunction(call) or "session" not in inspect.signature(call).parameters:
            continue
        # The dependant (its parameters, resolved at definition) stays; only what it calls changes.
        route.dependant.call = _committing(call)


def _committing(call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def run(**values: Any) -> Any:
        result = call(**values)
        session = values.get("session")
        if session is not None and session.in_transaction():
            session.commit()
        return result

    return run
