from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_client import headers
from ylai_plugin.api import security
from ylai_plugin.api.app import create_app
from ylai_plugin.api.security import TokenBucket


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take("u", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("u", now=0.0) == pytest.approx(0.5)
    assert bucket.take("other", now=0.0) == 0.0  # buckets are per user
    assert bucket.take("u", now=0.5) == 0.0
    assert bucket.take("u", now=0.5) > 0


@pytest.fixture
def tight_bucket() -> Iterator[None]:
    previous = security._bucket
    security._bucket = TokenBucket(rate=0.5, burst=2)
    yield
    security._bucket = previous


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
