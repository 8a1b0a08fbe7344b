"""Traces of ylai's API and features, in process, on an SDK tracer provider with an in-memory exporter.

With ``[traces] otel_on`` the api-server has Airflow's global tracer provider; here a module
fixture sets one (Airflow's id generator, an ``InMemorySpanExporter``) as the global provider and
restores the previous one afterwards. Checked: the server span of a route (name, user, status),
the ``traceparent`` answer header, a run triggered through the API joining the request's trace
(Airflow's own ``dag_run`` and ``task_run`` spans emitted from its carriers), spans of an alert
delivery to a real local HTTP receiver and of an export job. Tracing off: ``test_tracing_off.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util._once import Once

from tests.alert_receivers import SlackReceiver, slack_connection
from tests.unit.api_client import headers, sync_repo_dags
from ylai_plugin import tracing
from ylai_plugin.api.app import create_app

SCRIPT = "disk_usage"
DAG = f"script__{SCRIPT}"
# Modules that keep a module-level tracer: a ProxyTracer sticks to the first provider it saw,
# so they get this module's provider explicitly (another test may have set one before).
AIRFLOW_TRACER_MODULES = (
    "airflow._shared.observability.traces",
    "airflow.models.dagrun",
    "airflow.api_fastapi.execution_api.routes.task_instances",
)


def _set_global_provider(provider: Any) -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@pytest.fixture(scope="module")
def exporter(airflow_db: object) -> Iterator[InMemorySpanExporter]:
    import importlib

    from airflow._shared.observability.traces import OverrideableRandomIdGenerator
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    sync_repo_dags()
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW__TRACES__OTEL_ON", "True")
    tracing.is_on.cache_clear()
    memory = InMemorySpanExporter()
    provider = TracerProvider(id_generator=OverrideableRandomIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    previous = trace._TRACER_PROVIDER
    _set_global_provider(provider)
    for name in AIRFLOW_TRACER_MODULES:
        patch.setattr(importlib.import_module(name), "tracer", provider.get_tracer(name))
    try:
        yield memory
    finally:
        HTTPXClientInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
        _set_global_provider(previous)
        patch.undo()
        tracing.is_on.cache_clear()
        provider.shutdown()


@pytest.fixture(scope="module")
def client(exporter: InMemorySpanExporter) -> Iterator[TestClient]:
    with TestClient(create_app(), headers=headers("op", "tracy")) as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_spans(request: pytest.FixtureRequest) -> None:
    if "exporter" in request.fixturenames:
        request.getfixturevalue("exporter").clear()


def _server_span(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == trace.SpanKind.SERVER]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def _ids(traceparent: str) -> tuple[str, str, str]:
    _, trace_id, span_id, flags = traceparent.split("-")
    return trace_id, span_id, flags


def test_server_span_is_named_by_route_with_user_and_status(client: TestClient, exporter: InMemorySpanExporter) -> None:
    resp = client.get(f"/api/v1/scripts/{SCRIPT}", headers={"X-Request-ID": "req-trace-1"})
    assert resp.status_code == 200, resp.text
    span = _server_span(exporter.get_finished_spans(), "GET /api/v1/scripts/{name}")
    attrs = dict(span.attributes or {})
    assert attrs["http.route"] == "/api/v1/scripts/{name}"
    assert attrs.get("http.status_code", attrs.get("http.response.status_code")) == 200
    assert (attrs["enduser.id"], attrs["user.name"]) == ("tracy", "tracy")
    # The answer names its server span; X-Request-ID still works beside it.
    assert resp.headers["X-Request-ID"] == "req-trace-1"
    trace_id, span_id, flags = _ids(resp.headers["traceparent"])
    assert (trace_id, span_id) == (
        trace.format_trace_id(span.context.trace_id),
        trace.format_span_id(span.context.span_id),
    )
    assert int(flags, 16) & 0x01  # sampled


def test_a_callers_traceparent_is_continued_and_errors_carry_their_status(
    client: TestClient, exporter: InMemorySpanExporter
) -> None:
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    resp = client.get("/api/v1/scripts/no_such_script", headers={"traceparent": caller})
    assert resp.status_code == 404
    span = _server_span(exporter.get_finished_spans(), "GET /api/v1/scripts/{name}")
    assert trace.format_trace_id(span.context.trace_id) == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert trace.format_span_id(span.parent.span_id) == "b7ad6b7169203331"
    attrs = dict(span.attributes or {})
    assert attrs.get("http.status_code", attrs.get("http.response.status_code")) == 404
    assert _ids(resp.headers["traceparent"])[0] == "0af7651916cd43dd8448eb211c80319c"


def test_static_assets_are_not_traced(client: TestClient, exporter: InMemorySpanExporter) -> None:
    client.get("/static/does-not-exist.js")
    assert not [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]


def test_run_triggered_through_the_api_joins_the_request_trace(
    client: TestClient, exporter: InMemorySpanExporter
) -> None:
    from airflow.api_fastapi.execution_api.routes.task_instances import _emit_task_span
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    resp = client.post(f"/api/v1/scripts/{SCRIPT}/run", json={"params": {"top": 3}})
    assert resp.status_code == 201, resp.text
    request_span = _server_span(exporter.get_finished_spans(), "POST /api/v1/scripts/{name}/run")
    trace_id = trace.format_trace_id(request_span.context.trace_id)
    assert resp.json()["trace_id"] == trace_id
    assert _ids(resp.headers["traceparent"])[0] == trace_id
    run_id = resp.json()["run_id"]
    # The run's view, read again, names the same trace (the Run page links it).
    assert client.get(f"/api/v1/runs/{DAG}/{run_id}").json()["trace_id"] == trace_id
    assert client.get(f"/api/v1/runs/{DAG}/no_such_run").status_code == 404

    propagator = TraceContextTextMapPropagator()
    exporter.clear()
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == DAG, DagRun.run_id == run_id))
        assert run is not None
        run_ctx = trace.get_current_span(propagator.extract(run.context_carrier)).get_span_context()
        assert run_ctx.trace_id == request_span.context.trace_id
        assert run_ctx.span_id != request_span.context.span_id  # a fresh id: the dag_run span's
        assert run_ctx.trace_flags.sampled
        tis = list(
            session.scalars(select(TaskInstance).where(TaskInstance.dag_id == DAG, TaskInstance.run_id == run_id))
        )
        assert tis
        for ti in tis:
            ti_ctx = trace.get_current_span(propagator.extract(ti.context_carrier)).get_span_context()
            assert ti_ctx.trace_id == run_ctx.trace_id
            assert ti_ctx.span_id != run_ctx.span_id
            assert ti_ctx.trace_flags.sampled
        # Airflow's own spans, emitted from those carriers as the scheduler and the execution API do.
        run._emit_dagrun_span(DagRunState.SUCCESS)
        for ti in tis:
            _emit_task_span(ti, TaskInstanceState.SUCCESS)  # type: ignore[no-untyped-call]
    spans = {s.name: s for s in exporter.get_finished_spans()}
    dag_run = spans[f"dag_run.{DAG}"]
    task = spans[f"task_run.{SCRIPT}"]
    assert dag_run.context.trace_id == task.context.trace_id == request_span.context.trace_id
    assert dag_run.context.span_id == run_ctx.span_id
    # Airflow 3.3.2 forces the dag_run span to be a root (apache/airflow#67210); its tasks nest under it.
    assert dag_run.parent is None
    assert task.parent is not None
    assert task.parent.span_id == dag_run.context.span_id


@pytest.fixture
def failed_run(exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlackReceiver, str]]:
    """A failed run of ``DAG`` with a run_failed rule to Slack and a webhook on a real local receiver."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType
    from sqlalchemy import delete

    from ylai_plugin.alerts.schemas import RuleBody
    from ylai_plugin.db.alert_models import Alert, AlertDelivery, AlertDeliveryAttempt, AlertLease, AlertRule

    tracing.instrument_clients()
    receiver = SlackReceiver()
    receiver.start()
    monkeypatch.setenv("AIRFLOW_CONN_YLAI_SLACK", slack_connection(receiver))
    run_id = f"manual__trace_{uuid.uuid4().hex[:8]}"
    try:
        body = RuleBody.model_validate(
            {
                "name": f"traced {uuid.uuid4().hex[:6]}",
                "condition": {"type": "run_failed"},
                "scope": {"dag_ids": [DAG]},
                "channels": [{"type": "slack", "target": "#ops"}, {"type": "webhook", "target": receiver.webhook_url}],
            }
        ).model_dump(mode="json")
        now = datetime.now(UTC)
        with create_session() as session:
            session.add(AlertRule(**body, condition_type="run_failed", source="api", created_by="test"))
            run = DagRun(
                dag_id=DAG,
                run_id=run_id,
                run_type=DagRunType.MANUAL,
                state=DagRunState.FAILED,
                start_date=now - timedelta(minutes=1),
                run_after=now - timedelta(minutes=1),
            )
            run.end_date = now
            session.add(run)
        exporter.clear()
        yield receiver, run_id
    finally:
        receiver.stop()
        with create_session() as session:
            for model in (AlertDeliveryAttempt, AlertDelivery, Alert, AlertRule, AlertLease):
                session.execute(delete(model))
            session.execute(delete(DagRun).where(DagRun.run_id == run_id))


