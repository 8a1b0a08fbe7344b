"""JSON service logs (docs/logging.md): the line shape, the wrapping in ``ylai run`` and the switch."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.ylai_plugin.polling import wait_for
from ylai_plugin.json_logs import (
    REQUIRED_KEYS,
    JsonFormatter,
    configure_stdlib,
    json_mode,
    normalize,
    to_json_line,
)
from ylai_plugin.platform_env import airflow_environment, resolve_settings
from ylai_plugin.supervisor import Supervisor

PY = sys.executable


@pytest.mark.parametrize(
    ("value", "expected"), [("json", True), ("JSON", True), (" json ", True), ("text", False), ("", False)]
)
def test_json_mode_is_switched_by_ylai_log_format(value: str, expected: bool) -> None:
    assert json_mode({"YLAI_LOG_FORMAT": value}) is expected
    assert json_mode({}) is False


def test_an_airflow_structlog_line_gets_ylais_keys_and_keeps_its_context() -> None:
    line = json.dumps(
        {
            "timestamp": "2026-12-04T10:00:00.000001Z",
            "level": "warning",
            "event": "Task failed",
            "logger": "airflow.jobs.scheduler_job_runner",
            "dag_id": "script__etl",
            "run_id": "manual__1",
            "task_id": "run",
            "try_number": 2,
            "correlation_id": "abc",
            "filename": "x.py",
        }
    )
    out = json.loads(to_json_line("scheduler", line))
    assert list(out)[:5] == list(REQUIRED_KEYS)
    assert out["time"] == "2026-12-04T10:00:00.000001Z"
    assert out["level"] == "warning"
    assert out["logger"] == "airflow.jobs.scheduler_job_runner"
    assert out["component"] == "scheduler"
    assert out["message"] == "Task failed"
    assert (out["dag_id"], out["run_id"], out["task_id"], out["try_number"]) == ("script__etl", "manual__1", "run", 2)
    assert out["request_id"] == "abc"
    assert out["filename"] == "x.py"
    assert not {"event", "timestamp", "correlation_id"} & set(out)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("[2026-12-04 10:00:00 +0000] [12] [INFO] Starting gunicorn 23.0.0", "info"),
        (" -------------- celery@host v5.5.3 (immunity)", "info"),
        ("[2026-12-04 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect", "error"),
        ("Traceback (most recent call last):", "info"),
        ('{"not": "closed"', "info"),
        ("[1, 2, 3]", "info"),
        ("", "info"),
        ("WARN something", "warning"),
    ],
)
def test_a_line_that_is_not_a_json_object_is_wrapped_not_lost(line: str, level: str) -> None:
    out = json.loads(to_json_line("celery-worker", line))
    assert set(REQUIRED_KEYS) <= set(out)
    assert out["message"] == line
    assert out["component"] == "celery-worker"
    assert out["logger"] == "celery-worker"
    assert out["level"] == level
    assert out["time"].endswith("Z")


def test_the_task_instance_a_celery_worker_line_names_becomes_keys() -> None:
    """The worker's "Executing workload" line holds the task instance only as a repr in its text."""
    line = json.dumps(
        {
            "timestamp": "2026-12-05T22:54:41.315408Z",
            "level": "info",
            "logger": "airflow.providers.celery.executors.celery_executor_utils",
            "event": "[57225b95] Executing workload in Celery: dag_rel_path=PurePosixPath('hello.py') "
            "log_path='dag_id=hello/run_id=manual__1/task_id=say/attempt=1.log' ti=TaskInstanceDTO(id=UUID('01a2'), "
            "task_id='say', dag_id='hello', run_id='manual__2026-12-05T22:54:40+00:00', try_number=2, map_index=-1, "
            "context_carrier={'traceparent': '00-d1fcfca018a36f9f23bbdf1497ed03f3-2e42a72dcc47cd1b-01'}) "
            "type='ExecuteTask'",
        }
    )
    record = json.loads(to_json_line("celery-worker", line))
    assert record["dag_id"] == "hello"
    assert record["task_id"] == "say"
    assert record["run_id"] == "manual__2026-12-05T22:54:40+00:00"
    assert record["try_number"] == 2
    assert (record["trace_id"], record["span_id"]) == ("d1fcfca018a36f9f23bbdf1497ed03f3", "2e42a72dcc47cd1b")


