"""The worker's SLA sweep on both databases: due timers only, each breach and warning once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kesu.audit.service import verify_all
from kesu.notify.models import Outbox
from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("handler", "handler", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("manager", "club_manager", None),
]
THURSDAY_20 = local(2026, 11, 26, 20, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_20)
    return World.build(sessions, clock, "billiards-club", STAFF)


def minor(world) -> int:
    return world.receive("handler", level="minor", category="cleaning", complainant_type="guest")


def test_nothing_is_breached_a_second_before_it_is_due(world):
    cid = minor(world)
    world.clock.set(THURSDAY_20 + timedelta(minutes=59, seconds=59))
    assert world.sweep() == 1  # only the warning at 80 %
    assert world.timers(cid)["minor_contact"].breached_at is None
    world.clock.set(THURSDAY_20 + timedelta(hours=1))
    assert world.sweep() == 1
    assert world.timers(cid)["minor_contact"].breached_at == THURSDAY_20 + timedelta(hours=1)


def test_a_breach_happens_once_however_often_the_worker_runs(world, sessions):
    cid = minor(world)
    world.clock.set(THURSDAY_20 + timedelta(hours=5))
    assert world.sweep() == 2  # the contact (1 h) and the resolution (4 h)
    rows = world.messages(cid, "sla_breach")
    for _ in range(3):
        assert world.sweep() == 0
    assert (
        world.messages(cid, "sla_breach")
        == rows
        == ["handler", "handler", "supervisor", "supervisor"]
    )
    overdue = sorted(e.payload["timer"] for e in world.events(cid) if e.command == "sla_breach")
    assert overdue == ["minor_contact", "resolve"]
    with sessions() as session:
        assert verify_all(session)[1] == []  # the system's events are on the hash chain


def test_a_timer_met_before_it_falls_due_is_never_breached(world):
    cid = minor(world)
    world.at(THURSDAY_20 + timedelta(minutes=50))
    world.run("handler", cid, "record_contact", REACHED)
    world.at(THURSDAY_20 + timedelta(hours=2))
    assert world.timers(cid)["minor_contact"].breached_at is None
    assert world.timers(cid)["minor_contact"].met_at == THURSDAY_20 + timedelta(minutes=50)


def test_the_warning_goes_once_at_80_percent_to_the_handler(world):
    cid = minor(world)
    world.at(THURSDAY_20 + timedelta(minutes=47))
    assert world.messages(cid, "sla_warning") == []
    world.at(THURSDAY_20 + timedelta(minutes=48))
    world.at(THURSDAY_20 + timedelta(minutes=50))
    assert world.messages(cid, "sla_warning") == ["handler"]
    assert [e.command for e in world.events(cid)][-1] == "sla_warning"


def test_a_follow_up_overdue_after_closing_is_recorded_on_the_closed_complaint(world, sessions):
    cid = world.receive("handler", level="minor", category="cleaning", complainant_type="member")
    world.run("handler", cid, "record_contact", REACHED)
    world.run("handler", cid, "classify", VALID)
    world.run("handler", cid, "record_investigation", investigation())
    world.run("handler", cid, "propose_solution", solution("apology"))
    world.run("handler", cid, "implement", {})
    world.run("handler", cid, "record_response", {"satisfaction": 1})
    world.run("supervisor", cid, "sign_off", {})
    world.run("supervisor", cid, "close", {})
    due = world.timers(cid)["follow_up_visit"].due_at
    world.at(due)
    c = world.complaint(cid)
    assert c.state == "closed" and c.version == len(world.events(cid))
    assert world.events(cid)[-1].command == "sla_breach"
    assert world.messages(cid, "sla_breach") == ["supervisor"]
    with sessions() as session:
        assert verify_all(session)[1] == []


def test_every_queued_message_names_a_template_in_all_three_languages(world, sessions):
    minor(world)
    world.at(THURSDAY_20 + timedelta(hours=5))
    with sessions() as session:
        templates = set(session.scalars(select(Outbox.template)))
        assert session.scalar(select(func.count(Outbox.id))) > 0
    from kesu.i18n import LOCALES, catalogue

    for locale in LOCALES:
        for template in templates:
            assert f"notify.{template}.subject" in catalogue(locale)
            assert f"notify.{template}.body" in catalogue(locale)


def test_a_complaint_another_worker_holds_is_left_whole_to_it(world, sessions, db_url, monkeypatch):
    """Two workers on PostgreSQL: one that has picked a complaint's first due timer holds the
    complaint, so the other takes none of that complaint's timers (before, it took the rest
    and re-timed the one held, and two workers could deadlock), and waits on no lock."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks between two workers: the PostgreSQL deployment")
    from sqlalchemy import text

    from kesu.db.session import transaction
    from kesu.sla import sweep as sla_sweep
    from kesu.sla.models import Timer

    moderate = dict(level="moderate", category="cleaning", complainant_type="guest")
    first = world.receive("handler", **moderate)
    world.clock.set(THURSDAY_20 + timedelta(minutes=1))
    second = world.receive("handler", **moderate)
    world.clock.set(THURSDAY_20 + timedelta(hours=2))  # the two short clocks of both are due
    short = ("moderate_start", "supervisor_on_site")

    def breached(cid: int) -> list[bool]:
        timers = world.timers(cid)
        return [timers[key].breached_at is not None for key in short]

    other = sessions()
    try:
        monkeypatch.setattr(sla_sweep, "BATCH", 1)
        due = select(Timer.id, Timer.complaint_id).where(
            *sla_sweep._RUNNING, Timer.due_at <= world.clock.now()
        )
        picked = sla_sweep._pick(other, due.order_by(Timer.due_at))
        monkeypatch.setattr(sla_sweep, "BATCH", 500)
        assert [cid for _, cid in picked] == [first]

        with transaction(sessions) as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail
            assert sla_sweep.sweep(session, world.clock) == 2
        assert breached(first) == [False, False]
        assert breached(second) == [True, True]
    finally:
        other.rollback()
        other.close()
    assert world.sweep() == 2  # once the other worker lets go
    assert breached(first) == [True, True]
