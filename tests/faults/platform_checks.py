"""What the fault tests look at on a running platform: its components, its task tries, probes of its API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psutil

from tests.integration.running_platform import RunningPlatform, wait_until

# Each component of `ylai run` (run_platform._components) by what its process title contains.
# Airflow and Celery rewrite their titles ("airflow api_server -- host:...", "[celeryd: ...] (celery
# worker)"), so the patterns are the words that survive, not the argv the supervisor started.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "api-server": ("api_server", "api-server"),
    "scheduler": ("airflow scheduler",),
    "dag-processor": ("airflow dag-processor",),
    "triggerer": ("airflow triggerer",),
    "celery-worker": ("celery worker", "celeryd"),
    "alerts": ("ylai_plugin.cli alerts",),
}


def _title(proc: psutil.Process) -> str:
    try:
        parts = [part for part in proc.cmdline() if part]
        if proc.status() == psutil.STATUS_ZOMBIE:
            return ""
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
    # argv[0] of a console script is its path: keep only the name, so "airflow scheduler" matches.
    return " ".join(part.rsplit("/", 1)[-1] for part in parts)


def running_components(platform: RunningPlatform) -> dict[str, list[psutil.Process]]:
    """The live direct children of ``ylai run``, by component name."""
    assert platform.proc is not None
    try:
        children = psutil.Process(platform.proc.pid).children(recursive=False)
    except psutil.NoSuchProcess:
        return {}
    found: dict[str, list[psutil.Process]] = {}
    for child in children:
        title = _title(child)
        for name, patterns in COMPONENTS.items():
            if any(pattern in title for pattern in patterns):
                found.setdefault(name, []).append(child)
    return found


def missing_components(platform: RunningPlatform) -> list[str]:
    found = running_components(platform)
    return [name for name in COMPONENTS if name not in found]


def wait_all_components(platform: RunningPlatform, *, timeout: float) -> None:
    """Wait until ``ylai run`` is alive with every component running; fail naming what is missing."""
    assert platform.proc is not None

    def up() -> bool | None:
        assert platform.proc is not None
        assert platform.proc.poll() is None, f"ylai run exited ({platform.proc.returncode}):\n{platform.tail(60)}"
        return True if not missing_components(platform) else None

    wait_until(
        up,
        timeout,
        lambda: f"components not running after {timeout:.0f}s: {missing_components(platform)}\n{platform.tail(60)}",
    )


def celery_worker_tree(platform: RunningPlatform) -> list[psutil.Process]:
    """The Celery worker component and all of its descendants (pool, task supervisors, scripts)."""
    workers = running_components(platform).get("celery-worker", [])
    assert len(workers) == 1, f"expected one celery worker, found {workers}:\n{platform.tail(40)}"
    return [workers[0], *workers[0].children(recursive=True)]


# -- Airflow task instances -------------------------------------------------------------------------


def _quoted(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")


def tries(platform: RunningPlatform, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
    """Every try of one task instance (the earlier ones and the current one), oldest first."""
    path = f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}/taskInstances/{task_id}/tries"
    resp = platform.request("GET", path)
    assert resp.status == 200, f"{path}: {resp.status} {resp.body[:300]!r}"
    found: list[dict[str, Any]] = resp.json()["task_instances"]
    return sorted(found, key=lambda t: int(t["try_number"]))


def task_state(platform: RunningPlatform, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    resp = platform.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}/taskInstances/{task_id}")
    assert resp.status == 200, resp.body[:300]
    body: dict[str, Any] = resp.json()
    return body


def timestamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_states(platform: RunningPlatform, runs: list[tuple[str, str]], *, timeout: float) -> dict[str, str]:
    """Wait until every ``(dag_id, run_id)`` has finished; return each run's final state."""
    states: dict[str, str] = {}

    def finished() -> dict[str, str] | None:
        for dag_id, run_id in runs:
            if run_id in states:
                continue
            resp = platform.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{_quoted(run_id)}")
            state = resp.json().get("state") if resp.status == 200 else None
            if state in ("success", "failed"):
                states[run_id] = str(state)
        return states if len(states) == len(runs) else None

    return wait_until(
        finished,
        timeout,
        lambda: (
            f"runs not finished after {timeout:.0f}s: {[r for _, r in runs if r not in states]} "
            f"(finished: {states})\n{platform.tail(60)}"
        ),
    )


# -- probing the API during an outage ---------------------------------------------------------------


@dataclass
class Answer:
    """One probe of a route: the status (``None`` when no HTTP answer came) and what came with it."""

    path: str
    at: float  # seconds since the fault was injected
    took: float
    status: int | None
    retry_after: str | None = None
    body: str = ""
    error: str = ""

    def envelope(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {}
        return parsed.get("error") or {} if isinstance(parsed, dict) else {}

    def __str__(self) -> str:
        said = self.error or self.body[:200]
        return (
            f"t+{self.at:.1f}s {self.path} -> {self.status} in {self.took:.1f}s retry-after={self.retry_after} {said}"
        )


def probe(
    platform: RunningPlatform,
    path: str,
    *,
    token: str,
    since: float,
    timeout: float,
    method: str = "GET",
    body: Any = None,
) -> Answer:
    """Call ``path`` with a bound on the wait; a refused connection or a timeout is an answer too."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(platform.base_url + path, data=data, headers=headers, method=method)
    label = path if method == "GET" else f"{method} {path}"
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, body = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, dict(err.headers), err.read()
    except (urllib.error.URLError, OSError) as exc:
        return Answer(label, started - since, time.monotonic() - started, None, error=f"{type(exc).__name__}: {exc}")
    retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return Answer(
        label, started - since, time.monotonic() - started, status, retry_after, body.decode(errors="replace")
    )
