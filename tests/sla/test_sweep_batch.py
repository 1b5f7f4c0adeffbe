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


@pytest.mark.parametrize("pack_key", sorted(PACKS))
def test_one_pass_gives_exactly_what_one_timer_per_pass_gives(
    pack_key, db_url, sessions, clock, monkeypatch, tmp_path
):
    if not db_url.startswith("sqlite"):
        pytest.skip("compares two copies of one SQLite database")
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
    clock.set(MONDAY_10 + timedelta(days=9))

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
    for table in expected:
        assert got[table] == expected[table], table
