"""Render a dataset as CSV (streamed), xlsx (openpyxl write-only) or PDF (reportlab; a CJK font only when needed).

openpyxl and reportlab are imported inside the functions: this module is imported by the API,
never by DAG files, but it still should not cost anything until a report is made.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import chain
from typing import IO, Any

from ylai_plugin.reports.datasets import Chart, Column, Summary, Table
from ylai_plugin.reports.i18n import t

Progress = Callable[[int], None]
CHUNK_ROWS = 1000
BOM = "\ufeff"
PERCENT_HEADERS = {"col.success_rate", "label.share"}
PERCENT_ITEMS = {"label.success_rate"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _noop(_: int) -> None:
    return None


def iso(value: datetime) -> str:
    """A UTC timestamp as ISO 8601 (naive values are UTC)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


def csv_value(value: Any) -> Any:
    """What a CSV cell holds: ISO timestamps, empty for null, text that cannot run as a spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        # CSV injection: a leading ' stops Excel/LibreOffice from evaluating "=cmd|..." (OWASP).
        return "'" + value
    return value


def headers(columns: Sequence[Column], language: str) -> list[str]:
    """Translated column headers."""
    return [t(c.key, language) for c in columns]


def csv_chunks(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], language: str, progress: Progress = _noop
) -> Iterator[bytes]:
    """UTF-8 CSV, ``CHUNK_ROWS`` rows per chunk; a BOM for zh-CN so Excel detects UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if language == "zh-CN":
        buf.write(BOM)
    writer.writerow(headers(columns, language))
    done = 0
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
        done += 1
        if done % CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
            progress(done)
    yield buf.getvalue().encode()
    progress(done)


def display(value: Any, kind: str = "text") -> str:
    """A value as text for PDFs and summaries."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def label(value: Any, language: str) -> Any:
    """Summary cells that are label keys are translated."""
    if isinstance(value, str) and value.startswith(("label.", "col.")):
        return t(value, language)
    return value


def _cell_kind(table: Table, row: Sequence[Any], index: int) -> str:
    if table.headers[index] in PERCENT_HEADERS or (index == 1 and row and row[0] in PERCENT_ITEMS):
        return "percent"
    return "text"


def filter_rows(described: dict[str, Any], language: str) -> list[list[str]]:
    """The filters as label/value pairs (unset ones say "all")."""
    out = []
    # The audit log's and feedback's own filters show only when given (no other kind has them).
    kind_only = [key for key in ("action", "object", "rating", "page") if described.get(key) not in (None, [])]
    for key in ("since", "until", "dag_id", "script", "state", "user", *kind_only):
        value = described.get(key)
        if isinstance(value, list):
            text = ", ".join(value) if value else t("label.all", language)
        elif value is None:
            text = t("label.all", language)
        else:
            text = display(value) + (" UTC" if isinstance(value, datetime) else "")
        out.append([t(f"filter.{key}", language), text])
    return out


# ------------------------------------------------------------------ xlsx
def _naive(value: Any) -> Any:
    # Excel has no time zones: openpyxl refuses aware datetimes. Everything is UTC.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _width(text: str) -> int:
    # CJK characters are about twice as wide as Latin ones in Excel's default font.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


@dataclass(frozen=True)
class Document:
    """What every file format is written from: the export's texts, summary, columns and rows."""

    title: str
    described: dict[str, Any]
    generated_by: str
    summary: Summary
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    language: str


def astuple_shallow(document: Document) -> tuple[Any, ...]:
    """The document's fields in order, not copied (``dataclasses.astuple`` would deep-copy the rows)."""
    return tuple(getattr(document, f.name) for f in fields(document))


