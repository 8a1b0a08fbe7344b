"""Where the built UI lives (kept free of heavy imports: the plugin reads it in every component)."""

from __future__ import annotations

from pathlib import Path

UI_DIST = Path(__file__).resolve().parent / "ui" / "dist"
BUNDLE = "main.umd.cjs"


def bundle_exists() -> bool:
    """Whether the UI was built (``make run`` and ``make test`` build it)."""
    return (UI_DIST / BUNDLE).is_file()
