"""Search task-log lines across runs, with a hard bound on the work of one request.

No HTTP here. The API (``GET /logs/search``) hands in the filters, the DAGs whose task logs the
caller may read and a cursor; :func:`search` answers one page of matching lines.

How the work stays bounded:

- Candidate task instances come from the metadata DB first (the allowed DAGs, run state, time
  range, newest first), in batches, so a request never lists every run.
- Their log files are read straight from ``[logging] base_log_folder``, where Airflow's task
  runner writes each try's JSON lines (``ylai run`` keeps Airflow's default folder; the path
  comes from the run's own log template, as Airflow's reader renders it). Going through
  Airflow's ``TaskLogReader`` would cost a query and a rendering per task instance, which does
  not fit 10,000 runs in a second; the lines are the same (Airflow masked secrets in them when
  the task wrote them; only each line's message, level and time are answered, nothing more).
- A request reads at most ``max_bytes`` of log files and runs until ``deadline`` at most; when
  either stops it, the answer says so and carries the cursor that continues the scan.
- Only the first :data:`MAX_LINE_CHARS` characters of a message are matched and answered.
- Python's ``re`` has no timeout, and a match cannot be interrupted once it runs. Patterns
  whose backtracking can grow exponentially (a repetition inside a repetition, an alternation
  under a repetition, a back-reference) are refused up front; what is left is polynomial in
  the line length, which the per-line cap bounds.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ylai_plugin.domain.dags import kind_and_name
from ylai_plugin.domain.errors import Invalid, text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVELS = ("debug", "info", "warning", "error", "critical")
# Matched and answered characters of one message: what bounds a regex's work on one line.
MAX_LINE_CHARS = 2000
MAX_PATTERN_CHARS = 300
# Repetitions (``*``, ``+``, ``{2,}``) one pattern may hold: with none nested, a pattern's
# backtracking is polynomial in the line length with this as the degree.
MAX_REPETITIONS = 4
# Task instances fetched per query while scanning.
BATCH = 500
# Highlighted spans per line.
MAX_SPANS = 20


@dataclass(frozen=True)
class Filters:
    """What to look for: a text or regex, levels, DAGs, run states and a time range."""

    q: str = ""
    regex: bool = False
    levels: frozenset[str] = frozenset()
    dag_ids: frozenset[str] | None = None  # None: any DAG the caller may read
    run_states: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Position:
    """Where a scan stopped: a task instance (by its sort key), a try and a byte offset in its log."""

    start_date: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    offset: int
    line: int  # lines before ``offset``, so line numbers continue

    def encode(self) -> str:
        """The cursor a client hands back: opaque, URL-safe."""
        raw = json.dumps(
            [
                self.start_date,
                self.dag_id,
                self.run_id,
                self.task_id,
                self.map_index,
                self.try_number,
                self.offset,
                self.line,
            ],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> Position:
        """The position of a cursor this module made; 422 on ``cursor`` for anything else."""
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            start, dag_id, run_id, task_id, map_index, try_number, offset, line = data
            datetime.fromisoformat(start)
            ints = (map_index, try_number, offset, line)
            if not all(isinstance(v, str) for v in (start, dag_id, run_id, task_id)) or not all(
                isinstance(v, int) and v >= -1 for v in ints
            ):
                raise ValueError(raw)
        except (ValueError, TypeError):
            raise Invalid.at(
                "query.cursor", text("logs.bad_cursor", "is not a cursor of this search; start again without it")
            ) from None
        return cls(start, dag_id, run_id, task_id, map_index, try_number, offset, line)


@dataclass
class Page:
    """One page of matching lines, and why and where the scan stopped."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    stopped_by: str | None = None  # "page", "scan_limit", "time_limit"; None: nothing more to scan
    scanned_bytes: int = 0
    scanned_files: int = 0


Matcher = Callable[[str], list[tuple[int, int]]]