def _deliveries(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {str(dict(s.attributes or {})["ylai.alert.channel"]): s for s in spans if s.name == "ylai.alert.deliver"}


def test_alert_delivery_spans_to_a_real_receiver(
    exporter: InMemorySpanExporter, failed_run: tuple[SlackReceiver, str]
) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.alerts import evaluator, events
    from ylai_plugin.db.alert_models import AlertLease

    receiver, run_id = failed_run
    events.handle_run_failed(DAG, run_id)
    assert len(receiver.messages()) == 1
    assert len(receiver.messages("/webhook")) == 1
    spans = exporter.get_finished_spans()
    delivers = _deliveries(spans)
    assert set(delivers) == {"slack", "webhook"}
    assert all(s.parent is None for s in delivers.values())  # no current span here: a trace of its own
    slack_call = next(s for s in spans if s.name == "slack.chat.postMessage")
    assert slack_call.kind == trace.SpanKind.CLIENT
    _assert_child_of(slack_call, delivers["slack"])
    # The webhook's POST, through the httpx instrumentation, is a child of its delivery.
    (http_call,) = [
        s
        for s in spans
        if s.kind == trace.SpanKind.CLIENT and s.parent and s.parent.span_id == delivers["webhook"].context.span_id
    ]
    assert http_call.name == "POST"
    assert str(dict(http_call.attributes or {}).get("url.full", dict(http_call.attributes or {}).get("http.url")))
    # The evaluator's pass is a trace of its own, one span per rule.
    exporter.clear()
    with create_session() as session:
        session.execute(delete(AlertLease))
    stats = evaluator.tick(datetime.now(UTC) + timedelta(seconds=1), holder="trace-test")
    spans = exporter.get_finished_spans()
    (tick,) = [s for s in spans if s.name == "ylai.alerts.tick"]
    assert dict(tick.attributes or {})["ylai.alerts.rules"] == stats["rules"] >= 1
    evaluated = [s for s in spans if s.name == "ylai.alert.evaluate"]
    assert len(evaluated) == stats["rules"]
    assert all(s.parent is not None and s.parent.span_id == tick.context.span_id for s in evaluated)


def test_deliveries_handed_to_a_thread_join_the_calling_requests_trace(
    exporter: InMemorySpanExporter, failed_run: tuple[SlackReceiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's API marks a run failed and calls ylai's listener in the request: the thread's deliveries join it.

    Airflow does not trace its own API, so the request span here is the test's (a server span as
    the FastAPI instrumentation makes); the listener, its thread and the deliveries are the real ones.
    """
    import threading

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from ylai_plugin import listeners
    from ylai_plugin.alerts import events
    from ylai_plugin.domain import approvals

    handed: list[threading.Thread] = []
    targets: list[Any] = []
    real_in_background = events.in_background

    def in_background(target: Any, *args: Any) -> threading.Thread:
        targets.append(target)
        handed.append(real_in_background(target, *args))
        return handed[-1]

    monkeypatch.setattr(events, "in_background", in_background)
    receiver, run_id = failed_run
    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == DAG, DagRun.run_id == run_id))
        with trace.get_tracer("test").start_as_current_span(
            "PATCH /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}", kind=trace.SpanKind.SERVER
        ) as request:
            listeners.on_dag_run_failed(dag_run=run, msg="marked failed")
    # The failure's alerts, and the approval's note (a run failed by its approval gets the reason).
    assert targets == [events.handle_run_failed, approvals.note_failed_approval]
    for thread in handed:
        thread.join(60)
        assert not thread.is_alive()
    assert len(receiver.messages()) == 1
    spans = exporter.get_finished_spans()
    delivers = _deliveries(spans)
    assert set(delivers) == {"slack", "webhook"}
    (request_span,) = [s for s in spans if s.context.span_id == request.get_span_context().span_id]
    for span in delivers.values():
        _assert_child_of(span, request_span)
    slack_call = next(s for s in spans if s.name == "slack.chat.postMessage")
    _assert_child_of(slack_call, delivers["slack"])


def test_deliver_in_background_joins_the_callers_trace(
    exporter: InMemorySpanExporter, failed_run: tuple[SlackReceiver, str]
) -> None:
    from airflow.utils.session import create_session

    from ylai_plugin.alerts import engine, events

    receiver, run_id = failed_run
    alert_ids = events.record_run_failed(DAG, run_id)
    with create_session() as session:
        ids = engine.pending_ids_of(session, alert_ids)
    assert len(ids) == 2
    with trace.get_tracer("test").start_as_current_span("caller") as caller:
        thread = engine.deliver_in_background(ids)
    assert thread is not None
    thread.join(60)
    assert len(receiver.messages()) == 1
    spans = exporter.get_finished_spans()
    (caller_span,) = [s for s in spans if s.context.span_id == caller.get_span_context().span_id]
    delivers = _deliveries(spans)
    assert set(delivers) == {"slack", "webhook"}
    for span in delivers.values():
        _assert_child_of(span, caller_span)


def _export_span(exporter: InMemorySpanExporter, job_id: int) -> ReadableSpan:
    (job,) = [
        s
        for s in exporter.get_finished_spans()
        if s.name == "ylai.export.job" and dict(s.attributes or {})["ylai.export.job_id"] == job_id
    ]
    return job


def _assert_child_of(child: ReadableSpan, parent: ReadableSpan) -> None:
    assert child.context.trace_id == parent.context.trace_id
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id


EXPORT_JOB = {"kind": "audit", "format": "csv", "filters": {"month": "2025-10"}}


def test_export_job_span_is_a_child_of_the_request_that_queued_it(
    client: TestClient, exporter: InMemorySpanExporter, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylai_plugin.reports.jobs import runner

    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path))
    resp = client.post("/api/v1/exports/jobs", json=EXPORT_JOB)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert runner.wait_idle(120)
    job = _export_span(exporter, job_id)
    attrs = dict(job.attributes or {})
    assert (attrs["ylai.export.kind"], attrs["ylai.export.format"]) == ("audit", "csv")
    assert isinstance(attrs["ylai.export.size_bytes"], int)
    assert attrs["ylai.export.size_bytes"] > 0
    assert job.status.is_ok
    # The job ran on a background thread after the answer, yet it is part of the request's trace.
    request = _server_span(exporter.get_finished_spans(), "POST /api/v1/exports/jobs")
    _assert_child_of(job, request)
    assert _ids(resp.headers["traceparent"])[:2] == (
        trace.format_trace_id(job.context.trace_id),
        trace.format_span_id(job.parent.span_id),  # type: ignore[union-attr]
    )


def test_export_job_run_by_another_requests_thread_joins_the_queuing_request(
    client: TestClient, exporter: InMemorySpanExporter, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any request's kick (or another api-server process) may run a queued job: the trace is the queuing one's."""
    from airflow.utils.session import create_session

    from ylai_plugin.db.export_models import ExportJob
    from ylai_plugin.reports.jobs import runner

    monkeypatch.setenv("AIRFLOW__YLAI__EXPORT_DIR", str(tmp_path))
    with monkeypatch.context() as queued_only:
        queued_only.setattr(runner, "kick", lambda: None)
        resp = client.post("/api/v1/exports/jobs", json=EXPORT_JOB)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert resp.json()["state"] == "queued"
    with create_session() as session:
        stored = session.get(ExportJob, job_id)
        assert stored is not None
        assert stored.trace_context == {"traceparent": resp.headers["traceparent"]}
    assert client.get("/api/v1/exports/jobs").status_code == 200  # its kick starts the runner
    assert runner.wait_idle(120)
    spans = exporter.get_finished_spans()
    job = _export_span(exporter, job_id)
    _assert_child_of(job, _server_span(spans, "POST /api/v1/exports/jobs"))
    assert job.context.trace_id != _server_span(spans, "GET /api/v1/exports/jobs").context.trace_id


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("carrier", "expected"),
    [
        (
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"}, None),
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-03"}, TRACE_ID),  # sampled + random (level 2)
        ({"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, None),
        ({"traceparent": "garbage"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_carrier_trace_id(carrier: dict[str, str] | None, expected: str | None) -> None:
    assert tracing.carrier_trace_id(carrier) == expected
