"""Automatic escalation inside a complaint's own write (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios.world import World, local

STAFF = [
    ("receiver", "receiver", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("director", "director", None),
    ("admin_center", "admin_center", None),
]
THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_10)
    return World.build(sessions, clock, "franchise-sales-center", STAFF)


def test_the_same_matter_after_the_repeat_window_is_a_new_complaint(world):
    world.receive("receiver", level="L1", category="repair")
    world.at(THURSDAY_10 + timedelta(days=91))
    later = world.receive("receiver", level="L1", category="repair")
    c = world.complaint(later)
    assert c.level == "L1"
    assert world.events(later)[0].payload.get("auto", {}).get("repeat_of") is None


def test_a_keyword_in_a_contact_summary_raises_the_case_to_the_top(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run(
        "receiver", cid, "record_contact", {"reached": True, "summary": "客户称孩子受伤，要起诉。"}
    )
    c = world.complaint(cid)
    assert c.level == "L3" and c.urgent_keywords == ["受伤", "起诉"]


def test_with_no_handler_of_the_tier_in_the_department_a_higher_tier_takes_the_case(
    sessions, clock
):
    clock.set(THURSDAY_10)
    world = World.build(
        sessions,
        clock,
        "franchise-sales-center",
        [("receiver", "receiver", "CS"), ("director", "director", None)],
    )
    cid = world.receive("receiver", level="L2", category="store_attitude")
    assert world.complaint(cid).assignee_id == world.ids["director"]


def test_the_receipt_records_every_automatic_decision(world):
    first = world.receive("receiver", level="L1", category="policy")
    again = world.receive("receiver", level="L1", category="policy", title="媒体已经报道")
    auto = world.events(again)[0].payload["auto"]
    assert auto["repeat_of"] == world.complaint(first).number
    assert auto["assignee_id"] == world.ids["supervisor"]
    assert world.events(again)[0].payload["level"] == "L3"
