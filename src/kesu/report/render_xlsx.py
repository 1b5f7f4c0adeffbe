"""A report as an Excel workbook: a cover sheet, then one sheet per section with its table and a
native Excel chart (bar, column, line, pie, Pareto bar + cumulative line, heat-map surface)."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference, SurfaceChart
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kesu.i18n import translate
from kesu.report.rules import defuse
from kesu.report.schemas import Report, Section

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {
    "int": "#,##0",
    "number": "#,##0.00",
    "percent": "0.0%",
    "money": "#,##0.00",
    "hours": "0.00",
    "minutes": "0.0",
}
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
FIRST_DATA_ROW = 4  # 1: title, 2: note, 3: column headers


def sheet_title(section: Section, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    base = re.sub(r"[\[\]:*?/\\]", "-", section.title)[:28] or section.key
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:26]}~{n}", n + 1
    taken.add(name)
    return name


def write_cell(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None):
    """Write one value; text is defused and always stored as text, never as a formula."""
    cell = ws.cell(row=row, column=col)
    value = defuse(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    elif number_format and value is not None:
        cell.number_format = number_format
    return cell


def _table(ws: Worksheet, section: Section) -> None:
    ws.cell(row=1, column=1, value=defuse(section.title)).font = Font(bold=True, size=13)
    if section.note:
        write_cell(ws, 2, 1, section.note).font = Font(italic=True, color="666666")
    for j, column in enumerate(section.columns, start=1):
        cell = write_cell(ws, 3, j, column.label)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        width = max(10, min(40, 2 * len(column.label) + 2))
        ws.column_dimensions[get_column_letter(j)].width = width
    for i, values in enumerate(section.rows, start=FIRST_DATA_ROW):
        for j, (column, value) in enumerate(zip(section.columns, values, strict=True), start=1):
            write_cell(ws, i, j, value, FORMATS.get(column.kind))
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)


def _refs(ws: Worksheet, section: Section, key: str, rows: int) -> Reference:
    col = section.column(key) + 1
    return Reference(ws, min_col=col, min_row=FIRST_DATA_ROW - 1, max_row=FIRST_DATA_ROW + rows - 1)


def _chart(ws: Worksheet, section: Section) -> None:
    spec, rows = section.chart, len(section.rows)
    if spec is None or rows == 0:
        return
    cats_col = section.column(spec.category) + 1
    cats = Reference(
        ws, min_col=cats_col, min_row=FIRST_DATA_ROW, max_row=FIRST_DATA_ROW + rows - 1
    )
    anchor = f"{get_column_letter(len(section.columns) + 2)}3"
    if spec.kind == "heatmap":
        first = section.column(spec.values[0]) + 1
        last = section.column(spec.values[-1]) + 1
        bottom = FIRST_DATA_ROW + rows - 1
        span = f"{get_column_letter(first)}{FIRST_DATA_ROW}:{get_column_letter(last)}{bottom}"
        ws.conditional_formatting.add(
            span,
            ColorScaleRule(
                start_type="min", start_color="FFFFFF", end_type="max", end_color="C0392B"
            ),
        )
        chart = SurfaceChart()
        data = Reference(
            ws,
            min_col=first,
            max_col=last,
            min_row=FIRST_DATA_ROW - 1,
            max_row=FIRST_DATA_ROW + rows - 1,
        )
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.wireframe = False
        anchor = f"B{FIRST_DATA_ROW + rows + 2}"
    elif spec.kind == "pie":
        chart = PieChart()
        chart.add_data(_refs(ws, section, spec.values[0], rows), titles_from_data=True)
        chart.set_categories(cats)
    elif spec.kind == "line":
        chart = LineChart()
        for key in spec.values:
            chart.add_data(_refs(ws, section, key, rows), titles_from_data=True)
        chart.set_categories(cats)
    else:
        chart = BarChart()
        chart.type = "bar" if spec.kind == "bar" else "col"
        for key in spec.values:
            chart.add_data(_refs(ws, section, key, rows), titles_from_data=True)
        chart.set_categories(cats)
        if spec.kind == "pareto" and spec.line:
            line = LineChart()
            line.add_data(_refs(ws, section, spec.line, rows), titles_from_data=True)
            line.y_axis.axId = 200
            line.y_axis.number_format = "0%"
            line.y_axis.scaling.min, line.y_axis.scaling.max = 0, 1
            line.y_axis.crosses = "max"
            chart += line
    chart.title = section.title
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, anchor)


def _cover(ws: Worksheet, report: Report) -> None:
    loc = report.locale
    ws.title = translate("report.cover", loc)[:31]
    ws.column_dimensions["A"].width = 70
    write_cell(ws, 1, 1, report.title).font = Font(bold=True, size=15)
    write_cell(
        ws,
        2,
        1,
        translate(
            "report.period_line",
            loc,
            start=report.start.isoformat(),
            end=report.last_day.isoformat(),
            tz=report.timezone,
        ),
    )
    write_cell(ws, 3, 1, translate("report.generated", loc, at=report.generated_local))
    for i, section in enumerate(report.sections, start=5):
        write_cell(ws, i, 1, section.title)


def render(report: Report) -> bytes:
    wb = Workbook()
    _cover(wb.active, report)
    taken: set[str] = {wb.active.title}
    for section in report.sections:
        ws = wb.create_sheet(sheet_title(section, taken))
        _table(ws, section)
        _chart(ws, section)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
