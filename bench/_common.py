"""Small helpers shared by the benchmark scripts in this folder (not a benchmark itself)."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# ylai's DAG generator files: the script and pipeline shards (dags/ylai_scripts_<i>.py,
# dags/ylai_pipelines_<i>.py) and the spec-error reporter.
GENERATOR_FILES = (
    *sorted((p.name for p in (REPO_ROOT / "dags").glob("ylai_scripts_*.py")), key=lambda n: (len(n), n)),
    *sorted((p.name for p in (REPO_ROOT / "dags").glob("ylai_pipelines_*.py")), key=lambda n: (len(n), n)),
    "ylai_spec_errors.py",
)


def source_revision() -> str:
    """The checkout's commit (``+dirty`` with local changes): the code the figures belong to."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty=+dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine_note() -> str:
    """CPU count and load average, for the benchmark's header."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}, source {source_revision()}"


def bytecode_env(work: Path, cache: bool = True) -> dict[str, str]:
    """Environment for child interpreters about ``.pyc`` files.

    With ``cache`` (the default), bytecode is written to and read from ``<work>/pycache``
    (``PYTHONPYCACHEPREFIX``), as an installed venv would have it, even when the caller
    exports ``PYTHONDONTWRITEBYTECODE=1`` (this repository's ``.venv`` then has no ``.pyc``
    at all and every process compiles every module it imports). The repository and the venv
    are never written to. Without ``cache``, the caller's setting is kept.
    """
    if not cache:
        return {}
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(work / "pycache")}


def bytecode_note(cache: bool) -> str:
    """One line saying how bytecode is handled, for the benchmark's header."""
    if cache:
        return "bytecode cached in a temporary PYTHONPYCACHEPREFIX (like an installed venv)"
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE") or "unset"
    return f"bytecode as in the caller's environment (PYTHONDONTWRITEBYTECODE={setting})"


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def fmt_ms(seconds: float) -> str:
    """``0.0123`` -> ``"12.3 ms"``."""
    return f"{seconds * 1000:.1f} ms"


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is 0."""
    return numerator / denominator if denominator else float("nan")


def verdict(ok: bool) -> str:
    """``met`` / ``NOT met``."""
    return "met" if ok else "NOT met"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with left-aligned first column and right-aligned others."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for n, row in enumerate([headers, *rows]):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def quiet_fds(log_path: Path) -> Iterator[TextIO]:
    """Send everything written to fd 1 and 2 (Airflow's structlog output, warnings) to ``log_path``.

    Yields a text stream on the *original* stdout for the benchmark's own progress lines.
    Task logs are written in a real deployment too (to a file, through the supervisor), so
    this keeps their cost while keeping the benchmark's output readable.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            console.close()


def remove_unless_kept(work: Path, keep: bool) -> None:
    """Delete a benchmark's temporary folder, or say where it is when ``--keep`` asked for it."""
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
