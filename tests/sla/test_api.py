"""The time-limit API: a complaint's timers (also in its detail), the overdue list, penalties,
and the provisional-calendar warning — as a user of the demo organisation sees them."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpers import complaint_body, login, run
from kesu.db.session import transaction
from kesu.sla import sweep


def sweep_at(sessions, clock, moment: datetime) -> None:
    clock.set(moment)
    with transaction(sessions) as session:
        sweep.sweep(session, clock)


def test_a_new_complaint_shows_its_running_timer_and_next_deadline(client, org, clock):
    headers = login(client, "receiver1")
    c = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()
    assert c["next_due_at"] == "2026-11-27T16:00:00Z"  # the end of Friday in Shanghai
    assert c["deadline_provisional"] is False
    detail = client.get(f"/api/v1/complaints/{c['id']}", headers=headers).json()
    [timer] = detail["timers"]
    assert (timer["key"], timer["state"], timer["within"]) == (
        "first_contact",
        "running",
        "1 working day",  # not "1 working days"
    )
    assert timer["name"]["zh_Hans"] == "一个工作日内联系投诉人"
    assert timer["basis"] == "seed 002 5.1.1, 5.4.1.1"
    assert client.get(f"/api/v1/complaints/{c['id']}/timers", headers=headers).json() == [timer]


def test_an_overdue_complaint_is_listed_with_its_penalty(client, org, clock, sessions):
    receiver = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver).json()["id"]
    sweep_at(sessions, clock, clock.now() + timedelta(days=2))
    receiver = login(client, "receiver1")  # two days on: a new login session
    [item] = client.get("/api/v1/sla/overdue", headers=receiver).json()
    assert (item["complaint_id"], item["timer"]) == (cid, "first_contact")
    assert item["breached_at"] is not None
    page = client.get("/api/v1/sla/penalties", headers=receiver).json()
    assert page["total"] == "30.00"
    assert [(p["complaint_id"], p["amount"]) for p in page["items"]] == [(cid, "30.00")]
    detail = client.get(f"/api/v1/complaints/{cid}", headers=receiver).json()
    assert detail["timers"][0]["overdue"] is True
    assert detail["timeline"][-1]["command"] == "sla_breach"

    run(client, receiver, cid, "record_contact", {"reached": True})
    assert client.get("/api/v1/sla/overdue", headers=receiver).json() == []


def test_penalties_can_be_filtered_by_person(client, org, clock, sessions):
    receiver = login(client, "receiver1")
    client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver)
    sweep_at(sessions, clock, clock.now() + timedelta(days=2))
    receiver = login(client, "receiver1")
    me = client.get("/api/v1/me", headers=receiver).json()["id"]
    other = login(client, "receiver2")
    other_id = client.get("/api/v1/me", headers=other).json()["id"]
    assert (
        len(client.get(f"/api/v1/sla/penalties?user_id={me}", headers=receiver).json()["items"])
        == 1
    )
    assert client.get(f"/api/v1/sla/penalties?user_id={other_id}", headers=receiver).json() == {
        "items": [],
        "total": "0",
    }


def test_the_person_complained_about_cannot_see_the_timers(client, org):
    receiver = login(client, "receiver1")
    clerk = login(client, "clerk")
    clerk_id = client.get("/api/v1/me", headers=clerk).json()["id"]
    body = complaint_body(org, category="store_attitude", level="L2", staff_complained_id=clerk_id)
    cid = client.post("/api/v1/complaints", json=body, headers=receiver).json()["id"]
    assert client.get(f"/api/v1/complaints/{cid}/timers", headers=clerk).status_code == 404
    assert client.get(f"/api/v1/complaints/{cid}/timers", headers=receiver).status_code == 200


def test_an_admin_is_warned_of_years_without_official_holiday_data(client, org):
    admin = login(client, "admin")
    check = client.get("/api/v1/sla/calendar-check", headers=admin).json()
    assert 2027 in check["provisional_years"]
    assert check["provisional_complaints"] == 0
    refused = client.get("/api/v1/sla/calendar-check", headers=login(client, "receiver1"))
    assert refused.status_code == 403
