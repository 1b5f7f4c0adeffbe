"""Seed 001 (service-center pack): 第五条 and 第六条 of 《客户投诉处理制度》 on a FrozenClock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from kesu.errors import Forbidden
from scenarios.world import (
    REACHED,
    UNREACHED,
    VALID,
    World,
    delay,
    investigation,
    local,
    solution,
)

STAFF = [
    ("specialist", "follow_up_specialist", "CS"),
    ("manager", "department_manager", "CS"),
    ("ops_manager", "department_manager", "OPS"),
    ("cs_manager", "cs_manager", "CS"),
    ("gm", "general_manager", None),
    ("office", "admin_office", None),
    ("floor", "staff", "OPS"),
]
THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_10)
    return World.build(sessions, clock, "service-center", STAFF)


def test_001_a_very_dissatisfied_complaint_first_answered_after_25_minutes_is_breached_and_costs_the_handler_30_yuan(  # noqa: E501
    world,
):
    cid = world.receive("specialist", level="very_dissatisfied", category="attitude")
    assert world.complaint(cid).assignee_id == world.ids["manager"]  # the work order, at once
    first = world.timers(cid)["first_response"]
    assert first.due_at == THURSDAY_10 + timedelta(minutes=20)  # 第六条: 20 minutes

    world.at(THURSDAY_10 + timedelta(minutes=19, seconds=59))
    assert world.timers(cid)["first_response"].breached_at is None
    assert world.penalties(cid) == []

    world.at(THURSDAY_10 + timedelta(minutes=20))
    assert world.timers(cid)["first_response"].breached_at == THURSDAY_10 + timedelta(minutes=20)
    assert world.penalties(cid) == [("manager", Decimal("30.00"))]
    assert world.messages(cid, "sla_penalty") == ["manager"]
    assert world.messages(cid, "sla_breach") == ["cs_manager", "manager"]

    world.at(THURSDAY_10 + timedelta(minutes=25))
    world.run("manager", cid, "record_contact", REACHED)
    late = world.timers(cid)["first_response"]
    assert late.state == "met" and late.met_at == THURSDAY_10 + timedelta(minutes=25)
    assert late.breached_at is not None  # met late, and it stays on the record

    world.at(THURSDAY_10 + timedelta(hours=1))  # the worker runs again: nothing doubles
    assert world.penalties(cid) == [("manager", Decimal("30.00"))]
    breaches = [e for e in world.events(cid) if e.command == "sla_breach"]
    assert len(breaches) == 1
    assert breaches[0].payload["penalty"] == {"amount": "30", "user_id": world.ids["manager"]}


@pytest.mark.parametrize(
    ("level", "minutes", "yuan", "handler"),
    [
        ("dissatisfied", 30, "20.00", "manager"),
        ("very_dissatisfied", 20, "30.00", "manager"),
        ("major", 10, "50.00", "cs_manager"),
        ("crisis", 10, "80.00", "cs_manager"),
    ],
)
def test_001_first_response_limits_and_overdue_penalties_follow_the_grade_table(
    world, level, minutes, yuan, handler
):
    cid = world.receive("specialist", level=level, category="product")
    world.at(THURSDAY_10 + timedelta(minutes=minutes - 1))
    assert world.penalties(cid) == []
    world.at(THURSDAY_10 + timedelta(minutes=minutes))
    assert world.penalties(cid) == [(handler, Decimal(yuan))]


def test_001_a_dissatisfied_customer_first_contacted_after_25_minutes_misses_the_20_minute_contact_but_not_the_30_minute_response(  # noqa: E501
    world,
):
    """第五条(三) 注: the first contact within 20 minutes, whatever the grade; 第六条: a 不满意
    complaint's first response within 30 minutes, 20 yuan if late."""
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    timers = world.timers(cid)
    assert timers["first_contact"].due_at == THURSDAY_10 + timedelta(minutes=20)
    assert timers["first_response"].due_at == THURSDAY_10 + timedelta(minutes=30)
    world.at(THURSDAY_10 + timedelta(minutes=20))
    assert world.timers(cid)["first_contact"].breached_at is not None
    assert world.messages(cid, "sla_breach") == ["cs_manager", "manager"]
    world.at(THURSDAY_10 + timedelta(minutes=25))
    world.run("manager", cid, "record_contact", REACHED)
    timers = world.timers(cid)
    assert timers["first_contact"].state == timers["first_response"].state == "met"
    assert timers["first_response"].breached_at is None
    assert world.penalties(cid) == []  # the amounts are the first response's
    very = world.receive("specialist", level="very_dissatisfied", category="attitude")
    assert "first_contact" not in world.timers(very)  # its first response is 20 minutes already


