"""Seed 000 (retail-store pack): 4 作业内容 and 附录一 of 《顾客抱怨处理作业程序办法》."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("clerk", "cs_clerk", "CS"),
    ("chief", "cs_chief", "CS"),
    ("duty", "duty_manager", "CS"),
    ("store_manager", "store_manager", None),
    ("floor", "store_staff", "OPS"),
]
MONDAY_10 = local(2026, 11, 23, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(MONDAY_10)
    return World.build(sessions, clock, "retail-store", STAFF)


def complaint(world, by: str = "clerk", **over) -> int:
    body = {"channel": "in_store", "complainant_type": "member", "category": "installation"}
    body.update(over)
    return world.receive(by, **body)


def test_000_record_forms_carry_six_digit_numbers(world):
    first, second = complaint(world), complaint(world, by="floor")
    assert [world.complaint(c).number for c in (first, second)] == ["000001", "000002"]


def test_000_a_complaint_taken_by_floor_staff_is_handed_to_the_service_desk(world):
    cid = complaint(world, by="floor")
    assert world.complaint(cid).assignee_id == world.ids["clerk"]  # 客服课接手处理


def test_000_the_customer_is_told_how_and_by_when_within_one_hour(world):
    cid = complaint(world)
    assert world.timers(cid)["reply_promise"].due_at == MONDAY_10 + timedelta(hours=1)
    world.at(MONDAY_10 + timedelta(minutes=30))
    world.run(
        "clerk", cid, "acknowledge", {"message": "安装师傅明天上午重新上门，下午五点前答复您。"}
    )
    assert world.timers(cid)["reply_promise"].state == "met"


def test_000_the_service_desk_keeps_in_touch_every_two_working_days_until_solved(world):
    cid = complaint(world)
    world.run("clerk", cid, "acknowledge", {})
    assert world.timers(cid)["keep_in_contact"].due_at == local(2026, 11, 26)  # end of Wed
    world.at(local(2026, 11, 25, 16, 0))
    world.run("clerk", cid, "record_contact", REACHED)
    assert world.timers(cid)["keep_in_contact"].due_at == local(2026, 11, 28)  # end of Fri
    world.at(local(2026, 11, 28))
    assert world.messages(cid, "sla_breach") == ["chief", "clerk"]


def test_000_the_duty_manager_checks_every_open_complaint_each_week(world):
    cid = complaint(world)
    review = world.timers(cid)["weekly_open_review"]
    assert review.due_at == local(2026, 12, 1)  # seven days: the end of next Monday
    world.at(local(2026, 11, 27, 18, 0))
    world.run("clerk", cid, "note", {"text": "已联系供应商，等待配件。"})  # not the duty manager
    assert world.timers(cid)["weekly_open_review"].state == "running"
    world.run("duty", cid, "note", {"text": "每周检查：配件周二到货，周三安装。"})
    reviews = world.all_timers(cid, "weekly_open_review")
    assert [t.state for t in reviews] == ["met", "running"]
    assert reviews[1].due_at == local(2026, 12, 5)
    world.at(local(2026, 12, 5))
    overdue = [e.payload["timer"] for e in world.events(cid) if e.command == "sla_breach"]
    assert "weekly_open_review" in overdue
    assert {"duty", "store_manager"} <= set(world.messages(cid, "sla_breach"))


def test_000_a_safety_complaint_reaches_the_duty_manager_at_once(world):
    cid = complaint(world, category="safety", title="货架松动砸到脚")
    assert world.messages(cid, "complaint_top_level") == ["duty"]
    assert "紧急类别：安全" in world.said(cid, "complaint_top_level", "zh_Hans")[0]
    english = world.said(cid, "complaint_top_level", "en")[0]
    assert "(emergency category: Safety" in english and "类别" not in english


def test_000_the_weekly_statistics_report_reaches_head_office_operations_every_monday(
    sessions, clock
):
    """4 作业内容 3 and the duty table: 每周客怨统计报告 to 总公司营运部 (被通知), the store manager
    approving it — sent by the worker, once a week, without anyone remembering to."""
    from sqlalchemy import select

    from kesu.db.session import reading, transaction
    from kesu.notify.models import Outbox
    from kesu.report import service as report_service
    from kesu.report.models import ReportDelivery

    clock.set(MONDAY_10)
    world = World.build(sessions, clock, "retail-store", [*STAFF, ("hq", "hq_operations", None)])
    complaint(world)
    for expected in (1, 0):  # this Monday's report, then nothing more until next Monday
        with transaction(sessions) as session:
            assert report_service.send_scheduled(session, clock) == expected
    with reading(sessions) as session:
        (sent,) = session.scalars(select(ReportDelivery)).all()
        mail = session.scalars(select(Outbox).where(Outbox.template == "report_ready")).all()
    assert (sent.schedule_key, sent.period, sent.media_type) == (
        "weekly-hq",
        "2026-W47",
        "application/pdf",
    )
    assert {m.address for m in mail} == {"hq@example.com", "store_manager@example.com"}


def test_000_a_reopened_complaint_is_open_again_and_back_on_the_duty_managers_weekly_check(world):
    """4 作业内容 3: "值班经理每周必须检查一遍未结客怨记录" — a complaint reopened after filing is
    未结 again, so its weekly check starts again (it stopped when it was filed as 已结)."""
    cid = complaint(world)
    world.run("clerk", cid, "acknowledge", {})
    world.run("clerk", cid, "record_contact", REACHED)
    world.run("clerk", cid, "classify", VALID)
    world.run("clerk", cid, "record_investigation", investigation("material"))
    world.run("clerk", cid, "propose_solution", solution("repair"))
    world.run("clerk", cid, "implement", {})
    world.run("clerk", cid, "record_response", {"satisfaction": 1})
    world.run("chief", cid, "sign_off", {})
    world.run("chief", cid, "close", {})
    assert world.timers(cid)["weekly_open_review"].state == "cancelled"  # filed as 已结

    world.at(local(2026, 11, 25, 15, 0))
    world.run("chief", cid, "reopen", {"reason": "顾客来电：安装后柜门又松动了。"})
    review = world.timers(cid)["weekly_open_review"]
    assert (review.state, review.round) == ("running", 2)
    assert review.due_at == local(2026, 12, 3)  # seven days from the reopening
    world.at(local(2026, 12, 3))
    assert {"duty", "store_manager"} <= set(world.messages(cid, "sla_breach"))
