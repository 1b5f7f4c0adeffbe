"""Two worker processes on one PostgreSQL database, 10,000 timers falling due at once: every
breach, penalty, event and message happens exactly once; a worker killed mid-sweep loses none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from kesu.audit.chain import GENESIS, event_hash, hashed_fields
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.db.session import transaction
from kesu.notify.models import Outbox
from kesu.policy import service as policy_service
from kesu.sla.models import Penalty, Timer
from scenarios.world import World, local

N = 10_000
SWEEPER = Path(__file__).with_name("sweeper.py")
DUE = local(2026, 11, 27, 18, 0)
STAFF = [("receiver", "receiver", "CS"), ("supervisor", "supervisor", "CS")]

pytestmark = pytest.mark.slow


KILLED = 2_000
"""Timers for the kill test: enough for several passes, fewer to keep it short."""


@pytest.fixture
def postgres(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("two worker processes on one database: the PostgreSQL deployment")
    return db_url


def fill(sessions, clock, n: int):
    """`n` open complaints, each with one timer falling due at the same instant; returns an
    instant after it."""
    clock.set(local(2026, 11, 26, 10, 0))
    world = World.build(sessions, clock, "franchise-sales-center", STAFF)
    now, ids = clock.now(), world.ids
    with transaction(sessions) as session:
        version = policy_service.current(session, "franchise-sales-center").id
        person = Complainant(org_id=ids["G"], name="批量客户", created_at=now)
        session.add(person)
        session.flush()
        common = dict(
            org_id=ids["G"],
            site_id=ids["SITE"],
            policy_version_id=version,
            channel="phone",
            complainant_id=person.id,
            complainant_type="consumer",
            subject={},
            title="批量投诉",
            description="同一时刻到期的时限。",
            demands=[],
            category="repair",
            level="L1",
            urgent_keywords=[],
            state="acknowledged",
            department_id=ids["CS"],
            assignee_id=ids["receiver"],
            current_tier="T1",
            review_step=0,
            round=1,
            gm_agenda=False,
            unreachable_attempts=0,
            received_by_id=ids["receiver"],
            received_at=now,
            updated_at=now,
            version=1,
            next_due_at=DUE,
            deadline_provisional=False,
        )
        complaint_ids = session.scalars(
            insert(Complaint).returning(Complaint.id, sort_by_parameter_order=True),
            [{**common, "number": f"BULK{i:05d}"} for i in range(n)],
        ).all()
        events = []
        for cid in complaint_ids:
            fields = hashed_fields(
                complaint_id=cid,
                seq=1,
                command="receive",
                actor_kind="staff",
                actor_id=ids["receiver"],
                at=now,
                payload={"bulk": True},
                policy_version_id=version,
            )
            events.append(
                dict(
                    complaint_id=cid,
                    seq=1,
                    command="receive",
                    actor_kind="staff",
                    actor_id=ids["receiver"],
                    actor_label="receiver",
                    at=now,
                    payload={"bulk": True},
                    policy_version_id=version,
                    prev_hash=GENESIS,
                    hash=event_hash(GENESIS, fields),
                )
            )
        session.execute(insert(ComplaintEvent), events)
        session.execute(
            insert(Timer),
            [
                dict(
                    complaint_id=cid,
                    key="first_contact",
                    round=1,
                    level="L1",
                    unit="working_days",
                    amount=1,
                    state="running",
                    started_at=now,
                    due_at=DUE,
                    warn_at=None,
                    provisional=False,
                    pauses=[],
                    extensions=[],
                )
                for cid in complaint_ids
            ],
        )
    return DUE + timedelta(minutes=1)


def _worker(db_url: str, at) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SWEEPER), db_url, at.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def _count(sessions, stmt) -> int:
    with sessions() as session:
        return session.scalar(stmt) or 0


def _assert_everything_happened_once(sessions, n: int) -> None:
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Timer.breached_at.is_(None))) == 0
        assert session.scalar(select(func.count(Penalty.id))) == n
        assert session.scalar(select(func.count(func.distinct(Penalty.timer_id)))) == n
        breaches = session.execute(
            select(ComplaintEvent.complaint_id, func.count())
            .where(ComplaintEvent.command == "sla_breach")
            .group_by(ComplaintEvent.complaint_id)
        ).all()
        assert len(breaches) == n and {count for _, count in breaches} == {1}
        messages = dict(
            session.execute(select(Outbox.template, func.count()).group_by(Outbox.template)).all()
        )
        # the receiver and the CS supervisor are told of each breach, the receiver fined
        assert messages == {"sla_breach": 2 * n, "sla_penalty": n}
        doubled = session.execute(
            select(Outbox.dedupe_key, Outbox.recipient_id, func.count())
            .group_by(Outbox.dedupe_key, Outbox.recipient_id)
            .having(func.count() > 1)
        ).all()
        assert doubled == []
        versions = session.execute(
            select(Complaint.version, func.count()).group_by(Complaint.version)
        ).all()
        assert versions == [(2, n)]  # one event more, one version more, for every complaint


def test_two_worker_processes_breach_10000_due_timers_exactly_once(postgres, sessions, clock):
    at = fill(sessions, clock, N)
    workers = [_worker(postgres, at), _worker(postgres, at)]
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    handled = [sum(int(line) for line in out.split()) for out in outputs]
    assert sum(handled) == N
    assert all(n > 0 for n in handled)  # both processes did part of the work
    _assert_everything_happened_once(sessions, N)


def test_a_worker_killed_mid_sweep_loses_no_breach(postgres, sessions, clock):
    at = fill(sessions, clock, KILLED)
    first = _worker(postgres, at)
    deadline = time.monotonic() + 600
    while _count(sessions, select(func.count(Penalty.id))) == 0:  # its first pass committed
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)  # in the middle of a later pass
    first.wait()
    done_before = _count(sessions, select(func.count(Penalty.id)))
    assert 0 < done_before < KILLED
    second = _worker(postgres, at)
    second.communicate(timeout=900)
    assert second.returncode == 0
    _assert_everything_happened_once(sessions, KILLED)
