"""A report's reads split across sessions of one snapshot (`queries.read_all`): in threads when
the caller only reads, in the caller's own session when it may have written; the report is the
same either way."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from kesu.db.session import reading, transaction
from kesu.report import queries, rules, service
from kesu.report.models import OrgVolume
from report import dataset

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def two_readers(monkeypatch):
    monkeypatch.setattr(queries, "READERS", 2)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(OrgVolume))


def test_a_read_only_caller_gets_its_reads_run_at_once_on_sessions_of_its_own(
    sessions, org, two_readers
):
    both = threading.Barrier(2, timeout=10)  # passes only if two reads run at the same time

    def read(session):
        both.wait()
        return id(session), _count(session)

    with reading(sessions) as session:
        got = queries.read_all(session, {"a": read, "b": read})
    assert got["a"][1] == got["b"][1] == 0
    assert len({got["a"][0], got["b"][0], id(session)}) == 3


def test_a_caller_that_may_have_written_gets_its_reads_in_its_own_session(
    sessions, org, two_readers
):
    with transaction(sessions) as session:
        session.add(
            OrgVolume(
                org_id=org["HX"],
                first_day=date(2026, 11, 1),
                last_day=date(2026, 11, 1),
                orders=5,
                recorded_at=NOW,
            )
        )
        session.flush()  # not committed: only this session sees it
        got = queries.read_all(session, {"a": lambda s: (id(s), _count(s))})
        assert got["a"] == (id(session), 1)
        session.rollback()


def test_a_year_built_in_parallel_is_the_report_built_in_one_session(sessions, org, two_readers):
    with transaction(sessions) as session:
        dataset.load(session, org)
    period = rules.year(2025)
    with reading(sessions) as session:
        parallel = service.build(session, org_id=org["HX"], period=period, locale="en", now=NOW)
    with transaction(sessions) as session:
        alone = service.build(session, org_id=org["HX"], period=period, locale="en", now=NOW)
    assert parallel.section("summary").as_dicts()[0]["current"] > 0
    assert parallel.model_dump_json() == alone.model_dump_json()
