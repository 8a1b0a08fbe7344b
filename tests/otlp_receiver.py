"""A real OTLP/HTTP trace receiver on 127.0.0.1 for tests: what a collector would get, decoded.

It answers ``POST /v1/traces`` like an OpenTelemetry Collector does (protobuf, optionally gzip
or deflate), decodes each ``ExportTraceServiceRequest`` with the ``opentelemetry-proto`` package and
keeps every span: its trace id, span id, parent span id, name, attributes, status and the
``service.name`` of the process that exported it. Ids are lower-case hex, as in ``traceparent``.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.alert_receivers import free_port
from tests.http_receiver import QuietHandler, close, serve

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as exported, with the service that sent it."""

    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    name: str
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)
    status_code: int = 0  # 0 unset, 1 ok, 2 error (opentelemetry.proto.trace.v1.Status)
    kind: int = 0


def _any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which)


def decode_spans(body: bytes) -> list[ReceivedSpan]:
    """The spans of one protobuf export request (``application/x-protobuf``, what the SDK's exporter sends)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _any_value(kv.value) for kv in resource_spans.resource.attributes}
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        service=service,
                        attributes={kv.key: _any_value(kv.value) for kv in span.attributes},
                        status_code=span.status.code,
                        kind=span.kind,
                    )
                )
    return spans


class OtlpReceiver:
    """An OTLP/HTTP endpoint for traces; ``endpoint`` is what ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self.errors: list[str] = []  # bodies it could not decode (answered 400)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        """The base URL: exporters append ``/v1/traces`` themselves."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        receiver = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as exporters use a session

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.split("?")[0] != TRACES_PATH:
                    self.answer(404, b"", "text/plain")
                    return
                try:
                    encoding = (self.headers.get("Content-Encoding") or "").lower()
                    if encoding == "gzip":
                        raw = gzip.decompress(raw)
                    elif encoding == "deflate":
                        raw = zlib.decompress(raw)
                    spans = decode_spans(raw)
                except Exception as exc:  # a malformed export is answered like a collector does
                    with receiver._lock:
                        receiver.errors.append(f"{type(exc).__name__}: {exc}")
                    self.answer(400, b"", "text/plain")
                    return
                with receiver._lock:
                    receiver.requests += 1
                    receiver.spans.extend(spans)
                # An empty ExportTraceServiceResponse: full success.
                self.answer(200, b"", "application/x-protobuf")

        self._server = serve(Handler, self.port)
        return self

    def stop(self) -> None:
        close(self._server)
        self._server = None

    def all_spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        """Every span received so far of trace ``trace_id``."""
        return [s for s in self.all_spans() if s.trace_id == trace_id]

    def wait_for(
        self, found: Callable[[list[ReceivedSpan]], bool], timeout: float, *, trace_id: str | None = None
    ) -> list[ReceivedSpan]:
        """Wait until ``found(spans)`` holds for the spans (of ``trace_id``); return them either way."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.trace(trace_id) if trace_id else self.all_spans()
            if found(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.2)