def test_keys_a_line_already_has_win_over_what_its_text_names() -> None:
    record = normalize({"event": "moved dag_id='other' try_number=9", "dag_id": "mine", "try": 1}, "scheduler")
    assert (record["dag_id"], record["try_number"]) == ("mine", 1)
    assert "task_id" not in normalize({"event": "nothing to see"}, "scheduler")


def test_a_component_key_in_the_line_never_overrides_the_real_component() -> None:
    out = json.loads(to_json_line("api-server", '{"event": "x", "component": "forged"}'))
    assert out["component"] == "api-server"


def test_a_non_string_event_becomes_a_string_message() -> None:
    out = normalize({"event": {"a": 1}, "level": "INFO"}, "triggerer")
    assert out["message"] == "{'a': 1}"
    assert out["level"] == "info"


def test_stdlib_formatter_writes_ylais_keys_with_extras_and_exceptions() -> None:
    record = logging.LogRecord("ylai_plugin.alerts.evaluator", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.dag_id = "script__etl"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    out = json.loads(JsonFormatter("alerts").format(record))
    assert out["component"] == "alerts"
    assert out["logger"] == "ylai_plugin.alerts.evaluator"
    assert out["level"] == "error"
    assert out["message"] == "failed x"
    assert out["dag_id"] == "script__etl"
    assert "ValueError: boom" in out["exception"]


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_stdlib_in_json_mode_replaces_the_root_handlers() -> None:
    configure_stdlib("alerts", {"YLAI_LOG_FORMAT": "json"})
    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert isinstance(root.handlers[0].formatter, JsonFormatter)


def test_supervisor_in_json_mode_writes_one_object_per_line_with_the_component() -> None:
    code = (
        "import json; print('plain banner'); "
        "print(json.dumps({'timestamp': 't', 'level': 'info', 'event': 'e', 'logger': 'airflow.x'}))"
    )
    sup = Supervisor(env=dict(os.environ), out=io.StringIO(), json_output=True)
    try:
        sup.say("ylai", "mode: test")
        sup.start("scheduler", [PY, "-c", code])
        out = sup.out
        assert isinstance(out, io.StringIO)
        wait_for(lambda: out.getvalue().count("\n") >= 3)
    finally:
        sup.stop(timeout=5)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(set(REQUIRED_KEYS) <= set(r) for r in records)
    assert {(r["component"], r["message"]) for r in records} == {
        ("ylai", "mode: test"),
        ("scheduler", "plain banner"),
        ("scheduler", "e"),
    }


def test_run_once_in_json_mode_still_returns_the_raw_lines() -> None:
    out = io.StringIO()
    sup = Supervisor(env=dict(os.environ), out=out, json_output=True)
    rc, lines = sup.run_once("admin-user", [PY, "-c", "print('{\"created\": true}')"])
    assert (rc, lines) == (0, ['{"created": true}'])
    assert json.loads(out.getvalue())["component"] == "admin-user"


def test_supervisor_default_output_stays_readable_text() -> None:
    out = io.StringIO()
    Supervisor(env=dict(os.environ), out=out).say("ylai", "mode: test")
    assert out.getvalue() == "ylai          | mode: test\n"


def test_json_mode_turns_on_airflows_json_logs(tmp_path: Path) -> None:
    settings = resolve_settings({}, tmp_path)
    env = airflow_environment(settings, {"YLAI_LOG_FORMAT": "json"})
    assert env["AIRFLOW__LOGGING__JSON_LOGS"] == "True"
    assert env["AIRFLOW__LOGGING__COLORED_CONSOLE_LOG"] == "False"
    assert "AIRFLOW__LOGGING__JSON_LOGS" not in airflow_environment(settings, {})
