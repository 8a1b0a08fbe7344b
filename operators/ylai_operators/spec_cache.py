"""A small on-disk cache of validated specs, so that parsing 200 manifests costs milliseconds.

Every DAG file that builds ylai DAGs (and the task runner, which re-imports one of them at the
start of every task) would otherwise read, YAML-parse and pydantic-validate every manifest and
pipeline spec. The cache maps ``(file path, BLAKE2 digest of its bytes)`` to the validated
model, so a changed file is always re-validated (no mtime granularity issue) and only reading
the bytes is left. The whole cache is dropped when the code that validates changes (a digest
of ``manifest.py``, ``pipeline_spec.py`` and ``param_schema.py`` plus the Python and pydantic versions).

Each entry is pickled on its own and records the spec's name, so that the task runner, which
builds one DAG, finds the few specs it needs by name and unpickles only those
(:meth:`SpecCache.paths_named`): a 200-script catalog made the start of every task ~55 ms
slower than the default catalog's, and now does not (``bench/pipeline_latency.py``, issue 21).

Where: ``$YLAI_SPEC_CACHE_DIR`` or ``$AIRFLOW_HOME/ylai-cache`` (``~/airflow/ylai-cache``),
one pickle per kind of spec and folder. ``AIRFLOW_HOME`` is trusted like the DAGs folder
(it holds the Fernet key and the DAG code), and the files are written ``0600``. Writers
replace the file atomically (temporary file + ``os.replace``), so concurrent parsers never
read a torn file; the last writer wins, and every writer writes what it validated itself.
Any problem (unwritable folder, corrupt or incompatible file) just means "no cache".
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

_VALIDATING_MODULES = ("manifest.py", "pipeline_spec.py", "param_schema.py", "spec_cache.py")


@functools.cache  # the code a process validates with does not change while it runs
def _stamp() -> str:
    import pydantic

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{sys.version}|{pydantic.VERSION}".encode())
    here = Path(__file__).parent
    for name in _VALIDATING_MODULES:
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """The folder holding the cache files."""
    explicit = os.environ.get("YLAI_SPEC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser() / "ylai-cache"


def digest(data: bytes) -> str:
    """The content key of a spec file."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class SpecCache:
    """Validated specs of one folder, keyed by path and content digest.

    ``get``/``put`` during a load, then ``save`` once: entries not used by this load are
    dropped (deleted or changed files), and nothing is written when nothing changed. A load
    that reads only some specs (:meth:`paths_named`) must not ``save``.
    """

    def __init__(self, kind: str, folder: Path) -> None:
        self._stamp = _stamp()
        folder_key = hashlib.blake2b(str(folder.resolve()).encode(), digest_size=8).hexdigest()
        self.path = cache_dir() / f"{kind}-{folder_key}.pickle"
        # (path, digest) -> (spec name, pickled spec): unpickled one at a time, when asked for
        self._old: dict[tuple[str, str], tuple[str | None, bytes]] = {}
        self._new: dict[tuple[str, str], tuple[str | None, bytes]] = {}
        self._dirty = False
        self._by_name: dict[str, set[str]] | None = None
        try:
            with open(self.path, "rb") as handle:
                stored = pickle.load(handle)  # noqa: S301 - our own file in AIRFLOW_HOME, see the module doc
            if isinstance(stored, dict) and stored.get("stamp") == self._stamp:
                self._old = stored["entries"]
        except Exception:  # missing, corrupt, written by other code: start empty
            self._old = {}

    def get(self, path: Path, key: str) -> Any | None:
        """The cached value for ``path`` with content digest ``key``, or ``None``."""
        entry = (str(path), key)
        stored = self._old.get(entry)
        if stored is None:
            return None
        try:
            value = pickle.loads(stored[1])  # noqa: S301 - see above
        except Exception:  # an entry written by other code: validate the file again
            return None
        self._new[entry] = stored
        return value

    def put(self, path: Path, key: str, value: Any, *, name: str | None = None) -> None:
        """Remember ``value`` (the spec called ``name``) for ``path`` with content digest ``key``."""
        self._new[(str(path), key)] = (name, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        self._dirty = True

    def paths_named(self, name: str) -> list[Path]:
        """The files whose spec was called ``name`` when last cached, sorted (they may have changed since)."""
        if self._by_name is None:
            self._by_name = {}
            for (path, _key), (named, _blob) in self._old.items():
                if named is not None:
                    self._by_name.setdefault(named, set()).add(path)
        return sorted(Path(path) for path in self._by_name.get(name, ()))

    def save(self) -> None:
        """Write the entries used by this load, if anything changed; never raises."""
        if not self._dirty and len(self._new) == len(self._old):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump({"stamp": self._stamp, "entries": self._new}, handle, pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except Exception:  # a read-only AIRFLOW_HOME only costs speed
            return
