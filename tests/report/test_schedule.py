"""The worker sends the reports a pack schedules — e.g. the weekly report to head office every
Monday 09:00 — once per period, whatever restarts or second workers happen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select, update

from kesu import worker
from kesu.access.models import User
from kesu.clock import FrozenClock
from kesu.db.session import reading, transaction
from kesu.notify.models import Outbox
from kesu.policy import loader
from kesu.policy import service as policy_service
from kesu.report import rules
from kesu.report import service as report_service
from kesu.report.models import ReportDelivery
from report.test_snapshots import _writing_meanwhile

SCHEDULES = """
reports:
  repeat_window_days: 60
  schedules:
    - {key: weekly-hq, kind: weekly, weekday: 1, at: "09:00", to_roles: [director], format: pdf}
    - {key: staff-review, kind: staff_review, day: 10, to_roles: [director], format: xlsx}
"""


def _with_schedules(sessions, clock, schedules=SCHEDULES):
    source = loader.builtin_source("franchise-sales-center")
    version = int(re.search(r"^version: (\d+)", source, re.M).group(1))
    text = re.sub(r"^version: \d+", f"version: {version + 1}", source, count=1, flags=re.M)
    with transaction(sessions) as session:
        policy_service.register(session, clock, text + schedules, "franchise-sales-center")
        session.execute(
            update(User).where(User.username == "director").values(email="director@example.cn")
        )


def test_a_schedule_names_the_last_moment_due_and_the_period_it_reports():
    def due(kind, at, **kw):
        args = {"weekday": 1, "day": 10, "month_of_year": 1, "at": time(9), **kw}
        moment, period = rules.scheduled(kind, local_now=at, **args)
        return moment, period.label

    assert due("weekly", datetime(2026, 11, 26, 10)) == (datetime(2026, 11, 23, 9), "2026-W47")
    assert due("weekly", datetime(2026, 11, 23, 8, 59)) == (datetime(2026, 11, 16, 9), "2026-W46")
    assert due("staff_review", datetime(2026, 11, 26)) == (datetime(2026, 11, 10, 9), "2026-10")
    assert due("staff_review", datetime(2026, 11, 5)) == (datetime(2026, 10, 10, 9), "2026-09")
    assert due("annual", datetime(2027, 1, 10, 9)) == (datetime(2027, 1, 10, 9), "2026")


def test_the_worker_sends_each_scheduled_report_once(sessions, org, clock):
    _with_schedules(sessions, clock)
    first = worker.run_pass(sessions, clock)
    assert first["report.scheduled"] == 2
    clock.advance(minutes=5)
    assert worker.run_pass(sessions, clock)["report.scheduled"] == 0
    with reading(sessions) as session:
        sent = {(d.schedule_key, d.period): d for d in session.scalars(select(ReportDelivery))}
        assert set(sent) == {("weekly-hq", "2026-W47"), ("staff-review", "2026-10")}
        assert sent[("weekly-hq", "2026-W47")].content.startswith(b"%PDF")
        mail = session.scalars(select(Outbox).where(Outbox.template == "report_ready")).all()
        assert {m.address for m in mail} == {"director@example.cn"}
        assert len(mail) == 2
        assert mail[0].params["link"].startswith("/api/v1/reports/deliveries/")
        pack = report_service.target(session, org["HX"]).pack
        assert report_service.repeat_window(pack) == 60


def test_the_next_monday_brings_the_next_week(sessions, org, clock):
    _with_schedules(sessions, clock)
    worker.run_pass(sessions, clock)
    clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai
    worker.run_pass(sessions, FrozenClock(clock.now()))
    with reading(sessions) as session:
        periods = sorted(d.period for d in session.scalars(select(ReportDelivery)))
    assert periods == ["2026-10", "2026-W47", "2026-W48"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_intake_is_not_held_up_while_the_worker_builds_a_scheduled_report(
    sessions, org, clock, monkeypatch
):
    _with_schedules(sessions, clock)
    done = _writing_meanwhile(monkeypatch, sessions, org)
    with transaction(sessions) as session:  # as the worker runs its jobs
        assert report_service.send_scheduled(session, clock) == 2
    assert done == [True]  # the weekly report (the staff review is built apart)


def test_a_schedule_naming_another_groups_unit_or_none_sends_nothing_and_stops_no_other(
    sessions, org, clock, caplog
):
    """A pack serves several groups: a schedule's `org` is looked for inside the group that
    runs it. Another group's store (or a code that does not exist) is skipped with a warning,
    never reported to this group's director, and the pack's other schedules still go."""
    from kesu.org import service as org_service

    with transaction(sessions) as session:
        other = org_service.create(
            session, clock, kind="group", code="OTHER", name="别家集团", pack_key="default"
        )
        org_service.create(
            session, clock, kind="site", code="OTHER-1", name="别家门店", parent_id=other.id
        )
    extra = (
        "    - {key: leak, kind: weekly, org: OTHER-1, to_roles: [director], format: csv}\n"
        "    - {key: gone, kind: weekly, org: NO-SUCH, to_roles: [director], format: csv}\n"
        "    - {key: east, kind: weekly, org: EAST, to_roles: [director], format: csv}\n"
    )
    _with_schedules(sessions, clock, SCHEDULES + extra)
    assert worker.run_pass(sessions, clock)["report.scheduled"] == 3
    with reading(sessions) as session:
        keys = {d.schedule_key for d in session.scalars(select(ReportDelivery))}
    assert keys == {"weekly-hq", "staff-review", "east"}
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'OTHER-1'" in warned and "'NO-SUCH'" in warned

    caplog.clear()  # the worker's next passes (every few seconds) say it no more
    clock.advance(minutes=1)
    worker.run_pass(sessions, clock)
    assert "'OTHER-1'" not in " ".join(r.getMessage() for r in caplog.records)


def test_the_mail_links_to_the_file_where_kesu_public_url_says_kesu_is(
    sessions, org, clock, settings
):
    _with_schedules(sessions, clock)
    sessions.configure(
        info={"settings": settings.model_copy(update={"public_url": "https://kesu.example.cn/"})}
    )
    worker.run_pass(sessions, clock)
    with reading(sessions) as session:
        links = {
            m.params["link"]
            for m in session.scalars(select(Outbox).where(Outbox.template == "report_ready"))
        }
        ids = [d.id for d in session.scalars(select(ReportDelivery).order_by(ReportDelivery.id))]
    assert links == {f"https://kesu.example.cn/api/v1/reports/deliveries/{i}/file" for i in ids}


def test_the_reports_sent_are_listed_for_those_whose_scope_covers_them(
    client, sessions, org, clock
):
    """The scheduled reports were only reachable from the e-mail: now the API and the reports
    page list them, newest first, with the file as sent; a regional manager sees the region's
    report and not head office's."""
    from helpers import login
    from kesu.access import service as access_service
    from kesu.demo import PASSWORD
    from web.console_helpers import sign_in

    extra = "    - {key: east, kind: weekly, org: EAST, to_roles: [director], format: csv}\n"
    _with_schedules(sessions, clock, SCHEDULES + extra)
    with transaction(sessions) as session:
        access_service.add_user(
            session,
            clock,
            username="east_mgr",
            display_name="华东经理",
            role="supervisor",
            org_id=org["EAST"],
            password=PASSWORD,
        )
    worker.run_pass(sessions, clock)

    listed = client.get("/api/v1/reports/deliveries", headers=login(client, "director")).json()
    assert {d["schedule_key"] for d in listed} == {"weekly-hq", "staff-review", "east"}
    hq = next(d for d in listed if d["schedule_key"] == "weekly-hq")
    assert (hq["period"], hq["recipients"]) == ("2026-W47", 1)
    file = client.get(hq["file_url"], headers=login(client, "director"))
    assert file.status_code == 200 and file.content.startswith(b"%PDF")
    east = client.get("/api/v1/reports/deliveries", headers=login(client, "east_mgr")).json()
    assert [d["schedule_key"] for d in east] == ["east"]

    client.headers.pop("Authorization", None)
    sign_in(client, "director")
    page = client.get("/reports").text
    assert "已发送的定时报表" in page and hq["filename"] in page
    assert f'href="{hq["file_url"]}"' in page
    client.post("/logout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page)[1]})
    sign_in(client, "east_mgr", PASSWORD)
    page = client.get("/reports").text
    assert hq["filename"] not in page and east[0]["filename"] in page