def matcher(q: str, regex: bool) -> Matcher:
    """The spans where ``q`` matches a message (case-insensitively); 422 on ``q`` for a bad or unsafe regex."""
    if not q:
        return lambda message: [(0, 0)]
    if not regex:
        needle = q.casefold()

        def contains(message: str) -> list[tuple[int, int]]:
            folded = message.casefold()
            if len(folded) != len(message):  # casefold changed lengths (ß -> ss): spans by a regex
                return _spans(re.compile(re.escape(q), re.IGNORECASE), message)
            spans: list[tuple[int, int]] = []
            start = folded.find(needle)
            while start >= 0 and len(spans) < MAX_SPANS:
                spans.append((start, start + len(needle)))
                start = folded.find(needle, start + max(len(needle), 1))
            return spans

        return contains
    pattern = compile_regex(q)
    return lambda message: _spans(pattern, message)


def _spans(pattern: re.Pattern[str], message: str) -> list[tuple[int, int]]:
    spans = []
    for found in pattern.finditer(message):
        if found.end() > found.start():
            spans.append(found.span())
        if len(spans) >= MAX_SPANS:
            break
    if not spans and pattern.search(message) is not None:  # matched the empty string only
        spans.append((0, 0))
    return spans


def compile_regex(q: str) -> re.Pattern[str]:
    """``q`` compiled, once it is known to be safe to run on untrusted lines (422 on ``q`` otherwise)."""
    if len(q) > MAX_PATTERN_CHARS:
        _refuse(text("logs.regex_too_long", "is longer than {limit} characters", limit=MAX_PATTERN_CHARS))
    try:
        # The parser behind re.compile (private, but the only way to see a pattern's structure).
        parser: Any = importlib.import_module("re._parser")
        parsed = parser.parse(q, re.IGNORECASE)
        pattern = re.compile(q, re.IGNORECASE)
    except re.error as exc:
        _refuse(text("logs.regex_invalid", "is not a valid regular expression: {error}", error=str(exc)))
    problem = _unsafe(list(parsed), inside_repeat=False)
    if problem is None and _count_repeats(list(parsed)) > MAX_REPETITIONS:
        problem = text("logs.regex_repeats", "has more than {limit} repetitions (*, +, {{n,}})", limit=MAX_REPETITIONS)
    if problem is not None:
        _refuse(problem)
    return pattern


def _refuse(reason: Any) -> Any:
    raise Invalid.at("query.q", reason)


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _children(op: str, av: Any) -> list[list[Any]]:
    """The sub-patterns of one parsed item (a group's, a branch's, a repetition's, a look-around's)."""
    if op in _REPEATS:
        return [list(av[2])]
    if op == "SUBPATTERN":
        return [list(av[3])]
    if op == "BRANCH":
        return [list(b) for b in av[1]]
    if op in ("ASSERT", "ASSERT_NOT", "ATOMIC_GROUP"):
        return [list(av[1] if op != "ATOMIC_GROUP" else av)]
    if op == "GROUPREF_EXISTS":
        return [list(b) for b in av[1:] if b is not None]
    return []


def _unsafe(items: list[Any], inside_repeat: bool) -> Any:
    """Why the parsed pattern may backtrack exponentially, or None."""
    for op_code, av in items:
        op = str(op_code)
        if op in ("GROUPREF", "GROUPREF_EXISTS"):
            return text("logs.regex_backref", "may not refer back to a group (\\1)")
        repeats = op in _REPEATS and av[1] > 1
        if inside_repeat and repeats:
            return text("logs.regex_nested", "may not repeat a repetition, as in (a+)+: it can take exponential time")
        if inside_repeat and op == "BRANCH":
            return text(
                "logs.regex_branch", "may not repeat an alternation, as in (a|b)+: it can take exponential time"
            )
        for child in _children(op, av):
            problem = _unsafe(child, inside_repeat or repeats)
            if problem is not None:
                return problem
    return None


def _count_repeats(items: list[Any]) -> int:
    count = 0
    for op_code, av in items:
        op = str(op_code)
        if op in _REPEATS and av[1] > 1:
            count += 1
        count += sum(_count_repeats(child) for child in _children(op, av))
    return count


