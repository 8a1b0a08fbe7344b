from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin.api.app import create_app
from ylai_plugin.domain import rate_limit

# The buckets themselves (in process and in Redis): tests/unit/ylai_plugin/domain/test_rate_limit.py.


@pytest.fixture
def tight_bucket() -> Iterator[None]:
    previous = rate_limit.set_limiter(rate_limit.RateLimiter(rate=0.5, burst=2))
    yield
    rate_limit.set_limiter(previous)


def test_429_with_retry_after_once_the_bucket_is_empty(airflow_db: object, tight_bucket: None) -> None:
    with TestClient(create_app(), headers=headers("viewer", "hasty")) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/api/v1/health").status_code == 200
        limited = client.get("/api/v1/health")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "2"
        assert limited.json()["error"]["code"] == "rate_limited"
        other = client.get("/api/v1/health", headers=headers("viewer", "patient"))
        assert other.status_code == 200
