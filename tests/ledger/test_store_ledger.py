"""A store chain's 投诉台账 as it is really kept: one sheet a month, each with its banner, a
序号 counter that starts at 1 again, a 合计 line under the rows and 赔偿金额（元） as a header.
Every sheet comes in, and every problem names its sheet, row and column."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import Workbook
from sqlalchemy import func, select

from kesu.clock import FrozenClock
from kesu.complaint import lifecycle
from kesu.complaint.models import Complaint
from kesu.db.session import reading, transaction
from kesu.ledger import rules
from kesu.ledger import service as ledger

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ACTOR = lifecycle.Actor(kind="system", label="test")
HEADER = [
    "序号",
    "投诉日期",
    "门店",
    "客户姓名",
    "联系电话",
    "投诉内容",
    "是否结案",
    "赔偿金额（元）",
]


def _sheet(ws, title: str, rows: list[list], total: bool = True) -> None:
    ws.append([title] + [None] * 7)
    ws.merge_cells("A1:H1")
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    if total:  # 合计 merged across the text columns, the sum under the amounts
        line = ws.max_row + 1
        ws.append(["合计"] + [None] * 6 + [float(sum(rules.parse_amount(r[7]) for r in rows))])
        ws.merge_cells(f"A{line}:G{line}")


def _row(n: int, day: str, name: str, text: str, amount="50元") -> list:
    return [n, day, "上海南京路店", name, "138 0000 000" + str(n), text, "已结", amount]


def _book(*sheets: tuple[str, list[list]]) -> bytes:
    wb = Workbook()
    for k, (title, rows) in enumerate(sheets):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = title
        _sheet(ws, f"2026年{title}客户投诉台账", rows)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


OCTOBER = [
    _row(1, "2026/10/5", "王女士", "沙发扶手开裂"),
    _row(2, "2026年10月9日", "李先生", "导购态度差", "¥0"),
]
NOVEMBER = [
    _row(1, "2026/11/2", "孙先生", "衣柜门板色差"),
    _row(2, "2026-11-10", "周女士", "售后电话无人接听", "1,200.00元"),
]


def _plan(sessions, org, content: bytes, name: str = "台账.xlsx") -> ledger.Plan:
    with reading(sessions) as session:
        return ledger.plan(session, org_id=org["HX"], filename=name, content=content, now=NOW)


def _run(sessions, org, content: bytes) -> ledger.Plan:
    with transaction(sessions) as session:
        result, _ = ledger.run(
            session,
            FrozenClock(NOW),
            ACTOR,
            org_id=org["HX"],
            filename="台账.xlsx",
            content=content,
        )
    return result


def test_every_monthly_sheet_of_the_workbook_is_imported_not_only_the_first(sessions, org):
    """Only the first sheet was read: November's complaints were silently left out, and the
    summary counted 2 rows of a 4-row ledger."""
    content = _book(("10月", OCTOBER), ("11月", NOVEMBER))
    dry = _plan(sessions, org, content)
    assert [(s.name, s.header_row) for s in dry.sheets] == [("10月", 2), ("11月", 2)]
    assert dry.count("ready") == 4 and dry.count("bad") == 0
    _run(sessions, org, content)
    with reading(sessions) as session:
        texts = set(session.scalars(select(Complaint.description)))
    assert {"衣柜门板色差", "售后电话无人接听"} <= texts
    assert _run(sessions, org, content).count("imported") == 0, "again: adds nothing"


def test_a_problem_on_a_later_sheet_names_that_sheet(sessions, org):
    november = [*NOVEMBER, _row(3, "2026-13-45", "吴先生", "门板开裂")]
    dry = _plan(sessions, org, _book(("10月", OCTOBER), ("11月", november)))
    (bad,) = [p for p in dry.rows if p.status == "bad"]
    assert (bad.row.sheet, bad.row.number) == ("11月", 5)
    message = ledger.describe(bad.row.problems[0], "zh_Hans")
    assert message == "工作表“11月”第 5 行 B 投诉日期：无法识别的日期“2026-13-45”"


def test_a_sheet_without_a_header_is_reported_and_not_read(sessions, org):
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本台账由各门店每日填写"])
    _sheet(wb.create_sheet("10月"), "2026年10月客户投诉台账", OCTOBER)
    out = io.BytesIO()
    wb.save(out)
    dry = _plan(sessions, org, out.getvalue())
    assert [(s.name, s.header_row) for s in dry.sheets] == [("说明", None), ("10月", 2)]
    assert dry.header_row == 2 and dry.count("ready") == 2


def test_the_row_counter_is_not_the_ledger_number_so_next_month_is_not_skipped(sessions, org):
    """序号 was read as the ledger's own number: November's file, counting from 1 again, was
    reported as "already imported" and nothing of it came in."""
    _run(sessions, org, _book(("10月", OCTOBER)))
    result = _run(sessions, org, _book(("11月", NOVEMBER)))
    assert result.count("imported") == 2 and result.count("already") == 0
    with reading(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 4


def test_the_total_line_under_the_rows_is_not_a_complaint(sessions, org):
    """A 合计 merged across the first columns was read as a row with the date 合计, the
    name 合计 and the text 合计: a problem on every ledger, and the import never exited 0."""
    dry = _plan(sessions, org, _book(("10月", OCTOBER)))
    assert len(dry.rows) == 2 and dry.count("bad") == 0


def test_a_header_with_its_unit_in_brackets_is_recognised(sessions, org):
    """赔偿金额（元） was not recognised, and every amount of the ledger was silently dropped."""
    dry = _plan(sessions, org, _book(("10月", OCTOBER)))
    assert dry.columns["H 赔偿金额（元）"] == "amount"
    assert [str(p.row.values["amount"]) for p in dry.rows] == ["50.00", "0.00"]


def test_a_date_without_its_year_says_the_year_is_missing():
    for cell in ("3月5日", "3/5", "10月12日 14:30"):
        try:
            rules.parse_datetime(cell)
        except ValueError as exc:
            assert str(exc) == "date_year", cell
        else:
            raise AssertionError(cell)
    problem = rules.Problem(7, "C 投诉日期", "received_at", "date_year", "3月5日")
    assert "没有年份" in ledger.describe(problem, "zh_Hans")
    assert "no year" in ledger.describe(problem, "en")


def test_the_http_dry_run_lists_each_sheet_and_names_the_sheet_of_each_problem(client, org):
    from helpers import login

    november = [*NOVEMBER, _row(3, "11月20日", "吴先生", "门板开裂")]
    files = {"file": ("台账.xlsx", _book(("10月", OCTOBER), ("11月", november)), "x/y")}
    r = client.post(
        "/api/v1/ledger/imports", data={"org": "HX"}, files=files, headers=login(client, "director")
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(s["name"], s["header_row"]) for s in out["sheets"]] == [("10月", 2), ("11月", 2)]
    assert out["total"] == 5 and out["ready"] == 4
    (bad,) = out["rows"]
    assert (bad["sheet"], bad["row"], bad["problems"][0]["sheet"]) == ("11月", 5, "11月")
    assert bad["problems"][0]["message"].startswith("工作表“11月”第 5 行 B 投诉日期：")
