"""Find a CJK TrueType font for PDFs, so Chinese renders and stays extractable (embedded, with ToUnicode).

reportlab embeds TrueType (``glyf``) outlines, including a face of a ``.ttc`` collection, but not
CFF/OpenType-PS ones (Noto CJK's ``.ttc`` are CFF). ylai ships one through a dependency:
WenQuanYi Micro Hei from the ``paperang-p2-fonts-cjk`` wheel, so a fresh install needs no system
font. The system paths after it only matter if that package is missing from a broken install.
``[ylai] report_font`` replaces the whole list.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from ylai_plugin import config
from ylai_plugin.domain.errors import Text, text

BUNDLED_PACKAGE = "paperang_p2_fonts_cjk"
SYSTEM_FONTS = (
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
    """No usable CJK font: PDFs with Chinese text cannot be made."""

    def __init__(self, message: Text) -> None:
        super().__init__(message)
        self.text = message


def bundled_font() -> str | None:
    """The WenQuanYi Micro Hei ``.ttc`` of the ``paperang-p2-fonts-cjk`` dependency, if installed."""
    try:
        return str(files(BUNDLED_PACKAGE) / "fonts" / "wqy-microhei.ttc")
    except ModuleNotFoundError:
        return None


def configured_candidates() -> list[str]:
    """``[ylai] report_font`` (a path or a ``:``-separated list) when set, else the bundled font, then system ones."""
    configured = [p.strip() for p in config.REPORT_FONT.get().split(os.pathsep)]
    if chosen := [p for p in configured if p]:
        return chosen
    bundled = bundled_font()
    return ([bundled] if bundled else []) + list(SYSTEM_FONTS)


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
        text(
            "reports.font_missing",
            "No CJK TrueType font found for PDF reports with Chinese text. ylai ships one in the package "
            "paperang-p2-fonts-cjk (reinstall ylai's dependencies: make install), or set [ylai] report_font "
            "(AIRFLOW__YLAI__REPORT_FONT) to a .ttf/.ttc with TrueType outlines. Tried: {tried}",
            tried=", ".join(tried),
        )
    )
