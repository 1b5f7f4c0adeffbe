"""Old Excel ledgers come into Kesu: bad rows are named by row and column, good rows become
complaints on the record (marked imported, their ledger numbers kept), and importing the same
ledger again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kesu.clock import FrozenClock
from kesu.complaint import lifecycle
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import reading, transaction
from kesu.errors import InvalidInput, NotFound
from kesu.i18n import translate
from kesu.ledger import rules
from kesu.ledger import service as ledger
from ledger import messy

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ACTOR = lifecycle.Actor(kind="system", label="test")


def _count(session, *where) -> int:
    return session.scalar(select(func.count()).select_from(Complaint).where(*where))


@pytest.mark.slow
def test_a_messy_five_thousand_row_ledger_imports_its_good_rows_once(sessions, org):
    content, bad = messy.ledger(5000)
    with reading(sessions) as session:
        dry = ledger.plan(
            session, org_id=org["HX"], filename="登记表.xlsx", content=content, now=NOW
        )
        assert _count(session) == 0, "a dry run writes nothing"
    assert dry.header_row == 4 and dry.columns["C 投诉人 / 姓名"] == "name"
    assert len(dry.rows) == 5000, "blank lines are not rows"
    found = {
        p.row.number: (p.row.problems[0].column[0], p.row.problems[0].rule)
        for p in dry.rows
        if p.status == "bad"
    }
    assert found == bad
    assert dry.count("ready") == 5000 - len(bad)

    with transaction(sessions) as session:
        _, batch = ledger.run(
            session,
            FrozenClock(NOW),
            ACTOR,
            org_id=org["HX"],
            filename="登记表.xlsx",
            content=content,
        )
    assert batch.rows_imported == 5000 - len(bad) and batch.rows_bad == len(bad)
    with reading(sessions) as session:
        assert _count(session) == 5000 - len(bad)
        assert _count(session, Complaint.imported.is_(False)) == 0
        first = session.scalar(select(Complaint).where(Complaint.original_number == "KS00001"))
        events = list(
            session.scalars(
                select(ComplaintEvent.command)
                .where(ComplaintEvent.complaint_id == first.id)
                .order_by(ComplaintEvent.seq)
            )
        )
        assert events == ["receive", "import_ledger"] and first.version == 2
        assert first.number.startswith("FS2025")
        assert _count(session, Complaint.state == "closed") > 3000
        assert _count(session, Complaint.state == "closed", Complaint.closed_at.is_(None)) == 0

    with transaction(sessions) as session:
        again, batch = ledger.run(
            session,
            FrozenClock(NOW),
            ACTOR,
            org_id=org["HX"],
            filename="copy.xlsx",
            content=content,
        )
    assert batch.rows_imported == 0 and again.count("already") == 5000 - len(bad)
    with reading(sessions) as session:
        assert _count(session) == 5000 - len(bad)


GBK_LEDGER = (
    "序,来电日期,顾客,手机,问题,店,问题类型,处理状态,完成日\r\n"
    "1,2025/3/5 14:30,林女士,138 1234 5678,坐垫塌陷，要求上门,南京路,质量问题,已结,2025-03-08\r\n"
    "2,45725,王先生,139-0000-1111,送货少了两件,西湖,少货,未结,\r\n"
    "3,2025-03-09,赵先生,,桌面划痕,西湖,外观,未结,\r\n"
)
COLUMNS = {
    "序": "original_number",
    "来电日期": "received_at",
    "顾客": "name",
    "手机": "phone",
    "问题": "description",
    "店": "site",
    "问题类型": "category",
    "处理状态": "closed",
    "完成日": "closed_at",
}
VALUES = {
    "site": {"南京路": "SH-NJ", "西湖": "HZ-XH"},
    "category": {"质量问题": "product_quality", "少货": "delivery_quantity"},
}


def _import_with_mapping(sessions, org, clock, content: bytes) -> ledger.Plan:
    """Save the shop's column mapping, then import `content` (a GBK CSV) with it."""
    with transaction(sessions) as session:
        ledger.save_mapping(
            session, clock, org_id=org["HX"], name="门店台账", columns=COLUMNS, values=VALUES
        )
    with transaction(sessions) as session:
        result, _ = ledger.run(
            session,
            FrozenClock(NOW),
            ACTOR,
            org_id=org["HX"],
            filename="ledger.csv",
            content=content,
            mapping_name="门店台账",
        )
    return result


