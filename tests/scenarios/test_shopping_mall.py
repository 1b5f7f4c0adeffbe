"""Seed 004 (shopping-mall pack): 二(二) urgency-first triage, responsibility, the five types and
approval above authority; the time limits are the pack's own (the seed names none)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("desk", "cs_staff", "CS"),
    ("duty", "duty_manager", "CS"),
    ("gm", "mall_manager", None),
    ("liaison", "merchant_liaison", "MERCHANTS"),
]
THURSDAY_11 = local(2026, 11, 26, 11, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_11)
    return World.build(sessions, clock, "shopping-mall", STAFF, departments=("CS", "MERCHANTS"))


def complaint(world, **over) -> int:
    body = {"channel": "service_desk", "complainant_type": "shopper", "level": "normal"}
    body.update(over)
    return world.receive("desk", **body)


def test_004_a_safety_complaint_is_top_priority_at_once_with_the_emergency_mechanism(world):
    cid = complaint(world, category="safety", title="扶梯急停，老人摔倒")
    c = world.complaint(cid)
    assert c.level == "urgent" and c.assignee_id == world.ids["duty"]
    assert world.messages(cid, "complaint_top_level") == ["duty", "gm"]
    assert world.timers(cid)["first_response"].due_at == THURSDAY_11 + timedelta(minutes=10)


def test_004_group_incidents_and_injuries_named_in_the_text_are_urgent_too(world):
    cid = complaint(world, category="dispute", description="多名顾客围堵商户，有人受伤。")
    assert world.complaint(cid).level == "urgent"


@pytest.mark.parametrize(
    ("category", "level"),
    [
        ("product_quality", "normal"),
        ("service_attitude", "normal"),
        ("environment", "normal"),
        ("dispute", "normal"),
        ("safety", "urgent"),
    ],
)
def test_004_the_five_types_are_triaged_by_urgency(world, category, level):
    cid = complaint(world, category=category)
    assert world.complaint(cid).level == level


def test_004_compensation_above_the_desks_authority_waits_for_approval_and_the_customer_hears(
    world,
):
    cid = complaint(world, category="product_quality")
    world.run("desk", cid, "record_contact", REACHED)
    world.run("desk", cid, "classify", VALID)
    world.run("desk", cid, "record_investigation", investigation("material"))
    world.run("desk", cid, "propose_solution", solution("compensation", 500))
    c = world.complaint(cid)
    assert c.state == "awaiting_approval"
    approval = world.timers(cid)["approval"]
    assert approval.due_at == local(2026, 11, 28)  # within the next working day
    world.at(THURSDAY_11 + timedelta(hours=3))
    world.run("duty", cid, "approve_solution", {"comment": "同意赔偿 500 元"})
    assert world.timers(cid)["approval"].state == "met"
    assert world.messages(cid, "customer_update") == ["customer"]


def test_004_a_resolution_overdue_goes_up_one_level_to_the_duty_manager(world):
    cid = complaint(world, category="environment")
    assert world.complaint(cid).assignee_id == world.ids["desk"]
    due = world.timers(cid)["resolve"].due_at
    assert due == local(2026, 12, 4)  # 5 working days: the end of Thursday next week
    world.at(due)
    c = world.complaint(cid)
    assert (c.level, c.current_tier, c.assignee_id) == ("important", "T2", world.ids["duty"])
    breaches = {e.payload["timer"]: e for e in world.events(cid) if e.command == "sla_breach"}
    breach = breaches["resolve"]
    assert breach.payload["escalated_to"] == "important"
    assert breach.payload["auto"]["assignee_id"] == world.ids["duty"]
    # the important level's limits now apply, counted from the complaint
    assert world.timers(cid)["first_response"].level == "important"


def test_004_a_complaint_handed_to_a_merchant_is_followed_up_by_the_mall(world):
    cid = complaint(world, category="service_attitude")
    world.run(
        "desk",
        cid,
        "transfer",
        {"to_department_id": world.ids["MERCHANTS"], "reason": "商户店员服务态度问题，请商户处理"},
    )
    assert world.messages(cid, "complaint_alert") == ["duty"]
