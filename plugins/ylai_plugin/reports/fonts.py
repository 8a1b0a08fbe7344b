"""Find a CJK TrueType font for PDFs, so Chinese renders and stays extractable (embedded, with ToUnicode).

reportlab embeds TrueType (``glyf``) outlines, including a face of a ``.ttc`` collection, but not
CFF/OpenType-PS ones (Noto CJK's ``.ttc`` are CFF). The Debian package ``fonts-wqy-zenhei``
(installed by ``.ci/run`` and the Docker image) provides a suitable one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ylai_plugin import config

DEFAULT_SEARCH_PATH = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/local/share/fonts/wqy-zenhei.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
FONT_NAME = "YlaiCJK"


class FontNotFoundError(RuntimeError):
    """No usable CJK font: PDFs cannot be made."""


def configured_candidates() -> list[str]:
    """``[ylai] report_font`` (a path or a ``:``-separated list) when set, else the default search path."""
    configured = [p.strip() for p in config.REPORT_FONT.get().split(os.pathsep)]
    return [p for p in configured if p] or list(DEFAULT_SEARCH_PATH)


def _usable(path: str) -> bool:
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        TTFont(FONT_NAME + "_probe", path, subfontIndex=0)
    except Exception:
        return False
    return True


_registered: dict[tuple[str, ...], str] = {}


def register_cjk_font() -> str:
    """Register the first usable candidate with reportlab; return its path or raise FontNotFoundError."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    tried = configured_candidates()
    if (known := _registered.get(tuple(tried))) is not None:
        return known
    for path in tried:
        if Path(path).is_file() and _usable(path):
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
            _registered.clear()
            _registered[tuple(tried)] = path
            return path
    raise FontNotFoundError(
        "No CJK TrueType font found for PDF reports. Install the Debian package fonts-wqy-zenhei "
        "(apt-get install fonts-wqy-zenhei) or set [ylai] report_font (AIRFLOW__YLAI__REPORT_FONT) to a "
        f".ttf/.ttc with TrueType outlines. Tried: {', '.join(tried)}"
    )
