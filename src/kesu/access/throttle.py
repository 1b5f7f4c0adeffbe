"""Counters kept in the database (`access_throttle`): login lockout with backoff, rate limits.

Every web process shares them, so a lockout holds whichever process the next request hits.
The entry point commits after a failure too (the failure must stay on record).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kesu.access.models import Throttle
from kesu.access.rules import Limit, lock_seconds
from kesu.clock import Clock
from kesu.errors import TooManyAttempts


def _row(session: Session, key: str, now: datetime) -> Throttle:
    """The counter row, created if missing and locked for this transaction (both databases)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Throttle)
        .values(key=key, count=0, window_start=now, last_at=now)
        .on_conflict_do_nothing()
    )
    return session.scalars(
        select(Throttle)
        .where(Throttle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def locked_for(session: Session, now: datetime, key: str) -> int:
    """Seconds until `key` may try again (0: not locked)."""
    until = session.scalar(select(Throttle.locked_until).where(Throttle.key == key))
    return math.ceil((until - now).total_seconds()) if until and until > now else 0


def refuse_if_locked(session: Session, now: datetime, *keys: str) -> None:
    wait = max((locked_for(session, now, k) for k in keys), default=0)
    if wait:
        raise TooManyAttempts("auth.locked", minutes=max(1, (wait + 59) // 60), seconds=wait)


def fail(session: Session, clock: Clock, key: str, limit: Limit) -> None:
    """One more failure for `key`; past the limit it is locked, each lock twice the last.

    The count restarts only after a quiet window following the last failure or lock, so a
    persistent guesser keeps doubling the wait.
    """
    now = clock.now()
    row = _row(session, key, now)
    quiet_since = max(row.last_at, row.locked_until or row.last_at)
    if row.count and now - quiet_since > timedelta(seconds=limit.window_seconds):
        row.count = 0
        row.window_start = now
    row.count += 1
    row.last_at = now
    wait = lock_seconds(limit, row.count)
    row.locked_until = now + timedelta(seconds=wait) if wait else None
    session.flush()


def clear(session: Session, key: str) -> None:
    session.execute(delete(Throttle).where(Throttle.key == key))


def refuse_if_spent(session: Session, clock: Clock, key: str, limit: Limit) -> None:
    """429 when `key` has used up `limit` in its window (nothing counted): for limits that
    count only the failures of something (`hit` after each one)."""
    now = clock.now()
    row = session.scalars(select(Throttle).where(Throttle.key == key)).one_or_none()
    if row is None or now - row.window_start >= timedelta(seconds=limit.window_seconds):
        return
    if row.count >= limit.attempts:
        _rate_limited(row, now, limit)


def hit(session: Session, clock: Clock, key: str, limit: Limit) -> None:
    """A rate limit: at most `limit.attempts` calls per window for `key`, else 429.

    For the portal and any other door open to the public (call with the client address).
    """
    now = clock.now()
    row = _row(session, key, now)
    if now - row.window_start >= timedelta(seconds=limit.window_seconds):
        row.count = 0
        row.window_start = now
    row.count += 1
    row.last_at = now
    session.flush()
    if row.count > limit.attempts:
        _rate_limited(row, now, limit)


def _rate_limited(row: Throttle, now: datetime, limit: Limit) -> None:
    """429 until `row`'s window ends."""
    wait = int((row.window_start - now).total_seconds()) + limit.window_seconds
    raise TooManyAttempts("auth.rate_limited", minutes=max(1, (wait + 59) // 60), seconds=wait)
