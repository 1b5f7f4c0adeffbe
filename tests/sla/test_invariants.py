"""The closed loop (seed 004 一.6, DESIGN habit 5): every open complaint has an owner and a next
deadline — over the demo data, which drives complaints through the real lifecycle — and the
deadline shown is the earliest of its running timers."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from kesu import demo
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import transaction
from kesu.sla.models import Timer
from kesu.sla.sweep import sweep


def _check(sessions) -> int:
    with sessions() as session:
        complaints = session.scalars(select(Complaint)).all()
        running: dict[int, list[Timer]] = {}
        for t in session.scalars(select(Timer).where(Timer.state == "running")):
            running.setdefault(t.complaint_id, []).append(t)
        open_ = [c for c in complaints if c.state != "closed"]
        assert open_  # the demo leaves some open
        for c in open_:
            assert c.assignee_id is not None, c.number
            assert c.assignee_id != c.staff_complained_id, c.number
            assert c.next_due_at is not None, (c.number, c.state)
        for c in complaints:
            dues = [t.due_at for t in running.get(c.id, [])]
            assert c.next_due_at == (min(dues) if dues else None), c.number
            assert c.deadline_provisional == any(t.provisional for t in running.get(c.id, []))
        return len(open_)


def test_every_open_demo_complaint_has_an_owner_and_a_next_deadline(sessions, clock):
    demo.load(sessions, complaints=60, seed=11, now=clock.now())
    assert _check(sessions) > 0


def test_the_demo_history_breached_its_deadlines_when_they_fell_due(sessions, clock):
    """The demo runs the worker's sweep between its steps, in time order: a deadline its
    complaints missed was breached then (not all at the first sweep after loading), every
    timeline runs forward in time, nothing happens after now, and the loop stays closed."""
    now = clock.now()
    demo.load(sessions, complaints=80, seed=5, now=now)
    with sessions() as session:
        breached = session.scalars(select(Timer).where(Timer.breached_at.is_not(None))).all()
        assert len(breached) >= 5
        assert {t.breached_at.date() for t in breached} != {now.date()}  # spread over history
        for t in breached:
            assert t.breached_at == t.due_at, t.id
        events = session.scalars(
            select(ComplaintEvent).order_by(ComplaintEvent.complaint_id, ComplaintEvent.seq)
        ).all()
        assert max(e.at for e in events) <= now
        for before, after in itertools.pairwise(events):
            if before.complaint_id == after.complaint_id:
                assert before.at <= after.at, (after.complaint_id, after.seq)
    with transaction(sessions) as session:
        assert sweep(session, clock) == 0  # nothing left overdue for the first sweep
    _check(sessions)
