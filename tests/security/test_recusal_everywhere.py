"""Recusal (回避) beyond the API: the person complained about gets no notification about the
complaint, and nobody outside the complaint's scope does either."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from helpers import complaint_body, receive
from kesu.access.models import User
from kesu.complaint import service as complaint_service
from kesu.complaint.lifecycle import SYSTEM
from kesu.complaint.schemas import ComplaintCreate
from kesu.db.session import reading, transaction
from kesu.i18n import catalogue
from kesu.notify import rules as notify_rules
from kesu.notify import service as notify_service
from kesu.notify.models import Outbox
from web.console_helpers import sign_in


def _a_template() -> tuple[str, dict[str, str]]:
    """Any staff template of the catalogue, with a value for each of its placeholders."""
    texts = catalogue("zh_Hans")
    name = sorted(k for k in texts if k.startswith("notify.") and k.endswith(".subject"))[0]
    template = name.removeprefix("notify.").removesuffix(".subject")
    needed = notify_rules.missing_params(texts, template, {})
    return template, {p: "x" for p in needed}


def test_a_notification_about_a_complaint_never_reaches_the_person_it_is_about(
    sessions, clock, org, people
):
    template, params = _a_template()
    recipients = ("clerk", "supervisor", "south_supervisor", "east_receiver")
    with transaction(sessions) as s:
        s.execute(update(User).values(email=User.username + "@example.com"))
        body = complaint_body(org, staff_complained_id=people["clerk"])
        complaint = complaint_service.receive(s, clock, SYSTEM, ComplaintCreate(**body))
        notify_service.notify_users(
            s,
            now=clock.now(),
            user_ids=[people[u] for u in recipients],
            template=template,
            params=params,
            dedupe_key="recusal",
            complaint_id=complaint.id,
        )
    with reading(sessions) as s:
        reached = set(s.scalars(select(Outbox.recipient_id).where(Outbox.recipient_kind == "user")))
    assert reached == {people["supervisor"], people["east_receiver"]}


def test_a_corrective_action_lists_only_the_complaints_its_viewer_may_see(
    client, org, people, bearer
):
    director = bearer("director")
    about_clerk = complaint_body(org, staff_complained_id=people["clerk"], title="店员态度")
    south = complaint_body(org, site_id=org["GZ-TH"], title="天河店送货延误")
    made = [
        client.post("/api/v1/complaints", json=b, headers=director).json()
        for b in (about_clerk, south)
    ]
    action = client.post(
        "/api/v1/improvement/actions",
        json={
            "title": "服务态度整改",
            "problem": "多起投诉",
            "cause_dimension": "people",
            "planned": "培训",
            "owner_id": people["supervisor"],
            "site_id": org["SH-NJ"],
            "complaint_ids": [c["id"] for c in made],
        },
        headers=director,
    ).json()
    shown = {}
    for who in ("director", "clerk", "shnj_receiver"):
        sign_in(client, who)
        html = client.get(f"/improvement/actions/{action['id']}").text
        shown[who] = {c["number"] for c in made if c["number"] in html}
        client.cookies.clear()
    numbers = [c["number"] for c in made]
    counted = {}  # the action list's count of linked complaints: those the reader may see
    for who in ("director", "clerk"):
        sign_in(client, who)
        html = client.get("/improvement").text
        row = re.search(rf"{action['number']}</a>.*?<td>(\d+)</td>\s*</tr>", html, re.S)
        counted[who] = int(row[1])
        client.cookies.clear()
    assert counted == {"director": 2, "clerk": 1}
    assert shown == {
        "director": set(numbers),
        "clerk": {numbers[1]},  # never the complaint about them, nor its number in the record
        "shnj_receiver": {numbers[0]},  # their store's, not another region's
    }
    for who, kept in (("clerk", made[1]), ("shnj_receiver", made[0])):  # the API the same
        headers = bearer(who)
        detail = client.get(f"/api/v1/improvement/actions/{action['id']}", headers=headers)
        assert detail.json()["complaint_ids"] == [kept["id"]]
        assert kept["number"] in detail.text
        assert all(c["number"] not in detail.text for c in made if c is not kept)
        listed = client.get("/api/v1/improvement/actions?tab=all", headers=headers).json()
        assert [a["complaint_ids"] for a in listed if a["id"] == action["id"]] == [[kept["id"]]]


def test_a_report_never_lists_a_complaint_to_the_person_it_is_about(
    client, org, people, bearer, clock
):
    """The overdue list (超时未结清单) named the complaints about the clerk who read the report:
    number, title, store and handler. The figures stay; the rows naming the case go."""
    director = bearer("director")
    made = {
        title: client.post(
            "/api/v1/complaints", json=complaint_body(org, title=title, **over), headers=director
        ).json()["number"]
        for title, over in (
            ("店员态度恶劣", {"staff_complained_id": people["clerk"]}),
            ("床垫异响", {}),
        )
    }
    clock.advance(days=2)  # still the same week: both are overdue now

    def listed(headers) -> set[str]:
        r = client.get("/api/v1/reports/weekly?period=2026-W48", headers=headers)
        assert r.status_code == 200, r.text
        overdue = next(s for s in r.json()["sections"] if s["key"] == "overdue")
        return {row[0] for row in overdue["rows"]}

    assert set(made.values()) <= listed(bearer("director"))
    seen_by_clerk = listed(bearer("clerk"))
    assert made["床垫异响"] in seen_by_clerk and made["店员态度恶劣"] not in seen_by_clerk

    sign_in(client, "clerk")
    page = client.get("/reports?kind=weekly&period=2026-W48").text
    assert made["床垫异响"] in page and made["店员态度恶劣"] not in page
    download = client.get("/reports/download?kind=weekly&period=2026-W48&format=csv")
    assert download.status_code == 200 and made["店员态度恶劣"] not in download.text


def test_a_repeat_complaint_does_not_name_an_earlier_one_its_reader_may_not_see(
    client, org, people, bearer
):
    """The second complaint of a caller named the first (自动识别: 重复投诉（前次 FS…）) in its
    record, even to the clerk the first one was about: with the last four digits of the phone
    that number opened the first complaint's status on the portal."""
    director = bearer("director")
    first = client.post(
        "/api/v1/complaints",
        json=complaint_body(org, staff_complained_id=people["clerk"], title="店员态度"),
        headers=director,
    ).json()
    second = client.post(
        "/api/v1/complaints", json=complaint_body(org, title="店员态度又差"), headers=director
    ).json()
    seen_by_director = client.get(f"/api/v1/complaints/{second['id']}", headers=director).text
    assert first["number"] in seen_by_director  # the repeat is named to those who may see it

    clerk = bearer("clerk")
    detail = client.get(f"/api/v1/complaints/{second['id']}", headers=clerk)
    assert detail.status_code == 200 and first["number"] not in detail.text
    sign_in(client, "clerk")
    page = client.get(f"/complaints/{second['id']}")
    assert page.status_code == 200 and first["number"] not in page.text


