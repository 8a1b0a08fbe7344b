"""What an alert about a failed run or task tells: params, failed tasks, the error tail of the log, links."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ylai_plugin.alerts.conditions.base import Failure, failed_tasks
from ylai_plugin.alerts.links import run_links

log = logging.getLogger(__name__)
TAIL_LINES = 20


# Lines of Airflow's own machinery that say nothing about why a script failed: the log-group
# markers of the task runner and the DAG bag filled at the task's start.
_NOISE_PREFIXES = ("::group::", "::endgroup::")
_NOISE_LOGGERS = ("airflow.dag_processing.",)
# ScriptOperator (process_runner) logs each line the script writes to stderr as a warning.
_SCRIPT_LOGGER = "ylai_operators."


@dataclass(frozen=True)
class LogLine:
    """One task-log line: its text (an exception's type and value appended), logger and level."""

    text: str
    logger: str = ""
    level: str = ""

    @property
    def is_noise(self) -> bool:
        """Blank, a log-group marker or a line of the DAG bag filled at the task's start."""
        return not self.text.strip() or self.text.startswith(_NOISE_PREFIXES) or self.logger.startswith(_NOISE_LOGGERS)

    @property
    def is_script_stderr(self) -> bool:
        """A line the script wrote to stderr (logged by ScriptOperator as a warning)."""
        return self.level == "warning" and _SCRIPT_LOGGER in self.logger


def parse_log_line(raw: str) -> LogLine:
    """One task-log line: Airflow 3 writes JSON lines (structlog); older or remote logs may be plain text."""
    raw = raw.rstrip("\n")
    if not raw.startswith("{"):
        return LogLine(raw)
    try:
        record = json.loads(raw)
    except ValueError:
        return LogLine(raw)
    text = str(record.get("event", ""))
    for err in record.get("error_detail") or []:
        if isinstance(err, dict):
            text += f"\n{err.get('exc_type', '')}: {err.get('exc_value', '')}"
    return LogLine(text, str(record.get("logger") or ""), str(record.get("level") or ""))


def tail_of(raw_lines: Iterable[str]) -> str:
    """The last lines that explain a failure: the script's own stderr when it wrote any, else the log without noise."""
    lines = [line for line in map(parse_log_line, raw_lines) if not line.is_noise]
    stderr = [line for line in lines if line.is_script_stderr]
    text = "\n".join(line.text for line in (stderr or lines))
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def error_tail(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
    """The error tail of a task attempt's log file (local or shared log folder, else the log reader), or ""."""
    from airflow.configuration import conf

    folder = Path(conf.get("logging", "base_log_folder"))
    path = folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        path = path / f"map_index={map_index}"
    path = path / f"attempt={try_number}.log"
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            lines = list(deque(fh, maxlen=400))
    except OSError:
        lines = _lines_via_log_reader(dag_id, run_id, task_id, try_number, map_index)
    return tail_of(lines)


def _lines_via_log_reader(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int) -> list[str]:
    """The log's last lines through Airflow's task log reader (remote logging, a worker's log server)."""
    try:
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.log.log_reader import TaskLogReader
        from airflow.utils.session import create_session

        with create_session() as session:
            ti = session.scalar(
                select(TI).where(
                    TI.dag_id == dag_id, TI.run_id == run_id, TI.task_id == task_id, TI.map_index == map_index
                )
            )
            if ti is None:
                return []
            stream = TaskLogReader().read_log_stream(ti, try_number, {})  # type: ignore[typeddict-item]
            return list(deque((line for chunk in stream for line in chunk.splitlines()), maxlen=400))
    except Exception:
        log.debug("could not read the log of %s %s %s", dag_id, run_id, task_id, exc_info=True)
        return []


def _conf_of(session: Session, dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.models.dagrun import DagRun

    conf = session.scalar(select(DagRun.conf).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return dict(conf or {})


def run_details(session: Session, dag_id: str, run_id: str) -> dict[str, Any]:
    """What a "run failed" message shows: params, failed tasks, the first one's error tail, links."""
    failed = failed_tasks(session, dag_id, run_id)
    first = failed[0] if failed else None
    details: dict[str, Any] = {
        "dag_id": dag_id,
        "run_id": run_id,
        "params": _conf_of(session, dag_id, run_id),
        "failed_tasks": [t for t, _, _ in failed],
        "links": run_links(dag_id, run_id, first[0] if first else None, first[1] if first else 1),
    }
    if first:
        details["task_id"] = first[0]
        details["error_tail"] = error_tail(dag_id, run_id, first[0], first[1], first[2])
    return details


def task_details(
    session: Session, dag_id: str, run_id: str, task_id: str, attempt: tuple[int, int] | None = None
) -> dict[str, Any]:
    """What a "task failed" message shows (``attempt``: try number and map index, else from the DB)."""
    attempts = {t: (n, m) for t, n, m in failed_tasks(session, dag_id, run_id)}
    try_number, map_index = attempt or attempts.get(task_id, (1, -1))
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "try_number": try_number,
        "params": _conf_of(session, dag_id, run_id),
        "error_tail": error_tail(dag_id, run_id, task_id, try_number, map_index),
        "links": run_links(dag_id, run_id, task_id, try_number),
    }


def details_of(session: Session, failure: Failure) -> dict[str, Any]:
    """The details of an alert about ``failure``: a run's (no ``task_id``) or a task's."""
    if failure.task_id is None:
        return run_details(session, failure.dag_id, failure.run_id)
    return task_details(session, failure.dag_id, failure.run_id, failure.task_id, failure.attempt)