@dataclass(frozen=True)
class Candidate:
    """A task instance whose log files may hold matches."""

    start_date: datetime
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    run_state: str | None
    template: str | None
    ts: str

    def key(self) -> tuple[str, str, str, int]:
        """What identifies the task instance (a cursor records it)."""
        return (self.dag_id, self.run_id, self.task_id, self.map_index)


def candidates(
    session: Session, filters: Filters, allowed: frozenset[str], after: Position | None
) -> Iterator[Candidate]:
    """Task instances that ran, of the allowed DAGs, newest first, from ``after`` on (inclusive)."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.tasklog import LogTemplate
    from sqlalchemy import and_, func, or_, select, tuple_

    dag_ids = allowed if filters.dag_ids is None else allowed & filters.dag_ids
    if not dag_ids:
        return
    ti = TaskInstance
    where: list[Any] = [ti.dag_id.in_(sorted(dag_ids)), ti.start_date.is_not(None), ti.try_number > 0]
    if filters.run_states:
        where.append(DagRun.state.in_(sorted(filters.run_states)))
    if filters.until is not None:
        where.append(ti.start_date <= filters.until)
    if filters.since is not None:
        where.append(or_(ti.end_date.is_(None), ti.end_date >= filters.since))
    key = tuple_(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
    query = (
        select(
            ti.start_date,
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            ti.map_index,
            ti.try_number,
            DagRun.state,
            LogTemplate.filename,
            func.coalesce(DagRun.logical_date, DagRun.run_after),
        )
        .join(DagRun, and_(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id))
        .outerjoin(LogTemplate, LogTemplate.id == DagRun.log_template_id)
        .order_by(ti.start_date.desc(), ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        .limit(BATCH)
    )
    start: datetime | None = None
    last: tuple[str, str, str, int] | None = None
    if after is not None:
        start = datetime.fromisoformat(after.start_date)
        last = (after.dag_id, after.run_id, after.task_id, after.map_index)
    inclusive = True
    while True:
        page_where = list(where)
        if start is not None and last is not None:
            same = key >= tuple_(*last) if inclusive else key > tuple_(*last)
            page_where.append(or_(ti.start_date < start, and_(ti.start_date == start, same)))
        rows = session.execute(query.where(*page_where)).all()
        for row in rows:
            logical = row[8]
            yield Candidate(
                start_date=row[0],
                dag_id=row[1],
                run_id=row[2],
                task_id=row[3],
                map_index=row[4],
                try_number=row[5],
                run_state=str(row[6]) if row[6] else None,
                template=row[7],
                ts=logical.isoformat() if logical is not None else "",
            )
        if len(rows) < BATCH:
            return
        start, last, inclusive = rows[-1][0], (rows[-1][1], rows[-1][2], rows[-1][3], rows[-1][4]), False


def log_folder() -> Path:
    """Where Airflow's task runner writes task logs (``[logging] base_log_folder``)."""
    from airflow.configuration import conf

    return Path(conf.get("logging", "base_log_folder")).expanduser()


# Airflow 3.3's default ``[logging] log_filename_template``: rendered without Jinja (a third of
# a search's time went to Jinja's context set-up, per file). A test checks both give one path.
AIRFLOW_DEFAULT_TEMPLATE = (
    "dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
    "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
    "attempt={{ try_number|default(ti.try_number) }}.log"
)


def _default_render(*, ti: Any, ts: str, try_number: int) -> str:
    mapped = f"map_index={ti.map_index}/" if ti.map_index >= 0 else ""
    return f"dag_id={ti.dag_id}/run_id={ti.run_id}/task_id={ti.task_id}/{mapped}attempt={try_number}.log"


@lru_cache(maxsize=16)
def _template(source: str) -> Callable[..., str]:
    """A renderer of one log filename template, Jinja or ``str.format``, as Airflow renders it."""
    if source == AIRFLOW_DEFAULT_TEMPLATE:
        return _default_render
    if "{{" in source:
        import jinja2

        renderer: Callable[..., str] = jinja2.Template(source).render
        return renderer
    return lambda **ctx: source.format(
        dag_id=ctx["ti"].dag_id,
        task_id=ctx["ti"].task_id,
        run_id=ctx["ti"].run_id,
        logical_date=ctx["ts"],
        try_number=ctx["try_number"],
        data_interval_start="",
        data_interval_end="",
    )