def test_a_scheduled_report_reaches_each_recipient_without_the_complaints_about_them(
    client, sessions, org, people, bearer, clock
):
    """A scheduled report is one file for all its recipients: the director, about whom a
    complaint was overdue that week, downloaded an overdue list naming it. Each recipient now
    gets it without the complaints about them; the others get the file as sent."""
    from datetime import datetime

    from kesu import worker
    from kesu.clock import FrozenClock
    from report.test_schedule import SCHEDULES, _with_schedules

    csv = "    - {key: weekly-csv, kind: weekly, to_roles: [director, supervisor], format: csv}\n"
    _with_schedules(sessions, clock, SCHEDULES + csv)
    week = FrozenClock(datetime(2026, 11, 17, 10, 0, tzinfo=clock.now().tzinfo))  # in W47
    numbers = {
        title: receive(sessions, week, org, title=title, **over).number
        for title, over in (
            ("总监承诺未兑现", {"staff_complained_id": people["director"]}),
            ("床垫异响", {}),
        )
    }
    worker.run_pass(sessions, clock)  # Thursday of W48: W47's report is due

    listed = client.get("/api/v1/reports/deliveries", headers=bearer("director")).json()
    url = next(d["file_url"] for d in listed if d["schedule_key"] == "weekly-csv")
    as_sent = client.get(url, headers=bearer("supervisor"))
    assert as_sent.status_code == 200
    assert numbers["总监承诺未兑现"] in as_sent.text and numbers["床垫异响"] in as_sent.text
    mine = client.get(url, headers=bearer("director"))
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv")
    assert numbers["床垫异响"] in mine.text and numbers["总监承诺未兑现"] not in mine.text
