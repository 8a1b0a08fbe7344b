"""Schemathesis fuzzes ylai's REST API on a live platform against the platform's own OpenAPI document.

Every operation of ``/ylai/api/v1/openapi.json`` (but the SSE stream, see ``EXCLUDED``) gets
the document's examples, valid (positive) and invalid (negative) generated requests, sent
as the admin; path parameters sometimes point at a real task, preset, script and run so the
200 paths are exercised too. Every response must pass:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status code is documented for the operation;
- ``content_type_conformance`` and ``response_schema_conformance``: the body has the
  documented media type and matches the documented schema (formats included, e.g. a
  ``date-time`` must carry its UTC offset).

Checks left out, because their failure would not mean that our server answered wrongly:

- ``positive_data_acceptance``: a request that is valid for the schema may still be refused
  for reasons a schema cannot express: a script that does not exist (404), params that fail
  the DAG's own param validation (422), a name already taken (409).
- ``negative_data_rejection``: schemathesis's "invalid" includes requests HTTP servers
  legitimately accept, such as unknown query parameters.
- ``ignored_auth``, ``missing_required_header``: every request here carries the admin's
  token; authentication and RBAC per role are tested in ``test_api_on_platform.py``.
- ``use_after_free``, ``ensure_resource_availability``: stateful checks that need links
  between operations, which the document does not declare.
- ``max_response_time``: a performance budget, not a contract; this machine is shared.

Bounded and deterministic: Hypothesis runs derandomized, without its example database and
without shrinking (a failure is recorded with the request that caused it, not raised), each
operation gets a fixed number of examples and an equal share of ``FUZZ_BUDGET_SECONDS`` (at
least one request each, even when earlier operations used up the budget).
Requests are paced at ``REQUESTS_PER_SECOND``, under the platform's default rate limit
(600/min per user, burst 120; the shared platform keeps its configuration), so the admin
never gets a 429, which the document does not list.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from tests.integration.running_platform import RunningPlatform

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis import APIOperation, Case

    Operation = APIOperation[Any, Any, Any, Any]
    AnyCase = Case[Any]

# 200 is a Server-Sent Events stream that lasts until the run ends; the route's 401/404 and
# its stream are tested in test_api_on_platform.py.
EXCLUDED = {"GET /api/v1/runs/{dag_id}/{run_id}/logs/stream"}
POSITIVE_EXAMPLES = 12
NEGATIVE_EXAMPLES = 6
REQUESTS_PER_SECOND = 8.0  # the platform refills 10 tokens per second and user
FUZZ_BUDGET_SECONDS = 100.0
REQUEST_TIMEOUT_SECONDS = 120  # generous: a busy machine is not a contract violation


@dataclass
class Findings:
    """Failures by operation (one report per distinct set of failed checks) and what was sent."""

    failures: dict[str, dict[frozenset[str], str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def add_failure(self, label: str, codes: frozenset[str], report: str) -> None:
        self.failures.setdefault(label, {}).setdefault(codes, report)

    def report(self) -> str:
        return "\n\n".join(
            f"=== {label}\n" + "\n".join(reports.values()) for label, reports in sorted(self.failures.items())
        )


class Pacer:
    """Spaces calls at least ``1 / rate`` seconds apart."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval


def _known_objects(platform: RunningPlatform) -> dict[str, str]:
    """A task, a preset, a script and a run the generated path parameters can point at."""
    platform.wait_for_dag("script__disk_usage")
    suffix = str(time.time_ns())
    task = platform.request(
        "POST", "/ylai/api/v1/tasks", {"name": f"fuzz task {suffix}", "script": "disk_usage", "params": {"top": 1}}
    )
    assert task.status == 201, task.body[:300]
    preset = platform.request(
        "POST", "/ylai/api/v1/presets", {"name": f"fuzz preset {suffix}", "dag_id": "script__disk_usage"}
    )
    assert preset.status == 201, preset.body[:300]
    run = platform.request("POST", f"/ylai/api/v1/tasks/{task.json()['id']}/run", {})
    assert run.status == 201, run.body[:300]
    return {
        "task_id": str(task.json()["id"]),
        "preset_id": str(preset.json()["id"]),
        "name": "disk_usage",
        "dag_id": "script__disk_usage",
        "run_id": str(run.json()["run_id"]),
    }


def _ordered(operations: list[Operation]) -> list[Operation]:
    """Reads first, then writes, deletes last, so a delete does not hide the known objects from the rest."""
    rank = {"get": 0, "post": 1, "patch": 2, "put": 2, "delete": 3}
    return sorted(operations, key=lambda op: (rank.get(op.method.lower(), 1), op.path))


