"""Point Airflow's ORM (the engine and the sessions ylai's API uses) at another database for a while."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def closed_port() -> int:
    """A local port nobody listens on (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_postgres_url() -> str:
    """A Postgres URL whose server is not there."""
    return f"postgresql://postgres@127.0.0.1:{closed_port()}/airflow"


@contextlib.contextmanager
def metadata_db_at(url: str) -> Iterator[None]:
    """Airflow's ``settings`` engine and sessions on ``url`` inside the block, as ``configure_orm`` makes them.

    The pool is Airflow's own (``pool_pre_ping`` on), so a test sees what the api-server sees.
    Afterwards the previous engine and sessions are back, untouched.
    """
    from airflow import settings

    names = ("SQL_ALCHEMY_CONN", "engine", "Session", "NonScopedSession", "async_engine", "AsyncSession")
    saved = {name: getattr(settings, name, None) for name in names}
    if saved["Session"] is not None:
        saved["Session"].remove()
    settings.SQL_ALCHEMY_CONN = url
    try:
        settings.configure_orm()  # type: ignore[no-untyped-call]
        yield
    finally:
        if settings.Session is not None:
            settings.Session.remove()
        if settings.engine is not None and settings.engine is not saved["engine"]:
            settings.engine.dispose()
        for name, value in saved.items():
            setattr(settings, name, value)
