"""Waiting for a condition in tests that watch real processes (the supervisor's tests)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``predicate`` every 50 ms until it is true.

    :param predicate: the condition.
    :param timeout: seconds before giving up.
    :raises AssertionError: the condition was not met within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
