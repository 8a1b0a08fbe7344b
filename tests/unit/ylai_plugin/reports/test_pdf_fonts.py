"""PDF fonts: English needs no CJK font; Chinese uses the font ylai ships, with no system font at all."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ylai_plugin.reports import fonts
from ylai_plugin.reports.datasets import Chart, Column, Summary, Table
from ylai_plugin.reports.writers import Document, write_pdf

COLUMNS = (Column("col.dag_id", 32), Column("col.state", 10), Column("col.start_date", 20, "datetime"))
STARTED = datetime(2025, 10, 3, 8, 0, tzinfo=UTC)


def _document(language: str, title: str, user: str = "alice", dag: str = "script__disk_usage") -> Document:
    summary = Summary(
        tables=[Table("section.by_state", ["col.state", "col.runs"], [["success", 2], ["failed", 1]])],
        charts=[Chart("pie", "chart.runs_by_state", ["success", "failed"], [("label.count", [2.0, 1.0])])],
    )
    rows = [(dag, "success", STARTED), (dag, "failed", STARTED)]
    return Document(title, {}, user, summary, COLUMNS, iter(rows), language)


def _render(document: Document) -> tuple[str, set[str], bool]:
    """The PDF's extracted text, the BaseFont of every font on its pages, and whether a TrueType font is embedded."""
    from pypdf import PdfReader

    buf = io.BytesIO()
    write_pdf(buf, document, total=2, max_rows=100)
    reader = PdfReader(io.BytesIO(buf.getvalue()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    names: set[str] = set()
    embedded = False
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in (resources.get("/Font") or {}).values():
            font: Any = ref.get_object()
            names.add(str(font["/BaseFont"]))
            # reportlab writes a subset TrueType font as a simple font whose descriptor holds the file.
            if "/FontDescriptor" in font:
                embedded |= "/FontFile2" in font["/FontDescriptor"]
    return text, names, embedded


@pytest.fixture
def no_system_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without any system CJK font: the search path only names files of an empty folder."""
    empty = tmp_path / "fonts"
    empty.mkdir()
    monkeypatch.delenv("AIRFLOW__YLAI__REPORT_FONT", raising=False)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", tuple(str(empty / name) for name in ("wqy-zenhei.ttc", "uming.ttc")))
    return empty


@pytest.fixture
def no_cjk_font(no_system_fonts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not even the bundled font (as if paperang-p2-fonts-cjk were not installed)."""
    monkeypatch.setattr(fonts, "bundled_font", lambda: None)


def test_the_bundled_font_is_installed_and_has_truetype_outlines() -> None:
    path = fonts.bundled_font()
    assert path is not None
    assert Path(path).is_file()
    assert path in fonts.configured_candidates()[:1]
    from reportlab.pdfbase.ttfonts import TTFont

    face = TTFont("probe", path, subfontIndex=0).face  # raises for CFF outlines
    assert ord("运") in face.charToGlyph
    assert ord("A") in face.charToGlyph


def test_english_pdf_needs_no_cjk_font(no_cjk_font: None) -> None:
    with pytest.raises(fonts.FontNotFoundError):
        fonts.register_cjk_font()  # proves no CJK font can be found here
    text, names, _ = _render(_document("en", "Runs report"))
    assert names == {"/Helvetica"}
    for needle in ("Runs report", "Filters", "script__disk_usage", "alice", "2025-10-03 08:00:00", "success"):
        assert needle in text, needle


def test_chinese_pdf_uses_the_bundled_font_without_system_fonts(no_system_fonts: Path) -> None:
    text, names, embedded = _render(_document("zh-CN", "运行报告", user="张三"))
    # (reportlab's page preamble always names Helvetica, one of the PDF base fonts that are never embedded)
    assert {name.split("+")[-1] for name in names} == {"WenQuanYiMicroHei-0", "/Helvetica"}
    assert embedded
    for needle in ("运行报告", "筛选条件", "摘要", "明细", "张三", "script__disk_usage", "运行状态分布"):
        assert needle in text, needle


def test_english_pdf_with_chinese_data_uses_the_cjk_font(no_system_fonts: Path) -> None:
    text, names, embedded = _render(_document("en", "Runs report", user="张三"))
    assert any("WenQuanYiMicroHei" in name for name in names), names
    assert embedded
    assert "张三" in text
    assert "Runs report" in text


@pytest.mark.parametrize(("language", "user"), [("zh-CN", "alice"), ("en", "张三")])
def test_chinese_text_without_any_cjk_font_is_a_clear_error(no_cjk_font: None, language: str, user: str) -> None:
    with pytest.raises(fonts.FontNotFoundError, match=r"paperang-p2-fonts-cjk.*report_font"):
        _render(_document(language, "Runs report", user=user))


def test_configured_font_replaces_the_search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__YLAI__REPORT_FONT", "/nonexistent/a.ttc:/nonexistent/b.ttf")
    assert fonts.configured_candidates() == ["/nonexistent/a.ttc", "/nonexistent/b.ttf"]
    with pytest.raises(fonts.FontNotFoundError, match=re.escape("/nonexistent/a.ttc, /nonexistent/b.ttf")):
        fonts.register_cjk_font()
