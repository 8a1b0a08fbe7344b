"""One trace from the click to the script's process, on Postgres + Celery (issue 18, point 1).

``celery_platform`` exports its traces over OTLP/HTTP to a real receiver (tests/otlp_receiver.py,
decoding the protobuf with ``opentelemetry-proto``). One ``POST /ylai/api/v1/scripts/traced_step/run``
must give one trace with ylai's request span, Airflow's ``dag_run`` and task spans, the script
span and the span the script itself exports from ``TRACEPARENT``, linked parent to child.

Runs on the shared ``celery_platform`` before ``test_celery_platform.py``, whose last test stops it
(tests/integration/conftest.py orders the modules).
"""

from __future__ import annotations

import pytest

from tests.integration.running_platform import RunningPlatform
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan

SCRIPT = "traced_step"
DAG_ID = f"script__{SCRIPT}"
SERVER = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
ERROR = 2  # Status.STATUS_CODE_ERROR


@pytest.fixture(scope="module")
def platform(celery_platform: RunningPlatform) -> RunningPlatform:
    return celery_platform


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r}"
    return found[0]


def _complete(spans: list[ReceivedSpan]) -> bool:
    """The whole chain has arrived: the dag_run span leaves the scheduler last, once the run ended."""
    names = {s.name for s in spans}
    return {f"dag_run.{DAG_ID}", f"task_run.{SCRIPT}", f"worker.{SCRIPT}", f"ylai.script {SCRIPT}"} <= names and (
        f"{SCRIPT}.work" in names
    )


def test_a_script_run_through_ylai_is_one_trace_from_the_request_to_the_scripts_own_span(
    platform: RunningPlatform, otlp_receiver: OtlpReceiver
) -> None:
    platform.wait_for_dag(DAG_ID)
    resp = platform.request("POST", f"/ylai/api/v1/scripts/{SCRIPT}/run", {"params": {"items": 4}})
    assert resp.status == 201, resp.body[:500]
    headers = {k.lower(): v for k, v in resp.headers.items()}
    assert "traceparent" in headers, f"no traceparent in the answer's headers: {sorted(headers)}"
    _, trace_id, request_span_id, _ = headers["traceparent"].split("-")
    run = resp.json()
    assert run["trace_id"] == trace_id, "the run (and its page) links to the request's trace"
    assert platform.wait_for_run(DAG_ID, run["run_id"]) == "success", platform.tail()
    assert platform.xcom(DAG_ID, run["run_id"], SCRIPT)["outputs"] == {"traced": True, "trace_id": trace_id}

    spans = otlp_receiver.wait_for(_complete, 120, trace_id=trace_id)
    by_id = {s.span_id: s for s in spans}
    described = "\n".join(f"{s.service}: {s.name} {s.span_id} <- {s.parent_span_id or '(root)'}" for s in spans)
    assert _complete(spans), f"trace {trace_id} is missing spans; received:\n{described}"

    # ylai's request span: the API's server span for the route, the one the traceparent names.
    request = by_id.get(request_span_id)
    assert request is not None, f"no span {request_span_id} (the answer's traceparent) in:\n{described}"
    assert request.kind == SERVER
    assert "/scripts/{name}/run" in request.name, request.name
    assert request.service == "ylai-api-server"

    dag_run = _one(spans, f"dag_run.{DAG_ID}")
    task_run = _one(spans, f"task_run.{SCRIPT}")
    worker = _one(spans, f"worker.{SCRIPT}")
    script = _one(spans, f"ylai.script {SCRIPT}")
    own = _one(spans, f"{SCRIPT}.work")
    # Airflow 3.3.2 emits the dag_run span as a root span of the run's trace (apache/airflow#67210):
    # same trace as the request, no parent link to it.
    assert dag_run.service == "ylai-scheduler"
    assert dag_run.attributes["airflow.dag_run.run_id"] == run["run_id"]
    assert task_run.parent_span_id == dag_run.span_id, described
    assert task_run.service == "ylai-api-server"  # the execution API emits it when the task ends
    assert worker.parent_span_id == task_run.span_id, described
    assert worker.service == "ylai-worker"
    # The script span is under the task's span (directly, or under a detail span of the task runner).
    parent, hops = by_id.get(script.parent_span_id), 0
    while parent is not None and parent is not worker and hops < 5:
        parent, hops = by_id.get(parent.parent_span_id), hops + 1
    assert parent is worker, described
    assert script.service == "ylai-worker"
    assert script.attributes["ylai.script.name"] == SCRIPT
    assert str(script.attributes["ylai.script.version"]).startswith("sha256:")
    assert script.attributes["ylai.script.exit_code"] == 0
    for figure in ("duration_seconds", "peak_rss_bytes", "cpu_seconds"):
        assert f"ylai.script.{figure}" in script.attributes
    assert script.status_code != ERROR
    # The script read TRACEPARENT and exported a span of its own, a child of the script span.
    assert own.parent_span_id == script.span_id
    assert own.service == f"ylai-script-{SCRIPT}"
    assert own.attributes[f"{SCRIPT}.items"] == 4
