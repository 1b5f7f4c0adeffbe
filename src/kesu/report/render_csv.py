"""A report as CSV (UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly):
one block per section — its title, the column headers, the rows — separated by a blank line."""

from __future__ import annotations

import csv
import io
from typing import Any

from kesu.report.rules import defuse
from kesu.report.schemas import Report

MEDIA_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return defuse(value)


def render(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(report.title)])
    # the first and the last day of the period, both included (as the workbook and the PDF say)
    writer.writerow([report.period, report.start.isoformat(), report.last_day.isoformat()])
    for section in report.sections:
        writer.writerow([])
        writer.writerow([cell(section.title)])
        writer.writerow([cell(c.label) for c in section.columns])
        for row in section.rows:
            writer.writerow([cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
