"""The console's report and case-library pages: charts with their tables, downloads, search."""

from __future__ import annotations

import io
import re

import openpyxl

from kesu.db.session import reading, transaction
from kesu.report import rules, service
from kesu.web.console import printing
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
    units = {row[1]: row[2] for row in wb.worksheets[1].iter_rows(values_only=True) if row}
    assert units["平均处理时长"] == "小时"  # not "h" on a Chinese report


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
    page = client.get("/forms/weekly", params={"week": "2026-11-23"}).text
    assert "统计周：2026-11-23 至 2026-11-29" in page
    assert "投诉编号：2026-11-23" not in page


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r"<tr><th>([^<]+)</th><td>(\d+)</td></tr>", page))


def test_the_printed_weekly_report_is_last_weeks_and_agrees_with_the_weekly_report(
    client, sessions, org, clock
):
    """It printed the week under way (on a Monday, an empty one), with no way to pick another
    on the page, and counted as closed whatever was closed by the day it was printed, so its
    figures for a past week disagreed with the 周报 report's."""
    sign_in(client, "director")
    default = client.get("/forms/weekly").text
    assert "统计周：2026-11-16 至 2026-11-22" in default  # the clock is Thursday 26 November
    assert 'href="/forms/weekly?week=2026-11-09"' in default  # the week before
    assert 'href="/forms/weekly?week=2026-11-23"' in default  # the week under way
    assert 'href="/forms/weekly/pdf?week=2026-11-16"' in default
    assert client.get("/forms/weekly", params={"week": "2026-11-30"}).status_code == 422

    with transaction(sessions) as session:
        dataset.load(session, org, count=1500)
    week = rules.parse("weekly", "2025-W23")  # 2 to 8 June 2025
    with reading(sessions) as session:
        report = service.build(
            session, org_id=org["HX"], period=week, locale="zh_Hans", now=clock.now()
        )
    summary = {row[0]: row[3] for row in report.section("summary").rows}
    levels = {row[1]: row[2] for row in report.section("by_level").rows}
    printed = _figures(client.get("/forms/weekly", params={"week": "2025-06-04"}).text)
    assert printed["本周受理"] == str(summary["received"])
    assert printed["其中已结案"] == str(summary["closed_of_received"])
    assert printed["其中未结"] == str(summary["received"] - summary["closed_of_received"])
    assert {k: printed[k] for k in levels} == {k: str(v) for k, v in levels.items()}
    assert summary["received"] > summary["closed_of_received"] > 0  # some closed after it


def test_a_printed_week_longer_than_its_table_still_counts_every_complaint(
    client, sessions, org, monkeypatch
):
    with transaction(sessions) as session:
        dataset.load(session, org, count=1500)
    sign_in(client, "director")
    whole = _figures(client.get("/forms/weekly", params={"week": "2025-W23"}).text)
    monkeypatch.setattr(printing, "WEEK_ROWS", 5)
    page = client.get("/forms/weekly", params={"week": "2025-W23"}).text
    assert _figures(page) == whole and int(whole["本周受理"]) > 5
    assert f"本周共 {whole['本周受理']} 件，表中列出前 5 件" in page
    assert len(re.findall(r"<tr><td>[^<]+</td><td>2025-06-", page)) == 5