def test_001_an_on_site_complaint_is_met_within_10_minutes(world):
    cid = world.receive("specialist", level="dissatisfied", channel="onsite", category="attitude")
    onsite = world.timers(cid)["onsite_contact"]
    assert onsite.due_at == THURSDAY_10 + timedelta(minutes=10)
    world.at(THURSDAY_10 + timedelta(minutes=8))
    world.run("manager", cid, "record_contact", REACHED)
    assert world.timers(cid)["onsite_contact"].state == "met"
    phone = world.receive("specialist", level="dissatisfied", category="attitude")
    assert "onsite_contact" not in world.timers(phone)


def test_001_the_specialist_calls_back_40_minutes_after_the_managers_first_agreement(world):
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    world.at(THURSDAY_10 + timedelta(minutes=5))
    world.run("manager", cid, "record_contact", REACHED)
    call = world.timers(cid)["tracking_call"]
    assert call.opens_at == THURSDAY_10 + timedelta(minutes=45)
    assert call.due_at == THURSDAY_10 + timedelta(minutes=65)
    world.at(THURSDAY_10 + timedelta(minutes=50))
    assert world.messages(cid, "sla_warning") == ["specialist"]  # the reminder to call
    world.run("specialist", cid, "record_contact", REACHED)
    assert world.timers(cid)["tracking_call"].state == "met"


def test_001_an_on_site_complaint_taken_by_floor_staff_reminds_the_follow_up_specialist_to_call_back(  # noqa: E501
    world,
):
    """第五条(二)(四)(六): the floor staff record an on-site complaint and pass it to the 回访专员,
    who calls back after 40 minutes and makes the second contact: the reminders and notices
    are theirs, not the floor staff's (who can make neither call)."""
    cid = world.receive("floor", level="dissatisfied", channel="onsite", category="attitude")
    world.at(THURSDAY_10 + timedelta(minutes=5))
    world.run("manager", cid, "record_contact", REACHED)
    world.at(THURSDAY_10 + timedelta(minutes=46))
    # the manager's was the on-site 10 minutes' (at 5); the call back is the specialist's
    assert world.messages(cid, "sla_warning") == ["manager", "specialist"]
    world.at(THURSDAY_10 + timedelta(minutes=65))
    assert world.messages(cid, "sla_breach") == ["cs_manager", "specialist"]
    world.run("manager", cid, "classify", VALID)
    world.run("manager", cid, "record_investigation", investigation())
    world.run("manager", cid, "propose_solution", solution("apology"))
    world.run("manager", cid, "implement", {})
    world.at(THURSDAY_10 + timedelta(hours=21))  # 80 % of the 24 hours to the second contact
    assert world.messages(cid, "sla_warning") == ["manager", "specialist", "specialist"]


def test_001_the_second_response_within_24_hours_of_the_returned_work_order_costs_the_grade_amount(
    world,
):
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    world.run("manager", cid, "record_contact", REACHED)
    world.run("manager", cid, "classify", VALID)
    world.run("manager", cid, "record_investigation", investigation())
    world.run("manager", cid, "propose_solution", solution("apology"))
    world.at(THURSDAY_10 + timedelta(hours=2))
    world.run("manager", cid, "implement", {})
    timers = world.timers(cid)
    assert timers["work_order_return"].state == "met"  # 第五条(五): back within 12 hours
    assert timers["second_response"].due_at == THURSDAY_10 + timedelta(hours=26)
    world.at(THURSDAY_10 + timedelta(hours=26))
    assert world.penalties(cid) == [("specialist", Decimal("20.00"))]


