"""A script that continues ylai's trace: its own span is a child of the ylai.script span.

ScriptOperator passes ``TRACEPARENT`` (W3C trace context of the script's span), the OTLP
endpoint and a service name when tracing is on. Any OpenTelemetry SDK picks the parent up from
``TRACEPARENT``; this one exports over OTLP (HTTP, or gRPC when ``OTEL_EXPORTER_OTLP_PROTOCOL``
says so). Without ``TRACEPARENT`` or without the SDK it only does its work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

params = json.loads(Path(os.environ["YLAI_PARAMS_FILE"]).read_text())
items = int(params.get("items", 3))


def work() -> int:
    return sum(range(items))


traceparent = os.environ.get("TRACEPARENT")
trace_id = ""
try:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:
    traceparent = None  # no SDK here: run untraced

if traceparent:
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
    # The endpoint and the service name come from the standard OTEL_* variables.
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    carrier = {"traceparent": traceparent, "tracestate": os.environ.get("TRACESTATE", "")}
    parent = TraceContextTextMapPropagator().extract(carrier)
    with provider.get_tracer("traced_step").start_as_current_span("traced_step.work", context=parent) as span:
        span.set_attribute("traced_step.items", items)
        total = work()
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()  # exports what is left before the process exits
else:
    total = work()

print(f"processed {items} items (sum {total}); traced: {bool(trace_id)}")
Path(os.environ["YLAI_RESULT_FILE"]).write_text(json.dumps({"traced": bool(trace_id), "trace_id": trace_id}))
