"""Timers on complaint events, the next deadline, and calendar overrides (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kesu.calendar import YearSchedule
from kesu.db.session import transaction
from kesu.sla import service as sla_service
from scenarios.world import REACHED, World, local

STAFF = [
    ("receiver", "receiver", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("director", "director", "CS"),
    ("archivist", "archivist", "CS"),
]
THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_10)
    return World.build(sessions, clock, "franchise-sales-center", STAFF)


def test_a_new_complaint_shows_its_next_deadline_and_the_receipt_records_the_started_clock(world):
    cid = world.receive("receiver", level="L1", category="repair")
    c = world.complaint(cid)
    assert c.next_due_at == local(2026, 11, 28) and not c.deadline_provisional
    receipt = world.events(cid)[0]
    assert receipt.payload["sla"] == {"started": ["first_contact"]}
    assert receipt.payload["auto"] == {"assignee_id": world.ids["receiver"]}


def test_each_event_keeps_the_next_deadline_at_the_earliest_running_timer(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run("receiver", cid, "record_contact", REACHED)
    c = world.complaint(cid)
    assert c.next_due_at == world.timers(cid)["progress_contact"].due_at == local(2026, 12, 4)
    contact = world.events(cid)[-1]
    assert contact.payload["sla"] == {"met": ["first_contact"], "started": ["progress_contact"]}


def test_closing_a_complaint_stops_its_clocks_and_clears_its_next_deadline(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run("receiver", cid, "classify", {"classification": "enquiry", "reason": "只是咨询价格"})
    world.run("archivist", cid, "close", {"summary": "咨询已答复"})
    assert world.timers(cid)["first_contact"].state == "cancelled"
    assert world.complaint(cid).next_due_at is None
    world.at(local(2026, 12, 1))
    assert world.penalties(cid) == []  # a cancelled clock is never breached


def test_a_deadline_in_a_year_without_official_data_is_provisional_and_marked_on_the_complaint(
    world, sessions
):
    world.clock.set(local(2027, 3, 1, 10, 0))
    cid = world.receive("receiver", level="L1", category="repair")
    first = world.timers(cid)["first_contact"]
    assert first.provisional and first.due_at == local(2027, 3, 3)  # weekends-only rule
    assert world.complaint(cid).deadline_provisional

    # the State Council publishes 2027; an admin enters it (2 March, say, becomes a holiday)
    with transaction(sessions) as session:
        moved = sla_service.enter_year(
            session, world.clock, world.ids["G"], YearSchedule(2027, frozenset({date(2027, 3, 2)}))
        )
    assert moved == 1
    first = world.timers(cid)["first_contact"]
    assert not first.provisional and first.due_at == local(2027, 3, 4)
    assert not world.complaint(cid).deadline_provisional


def test_a_day_the_store_is_closed_moves_the_open_deadlines(world, sessions):
    cid = world.receive("receiver", level="L1", category="repair")
    with transaction(sessions) as session:
        moved = sla_service.set_day(
            session, world.clock, world.ids["SITE"], date(2026, 11, 27), working=False, note="盘点"
        )
    assert moved == 1
    assert world.timers(cid)["first_contact"].due_at == local(2026, 12, 1)  # Monday's end
    assert world.complaint(cid).next_due_at == local(2026, 12, 1)
    with transaction(sessions) as session:
        sla_service.clear_day(session, world.clock, world.ids["SITE"], date(2026, 11, 27))
    assert world.timers(cid)["first_contact"].due_at == local(2026, 11, 28)


def test_an_extra_working_saturday_of_the_group_counts(world, sessions):
    world.clock.set(local(2026, 11, 27, 10, 0))  # a Friday
    with transaction(sessions) as session:
        sla_service.set_day(
            session, world.clock, world.ids["G"], date(2026, 11, 28), working=True, note="促销日"
        )
    cid = world.receive("receiver", level="L1", category="repair")
    assert world.timers(cid)["first_contact"].due_at == local(2026, 11, 29)


def test_a_breached_timer_keeps_its_due_time_when_the_calendar_changes(world, sessions):
    cid = world.receive("receiver", level="L1", category="repair")
    world.at(local(2026, 11, 28, 1, 0))
    with transaction(sessions) as session:
        moved = sla_service.set_day(
            session, world.clock, world.ids["G"], date(2026, 11, 27), working=False, note=None
        )
    assert moved == 0
    assert world.timers(cid)["first_contact"].due_at == local(2026, 11, 28)


def test_a_level_change_retimes_running_clocks_from_their_start(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run("receiver", cid, "record_contact", REACHED)
    world.clock.advance(hours=2)
    world.run("supervisor", cid, "categorize", {"level": "L2", "reason": "客户情绪激动"})
    progress = world.timers(cid)["progress_contact"]
    assert progress.level == "L2"
    assert progress.due_at == local(2026, 12, 1)  # 3 days from the contact, not from now
    categorize = world.events(cid)[-1]
    assert categorize.payload["sla"]["retimed"] == ["progress_contact"]
    assert world.complaint(cid).assignee_id == world.ids["supervisor"]


def test_the_version_still_counts_the_events_when_timers_change(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run("receiver", cid, "record_contact", REACHED)
    world.at(THURSDAY_10 + timedelta(days=8))
    assert world.complaint(cid).version == len(world.events(cid))