def test_001_an_unreachable_customer_with_a_delay_approved_by_the_general_manager_stops_the_clock(
    world,
):
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    work_order = world.timers(cid)["work_order_return"]
    assert work_order.due_at == THURSDAY_10 + timedelta(hours=12)
    world.at(THURSDAY_10 + timedelta(minutes=5))
    world.run("manager", cid, "record_contact", UNREACHED)
    world.run("specialist", cid, "request_delay", delay(THURSDAY_10 + timedelta(hours=4)))
    with pytest.raises(Forbidden):  # 第六条: only the general manager approves
        world.run("cs_manager", cid, "approve_delay", {})
    assert world.timers(cid)["first_response"].due_at == THURSDAY_10 + timedelta(minutes=30)

    world.at(THURSDAY_10 + timedelta(minutes=10))
    world.run("gm", cid, "approve_delay", {})
    timers = world.timers(cid)
    # paused from 10:10 to 14:00: 3 h 50 min later than before
    assert timers["first_response"].due_at == THURSDAY_10 + timedelta(hours=4, minutes=20)
    assert timers["work_order_return"].due_at == THURSDAY_10 + timedelta(hours=15, minutes=50)
    world.at(THURSDAY_10 + timedelta(hours=1))
    assert world.timers(cid)["first_response"].breached_at is None  # the clock stood still

    world.at(THURSDAY_10 + timedelta(hours=2, minutes=10))  # the customer answers early
    world.run("manager", cid, "record_contact", REACHED)
    timers = world.timers(cid)
    assert timers["first_response"].state == "met"
    # resumed at 12:10: paused for 2 hours, so the work order is due 2 hours later than planned
    assert timers["work_order_return"].due_at == THURSDAY_10 + timedelta(hours=14)
    assert timers["work_order_return"].pauses[0]["ended"] is not None
    running = [t.due_at for t in timers.values() if t.state == "running"]
    assert world.complaint(cid).next_due_at == min(running)  # the tracking call, at 13:10


def test_001_a_clock_the_general_manager_stopped_warns_only_after_it_resumes_as_long_before_its_deadline(  # noqa: E501
    world,
):
    """第六条: the approved delay stops the clocks; the 80 % reminder stops with them. The first
    response (30 minutes) warned at minute 24, six minutes before its deadline: stopped at
    10:10 until 14:00, it is due at 14:20 and warns at 14:14, not at 13:28 while it stands."""
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    world.at(THURSDAY_10 + timedelta(minutes=5))
    world.run("manager", cid, "record_contact", UNREACHED)
    world.run("specialist", cid, "request_delay", delay(THURSDAY_10 + timedelta(hours=4)))
    world.at(THURSDAY_10 + timedelta(minutes=10))
    world.run("gm", cid, "approve_delay", {})
    timers = world.timers(cid)
    assert timers["first_response"].due_at == local(2026, 11, 26, 14, 20)
    assert timers["first_response"].warn_at == local(2026, 11, 26, 14, 14)
    assert timers["first_contact"].warn_at == local(2026, 11, 26, 14, 6)  # 20 min: at 16
    world.at(local(2026, 11, 26, 13, 59))
    assert world.messages(cid, "sla_warning") == []  # nothing while the clock stands still
    world.at(local(2026, 11, 26, 14, 7))
    assert world.messages(cid, "sla_warning") == ["manager"]  # the 20 minutes' first contact
    world.at(local(2026, 11, 26, 14, 15))
    assert world.messages(cid, "sla_warning") == ["manager", "manager"]


def test_001_a_stopped_clock_opens_the_40_minute_call_back_window_later_by_the_time_it_stood_still(
    world,
):
    cid = world.receive("specialist", level="dissatisfied", category="attitude")
    world.at(THURSDAY_10 + timedelta(minutes=5))
    world.run("manager", cid, "record_contact", REACHED)  # the call back: from 10:45 to 11:05
    world.run("specialist", cid, "request_delay", delay(THURSDAY_10 + timedelta(hours=2)))
    world.at(THURSDAY_10 + timedelta(minutes=20))
    world.run("gm", cid, "approve_delay", {})  # stopped from 10:20 to 12:00
    call = world.timers(cid)["tracking_call"]
    assert call.due_at == local(2026, 11, 26, 12, 45)
    assert call.opens_at == call.warn_at == local(2026, 11, 26, 12, 25)
    world.at(local(2026, 11, 26, 10, 50))
    assert world.messages(cid, "sla_warning") == []  # not at 10:45, while the clock stands
    world.at(local(2026, 11, 26, 12, 26))
    assert world.messages(cid, "sla_warning") == ["specialist"]


