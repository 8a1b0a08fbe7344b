"""ylai's domain: scripts, tasks, presets, runs, statistics and the cache, with no HTTP in them."""

from __future__ import annotations
