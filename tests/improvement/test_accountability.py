"""Training, discipline and rewards after complaints (seed 003 六(一)3, 七): recorded by the
pack's managers, one record per person, and counted in the staff KPIs of the reports; the
management review from the command line."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest
from typer.testing import CliRunner

from improvement.loop import Loop, closed, club, investigated, table_complaint
from kesu.access import service as access_service
from kesu.cli import app
from kesu.db.session import reading, transaction
from kesu.errors import Forbidden, InvalidInput
from kesu.improvement import queries, review
from kesu.improvement import service as improvement_service
from kesu.improvement.schemas import AccountabilityCreate
from kesu.org import service as org_service
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from scenarios.world import local

THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def loop(sessions, clock):
    clock.set(THURSDAY_10)
    return Loop(club(sessions, clock))


def _record(loop: Loop, by: str, **body) -> list[int]:
    with transaction(loop.world.sessions) as session:
        rows = improvement_service.record_accountability(
            session, loop.world.clock, loop.user(session, by), AccountabilityCreate(**body)
        )
        return [r.id for r in rows]


def test_training_and_discipline_after_a_complaint_show_in_the_staff_kpis_of_the_month(loop):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    ids = loop.world.ids
    day = date(2026, 11, 26)
    _record(
        loop,
        "club_mgr",
        record_kind="training",
        user_ids=[ids["desk"], ids["desk2"]],
        complaint_id=cid,
        occurred_on=day,
        measure="球台日检培训 2 学时",
    )
    _record(
        loop,
        "club_mgr",
        record_kind="discipline",
        user_ids=[ids["desk"]],
        complaint_id=cid,
        occurred_on=day,
        measure="警告，罚款",
        amount="50",
    )
    _record(
        loop,
        "club_mgr",
        record_kind="reward",
        user_ids=[ids["eq_head"]],
        complaint_id=cid,
        occurred_on=day,
        measure="妥善处理中度投诉，通报表扬",
    )
    with loop.world.sessions() as session:
        mgr, desk = loop.user(session, "club_mgr"), loop.user(session, "desk")
        assert len(queries.accountability(session, mgr, manager=True, complaint_id=cid)) == 4
        own = queries.accountability(session, desk, manager=False, complaint_id=cid)
        assert sorted(r.kind for r in own) == ["discipline", "training"]  # only their own

    with reading(loop.world.sessions) as session:
        report = report_service.build(
            session,
            org_id=ids["G"],
            period=report_rules.month(2026, 11),
            locale="zh_Hans",
            now=local(2026, 12, 1, 9, 0),
        )
    staff = report.section("staff").as_dicts()
    by_name = {row["staff"]: row for row in staff}
    assert (by_name["desk"]["training"], by_name["desk"]["discipline"]) == (1, 1)
    assert (by_name["desk2"]["training"], by_name["desk2"]["discipline"]) == (1, 0)
    assert by_name["eq_head"]["reward"] == 1
    assert [c.label for c in report.section("staff").columns][-3:] == [
        "培训次数",
        "处分次数",
        "奖励次数",
    ]


def test_only_managers_record_accountability_and_training_carries_no_amount(loop):
    body = {
        "record_kind": "discipline",
        "user_ids": [loop.world.ids["desk2"]],
        "occurred_on": date(2026, 11, 26),
        "measure": "警告",
    }
    with pytest.raises(Forbidden):
        _record(loop, "desk", **body)
    with pytest.raises(InvalidInput) as exc:
        _record(loop, "club_mgr", **{**body, "record_kind": "training", "amount": "10"})
    assert exc.value.field == "amount"


def test_an_accountability_record_about_an_action_goes_on_the_actions_record(loop):
    aid = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="前台服务礼仪")
    _record(
        loop,
        "eq_head",
        record_kind="training",
        user_ids=[loop.world.ids["desk"]],
        action_id=aid,
        occurred_on=date(2026, 11, 25),
        measure="服务礼仪培训",
    )
    assert loop.events(aid) == ["open", "accountability"]
    assert loop.action(aid).version == 2


def test_a_store_manager_reads_the_training_and_discipline_of_their_own_store_only(loop):
    """A department head at a second store records and reviews their own people; the
    discipline of a head-office receiver is not theirs to read, on the list or in the
    store's quarterly review."""
    world, ids = loop.world, loop.world.ids
    with transaction(world.sessions) as session:
        store = org_service.create(
            session, world.clock, kind="site", code="SITE2", name="二号门店", parent_id=ids["G"]
        )
        ids["SITE2"] = store.id
        for username, role in (("store2_head", "supervisor"), ("store2_desk", "handler")):
            ids[username] = access_service.add_user(
                session,
                world.clock,
                username=username,
                display_name=username,
                role=role,
                org_id=store.id,
            ).id
    day = date(2026, 11, 26)
    body = {"occurred_on": day, "measure": "警告"}
    _record(loop, "club_mgr", record_kind="discipline", user_ids=[ids["desk"]], **body)
    _record(loop, "store2_head", record_kind="training", user_ids=[ids["store2_desk"]], **body)

    with loop.world.sessions() as session:
        head = loop.user(session, "store2_head")
        listed = queries.accountability(session, head, manager=True)
        assert [r.user_id for r in listed] == [ids["store2_desk"]]
        everyone = queries.accountability(session, loop.user(session, "club_mgr"), manager=True)
        assert len(everyone) == 2
        report = review.build(
            session, org_id=ids["SITE2"], quarter="2026-Q4", locale="en", now=world.clock.now()
        )
    rows = next(s for s in report.sections if s.key == "accountability").rows
    assert rows == [["store2_desk", 1, 0, 0]]


