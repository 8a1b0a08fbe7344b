"""HTTP routes, one module per resource; each is thin over a domain module."""

from __future__ import annotations