def write_xlsx(target: str | IO[bytes], document: Document, *, progress: Progress = _noop) -> int:
    """A workbook with a Summary sheet and a frozen, filtered Details sheet; return the rows written."""
    title, described, generated_by, summary, columns, rows, language = astuple_shallow(document)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="305496")
    section_font = Font(bold=True, size=12, color="305496")

    def cell(ws: Any, value: Any, *, font: Any = None, fill: Any = None, fmt: str | None = None) -> Any:
        c = WriteOnlyCell(ws, value=_naive(value))
        if font is not None:
            c.font = font
        if fill is not None:
            c.fill = fill
        if fmt is not None:
            c.number_format = fmt
        return c

    ws = wb.create_sheet(t("sheet.summary", language))
    widest = max([len(tb.headers) for tb in summary.tables] + [2])
    ws.column_dimensions["A"].width = 36
    for i in range(2, widest + 1):
        ws.column_dimensions[get_column_letter(i)].width = 18 if i > 2 else 40
    ws.append([cell(ws, title, font=Font(bold=True, size=16))])
    ws.append([cell(ws, t("label.generated_at", language), font=bold), cell(ws, display(datetime.now(UTC)) + " UTC")])
    ws.append([cell(ws, t("label.generated_by", language), font=bold), generated_by])
    ws.append([])
    ws.append([cell(ws, t("section.filters", language), font=section_font)])
    for name, value in filter_rows(described, language):
        ws.append([cell(ws, name, font=bold), value])
    for table in summary.tables:
        ws.append([])
        ws.append([cell(ws, t(table.title, language), font=section_font)])
        ws.append([cell(ws, t(h, language), font=head_font, fill=head_fill) for h in table.headers])
        for summary_row in table.rows:
            ws.append(
                [
                    cell(ws, label(v, language), fmt="0.0%" if _cell_kind(table, summary_row, i) == "percent" else None)
                    for i, v in enumerate(summary_row)
                ]
            )

    details = wb.create_sheet(t("sheet.details", language))
    details.freeze_panes = "A2"
    names = headers(columns, language)
    for i, (column, name) in enumerate(zip(columns, names, strict=True), start=1):
        details.column_dimensions[get_column_letter(i)].width = max(column.width, _width(name) + 4)
    details.append(
        [cell(details, n, font=head_font, fill=head_fill) for n in names],
    )
    percent = [i for i, c in enumerate(columns) if c.type == "percent"]
    dates = [i for i, c in enumerate(columns) if c.type == "datetime"]
    done = 0
    for row in rows:
        values: list[Any] = [_naive(v) for v in row]
        for i in percent:
            values[i] = cell(details, values[i], fmt="0.0%")
        for i in dates:
            if values[i] is not None:
                values[i] = cell(details, values[i], fmt="yyyy-mm-dd hh:mm:ss")
        details.append(values)
        done += 1
        if done % CHUNK_ROWS == 0:
            progress(done)
    details.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{done + 1}"
    wb.save(target)
    progress(done)
    return done


# ------------------------------------------------------------------ PDF
PALETTE = ("#2E7D32", "#C62828", "#1565C0", "#F9A825", "#6A1B9A", "#00838F", "#EF6C00", "#5D4037")


def _chart_drawing(chart: Chart, language: str, width: float, font: str) -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    height = 210.0
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 14, t(chart.title, language), fontName=font, fontSize=11))
    palette = [colors.HexColor(c) for c in PALETTE]
    if chart.type == "pie":
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 40, 15, 150, 150
        pie.data = chart.series[0][1] or [1.0]
        pie.labels = None
        pie.slices.strokeWidth = 0.5
        for i in range(len(pie.data)):
            pie.slices[i].fillColor = palette[i % len(palette)]
        legend = Legend()
        legend.x, legend.y = 230, 150
        legend.fontName = font
        legend.fontSize = 8
        legend.alignment = "right"
        total = sum(chart.series[0][1]) or 1
        legend.colorNamePairs = [
            (palette[i % len(palette)], f"{cat}: {int(v)} ({v / total * 100:.1f}%)")
            for i, (cat, v) in enumerate(zip(chart.categories, chart.series[0][1], strict=True))
        ]
        drawing.add(pie)
        drawing.add(legend)
        return drawing
    bar = VerticalBarChart()
    bar.x, bar.y, bar.width, bar.height = 45, 45, width - 180, height - 80
    bar.data = [values for _, values in chart.series]
    bar.categoryAxis.categoryNames = [c if len(c) <= 18 else c[:17] + "…" for c in chart.categories]
    bar.categoryAxis.labels.fontName = font
    bar.categoryAxis.labels.fontSize = 6 if len(chart.categories) > 12 else 7
    if len(chart.categories) > 8:
        bar.categoryAxis.labels.angle = 45
        bar.categoryAxis.labels.boxAnchor = "ne"
    bar.valueAxis.labels.fontName = font
    bar.valueAxis.labels.fontSize = 7
    bar.valueAxis.valueMin = 0
    bar.groupSpacing = 2
    for i in range(len(chart.series)):
        bar.bars[i].fillColor = palette[i % len(palette)]
    drawing.add(bar)
    legend = Legend()
    legend.x, legend.y = width - 120, height - 30
    legend.fontName = font
    legend.fontSize = 8
    legend.colorNamePairs = [(palette[i % len(palette)], t(name, language)) for i, (name, _) in enumerate(chart.series)]
    drawing.add(legend)
    return drawing


LATIN_FONT = "Helvetica"


