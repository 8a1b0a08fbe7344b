"""ylai's migrations on a real, empty Postgres database match the ORM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import require_service
from tests.integration.conftest import POSTGRES_URL
from tests.unit.test_db_migrations import upgrade_with_migration_files


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    require_service("PostgreSQL", POSTGRES_URL)
    import psycopg2

    name = f"ylai_mig_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_migrations_match_the_orm_on_postgres(empty_postgres: str) -> None:
    assert upgrade_with_migration_files(empty_postgres) == []
