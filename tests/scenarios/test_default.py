"""The generic ISO 10002 pack (default): acknowledge in 24 hours, resolve in 3 working days,
a follow-up visit 3-5 working days after closing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kesu.db.session import transaction
from kesu.sla import service as sla_service
from scenarios.world import REACHED, VALID, World, delay, investigation, local, solution

STAFF = [
    ("receiver", "receiver", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("manager", "manager", None),
    ("archivist", "archivist", "CS"),
]
FRIDAY_16 = local(2026, 11, 27, 16, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(FRIDAY_16)
    return World.build(sessions, clock, "default", STAFF)


def test_iso_a_complaint_is_acknowledged_within_24_hours(world):
    cid = world.receive("receiver", level="normal", category="product")
    assert world.timers(cid)["acknowledge"].due_at == FRIDAY_16 + timedelta(hours=24)
    world.at(FRIDAY_16 + timedelta(hours=24))
    assert world.messages(cid, "sla_breach") == ["receiver", "supervisor"]


def test_iso_a_complaint_not_resolved_in_3_working_days_goes_up_a_level(world):
    cid = world.receive("receiver", level="normal", category="product")
    resolve = world.timers(cid)["resolve"]
    assert resolve.due_at == local(2026, 12, 3)  # Friday: Monday, Tuesday, Wednesday
    world.at(local(2026, 12, 3))
    c = world.complaint(cid)
    assert (c.level, c.assignee_id) == ("serious", world.ids["supervisor"])
    assert world.messages(cid, "complaint_escalated") == ["receiver", "supervisor"]
    said = {
        loc: world.said(cid, "complaint_escalated", loc)[0] for loc in ("zh_Hans", "zh_Hant", "en")
    }
    assert "原因：“3个工作日内处理完毕”超时" in said["zh_Hans"]
    assert "原因：「3個工作日內處理完畢」逾時" in said["zh_Hant"]
    assert (
        "Reason: “Resolve within 3 working days” overdue." in said["en"]
        and "超时" not in said["en"]
    )


def test_iso_the_follow_up_visit_falls_3_to_5_working_days_after_closing(world):
    cid = world.receive("receiver", level="normal", category="product")
    world.run("receiver", cid, "acknowledge", {})
    world.run("receiver", cid, "record_contact", REACHED)
    world.run("receiver", cid, "classify", VALID)
    world.run("receiver", cid, "record_investigation", investigation())
    world.run("receiver", cid, "propose_solution", solution("repair"))
    world.run("receiver", cid, "implement", {})
    world.run("receiver", cid, "record_response", {"satisfaction": 1})
    world.run("supervisor", cid, "sign_off", {})
    world.run("archivist", cid, "close", {})
    visit = world.timers(cid)["follow_up_visit"]
    assert (visit.opens_at, visit.due_at) == (local(2026, 12, 2), local(2026, 12, 5))


def test_iso_a_day_the_store_closes_moves_the_follow_up_window_s_opening_with_its_end(
    world, sessions
):
    cid = world.receive("receiver", level="normal", category="product")
    for command, payload in [
        ("acknowledge", {}),
        ("record_contact", REACHED),
        ("classify", VALID),
        ("record_investigation", investigation()),
        ("propose_solution", solution("repair")),
        ("implement", {}),
        ("record_response", {"satisfaction": 1}),
    ]:
        world.run("receiver", cid, command, payload)
    world.run("supervisor", cid, "sign_off", {})
    world.run("archivist", cid, "close", {})
    with transaction(sessions) as session:  # Monday: closed for stocktaking
        sla_service.set_day(
            session, world.clock, world.ids["SITE"], date(2026, 11, 30), working=False, note="盘点"
        )
    visit = world.timers(cid)["follow_up_visit"]
    # Tuesday, Wednesday, Thursday: open from the 3rd; the 5th ends on Monday 7 December
    assert (visit.opens_at, visit.warn_at) == (local(2026, 12, 3), local(2026, 12, 3))
    assert visit.due_at == local(2026, 12, 8)


def test_default_a_delay_approval_is_not_the_managers_approval_of_the_complaint_record(world):
    """The 核准 box of the complaint record is the manager's approval of the handling; a
    delay the manager approved on the way is a different decision (its own form)."""
    cid = world.receive("receiver", level="normal", category="product")
    world.run("receiver", cid, "request_delay", delay(local(2026, 12, 4, 18, 0)))
    world.run("manager", cid, "approve_delay", {"comment": "同意延期"})
    approved = world.form(cid, "complaint_record", "manager").signs[2]
    assert approved.label.startswith("核准") and (approved.who, approved.note) == ("", "")


def test_default_a_critical_complaint_the_only_manager_handled_is_filed_once_the_customer_accepts(
    world,
):
    """A 重大投诉 is the manager's own (T3 handles it, nobody is above). The pack asked another
    T3 to review it, and a handler never reviews their own case: an organisation with one
    manager could never close it. The manager's decision is final; the archivist files it."""
    cid = world.receive("receiver", level="critical", category="product")
    assert world.complaint(cid).assignee_id == world.ids["manager"]
    world.run("manager", cid, "record_contact", REACHED)
    world.run("manager", cid, "classify", VALID)
    world.run("manager", cid, "record_investigation", investigation())
    world.run("manager", cid, "propose_solution", solution("compensation", 800))
    world.run("manager", cid, "implement", {})
    world.run("manager", cid, "record_response", {"satisfaction": 2})
    world.run("archivist", cid, "close", {})
    c = world.complaint(cid)
    assert c.state == "closed" and world.timers(cid)["close_out"].state == "met"
