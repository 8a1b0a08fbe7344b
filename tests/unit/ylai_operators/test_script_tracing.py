"""ScriptOperator's ``ylai.script <name>`` span, exported over real OTLP/HTTP to a real receiver.

An OpenTelemetry SDK tracer provider (what Airflow's ``[traces] otel_on`` installs in a task
process) exports to tests/otlp_receiver.py; the repository's ``traced_step`` example script
continues the trace from ``TRACEPARENT`` with an SDK of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.util._once import Once

from tests.conftest import REPO_ROOT
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.unit.ylai_operators.test_script_operator import context, op, write_script
from ylai_operators.script_operator import ScriptFailedError
from ylai_operators.script_tracing import script_version

TRACED_STEP = REPO_ROOT / "dags" / "scripts" / "traced_step.py"
ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver().start()
    yield r
    r.stop()


def _set_global_provider(provider: trace.TracerProvider | None) -> None:
    # The API lets a process set its provider once (Airflow does at startup); a test restores it.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)


@pytest.fixture
def tracing_on(receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[TracerProvider]:
    """The worker's process with tracing on: a global SDK provider exporting to the receiver."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=worker-secret")
    previous = trace._TRACER_PROVIDER
    provider = TracerProvider(resource=Resource.create({"service.name": "ylai-worker"}))
    # The receiver's endpoint, not the headers: the test's exporter must not send them either.
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")))
    _set_global_provider(provider)
    yield provider
    provider.shutdown()
    _set_global_provider(previous)


def _run_under_task_span(provider: TracerProvider, operator: Any) -> tuple[str, str, Any]:
    """Execute ``operator`` inside a ``worker.t`` span, as Airflow's task runner does; (trace id, span id, result)."""
    with provider.get_tracer("test").start_as_current_span("worker.t") as task_span:
        ids = task_span.get_span_context()
        try:
            result: Any = operator.execute(context())
        except ScriptFailedError as exc:
            result = exc
    return format(ids.trace_id, "032x"), format(ids.span_id, "016x"), result


def _by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


def test_the_script_span_nests_under_the_task_and_the_script_continues_the_trace(
    tracing_on: TracerProvider, receiver: OtlpReceiver
) -> None:
    operator = op(TRACED_STEP, script_name="traced_step", param_values={"items": 5})
    trace_id, task_span_id, result = _run_under_task_span(tracing_on, operator)
    assert result["outputs"] == {"traced": True, "trace_id": trace_id}
    spans = _by_name(receiver.wait_for(lambda s: len(s) >= 3, 30, trace_id=trace_id))
    script, own = spans["ylai.script traced_step"], spans["traced_step.work"]
    assert script.parent_span_id == task_span_id
    assert script.service == "ylai-worker"
    attrs = script.attributes
    assert attrs["ylai.script.name"] == "traced_step"
    assert attrs["ylai.script.version"] == script_version(None, str(TRACED_STEP), None)
    assert attrs["ylai.script.version"].startswith("sha256:")
    assert attrs["ylai.script.exit_code"] == attrs["process.exit.code"] == 0
    assert attrs["ylai.script.duration_seconds"] == result["duration_seconds"]
    assert attrs["ylai.script.peak_rss_bytes"] == result["peak_rss_bytes"] > 0
    assert attrs["ylai.script.cpu_seconds"] == result["cpu_seconds"]
    assert script.status_code != ERROR
    # The script's own SDK read TRACEPARENT: its span is a child of the script span, same trace.
    assert own.parent_span_id == script.span_id
    assert own.service == "ylai-script-traced_step"
    assert own.attributes["traced_step.items"] == 5


def test_the_script_gets_the_trace_context_and_otlp_settings_but_not_the_headers(
    tracing_on: TracerProvider, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path,
        """
        import json, os
        from pathlib import Path
        tracing = {k: v for k, v in os.environ.items() if "OTEL" in k or "TRACE" in k}
        Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps(tracing))
        """,
    )
    trace_id, _, result = _run_under_task_span(tracing_on, op(script, script_name="env_dump", script_version=7))
    env = result["outputs"]
    spans = _by_name(receiver.wait_for(lambda s: len(s) >= 2, 30, trace_id=trace_id))
    script_span = spans["ylai.script env_dump"]
    version, parent_trace, parent_span, flags = env["TRACEPARENT"].split("-")
    assert (version, parent_trace, parent_span) == ("00", trace_id, script_span.span_id)
    assert int(flags, 16) & 1, "sampled"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == receiver.endpoint
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_SERVICE_NAME"] == "ylai-script-env_dump"
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in env, "a backend's API key stays with the worker"
    assert script_span.attributes["ylai.script.version"] == "7"


def test_a_failed_script_has_an_error_span_with_its_exit_code(
    tracing_on: TracerProvider, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    script = write_script(tmp_path, "import sys; print('boom', file=sys.stderr); sys.exit(3)")
    trace_id, _, result = _run_under_task_span(tracing_on, op(script, script_name="failing"))
    assert isinstance(result, ScriptFailedError)
    spans = _by_name(receiver.wait_for(lambda s: len(s) >= 2, 30, trace_id=trace_id))
    failed = spans["ylai.script failing"]
    assert failed.status_code == ERROR
    assert failed.attributes["ylai.script.exit_code"] == 3
    assert "ylai.script.cpu_seconds" in failed.attributes


def test_with_tracing_off_the_script_gets_no_trace_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previous = trace._TRACER_PROVIDER
    _set_global_provider(None)  # the API's no-op provider: Airflow's [traces] otel_on is off
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    try:
        script = write_script(
            tmp_path,
            """
            import json, os
            from pathlib import Path
            Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"names": sorted(os.environ)}))
            """,
        )
        result = op(script).execute(context())
    finally:
        _set_global_provider(previous)
    names = result["outputs"]["names"]
    assert "YLAI_SCRIPT" in names
    assert not [n for n in names if "TRACE" in n or n.startswith("OTEL_")]


def test_the_example_script_runs_untraced_without_traceparent(tmp_path: Path) -> None:
    result = op(TRACED_STEP, script_name="traced_step", param_values={"items": 2}).execute(context())
    assert result["outputs"] == {"traced": False, "trace_id": ""}
    assert os.environ.get("TRACEPARENT") is None
