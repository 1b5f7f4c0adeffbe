"""投诉台账 in a real browser: a supervisor opens 台账 from the menu, keeps this month's dates and
downloads the Excel file, which lists the complaint just registered."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from browser.helpers import receive, sign_in
from helpers import complaint_body


def test_a_supervisor_downloads_this_months_register_as_excel(page, live, sessions, clock, org):
    body = complaint_body(org, title="沙发腿断裂")
    receive(sessions, clock, "receiver1", body)

    sign_in(page, live, "supervisor")
    page.click("nav.menu >> text=台账")
    assert page.input_value("input[name=from]") == "2026-11-01"
    assert page.input_value("input[name=to]") == "2026-11-26"
    page.select_option("select[name=level]", "L1")
    with page.expect_download() as info:
        page.click("button[value=xlsx]")
    download = info.value
    assert download.suggested_filename.startswith("投诉台账-")
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "投诉编号"
    assert [r[8] for r in rows[1:]] == ["沙发腿断裂"]
