"""Log-scale latency histograms that merge across processes (sum the bucket counts)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ylai_plugin.domain.stats import nearest_rank

# Bucket i holds latencies in (BASE * GROWTH**(i-1), BASE * GROWTH**i] ms: about 10 % resolution
# from 0.1 ms to beyond a minute in ~140 buckets.
BASE_MS = 0.1
GROWTH = 1.1
MAX_BUCKET = 150


def bucket_of(ms: float) -> int:
    """The bucket index of a latency in milliseconds."""
    if ms <= BASE_MS:
        return 0
    return min(MAX_BUCKET, math.ceil(math.log(ms / BASE_MS, GROWTH)))


def upper_bound(index: int) -> float:
    """The largest latency (ms) a bucket holds."""
    return BASE_MS * GROWTH**index


def merge(histograms: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Sum histograms (keys are bucket indexes as strings, as JSON stores them)."""
    total: dict[str, int] = {}
    for hist in histograms:
        for key, count in hist.items():
            total[key] = total.get(key, 0) + int(count)
    return total


def percentile(hist: Mapping[str, int], p: float) -> float | None:
    """The latency (ms, a bucket's upper bound) under which a share ``p`` of requests fall.

    The rank is the one of :func:`ylai_plugin.domain.stats.nearest_rank`, counted over the buckets.
    """
    n = sum(hist.values())
    if n == 0:
        return None
    rank = nearest_rank(n, p)
    seen = 0
    for key in sorted(hist, key=int):
        seen += hist[key]
        if seen >= rank:
            return round(upper_bound(int(key)), 2)
    return round(upper_bound(max(int(k) for k in hist)), 2)