def _path_parameters(operation: Operation, known: dict[str, str]) -> dict[str, str]:
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{") and part.endswith("}")]
    return {name: known[name] for name in names if name in known}


def _strategies(operation: Operation, known: dict[str, str]) -> list[tuple[SearchStrategy[AnyCase], int]]:
    """(strategy, number of examples) pairs: the document's examples, positive and negative data."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    if path_values := _path_parameters(operation, known):
        pointed = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=path_values)
        positive = st.one_of(positive, pointed)
    runs = [(strategy, 1) for strategy in operation.schema.get_strategies_from_examples(operation)]
    runs.append((positive, POSITIVE_EXAMPLES))
    raw = operation.definition.raw
    if raw.get("parameters") or raw.get("requestBody"):  # nothing to make invalid otherwise
        runs.append((operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES))
    return runs


def _never_reaches_the_plugin(case: AnyCase) -> bool:
    """A path parameter with a line feed is answered by Airflow's root app, not by ylai.

    Starlette's ``Mount("/ylai")`` matches ``^/ylai/(?P<path>.*)$``, and ``.`` stops at a line
    feed, so such a request never reaches the plugin: Airflow's own router answers
    ``{"detail": "Not Found"}``. That is Airflow's contract, not ours.
    """
    return any("\n" in str(value) for value in (case.path_parameters or {}).values())


def _fuzz(strategy: SearchStrategy[AnyCase], examples: int, send: Callable[[AnyCase], None]) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def fuzz(case: AnyCase) -> None:
        send(case)

    with contextlib.suppress(Unsatisfiable):  # e.g. no invalid value exists for the only parameter
        fuzz()


def test_api_conforms_to_its_openapi_document(sqlite_platform: RunningPlatform) -> None:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    platform = sqlite_platform
    headers = {"Authorization": f"Bearer {platform.token()}"}
    document = platform.request("GET", "/ylai/api/v1/openapi.json")
    assert document.status == 200, document.body[:300]
    known = _known_objects(platform)
    config = schemathesis.Config.from_dict(
        {"base-url": platform.base_url + "/ylai", "request-timeout": REQUEST_TIMEOUT_SECONDS}
    )
    schema = schemathesis.openapi.from_dict(document.json(), config=config)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result.err()}"
        if result.ok().label not in EXCLUDED:
            operations.append(result.ok())
    operations = _ordered(operations)
    assert len(operations) >= 20, [op.label for op in operations]

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    findings = Findings()
    pacer = Pacer(REQUESTS_PER_SECOND)
    started = time.monotonic()

    def send(case: AnyCase, label: str, deadline: float) -> None:
        if time.monotonic() > deadline and findings.calls[label]:  # every operation gets at least one call
            return
        if _never_reaches_the_plugin(case):
            return
        pacer.wait()
        response = case.call(headers=headers)
        if response.status_code == 429:  # only if another client drained the admin's bucket
            time.sleep(float(response.headers.get("retry-after", ["2"])[0]) + 0.5)
            response = case.call(headers=headers)
        findings.calls[label] += 1
        findings.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as exc:
            findings.add_failure(label, frozenset(f.code for f in exc.exceptions), str(exc))

    for n, operation in enumerate(operations):
        share = (FUZZ_BUDGET_SECONDS - (time.monotonic() - started)) / (len(operations) - n)
        deadline = time.monotonic() + share
        for strategy, examples in _strategies(operation, known):
            _fuzz(strategy, examples, partial(send, label=operation.label, deadline=deadline))

    print(
        f"schemathesis: {sum(findings.calls.values())} requests to {len(operations)} operations in "
        f"{time.monotonic() - started:.0f} s; statuses {dict(sorted(findings.statuses.items()))}"
    )
    assert not findings.failures, (
        f"{len(findings.failures)} operation(s) answer outside their documented contract:\n\n{findings.report()}"
    )
    untested = [op.label for op in operations if not findings.calls[op.label]]
    assert not untested, f"no request within the time budget: {untested}"
    assert any(200 <= s < 300 for s in findings.statuses), f"nothing succeeded: {findings.statuses}"
    health = platform.request("GET", "/ylai/api/v1/health")  # the fuzzing left the platform working
    assert health.status == 200, health.body[:300]
    assert health.json()["metadata_db"]["status"] == "healthy"