def test_a_saved_mapping_reads_another_shops_own_headers_and_words(sessions, org, clock):
    result = _import_with_mapping(sessions, org, clock, GBK_LEDGER.encode("gb18030"))
    assert [p.status for p in result.rows] == ["imported", "imported", "bad"]
    problem = result.rows[2].row.problems[0]
    assert ledger.describe(problem, "zh_Hans") == (
        "第 4 行 G 问题类型：“外观”不是本制度定义的取值（可在列映射中指定对应关系）"
    )
    with reading(sessions) as session:
        rows = {c.original_number: c for c in session.scalars(select(Complaint))}
    lin, wang = rows["1"], rows["2"]
    assert lin.site_id == org["SH-NJ"] and lin.category == "product_quality"
    assert lin.state == "closed" and lin.received_at == datetime(2025, 3, 5, 6, 30, tzinfo=UTC)
    assert wang.state == "new" and wang.site_id == org["HZ-XH"]
    assert wang.received_at == datetime(2025, 3, 8, 16, 0, tzinfo=UTC)  # serial 45725, local


def test_a_mapping_naming_a_choice_or_shop_the_group_lacks_is_refused_when_saved(
    sessions, org, clock
):
    def save(**mapping):
        with transaction(sessions) as session:
            return ledger.save_mapping(
                session, clock, org_id=org["HX"], name="门店台账", columns=COLUMNS, **mapping
            ).values

    refused = [
        ({"values": {"category": {"外观": "looks"}}}, "values.category", "“外观”对应为“looks”"),
        ({"values": {"site": {"南京路": "SH-XX"}}}, "values.site", "“SH-XX”"),
        ({"defaults": {"level": "特急"}}, "defaults.level", "默认值“特急”"),
        ({"defaults": {"department": "财务部"}}, "defaults.department", "“财务部”"),
    ]
    for mapping, where, said in refused:
        with pytest.raises(InvalidInput) as caught:
            save(**mapping)
        assert caught.value.field == where
        assert said in rules_text(caught.value)
    with reading(sessions) as session, pytest.raises(NotFound):  # nothing was saved
        ledger.get_mapping(session, org["HX"], "门店台账")
    # a name in any language stands for its key, and a default may use a saved translation
    saved = save(
        values={"category": {"质量问题": "Product quality"}, "level": {"急": "L3"}},
        defaults={"level": "急", "site": "上海南京路店"},
    )
    assert saved["category"] == {"质量问题": "product_quality"}


def rules_text(exc: InvalidInput) -> str:
    return translate(exc.key, "zh_Hans", field=exc.field, **exc.params)


