"""The installed ylai version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def ylai_version() -> str:
    """Return the version of the installed ``ylai`` distribution."""
    try:
        return version("ylai")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"