def test_the_management_review_is_written_from_the_command_line(loop, settings, tmp_path):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    aid = loop.open("club_mgr", complaint_ids=[cid], title="球桌定期校平")
    out = tmp_path / "review.xlsx"
    result = CliRunner().invoke(
        app,
        ["improvement", "review", "--quarter", "2026-Q4", "--format", "xlsx", "--output", str(out)],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "投诉管理评审 2026-Q4" in result.output
    book = openpyxl.load_workbook(out)
    cells = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert loop.action(aid).number in cells and "球桌定期校平" in cells

    bad = CliRunner().invoke(
        app,
        ["improvement", "review", "--quarter", "2026-Q5", "--output", str(tmp_path / "x.pdf")],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert bad.exit_code == 1 and "2026-Q5" in bad.output


def test_the_review_counts_each_cause_over_the_quarter_and_the_months_it_appeared_in(loop):
    """The quarter's causes are its months' added up; a cause closed in two of its months
    is present in two (the review reads the months apart and spreads them across the cores)."""
    world = loop.world
    for at, cause in (
        (local(2026, 9, 21, 10, 0), "people"),  # the quarter before
        (local(2026, 10, 12, 10, 0), "people"),
        (local(2026, 11, 26, 10, 0), "material"),
        (local(2026, 12, 3, 10, 0), "material"),
        (local(2026, 12, 4, 10, 0), "people"),
        (local(2026, 12, 7, 10, 0), "material"),
    ):
        world.clock.set(at)
        cid = table_complaint(world)
        investigated(world, cid, cause)
        closed(world, cid)
    world.clock.set(local(2027, 1, 5, 10, 0))

    def causes(session) -> dict[str, list]:
        report = review.build(
            session, org_id=world.ids["G"], quarter="2026-Q4", locale="en", now=world.clock.now()
        )
        rows = next(s for s in report.sections if s.key == "causes").rows
        return {row[0]: [row[2], row[5], row[6]] for row in rows}  # count, months, before

    with reading(world.sessions) as session:  # read-only: the reads split across sessions
        split = causes(session)
    with transaction(world.sessions) as session:  # a write session reads in itself
        whole = causes(session)
    assert split == whole == {"material": [3, 2, 0], "people": [2, 2, 1]}


def test_a_review_to_a_folder_that_does_not_exist_fails_in_one_line(loop, settings, tmp_path):
    result = CliRunner().invoke(
        app,
        ["improvement", "review", "--quarter", "2026-Q4", "--output", str(tmp_path / "no/r.pdf")],
        env={"KESU_DATABASE_URL": settings.db_url, "KESU_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: 无法写入文件“"), result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
