"""Host resource samples (CPU, memory, disk, load, running tasks) every few seconds.

Started inside the processes that do the work: each Celery worker (through
``celery_config``'s ``worker_ready`` hook), each api-server worker (the plugin app's
lifespan) and, with the LocalExecutor, the scheduler (a lifecycle listener). Every
sample is one row in ``ylai_worker_sample``; the newest row of a host is its heartbeat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 10.0
RETENTION = timedelta(hours=25)
_started: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def host_name() -> str:
    """The name this host reports under (Airflow's own hostname callable)."""
    try:
        from airflow.utils.net import get_hostname

        return str(get_hostname())  # type: ignore[no-untyped-call]
    except Exception:
        return socket.gethostname()


def take_sample(kind: str, disk_path: str | None = None) -> dict[str, Any]:
    """Measure this host now."""
    import psutil

    mem = psutil.virtual_memory()
    disk = psutil.disk_usage(disk_path or os.environ.get("AIRFLOW_HOME") or "/")
    load1, load5, load15 = os.getloadavg()
    return {
        "host": host_name(),
        "kind": kind,
        "pid": os.getpid(),
        "ts": datetime.now(UTC),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count() or 1,
        "mem_percent": mem.percent,
        "mem_used_bytes": int(mem.total - mem.available),
        "mem_total_bytes": int(mem.total),
        "disk_percent": disk.percent,
        "disk_free_bytes": int(disk.free),
        "load1": load1,
        "load5": load5,
        "load15": load15,
    }


def running_tasks(host: str, session: Any) -> int:
    """Task instances Airflow records as running on ``host``."""
    from airflow.models import TaskInstance
    from sqlalchemy import func, select

    return int(
        session.scalar(select(func.count()).where(TaskInstance.hostname == host, TaskInstance.state == "running")) or 0
    )


def store_sample(sample: dict[str, Any]) -> None:
    """Insert one sample (with the running-task count) and purge expired ones now and then."""
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from ylai_plugin.db.models import WorkerSample

    with create_session() as session:
        sample = {**sample, "running_tasks": running_tasks(sample["host"], session)}
        session.add(WorkerSample(**sample))
        if int(time.time()) % 600 < INTERVAL_SECONDS:
            session.execute(delete(WorkerSample).where(WorkerSample.ts < sample["ts"] - RETENTION))


def _loop(kind: str, interval: float) -> None:
    import psutil

    psutil.cpu_percent(interval=None)  # prime: the first call always answers 0.0
    while True:
        time.sleep(interval)
        try:
            store_sample(take_sample(kind))
        except Exception:  # monitoring must never take its host process down
            log.warning("ylai: could not store a resource sample", exc_info=True)


def start_sampler(kind: str, interval: float = INTERVAL_SECONDS) -> bool:
    """Start the sampling thread of this process once; return whether it was started now."""
    key = f"{kind}:{os.getpid()}"
    with _lock:
        if key in _started and _started[key].is_alive():
            return False
        thread = threading.Thread(target=_loop, args=(kind, interval), name=f"ylai-sampler-{kind}", daemon=True)
        thread.start()
        _started[key] = thread
        return True
