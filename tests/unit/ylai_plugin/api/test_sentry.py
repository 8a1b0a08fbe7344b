"""Unhandled errors of ylai's API reach a real Sentry endpoint on 127.0.0.1 (docs/sentry.md).

The app is ylai's own (``create_app``, its lifespan initialises Sentry) plus one route that raises,
traced by OpenTelemetry's FastAPI instrumentation with a real SDK tracer provider: the event must
carry the request id the client got and the trace id of the request's server span, while the client
still gets the clean 500 envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.sentry_receiver import SentryReceiver, exception_values
from ylai_plugin.api import sentry as api_sentry
from ylai_plugin.api.app import create_app

SECRET_TOKEN = "Bearer very-secret-token-123"
SECRET_COOKIE = "_token=very-secret-cookie-456"


class BoomError(RuntimeError):
    """The forced bug."""


@pytest.fixture
def receiver() -> Iterator[SentryReceiver]:
    r = SentryReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def sentry_on(receiver: SentryReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryReceiver]:
    """Airflow's [sentry] section as `ylai run` writes it for SENTRY_DSN=<the receiver>."""
    monkeypatch.setenv("AIRFLOW__SENTRY__SENTRY_ON", "True")
    monkeypatch.setenv("AIRFLOW__SENTRY__SENTRY_DSN", receiver.dsn())
    api_sentry.close()
    yield receiver
    api_sentry.close()


def _app_with_a_bug() -> FastAPI:
    app = create_app()

    def boom() -> dict[str, Any]:
        # A local variable Sentry must not send (built at run time: the source lines are sent as context).
        held = "".join(reversed("987-terces-lacol"))
        raise BoomError(f"forced failure ({len(held)})")

    app.add_api_route("/api/v1/boom", boom, methods=["POST"])
    return app


def _post_boom(app: FastAPI) -> Any:
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.post(
            "/api/v1/boom?password=query-secret-000",
            headers={"Authorization": SECRET_TOKEN, "Cookie": SECRET_COOKIE, "X-Request-ID": "req-sentry-1"},
        )


def _is_boom(event: dict[str, Any]) -> bool:
    return any(v.startswith("BoomError") for v in exception_values(event))


def _assert_clean_500(resp: Any) -> None:
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error"
    assert "Traceback" not in resp.text
    assert "BoomError" not in resp.text


def test_an_unhandled_error_reaches_sentry_with_request_and_trace_ids(
    airflow_db: object, sentry_on: SentryReceiver
) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app_with_a_bug()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    try:
        resp = _post_boom(app)
    finally:
        FastAPIInstrumentor.uninstrument_app(app)

    _assert_clean_500(resp)
    assert resp.headers["X-Request-ID"] == "req-sentry-1"
    event = sentry_on.wait_for_event(_is_boom)
    assert event["tags"]["request_id"] == "req-sentry-1"
    server_spans = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert server_spans, "the instrumentation made no server span"
    assert event["tags"]["trace_id"] == format(server_spans[0].context.trace_id, "032x")
    assert event["tags"]["route"] == "POST /api/v1/boom"
    assert event["exception"]["values"][-1]["mechanism"]["handled"] is False
    assert event["request"]["method"] == "POST"
    # Secrets never reach Sentry: credential headers, the query string, local variables.
    raw = b"".join(env["raw"] for env in sentry_on.envelopes)
    for secret in (b"very-secret-token-123", b"very-secret-cookie-456", b"query-secret-000", b"local-secret-789"):
        assert secret not in raw
    assert not {"authorization", "cookie"} & {k.lower() for k in event["request"]["headers"]}
    assert "user" not in event
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames
    assert not any("vars" in frame for frame in frames)
    assert sentry_on.envelopes[0]["project"] == "1"
    assert "sentry_key=public" in sentry_on.envelopes[0]["auth"]


def test_without_tracing_the_event_has_the_request_id_only(airflow_db: object, sentry_on: SentryReceiver) -> None:
    with TestClient(_app_with_a_bug(), raise_server_exceptions=False) as client:
        resp = client.post("/api/v1/boom")  # no X-Request-ID: the API makes one, answers it, tags the event
    _assert_clean_500(resp)
    assert len(resp.headers.get_list("X-Request-ID")) == 1
    event = sentry_on.wait_for_event(_is_boom)
    assert event["tags"]["request_id"] == resp.headers["X-Request-ID"]
    assert "trace_id" not in event["tags"]


def test_sentry_is_initialised_once_per_process(airflow_db: object, sentry_on: SentryReceiver) -> None:
    with TestClient(_app_with_a_bug()):
        client = sentry_sdk.get_client()
        assert client.is_active()
        assert client.options["send_default_pii"] is False
        assert client.options["include_local_variables"] is False
    # A second app (a second lifespan) in the same process keeps the first client.
    with TestClient(_app_with_a_bug()):
        assert sentry_sdk.get_client() is client


def test_a_client_initialised_before_is_reused_not_replaced(
    airflow_db: object, receiver: SentryReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_sentry.close()
    monkeypatch.setenv("AIRFLOW__SENTRY__SENTRY_ON", "True")
    monkeypatch.setenv("AIRFLOW__SENTRY__SENTRY_DSN", "http://other@127.0.0.1:9/2")
    sentry_sdk.init(dsn=receiver.dsn(7), default_integrations=False)
    theirs = sentry_sdk.get_client()
    try:
        resp = _post_boom(_app_with_a_bug())
        _assert_clean_500(resp)
        assert sentry_sdk.get_client() is theirs
        event = receiver.wait_for_event(_is_boom)
        assert event["tags"]["request_id"] == "req-sentry-1"
        assert {env["project"] for env in receiver.envelopes} == {"7"}
    finally:
        theirs.close(timeout=5)
        sentry_sdk.get_global_scope().set_client(None)
        api_sentry.close()


def test_off_without_sentry_on(airflow_db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__SENTRY__SENTRY_ON", raising=False)
    monkeypatch.setenv("SENTRY_DSN", "http://public@127.0.0.1:9/1")
    api_sentry.close()
    try:
        resp = _post_boom(_app_with_a_bug())
        _assert_clean_500(resp)
        assert not sentry_sdk.get_client().is_active()
    finally:
        api_sentry.close()


def test_sentrys_own_scrubber_removes_credential_headers_too(sentry_on: SentryReceiver) -> None:
    """Beyond ylai dropping them: the client's default event scrubber (no PII) removes them as well."""
    assert api_sentry.init_sentry()
    event: dict[str, Any] = {"request": {"headers": {"authorization": SECRET_TOKEN, "cookie": SECRET_COOKIE}}}
    sentry_sdk.get_client().options["event_scrubber"].scrub_event(event)
    assert SECRET_TOKEN not in str(event)
    assert SECRET_COOKIE not in str(event)