def test_old_complaints_come_in_without_alerts_and_open_ones_are_timed_from_the_import(
    sessions, org, clock
):
    """A ledger of last year's complaints must not page today's supervisors nor text the
    customers again, and a complaint still open in it is not breached (nor anyone penalised)
    for the time before Kesu ran the procedure: its clocks start at the import."""
    from datetime import timedelta

    from sqlalchemy import update

    from kesu.access.models import User
    from kesu.notify.models import Outbox
    from kesu.sla.models import Timer
    from kesu.sla.sweep import sweep

    # everyone could be mailed, and Mr Wang threatened to go to the media (top level at once:
    # today that would alert the director and the admin centre)
    content = GBK_LEDGER.replace("送货少了两件", "送货少了两件，要找媒体曝光").encode("gb18030")
    with transaction(sessions) as session:
        session.execute(update(User).values(email="staff@hx.example"))
    _import_with_mapping(sessions, org, clock, content)
    with reading(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        wang = session.scalar(select(Complaint).where(Complaint.original_number == "2"))
        running = list(
            session.scalars(
                select(Timer).where(Timer.complaint_id == wang.id, Timer.state == "running")
            )
        )
        assert running, "the open complaint is on the clock"
        assert wang.urgent_keywords == ["媒体", "曝光"]
        assert all(t.started_at == NOW and t.due_at > NOW for t in running)
        assert wang.next_due_at == min(t.due_at for t in running)
    with transaction(sessions) as session:
        assert sweep(session, FrozenClock(NOW + timedelta(minutes=5))) == 0
    with reading(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_file_without_a_recognisable_header_is_refused_by_name(sessions, org):
    with reading(sessions) as session, pytest.raises(InvalidInput) as err:
        ledger.plan(
            session, org_id=org["HX"], filename="x.csv", content=b"a,b,c\r\n1,2,3\r\n", now=NOW
        )
    assert err.value.key == "ledger.no_header"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (45725, datetime(2025, 3, 9)),
        ("45725", datetime(2025, 3, 9)),
        (45725.5, datetime(2025, 3, 9, 12)),
        ("2025/3/5 14:30", datetime(2025, 3, 5, 14, 30)),
        ("2025年3月5日", datetime(2025, 3, 5)),
        ("2025.03.05", datetime(2025, 3, 5)),
        (" 2025-03-05T08:15:20 ", datetime(2025, 3, 5, 8, 15, 20)),
        (None, None),
        ("  ", None),
    ],
)
def test_ledger_dates_are_read_as_text_or_excel_serials(cell, expected):
    assert rules.parse_datetime(cell) == expected


@pytest.mark.parametrize("cell", ["2025-13-45", "2025-02-30", "昨天", "3/5"])
def test_an_unreadable_date_is_a_problem(cell):
    with pytest.raises(ValueError):
        rules.parse_datetime(cell)


def test_phone_numbers_lose_their_spaces_and_dashes():
    assert rules.parse_phone("138 1234 5678") == "13812345678"
    assert rules.parse_phone("0571-8888 6666") == "057188886666"
    assert rules.parse_phone(13812345678.0) == "13812345678"
    assert rules.parse_phone("+86 138 1234 5678") == "+8613812345678"
    with pytest.raises(ValueError):
        rules.parse_phone("12ab")


def test_the_header_under_a_banner_and_merged_cells_is_found():
    rows = [
        ["客户投诉登记表", "客户投诉登记表", "客户投诉登记表"],
        [None, None, None],
        ["投诉日期", "投诉人", "投诉人"],
        [None, "姓名", "电话"],
        ["2025-01-02", "林", "138"],
    ]
    header = rules.find_header(rows)
    assert header.row == 3
    assert header.fields == {0: "received_at", 1: "name", 2: "phone"}


def test_an_import_into_a_month_already_reported_drops_its_stored_reports(sessions, org, clock):
    """A month's report stored after the month ended is final: the worker never rebuilds it,
    so March 2025 read 0 complaints in one language and 3 in another after an import of its
    ledger. The import drops the group's stored reports of the periods it wrote into."""
    from kesu.report import snapshots
    from kesu.report.models import ReportSnapshot

    def key(label: str) -> snapshots.Key:
        return snapshots.Key("monthly", org["HX"], snapshots.period_of("monthly", label), "zh_Hans")

    with reading(sessions) as read:
        built = {label: snapshots.make(read, key(label), NOW) for label in ("2025-02", "2025-03")}
    with transaction(sessions) as session:
        for label, report in built.items():
            snapshots.store(session, key(label), report, NOW)

    result = _import_with_mapping(sessions, org, clock, GBK_LEDGER.encode("gb18030"))
    with reading(sessions) as session:
        kept = session.scalars(select(ReportSnapshot.period)).all()
        assert kept == ["2025-02"]  # February ended before the ledger's first complaint
        march = snapshots.make(session, key("2025-03"), NOW)
    summary = next(s for s in march.sections if s.key == "summary")
    received = next(r for r in summary.rows if r[0] == "received")
    assert received[3] == result.count("imported") > 0  # what the page will show once rebuilt
