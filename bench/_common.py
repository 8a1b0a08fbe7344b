"""Small helpers shared by the benchmark scripts in this folder (not a benchmark itself)."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import yaml

if TYPE_CHECKING:
    from tests.integration.running_platform import RunningPlatform

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# ylai's DAG generator files: the script and pipeline shards (dags/ylai_scripts_<i>.py,
# dags/ylai_pipelines_<i>.py) and the spec-error reporter.
GENERATOR_FILES = (
    *sorted((p.name for p in (REPO_ROOT / "dags").glob("ylai_scripts_*.py")), key=lambda n: (len(n), n)),
    *sorted((p.name for p in (REPO_ROOT / "dags").glob("ylai_pipelines_*.py")), key=lambda n: (len(n), n)),
    "ylai_spec_errors.py",
)
# A trivial bash pipeline step for the benchmarks' pipelines (see :func:`write_step_script`).
STEP_SCRIPT = """#!/usr/bin/env bash
# Trivial pipeline step (ylai benchmark): writes {"value": <--value> + 1} as its result.
value=0
while [ $# -gt 0 ]; do
  case "$1" in
    --value) value="$2"; shift 2 ;;
    *) shift ;;
  esac
done
printf '{"value": %d}' "$((value + 1))" > "$YLAI_RESULT_FILE"
"""


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


def write_step_script(
    dags: Path,
    name: str,
    description: str,
    retries: int,
    *,
    body: str = STEP_SCRIPT,
    extra_params: dict[str, Any] | None = None,
) -> list[Path]:
    """Write :data:`STEP_SCRIPT` as the bash script ``name`` with its manifest into ``dags/scripts``.

    The script takes an integer ``value`` and outputs ``value`` + 1, so a pipeline can chain it.

    :param dags: the DAGs folder.
    :param name: the script's name (``<name>.sh`` and ``<name>.yaml``).
    :param description: the manifest's description.
    :param retries: the manifest's retries.
    :param body: the script (another one that outputs ``value`` + 1, e.g. after a sleep).
    :param extra_params: params the body takes besides ``value``, for the manifest.
    :return: the files written (script, manifest).
    """
    scripts = dags / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / f"{name}.sh"
    script.write_text(body)
    script.chmod(0o755)
    manifest = {
        "name": name,
        "description": description,
        "owner": "bench",
        "tags": ["bench"],
        "runtime": "bash",
        "retries": retries,
        "params": {"value": {"type": "integer", "default": 0, "minimum": 0}, **(extra_params or {})},
        "outputs": {"value": {"type": "integer"}},
    }
    manifest_path = scripts / f"{name}.yaml"
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return [script, manifest_path]


def running_platform_class() -> type[RunningPlatform]:
    """``tests/integration/running_platform.RunningPlatform``, imported from the repository.

    Importing it imports ``tests.conftest``, which makes a throw-away ``AIRFLOW_HOME``; that
    one is removed here, since each benchmark platform has a home of its own.
    """
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import tests.conftest
    from tests.integration.running_platform import RunningPlatform

    shutil.rmtree(tests.conftest._HOME, ignore_errors=True)
    return RunningPlatform


@contextlib.contextmanager
def platform_on_fresh_database(
    work: Path,
    server_url: str,
    *,
    db_prefix: str,
    admin_password: str,
    env: dict[str, str],
    say: Callable[[str], None],
    stop_timeout: float = 90,
) -> Iterator[tuple[RunningPlatform, str]]:
    """The real platform (``ylai run``) on a fresh Postgres database, up and answering.

    Creates the database ``<db_prefix>_<random>`` on ``server_url``'s server, starts
    ``RunningPlatform`` in ``work/home`` with ``YLAI_DATABASE_URL`` set to it,
    ``YLAI_ADMIN_PASSWORD`` and ``env``, and waits for its banner. On exit it stops the platform
    (SIGTERM, then kills what survives ``stop_timeout`` seconds) and drops the database, whatever
    happened.

    :return: the platform and the database URL.
    """
    platform_class = running_platform_class()
    from tests.integration.running_platform import postgres_database

    with postgres_database(server_url, db_prefix) as db_url:
        name = urlsplit(db_url).path[1:]
        say(f"created database {name}")
        platform = platform_class(
            work / "home", {"YLAI_DATABASE_URL": db_url, "YLAI_ADMIN_PASSWORD": admin_password, **env}
        )
        say(f"starting the platform in {work}")
        began = time.monotonic()
        try:
            platform.start()
            platform.wait_ready(timeout=600)
            say(f"platform up after {time.monotonic() - began:.0f} s: {platform.base_url}")
            yield platform, db_url
        finally:
            rc, survivors = platform.stop(timeout=stop_timeout) if platform.proc is not None else (0, [])
            platform.kill()
            say(f"platform stopped (exit {rc}, {len(survivors)} survivors killed); log {platform.log_path}")
    say(f"dropped database {name}")
