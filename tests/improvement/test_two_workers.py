"""Two workers on one PostgreSQL database: a worker that finds the rows it wants locked by the
other skips them (or waits for the other's claim, then finds it taken) — the check of effect,
the overdue message and the repeat-cause alert each happen exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from improvement.loop import DONE, Loop, club, investigated, table_complaint
from kesu.improvement import sweep
from kesu.improvement.models import ActionEvent
from scenarios.world import local

THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def loop(db_url, sessions, clock):
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent workers: the PostgreSQL deployment (SQLite has one writer)")
    clock.set(THURSDAY_10)
    return Loop(club(sessions, clock))


def _twice(loop: Loop, job) -> tuple[int, int]:
    """Worker A runs the job and keeps its transaction open while worker B runs it in another
    thread (B skips the rows A locked, or waits for A's claim); then A commits and B finishes.
    Returns what A and B did."""
    clock, done = loop.world.clock, {}

    def worker_b() -> None:
        with loop.world.sessions() as session:
            done["b"] = job(session, clock)
            session.commit()

    with loop.world.sessions() as session:
        done["a"] = job(session, clock)
        other = threading.Thread(target=worker_b)
        other.start()
        other.join(timeout=2)  # B runs while A holds its rows (either way B must do nothing)
        session.commit()
    other.join(timeout=60)
    assert not other.is_alive(), "worker B never finished"
    return done["a"], done["b"]


def _verify_events(loop: Loop, aid: int) -> int:
    with loop.world.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(ActionEvent)
            .where(ActionEvent.action_id == aid, ActionEvent.command == "verify")
        )


def test_two_workers_check_an_actions_effect_once(loop):
    aid = loop.open("eq_head", target_per_month=1)
    loop.run("eq_head", aid, "implement", DONE)
    loop.world.clock.set(local(2026, 12, 26, 10, 0))
    assert _twice(loop, sweep.actions) == (1, 0)
    assert _verify_events(loop, aid) == 1
    assert loop.messages("improvement_verify") == ["club_mgr"]


def test_two_workers_send_one_overdue_message(loop):
    loop.open("eq_head", owner_id=loop.world.ids["desk"])
    loop.world.clock.set(local(2026, 12, 4, 0, 0))
    # the breach (a warning that would come after the deadline is not sent)
    assert _twice(loop, sweep.actions) == (1, 0)
    assert loop.messages("improvement_overdue") == ["desk", "eq_head", "floor_head"]


def test_two_workers_raise_one_repeat_cause_alert(loop):
    for i in range(3):
        investigated(loop.world, table_complaint(loop.world, title=f"{i + 1}号台不平"))
    loop.world.clock.set(THURSDAY_10 + timedelta(minutes=2))
    assert _twice(loop, sweep.repeat_causes) == (1, 0)
    assert len(loop.alerts()) == 1
    assert loop.messages("improvement_repeat_cause") == ["club_mgr", "eq_head", "floor_head"]
