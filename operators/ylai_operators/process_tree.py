"""Stop a process together with everything it started.

Shared by the ``ScriptOperator`` (timeouts, ``on_kill``) and the ``ylai run``
supervisor. psutil is imported lazily: DAG files import ``ylai_operators`` and
parsing must stay fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil


def descendants(pids: Iterable[int]) -> list[psutil.Process]:
    """Return the processes ``pids`` and all of their live descendants."""
    import psutil

    found: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                found[proc.pid] = proc
        except psutil.NoSuchProcess:
            continue
    return list(found.values())


def signal_tree(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``proc``'s process group and every descendant, without waiting or reaping."""
    import psutil

    tree = descendants([proc.pid]) if proc.returncode is None else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(sig)


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 30.0, *, reap: bool = True) -> None:
    """SIGTERM each process group and every descendant; SIGKILL what survives ``timeout``.

    Each process must lead its own process group (``start_new_session=True``).
    Descendants are collected *before* signalling: once a parent dies its
    children are re-parented and can no longer be found from it; a child that
    called ``setsid()`` is outside the group, so killpg alone would miss it.

    :param reap: wait for the ``Popen`` objects; pass ``False`` when the caller reaps them itself.
    """
    import psutil

    tree = descendants(p.pid for p in procs if p.returncode is None)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    deadline = time.monotonic() + timeout
    _, alive = psutil.wait_procs(tree, timeout=max(0.0, deadline - time.monotonic()))
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    if reap:
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
