"""A submission sent again (a retry after a lost answer, a second click) makes no second
complaint: the API's Idempotency-Key, and the intake and portal forms' hidden submission id."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from helpers import complaint_body, login
from kesu.access import service as access_service
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.complaint.schemas import ComplaintCreate
from kesu.db.session import reading, transaction
from kesu.notify.models import Outbox
from web.console_helpers import intake_form, post_form, sign_in


def _counts(sessions) -> tuple[int, int, int]:
    with reading(sessions) as s:
        return (
            s.scalar(select(func.count()).select_from(Complaint)),
            s.scalar(select(func.count()).where(ComplaintEvent.command == "receive")),
            s.scalar(select(func.count()).where(Outbox.recipient_kind == "customer")),
        )


def test_the_same_key_sent_again_returns_the_complaint_it_made(client, org, sessions):
    headers = {**login(client, "receiver1"), "Idempotency-Key": "erp-2026-0001"}
    first = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["number"] == first.json()["number"]
    assert _counts(sessions) == (1, 1, 1)  # one complaint, one event, one SMS to the customer
    other = client.post(
        "/api/v1/complaints", json=complaint_body(org), headers={**headers, "Idempotency-Key": "2"}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_a_key_reused_for_other_content_is_refused_and_changes_nothing(client, org, sessions):
    headers = {**login(client, "receiver1"), "Idempotency-Key": "k-1", "Accept-Language": "en"}
    assert client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).is_success
    r = client.post(
        "/api/v1/complaints", json=complaint_body(org, title="另一件事"), headers=headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "Idempotency-Key"
    assert "use a new key for a new complaint" in r.json()["error"]["message"]
    assert _counts(sessions)[0] == 1


def test_keys_are_each_submitters_own(client, org, sessions):
    body = complaint_body(org)
    for user in ("receiver1", "receiver2"):
        headers = {**login(client, user), "Idempotency-Key": "same"}
        assert client.post("/api/v1/complaints", json=body, headers=headers).status_code == 201
    assert _counts(sessions)[0] == 2


def test_two_submissions_with_one_key_at_once_make_one_complaint(sessions, clock, org):
    """On PostgreSQL the second waits on the key until the first commits, then answers with
    its complaint; on SQLite the writers queue."""
    body = ComplaintCreate.model_validate(complaint_body(org))
    made: list[int] = []
    failed: list[BaseException] = []
    start = threading.Barrier(4)

    def submit():
        try:
            start.wait()
            with transaction(sessions) as session:
                user = access_service.by_username(session, "receiver1")
                actor = complaint_service.actor_of(user)
                made.append(complaint_service.receive(session, clock, actor, body, key="x").id)
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failed == []
    assert len(set(made)) == 1 and len(made) == 4
    assert _counts(sessions)[:2] == (1, 1)


def _submission(html: str) -> str:
    return html.split('name="submission" value="')[1].split('"')[0]


def test_a_portal_form_sent_twice_files_one_complaint(client, org, sessions):
    page = client.get("/portal")
    form = {
        "name": "陈先生",
        "phone": "137 0000 1234",
        "site_id": str(org["HZ-XH"]),
        "title": "餐桌开裂",
        "description": "收到两周桌面开裂",
        "consent": "yes",
        "submission": _submission(page.text),
    }
    first = post_form(client, "/portal", "/portal/complaints", form)
    again = post_form(client, "/portal", "/portal/complaints", form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    with reading(sessions) as s:
        notes = s.scalar(select(func.count()).where(ComplaintEvent.command == "note"))
    assert _counts(sessions) == (1, 1, 1) and notes == 1  # the consent is recorded once
    assert _submission(client.get("/portal").text) != form["submission"]  # a new form, a new id


def test_an_intake_form_sent_twice_registers_one_complaint(client, org, sessions):
    sign_in(client, "receiver1")
    form = intake_form(org, submission=_submission(client.get("/intake").text))
    first = post_form(client, "/intake", "/intake", form)
    again = post_form(client, "/intake", "/intake", form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert _counts(sessions)[:2] == (1, 1)
    # a form that failed keeps its id, so the corrected one sent twice is still one complaint
    r = post_form(client, "/intake", "/intake", {**form, "title": "", "submission": "s-2"})
    assert r.status_code == 422 and _submission(r.text) == "s-2"


def test_an_intake_form_changed_after_going_back_registers_a_new_complaint(client, org, sessions):
    """The browser's Back brings the sent form up again, submission id and all: what the
    receiver then changes and sends is another complaint, not a refused reuse of the id."""
    sign_in(client, "receiver1")
    form = intake_form(org, submission=_submission(client.get("/intake").text))
    first = post_form(client, "/intake", "/intake", form)
    other = post_form(client, "/intake", "/intake", {**form, "title": "另一件事：送货迟到"})
    assert first.status_code == other.status_code == 303
    assert first.headers["location"] != other.headers["location"]
    assert _counts(sessions)[:2] == (2, 2)


def test_a_command_sent_twice_is_done_once_and_a_different_one_is_still_stale(client, org):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    body = {"version": 1, "payload": {"reached": True, "method": "phone", "summary": "已联系"}}
    url = f"/api/v1/complaints/{cid}/commands/record_contact"
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["version"] == first.json()["version"]
    contacts = [e for e in again.json()["timeline"] if e["command"] == "record_contact"]
    assert len(contacts) == 1
    other = {**body, "payload": {**body["payload"], "summary": "另一次联系"}}
    assert client.post(url, json=other, headers=headers).status_code == 409
    someone_else = login(client, "supervisor")
    assert client.post(url, json=body, headers=someone_else).status_code == 409
