"""The closed loop (seed 004 一.6, DESIGN habit 5): every open complaint has an owner and a next
deadline — over the demo data, which drives complaints through the real lifecycle — and the
deadline shown is the earliest of its running timers."""

from __future__ import annotations

from sqlalchemy import select

from kesu import demo
from kesu.complaint.models import Complaint
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
    demo.load(sessions, complaints=60, seed=11)
    assert _check(sessions) > 0


def test_the_worker_keeps_the_loop_closed_after_breaching_what_is_overdue(sessions, clock):
    demo.load(sessions, complaints=40, seed=5)
    with transaction(sessions) as session:
        assert sweep(session, clock) > 0  # the demo's older open cases are overdue
    _check(sessions)
