"""Seed 003 (billiards-club pack): 四 投訴分類與處理流程 and 六 反饋機制 on a FrozenClock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("handler", "handler", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("manager", "club_manager", None),
]


@pytest.fixture
def world(sessions, clock):
    clock.set(local(2026, 11, 26, 20, 0))
    return World.build(sessions, clock, "billiards-club", STAFF)


def test_003_a_moderate_complaint_resolved_after_25_hours_is_breached_and_its_follow_up_visit_falls_3_to_5_working_days_later_skipping_national_day_2026(  # noqa: E501
    world,
):
    start = local(2026, 9, 29, 10, 0)
    world.clock.set(start)
    cid = world.receive(
        "handler", level="moderate", category="table_fault", complainant_type="member"
    )
    timers = world.timers(cid)
    assert timers["moderate_start"].due_at == start + timedelta(minutes=15)
    assert timers["supervisor_on_site"].due_at == start + timedelta(minutes=30)
    assert timers["resolve"].due_at == start + timedelta(hours=24)
    assert world.messages(cid, "complaint_alert") == ["supervisor"]  # 四(二)2: told at once

    world.at(start + timedelta(minutes=10))
    world.run("supervisor", cid, "acknowledge", {})
    world.at(start + timedelta(minutes=25))
    world.run("supervisor", cid, "record_contact", REACHED)
    world.run("supervisor", cid, "classify", VALID)
    world.run("supervisor", cid, "record_investigation", investigation("material"))
    world.run("supervisor", cid, "propose_solution", solution("discount", 50))

    world.at(start + timedelta(hours=24))  # the worker notices the 24 hours are up
    assert world.timers(cid)["resolve"].breached_at == start + timedelta(hours=24)
    assert world.messages(cid, "sla_breach") == ["manager", "supervisor"]

    world.at(start + timedelta(hours=25))
    world.run("supervisor", cid, "implement", {})
    resolve = world.timers(cid)["resolve"]
    assert resolve.state == "met" and resolve.met_at == start + timedelta(hours=25)
    assert world.timers(cid)["result_feedback"].due_at == start + timedelta(hours=26)
    world.run("supervisor", cid, "record_response", {"satisfaction": 2})
    world.run("manager", cid, "sign_off", {})
    world.run("manager", cid, "close", {})

    visit = world.timers(cid)["follow_up_visit"]
    # completed on 30 September; October 1-7 are the National Day holiday, Saturday 10 October
    # a make-up working day: the 3rd working day is 10 October, the 5th is 13 October
    assert visit.opens_at == local(2026, 10, 10)
    assert visit.due_at == local(2026, 10, 14)
    assert world.complaint(cid).next_due_at == local(2026, 10, 14)
    world.at(local(2026, 10, 10, 9, 0))
    reminders = [e.payload["timer"] for e in world.events(cid) if e.command == "sla_warning"]
    assert reminders[-1] == "follow_up_visit"  # the window opens: time for the visit
    world.run(
        "handler", cid, "follow_up", {"result": "回访：球桌已修好，客户满意。", "satisfaction": 1}
    )
    assert world.timers(cid)["follow_up_visit"].state == "met"
    assert world.complaint(cid).next_due_at is None


def test_003_a_minor_complaint_is_talked_through_within_1_hour_and_solved_within_4(world):
    start = world.clock.now()
    cid = world.receive("handler", level="minor", category="cleaning", complainant_type="guest")
    timers = world.timers(cid)
    assert timers["minor_contact"].due_at == start + timedelta(hours=1)
    assert timers["resolve"].due_at == start + timedelta(hours=4)
    assert world.complaint(cid).assignee_id == world.ids["handler"]
    assert {"moderate_start", "manager_on_site"}.isdisjoint(timers)


def test_003_a_minor_complaint_raised_to_moderate_runs_on_the_moderate_clocks(world):
    start = world.clock.now()
    cid = world.receive("handler", level="minor", category="cleaning", complainant_type="guest")
    world.at(start + timedelta(minutes=20))
    world.run("handler", cid, "categorize", {"level": "moderate", "reason": "计费错误，客户很不满"})
    timers = world.timers(cid)
    assert timers["resolve"].due_at == start + timedelta(hours=24)  # 24 h from the complaint
    assert timers["supervisor_on_site"].due_at == start + timedelta(minutes=50)
    assert timers["minor_contact"].state == "cancelled"
    assert world.complaint(cid).assignee_id == world.ids["supervisor"]


def test_003_a_customer_injured_in_the_club_is_major_at_once_and_the_manager_must_be_there_in_30_minutes(  # noqa: E501
    world,
):
    start = world.clock.now()
    cid = world.receive("handler", level="minor", category="safety", complainant_type="guest")
    c = world.complaint(cid)
    assert c.level == "major" and c.assignee_id == world.ids["manager"]
    assert world.messages(cid, "complaint_top_level") == ["manager"]  # 四(三)2: 应急预案
    timers = world.timers(cid)
    assert timers["manager_on_site"].due_at == start + timedelta(minutes=30)
    assert timers["initial_plan"].due_at == start + timedelta(hours=48)
    assert "resolve" not in timers  # "处理时间根据实际情况确定"

    world.run("supervisor", cid, "record_contact", REACHED)  # a department head is not enough
    assert world.timers(cid)["manager_on_site"].state == "running"
    world.at(start + timedelta(minutes=20))
    world.run("manager", cid, "record_contact", REACHED)
    assert world.timers(cid)["manager_on_site"].state == "met"


def test_003_major_cases_get_a_progress_report_every_24_hours_until_carried_out(world):
    start = world.clock.now()
    cid = world.receive(
        "handler", level="major", category="discrimination", complainant_type="member"
    )
    assert world.timers(cid)["progress_update"].due_at == start + timedelta(hours=24)
    world.at(start + timedelta(hours=20))
    world.run("manager", cid, "record_contact", REACHED)
    updates = world.all_timers(cid, "progress_update")
    assert [t.state for t in updates] == ["met", "running"]
    assert updates[1].due_at == start + timedelta(hours=44)


def test_003_a_major_case_the_customer_does_not_accept_gets_progress_reports_again(world):
    """四(三)2: a major case takes "根据实际情况确定，但要及时向客户反馈处理进度"; a customer
    who does not accept the result sends it back into handling, and the reports resume."""
    start = world.clock.now()
    cid = world.receive("handler", level="major", category="safety", complainant_type="guest")
    world.run("manager", cid, "record_contact", REACHED)
    world.run("manager", cid, "classify", VALID)
    world.run("manager", cid, "record_investigation", investigation("safety"))
    world.run("manager", cid, "propose_solution", solution("refund", 500))
    world.at(start + timedelta(hours=30))
    world.run("manager", cid, "implement", {})
    assert world.timers(cid)["progress_update"].state == "cancelled"  # carried out

    world.run("handler", cid, "record_response", {"satisfaction": 5})
    c = world.complaint(cid)
    assert (c.state, c.round, c.gm_agenda) == ("in_progress", 2, True)
    update = world.timers(cid)["progress_update"]
    assert (update.state, update.round) == ("running", 2)
    assert update.due_at == start + timedelta(hours=54)


def test_003_a_major_case_the_club_manager_handled_is_closed_by_him_once_the_customer_accepts(
    world,
):
    """三(二)1 and 四(三)2: the club manager decides a major case and the team's 总结报告 is
    his; no one else signs it (before, it waited for a second club manager's review)."""
    cid = world.receive("handler", level="major", category="safety", complainant_type="guest")
    assert world.complaint(cid).assignee_id == world.ids["manager"]
    world.run("manager", cid, "record_contact", REACHED)
    world.run("manager", cid, "classify", VALID)
    world.run("manager", cid, "record_investigation", investigation("safety"))
    world.run("manager", cid, "propose_solution", solution("refund", 300))
    world.run("manager", cid, "implement", {})
    world.run("handler", cid, "record_response", {"satisfaction": 2})
    world.run("manager", cid, "close", {})
    assert world.complaint(cid).state == "closed"
    assert world.timers(cid)["follow_up_visit"].state == "running"
