"""The kinds of DAG ylai generates and how their ids are spelled: the one place that knows.

Every generated DAG id is ``<kind>__<name>``: ``script__csv_profiler``, ``pipeline__nightly``,
``task__12``, ``report__weekly``. The API answers ``kind`` and ``name`` beside each ``dag_id``
so that no client slices ids; code that must go from one to the other calls
:func:`dag_id` and :func:`parse_dag_id`.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

SEPARATOR = "__"


class DagKind(enum.StrEnum):
    """What a generated DAG runs."""

    SCRIPT = "script"
    PIPELINE = "pipeline"
    TASK = "task"
    REPORT = "report"

    @property
    def prefix(self) -> str:
        """The start of every DAG id of this kind (``script__``)."""
        return f"{self.value}{SEPARATOR}"


class DagName(NamedTuple):
    """A generated DAG id split into its kind and its name."""

    kind: DagKind
    name: str


SCRIPT_PREFIX = DagKind.SCRIPT.prefix
PIPELINE_PREFIX = DagKind.PIPELINE.prefix
TASK_PREFIX = DagKind.TASK.prefix
REPORT_PREFIX = DagKind.REPORT.prefix


def dag_id(kind: DagKind | str, name: str | int) -> str:
    """The DAG id of ``name`` of ``kind``: ``dag_id("script", "disk_usage") == "script__disk_usage"``."""
    return f"{DagKind(kind).prefix}{name}"


def script_dag_id(name: str) -> str:
    """The DAG id of a script."""
    return SCRIPT_PREFIX + name


def pipeline_dag_id(name: str) -> str:
    """The DAG id of a pipeline."""
    return PIPELINE_PREFIX + name


def task_dag_id(task_id: int) -> str:
    """The DAG id of a scheduled task."""
    return f"{TASK_PREFIX}{task_id}"


def report_dag_id(name: str) -> str:
    """The DAG id of a scheduled report."""
    return REPORT_PREFIX + name


def parse_dag_id(dag_id: str) -> DagName | None:
    """Kind and name of a generated DAG id; ``None`` for any other DAG (a user's own DAG)."""
    head, sep, name = dag_id.partition(SEPARATOR)
    if not sep or not name:
        return None
    try:
        return DagName(DagKind(head), name)
    except ValueError:
        return None


def name_of(dag_id: str, kind: DagKind | str) -> str | None:
    """The name in ``dag_id`` if it is of ``kind`` (``name_of("script__x", "script") == "x"``), else ``None``."""
    parsed = parse_dag_id(dag_id)
    return parsed.name if parsed is not None and parsed.kind == DagKind(kind) else None


#: The XCom key under which a script task that failed leaves what was measured of its process
#: (``duration_seconds``, ``peak_rss_bytes``, ``cpu_seconds``); a successful one returns the same
#: figures in its ``return_value``. The Resources page and the exports read both.
MEASUREMENTS_XCOM_KEY = "ylai_measurements"

#: The XCom key under which a script task that failed leaves its error line: ``{"line": <the
#: script's last non-blank stderr line, secrets masked>, "exit_code": <int or null>}``, or the
#: operator's own reason when the script ran fine but broke its output contract. The Monitor
#: page's error trends group failures by this line, normalised (``ylai_plugin.monitoring.errors``).
ERROR_XCOM_KEY = "ylai_error"

#: The XCom key under which a script task leaves the version of the script it runs, before the
#: script starts (so failed runs have it too): a database script's version number, or
#: ``sha256:<12 hex digits>`` of a repository script's file. The run views show it.
SCRIPT_VERSION_XCOM_KEY = "ylai_script_version"
