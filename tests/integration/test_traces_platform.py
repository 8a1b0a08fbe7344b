"""One trace from the click to the script's process, on Postgres + Celery (issue 18, point 1).

``celery_platform`` exports its traces over OTLP/HTTP to a real receiver (tests/otlp_receiver.py,
decoding the protobuf with ``opentelemetry-proto``). One ``POST /ylai/api/v1/scripts/traced_step/run``
must give one trace with ylai's request span, Airflow's ``dag_run`` and task spans, the script
span and the span the script itself exports from ``TRACEPARENT``, linked parent to child; an export
job queued through the API afterwards has its ``ylai.export.job`` span under that request's span.

Runs on the shared ``celery_platform`` before ``test_celery_platform.py``, whose last test stops it
(tests/integration/conftest.py orders the modules).
"""

from __future__ import annotations

import time

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

    # An export job queued through the API: an api-server thread writes it after the answer, and
    # its span is still a child of the request's server span (the job keeps the request's context).
    queued = platform.request("POST", "/ylai/api/v1/exports/jobs", {"kind": "runs", "filters": {"script": [SCRIPT]}})
    assert queued.status == 202, queued.body[:500]
    queued_headers = {k.lower(): v for k, v in queued.headers.items()}
    _, export_trace_id, export_request_id, _ = queued_headers["traceparent"].split("-")
    job_id = queued.json()["id"]
    job = _finished_export(platform, job_id)
    assert job["state"] == "success", job
    spans = otlp_receiver.wait_for(
        lambda found: any(s.name == "ylai.export.job" for s in found), 60, trace_id=export_trace_id
    )
    described = "\n".join(f"{s.service}: {s.name} {s.span_id} <- {s.parent_span_id or '(root)'}" for s in spans)
    export = _one(spans, "ylai.export.job")
    assert export.parent_span_id == export_request_id, described
    assert export.service == "ylai-api-server"
    assert export.attributes["ylai.export.job_id"] == job_id
    assert export.attributes["ylai.export.rows"] >= 1  # the traced_step run above


def _finished_export(platform: RunningPlatform, job_id: int, timeout: float = 120) -> dict[str, object]:
    """The export job once it succeeded or failed (polling its view, whose call also kicks the runner)."""
    deadline = time.monotonic() + timeout
    while True:
        job = platform.request("GET", f"/ylai/api/v1/exports/jobs/{job_id}").json()
        if job["state"] in ("success", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.5)
