"""What the report reads from the copies the database keeps (migration 0013), with the rows
written through the commands, on both databases: the compensation section prices each
implementation at the solution proposed last before it (`report_proposal`: a second round
after a dissatisfied answer proposes again; `report_event`: the implementations with their
group), and the merchant and root-cause sections read
the complaint's `subject` and `investigation` as they stand (`report_complaint`: copied when
the complaint is received, again when the investigation is recorded)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import reading, transaction
from kesu.report import queries
from kesu.report.models import ComplaintFacts, EventCopy, SolutionProposal, TimerCopy
from kesu.sla.models import Timer
from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("receiver", "receiver", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("manager", "manager", None),
    ("archivist", "archivist", "CS"),
]
START = local(2026, 11, 27, 16, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(START)
    return World.build(sessions, clock, "default", STAFF)


def test_each_implementation_is_priced_at_the_proposal_before_it(world):
    cid = world.receive(
        "receiver", level="normal", category="product", subject={"merchant": "宜家配送"}
    )
    other = world.receive("receiver", level="normal", category="product")
    world.run("receiver", cid, "acknowledge", {})
    world.run("receiver", cid, "record_contact", REACHED)
    world.run("receiver", cid, "classify", VALID)
    world.run("receiver", cid, "record_investigation", investigation("process"))
    world.run("receiver", cid, "propose_solution", solution("compensation", 300))
    world.run("receiver", cid, "implement", {})
    world.run("receiver", cid, "record_response", {"satisfaction": 4})  # a second round
    handler = next(
        name
        for name in ("receiver", "supervisor")
        if world.complaint(cid).assignee_id == world.ids[name]
    )
    world.run(handler, cid, "propose_solution", solution("repair", 150))
    world.run(handler, cid, "implement", {})

    with reading(world.sessions) as session:
        proposals = [
            (e.complaint_id, e.seq, e.payload["solution_type"], str(e.payload["amount"]))
            for e in session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.command == "propose_solution")
                .order_by(ComplaintEvent.seq)
            )
        ]
        copied = [
            (p.complaint_id, p.seq, p.solution_type, p.amount)
            for p in session.scalars(select(SolutionProposal).order_by(SolutionProposal.seq))
        ]
        start, end = START - timedelta(days=1), START + timedelta(days=30)
        counted = [
            (world.ids["G"], e.command, e.at, e.complaint_id, e.seq, e.actor_id)
            for e in session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.command.in_(queries.COPIED_COMMANDS))
                .order_by(ComplaintEvent.seq)
            )
        ]
        copied_events = [
            (e.org_id, e.command, e.at, e.complaint_id, e.seq, e.actor_id)
            for e in session.scalars(select(EventCopy).order_by(EventCopy.seq))
        ]
        group = queries.Scope(world.ids["G"])
        money = queries.compensation(session, group, start, end)
        merchants = queries.merchants(session, group, start, end)
        facts = {
            f.complaint_id: (f.merchant, f.root_causes)
            for f in session.scalars(select(ComplaintFacts))
        }
        complaint = world.complaint(cid)
    assert len(proposals) == 2
    assert copied == proposals
    assert [e[1] for e in counted] == ["record_contact", "implement", "implement"]
    assert all(e[5] is not None for e in counted), "each with who recorded it"
    assert copied_events == counted
    assert sorted(money) == [
        ("compensation", 1, Decimal("300.00")),
        ("repair", 1, Decimal("150.00")),
    ]
    assert merchants == {"宜家配送": 1}
    assert facts == {
        cid: ("宜家配送", complaint.investigation["root_causes"]),
        other: (None, None),
    }
    assert complaint.investigation["root_causes"] == ["process"]


def _timers(session) -> tuple[list[tuple], list[tuple]]:
    """(the timers as `sla_timer` holds them, as `report_timer` copies them), by timer id."""
    kept = [
        (t.id, group, t.complaint_id, t.key, t.due_at, t.met_at, t.cancelled_at)
        for t, group in session.execute(
            select(Timer, Complaint.org_id)
            .join(Complaint, Complaint.id == Timer.complaint_id)
            .order_by(Timer.id)
        )
    ]
    copied = [
        (t.timer_id, t.org_id, t.complaint_id, t.key, t.due_at, t.met_at, t.cancelled_at)
        for t in session.scalars(select(TimerCopy).order_by(TimerCopy.timer_id))
    ]
    return kept, copied


def test_the_timer_copy_follows_every_start_meeting_and_retiming(world):
    cid = world.receive("receiver", level="normal", category="product")
    with reading(world.sessions) as session:
        started, copied = _timers(session)
    assert started and copied == started

    world.run("receiver", cid, "acknowledge", {})
    world.run("receiver", cid, "record_contact", REACHED)
    with transaction(world.sessions) as session:  # as re-timing (a pause, a new calendar) does
        running = session.scalars(select(Timer).where(Timer.state == "running")).first()
        running.due_at += timedelta(days=2)
    with reading(world.sessions) as session:
        now, copied = _timers(session)
        due = queries.timer_compliance(
            session, queries.Scope(world.ids["G"]), START, START + timedelta(days=60), START
        )
    assert copied == now
    assert any(t[5] is not None for t in now), "a timer was met"
    before = {t[0]: t[4] for t in started}
    assert any(t[4] != before[t[0]] for t in now if t[0] in before), "a due time moved"
    assert sum(r.due for r in due) == sum(
        1 for t in now if START <= t[4] < START + timedelta(days=60) and t[6] is None
    )
