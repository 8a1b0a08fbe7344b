"""Re-parse ylai's DAG files when the catalog changes, not on a short timer.

ylai's DAG files (``ylai_scripts_<i>.py``, ``ylai_pipelines_<i>.py``, ...) generate their DAGs
from the catalog: the manifests and pipeline specs under the DAGs folder, and what the API
publishes in Airflow Variables (database scripts and pipelines, scheduled tasks, the sensitive
scripts' approval policy). Parsing them all every 10 s so that a change shows quickly cost about a
tenth of a core on an idle platform, five times Airflow's own default. Instead, a thread in the
dag-processor (started by :mod:`ylai_plugin.listeners`) looks every
``[ylai] catalog_watch_seconds`` at what the files depend on -- the size and modification time
of every file in the folder and the published Variables, one ``stat`` per file and one small
query -- and, when anything changed, asks the dag-processor to parse ylai's DAG files now,
through Airflow's priority parsing requests (the table behind ``PUT /api/v2/parseDagFile``). A
longer ``[dag_processor] min_file_process_interval`` stays as the safety net.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from ylai_plugin import config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The Variables ylai's DAG files read while parsing (``ylai_approval_directory`` is read when a
#: task runs, not while parsing, and changes with role memberships: not watched).
WATCHED_VARIABLES = ("ylai_db_scripts", "ylai_db_pipelines", "ylai_scheduled_tasks", "ylai_approval_policy")
#: A top-level DAG file is ylai's when it imports this package.
MARKER = b"ylai_operators"


@dataclass(frozen=True)
class Bundle:
    """A DAG bundle on local disk: its name and folder."""

    name: str
    path: Path


def files_digest(folder: Path) -> str:
    """A digest of the path, size and modification time of every file under ``folder``.

    Bytecode caches and hidden folders are left out: Python writes them when it parses.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(".pyc"):
                continue
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:  # deleted while walking: the next look sees the folder without it
                continue
            digest.update(f"{os.path.relpath(path, folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def variables_digests(session: Session) -> dict[str, str]:
    """A digest of each watched Variable as stored (an encrypted value changes on every write too)."""
    from airflow.models.variable import Variable

    rows = session.execute(select(Variable.key, Variable._val).where(Variable.key.in_(WATCHED_VARIABLES))).all()
    return {key: hashlib.sha1(str(value).encode(), usedforsecurity=False).hexdigest() for key, value in rows}


def ylai_dag_files(folder: Path) -> list[str]:
    """The top-level ``.py`` files of ``folder`` that import ``ylai_operators``, relative to it."""
    found = []
    for path in sorted(folder.glob("*.py")):
        try:
            if MARKER in path.read_bytes():
                found.append(path.name)
        except OSError:
            continue
    return found


def request_parsing(session: Session, bundle: Bundle, files: list[str]) -> int:
    """Ask the dag-processor to parse ``files`` of ``bundle`` next; how many requests were added.

    A file already waiting for its parse is not asked for twice.
    """
    from airflow.models.dagbag import DagPriorityParsingRequest

    waiting = set(
        session.scalars(
            select(DagPriorityParsingRequest.relative_fileloc).where(
                DagPriorityParsingRequest.bundle_name == bundle.name,
                DagPriorityParsingRequest.relative_fileloc.in_(files),
            )
        )
    )
    added = [f for f in files if f not in waiting]
    session.add_all(DagPriorityParsingRequest(bundle_name=bundle.name, relative_fileloc=f) for f in added)
    return len(added)


class CatalogWatcher:
    """Compares the catalog's digests with the last look and asks for parses when they differ."""

    def __init__(self, bundles: list[Bundle]) -> None:
        self.bundles = bundles
        self.seen: dict[str, str] = {}
        self.looked: dict[str, str] = {}

    def confirm(self) -> None:
        """Take the last look's digests as seen (once its requests are committed)."""
        self.seen = self.looked

    def look(self, session: Session, *, confirm: bool = True) -> int:
        """One look: the number of parse requests made (0 on the first look, which only notes).

        :param confirm: take what was seen as the new state at once; :func:`watch` confirms only
            after the requests are committed, so that a look whose commit failed is looked at again.
        """
        current = {f"folder {b.name}": files_digest(b.path) for b in self.bundles}
        current.update({f"variable {k}": v for k, v in variables_digests(session).items()})
        first, previous = not self.seen, self.seen
        self.looked = current
        if confirm:
            self.confirm()
        changed = sorted(k for k in current.keys() | previous.keys() if current.get(k) != previous.get(k))
        if first or not changed:
            return 0
        added = 0
        for bundle in self.bundles:
            files = ylai_dag_files(bundle.path)
            if files:
                added += request_parsing(session, bundle, files)
        log.info("the catalog changed (%s): %d of ylai's DAG files asked to parse now", ", ".join(changed), added)
        return added


def local_bundles() -> list[Bundle]:
    """The configured DAG bundles that are folders on this machine (the DAGs folder, by default)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    found = []
    for bundle in DagBundlesManager().get_all_dag_bundles():  # type: ignore[no-untyped-call]
        try:
            path = Path(bundle.path)
        except Exception:  # a bundle that has no path before it is fetched: nothing to watch
            log.debug("DAG bundle %s has no local path", bundle.name, exc_info=True)
            continue
        if path.is_dir():
            found.append(Bundle(bundle.name, path))
    return found


def watch(stop: threading.Event, interval: float | None = None) -> None:
    """Look every ``interval`` seconds (``[ylai] catalog_watch_seconds``) until ``stop`` is set.

    A failed look (the database is down) is logged and the next one tries again.
    """
    from airflow.utils.session import create_session

    every = config.CATALOG_WATCH_SECONDS.get() if interval is None else interval
    watcher = CatalogWatcher(local_bundles())
    log.info("watching the catalog of %s every %.0f s", ", ".join(str(b.path) for b in watcher.bundles), every)
    while not stop.is_set():
        try:
            with create_session() as session:
                watcher.look(session, confirm=False)
            watcher.confirm()  # committed: a failed commit leaves the change to be seen again
        except Exception:
            log.warning("looking at the catalog failed; trying again in %.0f s", every, exc_info=True)
        stop.wait(every)


def start_watcher() -> threading.Thread | None:
    """Start :func:`watch` in a daemon thread, unless ``[ylai] catalog_watch_seconds`` is 0."""
    if config.CATALOG_WATCH_SECONDS.get() <= 0:
        return None
    thread = threading.Thread(target=watch, args=(threading.Event(),), name="ylai-catalog-watch", daemon=True)
    thread.start()
    return thread