@lru_cache(maxsize=1)
def _default_template() -> str:
    from airflow.configuration import conf

    return str(conf.get("logging", "log_filename_template"))


class _TI:
    """The task instance attributes a log filename template reads (``ti.dag_id`` & co)."""

    __slots__ = ("dag_id", "map_index", "run_id", "task_id", "try_number")

    def __init__(self, c: Candidate) -> None:
        self.dag_id, self.run_id, self.task_id = c.dag_id, c.run_id, c.task_id
        self.map_index, self.try_number = c.map_index, c.try_number


def log_path(folder: Path, c: Candidate, try_number: int) -> Path:
    """The log file of one try, as Airflow's file task handler names it."""
    render = _template(c.template or _default_template())
    return folder / render(ti=_TI(c), ts=c.ts, try_number=try_number)


@dataclass
class _Budget:
    max_bytes: int
    deadline: float
    used: int = 0
    files: int = 0

    def left(self) -> int:
        return self.max_bytes - self.used


def _parse(raw: bytes) -> tuple[str, str | None, str | None]:
    """A log line's message, level and timestamp; a line that is not Airflow's JSON is its own message."""
    line = raw.decode("utf-8", "replace").rstrip("\r\n")
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            event = record.get("event")
            level = record.get("level")
            stamp = record.get("timestamp")
            return (
                event if isinstance(event, str) else json.dumps(event, default=str),
                level.lower() if isinstance(level, str) else None,
                stamp if isinstance(stamp, str) else None,
            )
    return line, None, None


def _in_window(stamp: str | None, filters: Filters) -> bool:
    if filters.since is None and filters.until is None:
        return True
    if stamp is None:
        return True  # a line without a time belongs to its task instance, which is in the window
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return True
    if moment.tzinfo is None:
        return True
    return not (
        (filters.since is not None and moment < filters.since) or (filters.until is not None and moment > filters.until)
    )


def _prefilter(q: str, regex: bool) -> bytes | None:
    """Bytes every raw line holding a match must contain (lowercased), to skip JSON parsing; None: no shortcut.

    Only for plain ASCII text without characters JSON escapes: then the message's text appears
    as it is in the line's bytes.
    """
    if regex or not q or not q.isascii() or any(ch in q for ch in '"\\/') or not q.isprintable():
        return None
    return q.lower().encode()


def _may_match(lowered: bytes, needle: bytes | None, levels: list[bytes]) -> bool:
    """Whether lowercased log bytes hold the text (when there is a shortcut for it) and one of the levels."""
    if needle is not None and needle not in lowered:
        return False
    return not levels or any(level in lowered for level in levels)


def search(
    session: Session,
    filters: Filters,
    allowed: frozenset[str],
    *,
    limit: int,
    cursor: str | None,
    max_bytes: int,
    max_seconds: float,
    folder: Path | None = None,
) -> Page:
    """One page of lines matching ``filters`` in the task logs of the ``allowed`` DAGs.

    :param allowed: the DAG ids whose task logs the caller may read; no other log is opened.
    :param cursor: ``next_cursor`` of the previous page, to continue where it stopped.
    :param max_bytes: log bytes this request may read at most.
    :param max_seconds: how long this request may scan, checked between lines.
    """
    match = matcher(filters.q, filters.regex)  # 422 on a bad regex before anything is read
    after = Position.decode(cursor) if cursor else None
    needle = _prefilter(filters.q, filters.regex)
    folder = folder or log_folder()
    budget = _Budget(max_bytes=max_bytes, deadline=time.monotonic() + max_seconds)
    page = Page()
    for c in candidates(session, filters, allowed, after):
        resume = (
            after
            if after is not None and c.key() == (after.dag_id, after.run_id, after.task_id, after.map_index)
            else None
        )
        after = None
        first_try = resume.try_number if resume else c.try_number
        for try_number in range(first_try, 0, -1):
            offset, line_no = (resume.offset, resume.line) if resume and try_number == resume.try_number else (0, 0)
            stop = _scan_file(
                page,
                c,
                try_number,
                log_path(folder, c, try_number),
                offset,
                line_no,
                match,
                needle,
                filters,
                budget,
                limit,
            )
            if stop is not None:
                page.next_cursor, page.stopped_by = stop
                page.scanned_bytes, page.scanned_files = budget.used, budget.files
                return page
    page.scanned_bytes, page.scanned_files = budget.used, budget.files
    return page


