"""ylai's spans, on the tracer provider Airflow configures (``[traces] otel_on``).

With ``otel_on``, ``airflow.settings.initialize()`` sets the global OpenTelemetry tracer provider
in every Airflow process (api-server, scheduler, workers, ``ylai alerts``), configured by the
standard ``OTEL_*`` variables. ylai never builds a provider of its own: it asks the global one
for a tracer. With ``otel_on`` off (the default), :func:`span` is a bare ``nullcontext`` and
nothing of OpenTelemetry is imported, so code paths pay one cached flag check.

A leaf module (imports nothing of ylai): the domain, the features and the API all use it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache, wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from opentelemetry.trace import Span, SpanContext

P = ParamSpec("P")
R = TypeVar("R")
TRACER_NAME = "ylai"
TRACEPARENT = "traceparent"


@cache
def is_on() -> bool:
    """Airflow's ``[traces] otel_on``, read once per process (tests clear the cache)."""
    from airflow.configuration import conf

    return conf.getboolean("traces", "otel_on", fallback=False)


@contextmanager
def span(name: str, *, kind: str = "internal", attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span named ``name`` around the block, child of the current one; ``None`` when tracing is off.

    :param kind: ``internal``, ``client`` (a call to another service) or ``producer``.
    :param attributes: set on the span; ``None`` values are left out.

    An exception leaving the block is recorded on the span (status ERROR) and re-raised.
    """
    if not is_on():
        yield None
        return
    from opentelemetry import trace

    span_kind = {"client": trace.SpanKind.CLIENT, "producer": trace.SpanKind.PRODUCER}.get(
        kind, trace.SpanKind.INTERNAL
    )
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with trace.get_tracer(TRACER_NAME).start_as_current_span(name, kind=span_kind, attributes=attrs) as current:
        yield current


def instrument_clients() -> None:
    """Child spans for the httpx (webhook alerts) and Redis (cache, rate limit) calls of this process.

    Process-wide and idempotent (the instrumentors patch the libraries once); nothing when tracing is off.
    """
    if not is_on():
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (HTTPXClientInstrumentor(), RedisInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


def set_attributes(target: Span | None, **attributes: Any) -> None:
    """Set ``attributes`` (``None`` values left out) on ``target``, a span of :func:`span` or ``None``."""
    if target is not None and target.is_recording():
        target.set_attributes({k: v for k, v in attributes.items() if v is not None})


def record_error(target: Span | None, exc: BaseException) -> None:
    """Mark ``target`` (a span of :func:`span` or ``None``) failed with ``exc``, which the caller handled."""
    if target is None or not target.is_recording():
        return
    from opentelemetry.trace import Status, StatusCode

    target.record_exception(exc)
    target.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))


def tag_user(user_id: str | None, user_name: str | None) -> None:
    """Put the resolved Airflow user on the current span (the request's server span in the API)."""
    if not is_on():
        return
    from opentelemetry import trace

    set_attributes(trace.get_current_span(), **{"enduser.id": user_id, "user.name": user_name})


def _recording_context() -> SpanContext | None:
    """The current span's context when tracing is on and that span records; ``None`` otherwise."""
    if not is_on():
        return None
    from opentelemetry import trace

    current = trace.get_current_span()
    context = current.get_span_context()
    return context if current.is_recording() and context.is_valid else None


def current_trace() -> tuple[str, str, str] | None:
    """The current span's trace id, span id (hex) and W3C ``traceparent``; ``None`` when none records."""
    context = _recording_context()
    if context is None:
        return None
    trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    return trace_id, span_id, f"00-{trace_id}-{span_id}-{int(context.trace_flags):02x}"


def carrier() -> dict[str, str] | None:
    """The current span's W3C trace context (``traceparent``, ``tracestate``); ``None`` when none records.

    For work that outlives the request and may run in another process: store it with the work,
    then run the work inside :func:`continued`.
    """
    if _recording_context() is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    out: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(out)
    return out


@contextmanager
def continued(trace_carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Make the spans started in the block children of the span ``trace_carrier`` (from :func:`carrier`) names.

    Nothing when tracing is off or the carrier is empty: the block's spans start a trace of their own.
    """
    if not is_on() or not trace_carrier:
        yield
        return
    from opentelemetry import context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    token = context.attach(TraceContextTextMapPropagator().extract(dict(trace_carrier)))
    try:
        yield
    finally:
        context.detach(token)


def in_current_context(target: Callable[P, R]) -> Callable[P, R]:
    """``target``, run in the OpenTelemetry context current now, wherever it is called later.

    For a function handed to a thread: a new thread starts with an empty context, so its spans
    would begin traces of their own instead of joining the request (or span) that started it.
    ``target`` itself when tracing is off.
    """
    if not is_on():
        return target
    from opentelemetry import context

    captured = context.get_current()

    @wraps(target)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = context.attach(captured)
        try:
            return target(*args, **kwargs)
        finally:
            context.detach(token)

    return run


def run_carrier(airflow_carrier: Mapping[str, str] | None) -> dict[str, str] | None:
    """A DAG run's ``context_carrier`` that continues the current span's trace; ``None`` when none records.

    The carrier has the current span's trace id and sampled flag and a fresh span id, which
    Airflow gives the run's ``dag_run`` span (``DagRun._emit_dagrun_span``); Airflow's own
    ``tracestate`` entries in ``airflow_carrier`` (its task span detail level, the sampler's
    state) are kept. Airflow 3.3.2 emits the ``dag_run`` span as a root span of that trace
    (apache/airflow#67210), so it shares the request's trace id but not a parent link.
    """
    context = _recording_context()
    if context is None:
        return None
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    airflow_state = trace.get_current_span(propagator.extract(dict(airflow_carrier or {}))).get_span_context()
    # Airflow's entries win over the caller's vendor entries of the same key.
    entries = {**dict(context.trace_state), **dict(airflow_state.trace_state)}
    span_context = trace.SpanContext(
        trace_id=context.trace_id,
        span_id=random.getrandbits(64) or 1,  # as the SDK's RandomIdGenerator; 0 is invalid
        is_remote=False,
        trace_flags=context.trace_flags,
        trace_state=trace.TraceState(list(entries.items())),
    )
    carrier: dict[str, str] = {}
    propagator.inject(carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
    return carrier


def carrier_trace_id(carrier: Mapping[str, str] | None) -> str | None:
    """The trace id (hex) of a run's ``context_carrier`` when the run was sampled; ``None`` otherwise.

    Runs created while tracing was off carry an unsampled carrier: no span of theirs was
    exported, so there is no trace to link to.
    """
    if not isinstance(carrier, Mapping) or not carrier.get(TRACEPARENT):
        return None
    # traceparent: version-traceid-parentid-flags (W3C Trace Context); parsed here, without
    # OpenTelemetry, because list endpoints call this for every row.
    parts = str(carrier[TRACEPARENT]).strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    try:
        sampled = int(parts[3][:2], 16) & 0x01
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1].lower() if sampled else None
