"""The ``ylai.script <name>`` span around a script's process, and the trace context the script gets.

Imported by ``ScriptOperator.execute`` only (never while a DAG file is parsed), and it imports
nothing but the OpenTelemetry *API*: the SDK, its exporter and the tracer provider are Airflow's
(``[traces] otel_on``, set up in every Airflow process). Inside a task the current span is the task
runner's ``worker.<task_id>`` span, so the script span nests under it.

With tracing off the API's no-op tracer hands out a non-recording span: no attributes are set, no
file is hashed and the script gets no ``TRACEPARENT`` (an unsampled parent would make an
OpenTelemetry-instrumented script drop its own spans, even where it exports them elsewhere).
With tracing on the script gets ``TRACEPARENT`` (and ``TRACESTATE``) of the script span, plus the
OTLP endpoint and protocol, and a service name, so that an OpenTelemetry SDK configured from the
standard variables exports the script's spans as children of it. ``OTEL_EXPORTER_OTLP_HEADERS``
is *not* passed: it often holds a backend's API key, and scripts see no credentials of the worker
(pass one explicitly through the operator's ``env`` if a script needs it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span

TRACER_NAME = "ylai.script"
SPAN_PREFIX = "ylai.script"
# The worker's OTLP settings a script may use to export its own spans (never the headers: see above).
PASSED_OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)
# What the run's measurements are called on the span (the names of the task's XCom, namespaced).
MEASUREMENTS = ("exit_code", "duration_seconds", "peak_rss_bytes", "cpu_seconds")


class ScriptSpan:
    """The span of one script run: what the script's environment gets, and the run's figures."""

    def __init__(self, span: Span) -> None:
        self.span = span

    @property
    def recording(self) -> bool:
        """Whether tracing is on (and this run sampled): else every method does nothing."""
        return bool(self.span.is_recording())

    def environment(self, worker_env: Mapping[str, str], script_name: str) -> dict[str, str]:
        """``TRACEPARENT``/``TRACESTATE`` of this span and the OTLP settings; empty when not recording."""
        if not self.recording:
            return {}
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, context=trace.set_span_in_context(self.span))
        env = {var: worker_env[var] for var in PASSED_OTEL_VARS if worker_env.get(var)}
        env["OTEL_SERVICE_NAME"] = f"ylai-script-{script_name}"
        env["TRACEPARENT"] = carrier["traceparent"]
        if carrier.get("tracestate"):
            env["TRACESTATE"] = carrier["tracestate"]
        return env

    def record(self, run: Mapping[str, Any]) -> None:
        """Set the run's exit code, duration, peak RSS and CPU seconds (what the runner measured)."""
        if not self.recording:
            return
        self.span.set_attributes({f"{SPAN_PREFIX}.{key}": run[key] for key in MEASUREMENTS if key in run})
        if "exit_code" in run:
            self.span.set_attribute("process.exit.code", run["exit_code"])
        if run.get("over_memory_limit"):
            self.span.set_attribute(f"{SPAN_PREFIX}.over_memory_limit", True)


def script_version(version: str | int | None, script_path: str, content: str | None) -> str:
    """The version shown on the span: a stored script's number, else a digest of the file's content."""
    if version is not None:
        return str(version)
    try:
        data = content.encode() if content is not None else Path(script_path).read_bytes()
    except OSError:
        return "unknown"
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


@contextmanager
def script_span(
    name: str, *, version: str | int | None, script_path: str, content: str | None, runtime: str
) -> Iterator[ScriptSpan]:
    """A ``ylai.script <name>`` span, child of the current one, around the block.

    An exception leaving the block (the script failed, timed out, went over its memory limit)
    is recorded on the span and sets its status to ERROR.
    """
    from opentelemetry import trace

    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(f"{SPAN_PREFIX} {name}") as span:
        traced = ScriptSpan(span)
        if traced.recording:
            span.set_attributes(
                {
                    f"{SPAN_PREFIX}.name": name,
                    f"{SPAN_PREFIX}.version": script_version(version, script_path, content),
                    f"{SPAN_PREFIX}.runtime": runtime,
                }
            )
        yield traced
