"""Keep the api-server's full garbage collections short: freeze what start-up allocated.

An Airflow api-server worker holds a few million long-lived objects (Airflow, FastAPI, the
providers, the serialized DAG models). CPython's full (generation 2) collection walks all of
them: measured on the benchmark machine, 225-430 ms with the event loop stopped, a few times
a minute under load, which set every route's p99 at ~400 ms, the no-op's included.
``gc.freeze()`` moves the objects alive after start-up to a permanent generation that
collections skip (what the CPython docs advise for pre-forked servers). Objects created later
are collected as usual; garbage that existed at the freeze is collected first.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)
# Lazily imported modules and caches filled by the first requests are frozen too, once.
SECOND_FREEZE_SECONDS = 60.0


def freeze_startup_objects() -> int:
    """Collect, then freeze everything alive; return how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_now_and_later(delay: float = SECOND_FREEZE_SECONDS) -> threading.Timer:
    """Freeze now, and once more after ``delay`` seconds (a daemon timer)."""
    frozen = freeze_startup_objects()
    log.info("ylai: %d start-up objects frozen out of the garbage collector's full passes", frozen)
    timer = threading.Timer(delay, freeze_startup_objects)
    timer.daemon = True
    timer.start()
    return timer
