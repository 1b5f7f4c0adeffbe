"""The console's report and case-library pages: charts with their tables, downloads, search."""

from __future__ import annotations

import io

import openpyxl

from kesu.db.session import transaction
from report import dataset
from web.console_helpers import sign_in


def test_the_reports_page_shows_every_section_and_offers_the_files(client, sessions, org):
    with transaction(sessions) as session:
        dataset.load(session, org, count=300)
    sign_in(client, "director")
    page = client.get("/reports", params={"kind": "monthly", "org": "EAST", "period": "2025-06"})
    assert page.status_code == 200, page.text
    assert "华东大区 投诉月报（2025-06）" in page.text
    for key in ("summary", "by_level", "trend", "heatmap", "staff"):
        assert f'id="section-{key}"' in page.text
    assert 'id="report-data"' in page.text and "/static/reports.js" in page.text
    xlsx = client.get(
        "/reports/download",
        params={"kind": "monthly", "org": "EAST", "period": "2025-06", "format": "xlsx"},
    )
    assert xlsx.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.worksheets[1]["A1"].value == "概览与上期对比"


def test_the_report_form_submitted_as_a_browser_sends_it_shows_the_report(client, org):
    """The form's date boxes are empty unless the kind is a range, and a browser still sends
    them ("from=&to="): choosing 月报 and pressing 生成 used to end on an error page."""
    sign_in(client, "director")
    blank = {"org": "", "period": "", "from": "", "to": ""}
    page = client.get("/reports", params={"kind": "monthly", **blank})
    assert page.status_code == 200 and "华夏家居集团 投诉月报（" in page.text
    files = client.get("/reports/download", params={"kind": "weekly", "format": "csv", **blank})
    assert files.status_code == 200 and files.headers["content-type"].startswith("text/csv")
    ranged = {**blank, "from": "2026-11-01", "to": "2026-11-07"}
    assert client.get("/reports", params={"kind": "range", **ranged}).status_code == 200


def test_the_case_library_page_searches_closed_cases(client, sessions, org):
    with transaction(sessions) as session:
        dataset.load(session, org, count=100)
    sign_in(client, "director")
    found = client.get("/cases", params={"q": "塌陷"})
    assert found.status_code == 200 and "沙发坐垫塌陷" in found.text
    none = client.get("/cases", params={"q": "不存在的说法"})
    assert "找到 0 件已结案件" in none.text
    export = client.get("/cases/export", params={"q": "塌陷", "format": "csv"})
    assert export.status_code == 200 and "沙发坐垫塌陷" in export.content.decode("utf-8-sig")


def test_the_printed_weekly_report_names_its_week_not_a_complaint_number(client, org):
    sign_in(client, "director")
    page = client.get("/forms/weekly").text
    assert "统计周：2026-11-23 至 2026-11-29" in page
    assert "投诉编号：2026-11-23" not in page
