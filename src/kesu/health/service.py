"""Is the background worker doing its work? Each worker process records its passes
(`beat`); `worker_status` judges them: the clocks, messages, reports and anchors all depend on
some worker finishing passes, and a web server started with `--no-worker` and no `kesu worker`
beside it would otherwise look healthy while no deadline is ever breached.

The judgement is `judge`, a pure function of the beats, the oldest unswept due timer, the
messages the outbox keeps failing to send, and now.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kesu.health.models import WorkerBeat
from kesu.notify.models import Outbox
from kesu.sla.models import Timer

KEEP = timedelta(days=7)
"""Beats of workers not heard from for this long are deleted."""


def late_after(interval_seconds: float) -> timedelta:
    """How long without a finished pass before the workers count as stopped: ten passes, and
    never under two minutes (a pass that breaches thousands of timers or builds a year's
    report takes seconds)."""
    return max(timedelta(seconds=10 * interval_seconds), timedelta(minutes=2))


def worker_name() -> str:
    """This process: the host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(
    session: Session,
    name: str,
    *,
    started_at: datetime,
    now: datetime,
    took_ms: int,
    failing: list[str],
) -> None:
    """Record a finished pass of worker `name` (only that process writes its row)."""
    row = session.scalar(select(WorkerBeat).where(WorkerBeat.name == name))
    if row is None:
        row = WorkerBeat(name=name, started_at=started_at)
        session.add(row)
    row.last_pass_at, row.last_pass_ms, row.failing = now, took_ms, sorted(failing)
    row.stopped_at = None
    session.execute(delete(WorkerBeat).where(WorkerBeat.last_pass_at < now - KEEP))


def stopped(session: Session, name: str, now: datetime) -> None:
    """Worker `name` stopped cleanly (SIGTERM, or `kesu serve` shutting down)."""
    row = session.scalar(select(WorkerBeat).where(WorkerBeat.name == name))
    if row is not None:
        row.stopped_at = now


def judge(
    beats: list[WorkerBeat],
    oldest_due: datetime | None,
    now: datetime,
    late: timedelta,
    *,
    undelivered: int = 0,
    undelivered_since: datetime | None = None,
) -> dict[str, Any]:
    """The workers' state, worst first:
    - `no_worker`: no worker has ever finished a pass;
    - `stopped`: none has finished one within `late` (stopped, killed, or stuck);
    - `failing`: the newest pass had jobs that raised (named in `failing`);
    - `behind`: workers run, but a timer fell due more than `late` ago and is not breached;
    - `undelivered`: workers run, but `undelivered` messages failed to send and wait for a
      retry, the oldest queued since `undelivered_since`, more than `late` ago (the mail
      server or a webhook is down or refuses them: the job itself succeeds, so nothing else
      would say so while the messages back off for hours and are then given up);
    - `ok`."""
    running = [b for b in beats if b.stopped_at is None and now - b.last_pass_at <= late]
    newest = max(beats, key=lambda b: b.last_pass_at, default=None)
    behind = oldest_due is not None and now - oldest_due > late
    stuck = undelivered > 0 and undelivered_since is not None and now - undelivered_since > late
    if newest is None:
        status = "no_worker"
    elif not running:
        status = "stopped"
    elif newest.failing:
        status = "failing"
    elif behind:
        status = "behind"
    elif stuck:
        status = "undelivered"
    else:
        status = "ok"
    return {
        "status": status,
        "last_pass_at": newest.last_pass_at.isoformat() if newest else None,
        "seconds_since_last_pass": round((now - newest.last_pass_at).total_seconds())
        if newest
        else None,
        "late_after_seconds": round(late.total_seconds()),
        "failing": list(newest.failing) if newest else [],
        "oldest_unswept_due_at": oldest_due.isoformat() if behind else None,
        "undelivered": undelivered if stuck else 0,
        "undelivered_since": undelivered_since.isoformat() if stuck else None,
        "workers": [
            {
                "name": b.name,
                "started_at": b.started_at.isoformat(),
                "last_pass_at": b.last_pass_at.isoformat(),
                "last_pass_ms": b.last_pass_ms,
                "failing": list(b.failing),
                "stopped_at": b.stopped_at.isoformat() if b.stopped_at else None,
                "running": b in running,
            }
            for b in sorted(beats, key=lambda b: b.last_pass_at, reverse=True)
        ],
    }


def minutes_since(iso: str, now: datetime) -> int:
    """Whole minutes from `iso` (a time `judge` reported) to now."""
    return int((now - datetime.fromisoformat(iso)).total_seconds() // 60)


def worker_status(session: Session, now: datetime, interval_seconds: float) -> dict[str, Any]:
    """`judge` over the stored beats, the oldest due timer not yet breached and the messages
    waiting for a retry (over the outbox's `next_attempt_at` index: sent and given-up rows
    have none)."""
    beats = list(session.scalars(select(WorkerBeat)))
    oldest_due = session.scalar(
        select(func.min(Timer.due_at)).where(
            Timer.state == "running", Timer.breached_at.is_(None), Timer.due_at <= now
        )
    )
    undelivered, since = session.execute(
        select(func.count(), func.min(Outbox.created_at)).where(
            Outbox.next_attempt_at.is_not(None), Outbox.state == "failed"
        )
    ).one()
    return judge(
        beats,
        oldest_due,
        now,
        late_after(interval_seconds),
        undelivered=undelivered,
        undelivered_since=since,
    )
