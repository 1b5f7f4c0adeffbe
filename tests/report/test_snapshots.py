"""Stored report snapshots: the console's report page shows the report as last built (and when),
"重新生成" rebuilds it, and the worker keeps the default periods current."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from helpers import complaint_body, login
from kesu import worker
from kesu.db.session import make_sessionmaker, reading, transaction
from kesu.report import service as report_service
from kesu.report import snapshots
from kesu.report.models import OrgVolume, ReportSnapshot
from web.console_helpers import post_form, sign_in

DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)
WEEK = {"kind": "weekly", "period": "2026-W48"}  # the clock's week (Thursday 26 November 2026)


def _received(html: str) -> int:
    summary = json.loads(DATA.search(html).group(1))[0]
    return next(row[3] for row in summary["rows"] if row[0] == "received")


def test_the_page_shows_the_stored_report_until_it_is_rebuilt(client, sessions, org, clock):
    sign_in(client, "director")
    first = client.get("/reports", params=WEEK)
    assert first.status_code == 200, first.text
    assert "数据截至 2026-11-26 10:00" in first.text
    before = _received(first.text)

    clock.advance(minutes=20)
    headers = login(client, "receiver1")
    created = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    assert created.status_code == 201, created.text

    again = client.get("/reports", params=WEEK)
    assert "数据截至 2026-11-26 10:00" in again.text  # the stored figures, not rebuilt
    assert _received(again.text) == before

    url = "/reports?kind=weekly&period=2026-W48"
    rebuilt = post_form(client, url, "/reports/rebuild", WEEK)
    assert rebuilt.status_code == 303
    assert rebuilt.headers["location"] == url
    after = client.get(url)
    assert "数据截至 2026-11-26 10:20" in after.text
    assert _received(after.text) == before + 1

    english = client.get(url + "&lang=en")
    assert "Figures as of 2026-11-26 10:20" in english.text
    assert "Rebuild now" in english.text


def test_rebuilding_needs_the_form_token(client, org):
    sign_in(client, "director")
    refused = client.post("/reports/rebuild", data=WEEK, follow_redirects=False)
    assert refused.status_code == 403


def _stored(sessions, group: int) -> dict[tuple[str, str], object]:
    with reading(sessions) as session:
        rows = session.scalars(select(ReportSnapshot).where(ReportSnapshot.org_id == group)).all()
        return {(r.kind, r.period): r.built_at for r in rows}


def test_the_worker_builds_the_defaults_once_and_refreshes_only_running_periods(
    sessions, org, clock
):
    done = worker.run_pass(sessions, clock)
    assert done["report.snapshots"] == 4
    first = _stored(sessions, org["HX"])
    assert set(first) == {
        ("weekly", "2026-W47"),
        ("monthly", "2026-10"),
        ("annual", "2025"),
        ("annual", "2026"),
    }

    clock.advance(minutes=5)
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 0

    clock.advance(minutes=30)  # only the running year is stale
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 1
    second = _stored(sessions, org["HX"])
    assert second[("annual", "2026")] > first[("annual", "2026")]
    for complete in (("weekly", "2026-W47"), ("monthly", "2026-10"), ("annual", "2025")):
        assert second[complete] == first[complete]


def test_the_worker_builds_the_defaults_in_the_deployments_default_language(
    engine, org, clock, settings
):
    english = settings.model_copy(update={"default_locale": "en"})
    sessions = make_sessionmaker(engine)
    sessions.configure(info={"settings": english})  # as `kesu worker` passes them to its jobs
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 4
    with reading(sessions) as session:
        found = session.execute(
            select(ReportSnapshot.period, ReportSnapshot.locale).where(
                ReportSnapshot.org_id == org["HX"]
            )
        ).all()
    assert {locale for _, locale in found} == {"en"}  # what the console shows when none is chosen
    assert len(found) == 4


def test_the_worker_also_builds_the_defaults_in_a_language_the_staff_use(
    client, sessions, org, clock
):
    sign_in(client, "director")
    client.get("/lang/en")  # the director reads the console in English
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 4  # the default first
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 4  # then English
    with reading(sessions) as session:
        found = session.execute(
            select(ReportSnapshot.period, ReportSnapshot.locale).where(
                ReportSnapshot.org_id == org["HX"]
            )
        ).all()
    assert sorted({locale for _, locale in found}) == ["en", "zh_Hans"] and len(found) == 8
    assert worker.run_pass(sessions, clock)["report.snapshots"] == 0


def test_a_running_period_is_built_once_more_after_it_ends(sessions, org, clock):
    with transaction(sessions) as session:
        key = snapshots.Key("weekly", org["HX"], snapshots.period_of("weekly", "2026-W48"), "en")
        snapshots.store(session, key, snapshots.make(session, key, clock.now()), clock.now())
    worker.run_pass(sessions, clock)
    clock.advance(days=4)  # Monday 30 November: 2026-W48 has ended
    worker.run_pass(sessions, clock)
    with reading(sessions) as session:
        row = session.scalar(
            select(ReportSnapshot).where(
                ReportSnapshot.kind == "weekly",
                ReportSnapshot.period == "2026-W48",
                ReportSnapshot.locale == "en",
            )
        )
        assert row.built_at >= row.period_end  # final now
        built = row.built_at
    clock.advance(hours=2)
    worker.run_pass(sessions, clock)
    with reading(sessions) as session:
        again = session.scalar(select(ReportSnapshot.built_at).where(ReportSnapshot.id == row.id))
    assert again == built


def _writing_meanwhile(monkeypatch, sessions, org) -> list[bool]:
    """Make every report build record, while it runs, whether another writer (intake) could
    commit: one entry per build, True when the write was done within 10 s."""
    done: list[bool] = []
    build = report_service.build

    def build_while_someone_writes(*args, **kwargs):
        def write() -> None:
            with transaction(sessions) as s:
                s.add(
                    OrgVolume(
                        org_id=org["HX"],
                        first_day=date(2026, 1, 1) + timedelta(days=len(done)),
                        last_day=date(2026, 1, 1) + timedelta(days=len(done)),
                        orders=1,
                        recorded_at=datetime(2026, 11, 26, tzinfo=UTC),
                    )
                )

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        done.append(not writer.is_alive())
        return build(*args, **kwargs)

    monkeypatch.setattr(report_service, "build", build_while_someone_writes)
    return done


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_intake_is_not_held_up_while_the_worker_builds_the_snapshots(
    sessions, org, clock, monkeypatch
):
    """A year's report takes seconds at a million complaints: built under the job's write
    transaction, every intake on SQLite waited for it."""
    done = _writing_meanwhile(monkeypatch, sessions, org)
    with transaction(sessions) as session:  # as the worker runs its jobs
        assert snapshots.refresh(session, clock) == 4
    assert done == [True] * 4


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_intake_is_not_held_up_while_the_page_builds_a_report_on_first_view(
    client, sessions, org, monkeypatch
):
    sign_in(client, "director")
    done = _writing_meanwhile(monkeypatch, sessions, org)
    page = client.get("/reports", params={"kind": "annual", "period": "2025"})
    assert page.status_code == 200, page.text
    year = {"kind": "annual", "period": "2025"}
    rebuilt = post_form(client, "/reports?kind=annual&period=2025", "/reports/rebuild", year)
    assert rebuilt.status_code == 303, rebuilt.text
    assert done == [True, True]