def _scan_file(
    page: Page,
    c: Candidate,
    try_number: int,
    path: Path,
    offset: int,
    line_no: int,
    match: Matcher,
    needle: bytes | None,
    filters: Filters,
    budget: _Budget,
    limit: int,
) -> tuple[str, str] | None:
    """Add the file's matches to ``page``; the (cursor, reason) where the scan must stop, or None."""

    def stop_here(reason: str) -> tuple[str, str]:
        position = Position(
            c.start_date.isoformat(), c.dag_id, c.run_id, c.task_id, c.map_index, try_number, offset, line_no
        )
        return position.encode(), reason

    if budget.left() <= 0:
        return stop_here("scan_limit")
    if time.monotonic() > budget.deadline:
        return stop_here("time_limit")
    try:
        handle = path.open("rb")
    except OSError:  # no log (yet, or not on this host)
        return None
    with handle:
        budget.files += 1
        handle.seek(offset)
        chunk = handle.read(budget.left())
        at_end = handle.read(1) == b""
        if not at_end and b"\n" not in chunk:
            # One line longer than what is left of the budget: read it whole only when nothing
            # else was read yet, so that a scan always moves on.
            if budget.used > 0:
                return stop_here("scan_limit")
            handle.seek(offset + len(chunk))
            chunk += handle.readline()
        lines = chunk.splitlines(keepends=True)
        if not at_end and lines and not lines[-1].endswith(b"\n"):
            lines.pop()  # cut by the budget: the next request reads it whole
        levels = [f'"{level}"'.encode() for level in filters.levels]
        if (needle is not None or levels) and not _may_match(chunk.lower(), needle, levels):
            # The whole file (most of them, for a rare word) fails the byte tests: skip its lines at once.
            size = sum(map(len, lines))
            line_no, offset, budget.used, lines = line_no + len(lines), offset + size, budget.used + size, []
        for count, raw in enumerate(lines):
            if count % 64 == 63 and time.monotonic() > budget.deadline:
                return stop_here("time_limit")
            line_no += 1
            offset += len(raw)
            budget.used += len(raw)
            # Cheap byte tests first: most lines fail them and are never parsed.
            if (needle is not None or levels) and not _may_match(raw.lower(), needle, levels):
                continue
            message, level, stamp = _parse(raw)
            if filters.levels and level not in filters.levels:
                continue
            message = message[:MAX_LINE_CHARS]
            spans = match(message)
            if not spans or not _in_window(stamp, filters):
                continue
            page.items.append(_item(c, try_number, line_no, message, level, stamp, spans))
            if len(page.items) >= limit:
                return stop_here("page")
        if not at_end:
            return stop_here("scan_limit")
    return None


def _item(
    c: Candidate,
    try_number: int,
    line_no: int,
    message: str,
    level: str | None,
    stamp: str | None,
    spans: list[tuple[int, int]],
) -> dict[str, Any]:
    from urllib.parse import quote

    run_link = f"dags/{quote(c.dag_id, safe='')}/runs/{quote(c.run_id, safe='')}"
    task_link = f"{run_link}/tasks/{quote(c.task_id, safe='')}"
    if c.map_index >= 0:
        task_link += f"/mapped/{c.map_index}"
    return {
        "dag_id": c.dag_id,
        **kind_and_name(c.dag_id),
        "run_id": c.run_id,
        "run_state": c.run_state,
        "task_id": c.task_id,
        "map_index": c.map_index,
        "try_number": try_number,
        "line_number": line_no,
        "timestamp": stamp,
        "level": level,
        "text": message,
        "matches": [list(span) for span in spans if span[1] > span[0]],
        "run_link": run_link,
        "line_link": f"{task_link}?try_number={try_number}#{line_no}",
    }
