"""A report as a PDF to mail to head office (A4 landscape). Chinese text uses reportlab's CID
font STSong-Light, which every PDF reader provides, so no font file is shipped or embedded."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kesu.i18n import translate
from kesu.report.schemas import Column, Report, Section

MEDIA_TYPE = "application/pdf"
FONT = "STSong-Light"
PALETTE = [colors.HexColor(c) for c in ("#2E86C1", "#E67E22", "#27AE60", "#8E44AD", "#C0392B")]
CHART_ITEMS = 24  # a chart shows at most this many categories (the table shows all)


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def text(value: Any, column: Column) -> str:
    """A value as printed in a table cell."""
    if value is None:
        return "—"
    if column.kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, int) and column.kind in ("int", "number"):
        return f"{value:,}"
    if column.kind in ("money", "number", "hours") and isinstance(value, int | float):
        return f"{value:,.2f}"
    if column.kind == "minutes" and isinstance(value, int | float):
        return f"{value:,.1f}"
    if column.kind == "int" and isinstance(value, int | float):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6),
        "h": ParagraphStyle("h", fontName=font, fontSize=12, leading=16, spaceBefore=10),
        "note": ParagraphStyle("note", fontName=font, fontSize=8, leading=11, textColor="#555555"),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
    }


def _table(section: Section, st: dict[str, ParagraphStyle], width: float) -> Table:
    head = [Paragraph(escape(c.label), st["cell"]) for c in section.columns]
    body = [
        [
            Paragraph(escape(text(v, c)), st["cell"])
            for v, c in zip(row, section.columns, strict=True)
        ]
        for row in section.rows
    ]
    widths = None
    if section.key == "heatmap":
        widths = [22 * mm] + [(width - 22 * mm) / 24] * 24
    table = Table([head, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), _font()),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#AAAAAA")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE6F0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if section.key == "heatmap" and section.rows:
        top = max(max(row[1:]) for row in section.rows) or 1
        for i, row in enumerate(section.rows, start=1):
            for j, v in enumerate(row[1:], start=1):
                shade = colors.Color(0.75, 0.22, 0.17, alpha=0.85 * v / top)
                style.append(("BACKGROUND", (j, i), (j, i), shade))
    table.setStyle(TableStyle(style))
    return table


def _numbers(section: Section, key: str) -> list[float]:
    i = section.column(key)
    return [float(r[i] or 0) for r in section.rows[:CHART_ITEMS]]


def _drawing(section: Section) -> Drawing | None:
    spec = section.chart
    if spec is None or not section.rows or spec.kind == "heatmap":
        return None
    labels = [str(r[section.column(spec.category)])[:8] for r in section.rows[:CHART_ITEMS]]
    drawing = Drawing(260 * mm, 60 * mm)
    if spec.kind == "pie":
        values = _numbers(section, spec.values[0])
        if not any(values):
            return None
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 40 * mm, 5 * mm, 50 * mm, 50 * mm
        pie.data, pie.labels = values, labels
        pie.simpleLabels = True
        pie.slices.fontName = _font()
        for i in range(len(values)):
            pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
        drawing.add(pie)
        return drawing
    chart = HorizontalLineChart() if spec.kind == "line" else VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 10 * mm, 230 * mm, 45 * mm
    chart.data = [_numbers(section, key) for key in spec.values]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = _font()
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    for i in range(len(spec.values)):
        target = chart.lines[i] if spec.kind == "line" else chart.bars[i]
        target.fillColor = PALETTE[i % len(PALETTE)]
        target.strokeColor = PALETTE[i % len(PALETTE)]
    drawing.add(chart)
    return drawing


def render(report: Report) -> bytes:
    st = _styles()
    out = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=report.title,
        author="Kesu",
    )
    loc = report.locale
    story: list[Any] = [
        Paragraph(escape(report.title), st["title"]),
        Paragraph(
            escape(
                translate(
                    "report.period_line",
                    loc,
                    start=report.start.isoformat(),
                    end=report.last_day.isoformat(),
                    tz=report.timezone,
                )
            ),
            st["body"],
        ),
        Paragraph(
            escape(translate("report.generated", loc, at=report.generated_local)),
            st["note"],
        ),
    ]
    for section in report.sections:
        story.append(Paragraph(escape(section.title), st["h"]))
        if section.note:
            story.append(Paragraph(escape(section.note), st["note"]))
        story.append(Spacer(1, 2 * mm))
        if not section.rows:
            story.append(Paragraph(escape(translate("report.empty", loc)), st["body"]))
            continue
        drawing = _drawing(section)
        if drawing is not None:
            story.append(drawing)
        story.append(_table(section, st, page[0] - 24 * mm))
    doc.build(story)
    return out.getvalue()
