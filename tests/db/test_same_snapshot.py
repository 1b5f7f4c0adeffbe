"""`same_snapshot`: sessions that one read is split across see one state of the database, and
nothing committed after they were opened."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from kesu.db.session import same_snapshot, transaction
from kesu.report.models import OrgVolume


def _volume(sessions, org_id: int, day: int) -> None:
    with transaction(sessions) as s:
        s.add(
            OrgVolume(
                org_id=org_id,
                first_day=date(2026, 11, day),
                last_day=date(2026, 11, day),
                orders=10,
                recorded_at=datetime(2026, 11, 26, tzinfo=UTC),
            )
        )


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(OrgVolume))


def test_every_session_sees_the_state_they_were_opened_on_not_a_later_commit(engine, sessions, org):
    _volume(sessions, org["HX"], 1)
    with same_snapshot(engine, 3) as opened:
        _volume(sessions, org["HX"], 2)  # committed after they were opened
        assert [_count(s) for s in opened] == [1, 1, 1]
    with sessions() as later:
        assert _count(later) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_thread_holding_the_sqlite_write_lock_is_told_instead_of_waiting_for_itself(
    engine, sessions, org
):
    with transaction(sessions) as writing:
        writing.execute(select(1))  # BEGIN IMMEDIATE: this thread holds the write lock
        with pytest.raises(RuntimeError, match="holds the write lock"), same_snapshot(engine, 2):
            pass
