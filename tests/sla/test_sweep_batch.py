"""The set-based sweep gives exactly what breaching one timer per pass gives: the same events
(payloads and hashes), versions, levels, owners, re-timed clocks, penalties and messages."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import make_engine, make_sessionmaker, transaction
from kesu.notify.models import Outbox
from kesu.sla import sweep as sla_sweep
from kesu.sla.models import Penalty, Timer
from scenarios.world import World, local

MONDAY_10 = local(2026, 11, 23, 10, 0)
PACKS = {
    "default": (
        [
            ("receiver", "receiver", "CS"),
            ("receiver2", "receiver", "CS"),
            ("supervisor", "supervisor", "CS"),
            ("supervisor2", "supervisor", "CS"),
            ("manager", "manager", None),
        ],
        dict(level="normal", category="product"),
    ),
    "franchise-sales-center": (
        [
            ("receiver", "receiver", "CS"),
            ("receiver2", "receiver", "CS"),
            ("supervisor", "supervisor", "CS"),
        ],
        dict(level="L1", category="repair"),
    ),
}


def _snapshot(sessions) -> dict[str, list]:
    def rows(table, drop=()):
        out = []
        for row in session.execute(select(table)).mappings():
            out.append(tuple(sorted((k, repr(v)) for k, v in row.items() if k not in drop)))
        return sorted(out)

    with sessions() as session:
        return {
            "complaint": rows(Complaint.__table__),
            "event": rows(ComplaintEvent.__table__, drop=("id",)),
            "timer": rows(Timer.__table__),
            "penalty": rows(Penalty.__table__, drop=("id",)),
            "outbox": rows(Outbox.__table__, drop=("id",)),
        }


def _sweep_until_idle(sessions, clock) -> int:
    passes = 0
    while True:
        with transaction(sessions) as session:
            done = sla_sweep.sweep(session, clock)
        passes += 1
        if done == 0:
            return passes


LATER = {
    "breaches": timedelta(days=9),  # every clock due: penalties, level raises, re-timing
    # the acknowledgement (24 h, warned at 80 %) due on the first three, nearly due on the rest
    "warnings": timedelta(hours=24, minutes=20),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # two copies of one database file
@pytest.mark.parametrize(
    "pack_key, moment",
    [("default", "breaches"), ("franchise-sales-center", "breaches"), ("default", "warnings")],
)
def test_one_pass_gives_exactly_what_one_timer_per_pass_gives(
    pack_key, moment, db_url, sessions, clock, monkeypatch, tmp_path
):
    staff, body = PACKS[pack_key]
    clock.set(MONDAY_10)
    world = World.build(sessions, clock, pack_key, staff)
    ids = []
    for i in range(8):
        clock.set(MONDAY_10 + timedelta(minutes=7 * i))
        ids.append(world.receive("receiver", **body))
    with transaction(sessions) as session:  # owners left by an import: auto-assigned on breach
        session.execute(
            update(Complaint).where(Complaint.id.in_(ids[::3])).values(assignee_id=None)
        )
    clock.set(MONDAY_10 + LATER[moment])

    copy = tmp_path / "one-by-one.db"
    with sqlite3.connect(make_url(db_url).database) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    batched = _sweep_until_idle(sessions, clock)
    monkeypatch.setattr(sla_sweep, "BATCH", 1)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        one_by_one = _sweep_until_idle(make_sessionmaker(engine), clock)
        expected = _snapshot(make_sessionmaker(engine))
    finally:
        engine.dispose()
    assert batched < one_by_one  # the batched sweep did several timers per pass
    got = _snapshot(sessions)
    assert got["penalty"] or pack_key == "default"
    assert len(got["event"]) > len(ids)  # breaches recorded
    if moment == "warnings":  # both kinds in one pass
        commands = {value for row in got["event"] for name, value in row if name == "command"}
        assert {"'sla_breach'", "'sla_warning'"} <= commands
    for table in expected:
        assert got[table] == expected[table], table


def test_a_complaint_being_changed_meanwhile_is_breached_by_a_later_pass(db_url, sessions, clock):
    """A person's command holds a complaint's row (PostgreSQL): the pass breaches the others
    and leaves that one's timer due; the next pass breaches it on the newer version."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks: SQLite's one writer holds the whole database")
    staff, body = PACKS["default"]
    clock.set(MONDAY_10)
    world = World.build(sessions, clock, "default", staff)
    busy, free = world.receive("receiver", **body), world.receive("receiver", **body)
    clock.set(MONDAY_10 + timedelta(days=2))  # the 24-hour acknowledgement is due on both
    with sessions() as person, person.begin():
        person.execute(  # what a command's claim does: UPDATE … SET version = v + 1
            update(Complaint)
            .where(Complaint.id == busy, Complaint.version == 1)
            .values(version=2, updated_at=clock.now())
        )
        assert world.sweep() == 1
        assert world.timers(free)["acknowledge"].breached_at == clock.now()
        assert world.timers(busy)["acknowledge"].breached_at is None
    assert world.sweep() == 1  # the person's change has committed
    assert world.timers(busy)["acknowledge"].breached_at == clock.now()
    assert world.events(busy)[-1].command == "sla_breach"
    assert world.complaint(busy).version == 3  # on top of the person's change


def test_a_level_raised_by_a_breach_restarts_only_the_clocks_not_yet_run_this_round(
    sessions, clock
):
    """The pass reads which clocks each complaint has run this round once for all of them:
    an acknowledgement already given is not asked for again when the overdue resolution
    raises the level, and one not given yet keeps its running clock."""
    staff, body = PACKS["default"]
    clock.set(MONDAY_10)
    world = World.build(sessions, clock, "default", staff)
    given, pending = world.receive("receiver", **body), world.receive("receiver", **body)
    world.run("receiver", given, "acknowledge")
    clock.set(MONDAY_10 + timedelta(days=9))
    assert world.sweep() == 3  # both resolutions, the pending acknowledgement
    for cid in (given, pending):
        assert world.complaint(cid).level != body["level"]  # raised by the overdue resolution
        assert len(world.all_timers(cid, "acknowledge")) == 1
    assert world.timers(given)["acknowledge"].state == "met"
    assert world.timers(pending)["acknowledge"].state == "running"