def test_001_a_customer_still_dissatisfied_after_two_response_rounds_goes_to_the_general_manager(
    world,
):
    cid = world.receive("specialist", level="dissatisfied", category="attitude")

    def one_round(handler: str) -> None:
        world.run(handler, cid, "record_contact", REACHED)
        world.run(handler, cid, "record_investigation", investigation())
        world.run(handler, cid, "propose_solution", solution("apology"))
        world.run(handler, cid, "implement", {})
        world.run("specialist", cid, "record_response", {"satisfaction": 3})

    world.run("manager", cid, "classify", VALID)
    one_round("manager")  # round 1: not satisfied → round 2 (第五条(八): run the flow again)
    c = world.complaint(cid)
    assert (c.round, c.level, c.gm_agenda) == (2, "very_dissatisfied", False)
    assert len(world.all_timers(cid, "first_response")) == 2  # the flow, and its clock, again
    assert world.messages(cid, "rounds_exceeded") == []

    one_round("manager")  # round 2: still not satisfied — more than 2 rounds
    c = world.complaint(cid)
    assert c.round == 3 and c.gm_agenda
    assert world.messages(cid, "rounds_exceeded") == ["gm"]
    assert c.assignee_id == world.ids["cs_manager"]  # now 重大投诉: the CS manager handles it


def test_001_a_repeat_complaint_on_the_same_matter_is_a_major_complaint_reported_at_once(world):
    first = world.receive("specialist", level="dissatisfied", category="repair")
    world.at(THURSDAY_10 + timedelta(days=3))
    again = world.receive("specialist", level="dissatisfied", category="repair")
    c = world.complaint(again)
    assert c.level == "major"
    assert world.complaint(first).level == "dissatisfied"
    receipt = world.events(again)[0].payload
    assert receipt["auto"]["repeat_of"] == world.complaint(first).number
    assert world.messages(again, "complaint_alert") == ["cs_manager", "cs_manager", "gm"]


def test_001_a_major_complaint_handled_by_the_cs_manager_is_signed_by_the_general_manager_and_filed(
    world,
):
    """第五条(七): signed by 客服部经理 and 总经理, filed by 行政部. The CS manager handles a
    重大投诉 and may not review their own case, so the general manager signs; it no longer
    waits for ever for a second CS manager's signature."""
    cid = world.receive("specialist", level="major", category="product")
    assert world.complaint(cid).assignee_id == world.ids["cs_manager"]
    world.run("cs_manager", cid, "record_contact", REACHED)
    world.run("cs_manager", cid, "classify", VALID)
    world.run("cs_manager", cid, "record_investigation", investigation())
    world.run("cs_manager", cid, "propose_solution", solution("compensation", 800))
    world.run("cs_manager", cid, "implement", {})
    world.run("specialist", cid, "record_response", {"satisfaction": 1})
    with pytest.raises(Forbidden):
        world.run("cs_manager", cid, "sign_off", {})  # not their own case
    world.run("gm", cid, "sign_off", {})
    world.run("office", cid, "close", {})
    c = world.complaint(cid)
    assert c.state == "closed" and world.timers(cid)["sign_and_file"].state == "met"


def test_001_media_exposure_makes_a_crisis_at_once_and_tells_the_general_manager(world):
    cid = world.receive(
        "specialist", level="dissatisfied", category="product", description="客户说要找媒体曝光。"
    )
    assert world.complaint(cid).level == "crisis"
    assert world.messages(cid, "complaint_top_level") == ["cs_manager", "gm"]
    assert world.timers(cid)["first_response"].due_at == THURSDAY_10 + timedelta(minutes=10)


def test_001_last_months_closed_cases_reach_the_administration_for_the_review_by_the_10th(
    world, sessions, clock
):
    """第十九条: last month's closed complaints are reviewed by the 10th; the monthly staff
    review reaches the administration (and the general manager) on the 1st."""
    from sqlalchemy import select

    from kesu.db.session import reading, transaction
    from kesu.notify.models import Outbox
    from kesu.report import service as report_service
    from kesu.report.models import ReportDelivery

    with transaction(sessions) as session:
        assert report_service.send_scheduled(session, clock) == 1  # November 1st's, for October
    clock.set(local(2026, 12, 1, 8, 59))
    with transaction(sessions) as session:
        assert report_service.send_scheduled(session, clock) == 0
    clock.set(local(2026, 12, 1, 9, 0))
    with transaction(sessions) as session:
        assert report_service.send_scheduled(session, clock) == 1
    with reading(sessions) as session:
        sent = [(d.kind, d.period) for d in session.scalars(select(ReportDelivery))]
        mail = session.scalars(select(Outbox).where(Outbox.template == "report_ready")).all()
    assert sorted(sent) == [("staff_review", "2026-10"), ("staff_review", "2026-11")]
    assert {m.address for m in mail} == {"office@example.com", "gm@example.com"}