def _latin(text: str) -> bool:
    """Whether PDF's built-in Helvetica can show ``text``: reportlab writes it in WinAnsi (cp1252)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def pdf_font(language: str, texts: Iterable[str]) -> str:
    """The font a PDF is set in: Helvetica unless it is in Chinese or a text needs more than WinAnsi.

    Only then is the CJK font looked up (and registered), so an English report never needs one;
    raises ``FontNotFoundError`` when it is needed and missing.
    """
    if language != "zh-CN" and all(_latin(text) for text in texts):
        return LATIN_FONT
    from ylai_plugin.reports.fonts import FONT_NAME, register_cjk_font

    register_cjk_font()
    return FONT_NAME


def _chart_texts(chart: Chart, language: str) -> Iterator[str]:
    yield t(chart.title, language)
    yield from chart.categories
    yield from (t(name, language) for name, _ in chart.series)


def _fit(text: str, width: float, font: str, size: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[: max(len(text) - max(len(text) // 8, 1), 0)]
    return text + "…"


def write_pdf(
    target: str | IO[bytes], document: Document, *, total: int, max_rows: int, progress: Progress = _noop
) -> int:
    """Title, filters, summary tables, charts and the first ``max_rows`` detail rows; return the rows listed."""
    title, described, generated_by, summary, columns, rows, language = astuple_shallow(document)
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    # Every text is made before the font is chosen: only Chinese (or other non-WinAnsi) text needs the CJK font.
    filters = [[t("label.item", language), t("label.value", language)], *filter_rows(described, language)]
    tables: list[tuple[str, list[list[str]]]] = []
    for table in summary.tables:
        cells = [[t(h, language) for h in table.headers]]
        cells += [
            [display(label(v, language), _cell_kind(table, row, i)) for i, v in enumerate(row)] for row in table.rows
        ]
        if len(cells) == 1:
            cells.append([t("label.none", language)] + [""] * (len(table.headers) - 1))
        tables.append((t(table.title, language), cells))
    shown: list[list[str]] = []
    for row in rows:
        if len(shown) >= max_rows:
            break
        shown.append([display(value, column.type) for value, column in zip(row, columns, strict=True)])
        if len(shown) % CHUNK_ROWS == 0:
            progress(len(shown))
    done = len(shown)
    names = headers(columns, language)
    byline = (
        f"{t('label.generated_at', language)}: {display(datetime.now(UTC))} UTC · "
        f"{t('label.generated_by', language)}: {generated_by}"
    )
    fixed_texts = [
        title,
        byline,
        *(t(key, language) for key in ("section.filters", "sheet.summary", "section.details", "label.none")),
        t("label.truncated", language).format(shown=max_rows, total=total),
    ]
    font = pdf_font(
        language,
        chain(
            fixed_texts,
            chain.from_iterable(filters),
            (name for name, _ in tables),
            (cell for _, cells in tables for line in cells for cell in line),
            chain.from_iterable(_chart_texts(chart, language) for chart in summary.charts),
            names,
            chain.from_iterable(shown),
        ),
    )
    page = landscape(A4)
    doc = SimpleDocTemplate(
        target,
        pagesize=page,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=title,
        author="ylai",
    )
    usable = page[0] - 24 * mm
    h1 = ParagraphStyle("h1", fontName=font, fontSize=18, leading=24, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    head_bg = colors.HexColor("#305496")

    def grid(data: list[list[str]], widths: list[float] | None = None, size: float = 8.5) -> Any:
        table = (LongTable if len(data) > 40 else PdfTable)(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("FONTSIZE", (0, 0), (-1, -1), size),
                    ("LEADING", (0, 0), (-1, -1), size + 2),
                    ("BACKGROUND", (0, 0), (-1, 0), head_bg),
                    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#B4C6E7")),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F5FB")]),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return table

    story: list[Any] = [
        Paragraph(title, h1),
        Paragraph(byline, body),
        Paragraph(t("section.filters", language), h2),
        grid(filters),
    ]
    story.append(Paragraph(t("sheet.summary", language), h2))
    for table_title, cells in tables:
        story.append(KeepTogether([Paragraph(table_title, h2), grid(cells)]))
    for chart in summary.charts:
        story += [Spacer(1, 6), _chart_drawing(chart, language, usable, font)]

    story.append(Paragraph(t("section.details", language), h2))
    if total > max_rows:
        story.append(Paragraph(t("label.truncated", language).format(shown=max_rows, total=total), body))
    # Timestamps keep their full width; the other columns share the rest in proportion.
    from reportlab.pdfbase.pdfmetrics import stringWidth

    stamp = stringWidth("2026-11-28 00:00:00", font, 7) + 8
    fixed = sum(stamp for c in columns if c.type == "datetime")
    scale = (usable - fixed) / (sum(c.width for c in columns if c.type != "datetime") or 1)
    widths = [stamp if c.type == "datetime" else c.width * scale for c in columns]
    data = [[_fit(text, widths[i] - 5, font, 7) for i, text in enumerate(line)] for line in (names, *shown)]
    if done == 0:
        story.append(Paragraph(t("label.none", language), body))
    else:
        story.append(grid(data, widths, size=7))

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(12 * mm, 7 * mm, title)
        canvas.drawRightString(page[0] - 12 * mm, 7 * mm, str(document.page))
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    progress(done)
    return done
