"""Personal data (《个人信息保护法》): sealed at rest, masked for whoever does not need it, every
unmasked view on record, data-subject export and erasure, retention with statistics kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from helpers import INVESTIGATION, complaint_body, login, run
from kesu.complaint.models import Complainant, Complaint
from kesu.db.session import reading, transaction
from kesu.privacy import crypto
from kesu.privacy import service as privacy_service
from kesu.privacy.models import PersonalDataView, PrivacyRequest

PHONE = "13812345678"
SECRET_BITS = ("12345678", "1234 5678", "南京东路100号", "310101199001011234")


def _body(org, **over):
    body = complaint_body(
        org,
        complainant={
            "name": "林女士",
            "phone": "138 1234 5678",
            "address": "上海市黄浦区南京东路100号3楼",
            "member_id": "310101199001011234",
        },
        description="客户来电（13812345678）反映沙发坐垫塌陷，要求上门检测。",
    )
    body.update(over)
    return body


@pytest.fixture
def case(client, org):
    """A complaint registered by the supervisor; nobody is assigned yet."""
    headers = {**login(client, "supervisor"), "Idempotency-Key": "case-1"}
    r = client.post("/api/v1/complaints", json=_body(org), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_phone_address_and_member_id_are_stored_sealed_and_a_repeat_caller_is_still_found(
    client, org, case, sessions
):
    with reading(sessions) as s:
        row = s.execute(text("SELECT phone, address, member_id, phone_hash FROM complainant")).one()
    for value in row[:3]:
        assert value.startswith("v1.") and not any(bit in value for bit in SECRET_BITS)
    assert PHONE not in row.phone_hash
    again = client.post(
        "/api/v1/complaints", json=_body(org), headers=login(client, "receiver1")
    ).json()
    first = client.get(f"/api/v1/complaints/{case}", headers=login(client, "director")).json()
    assert again["complainant_id"] == first["complainant_id"]


def test_a_sealed_value_does_not_open_under_another_key(settings, case, sessions):
    with reading(sessions) as s:
        sealed = s.execute(text("SELECT phone FROM complainant")).scalar_one()
    other = crypto.Keys.from_settings(settings.model_copy(update={"data_key": "another key"}))
    with pytest.raises(crypto.SealError):
        other.open(sealed, "complainant.phone")
    with pytest.raises(crypto.SealError):
        crypto.keys().open(sealed, "complainant.address")  # moved to another column


def _all_json_reads(client, headers, cid: int) -> str:
    """Every API read a handler can reach a complaint through, concatenated."""
    reads = [
        "/api/v1/complaints",
        "/api/v1/complaints?q=沙发",
        "/api/v1/complaints?q=13812345678",
        "/api/v1/complaints?open_only=true",
        f"/api/v1/complaints/{cid}",
        f"/api/v1/complaints/{cid}/timers",
        f"/api/v1/complaints/{cid}/complainant",
        "/api/v1/sla/overdue",
        "/api/v1/users",
        "/api/v1/me",
    ]
    return "\n".join(client.get(url, headers=headers).text for url in reads)


def test_a_lower_tier_handler_cannot_read_the_phone_through_any_api_route(client, case):
    headers = login(client, "receiver1")
    seen = _all_json_reads(client, headers, case)
    assert not any(bit in seen for bit in SECRET_BITS)
    assert "138****5678" in seen  # masked, not missing
    r = client.get(f"/api/v1/complaints/{case}/complainant", headers=headers)
    assert r.status_code == 403 and r.json()["error"]["key"] == "forbidden.personal_data"


def _console(client, username: str) -> str:
    """Sign `username` in to the console; returns the CSRF token of their forms."""
    import hashlib
    import hmac

    from kesu.web.pages import SESSION_COOKIE

    token = login(client, username)["Authorization"].split()[1]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    key = client.app.state.settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def test_the_console_shows_the_complainant_masked_and_reveals_only_on_record(client, org, sessions):
    cid = client.post("/api/v1/complaints", json=_body(org), headers=login(client, "supervisor"))
    cid = cid.json()["id"]
    _console(client, "receiver1")
    pages = [
        f"/complaints/{cid}",
        "/",
        "/?queue=all",
        "/handover",
        f"/complaints/{cid}/forms/handling_form",
    ]
    texts = {url: client.get(url).text for url in pages}
    leaks = [(url, bit) for url, text in texts.items() for bit in SECRET_BITS if bit in text]
    assert leaks == [] and "138****5678" in texts[f"/complaints/{cid}"]
    csrf = _console(client, "receiver1")
    refused = client.post(f"/complaints/{cid}/complainant", data={"csrf": csrf})
    assert refused.status_code == 403
    csrf = _console(client, "supervisor")
    page = client.get(f"/complaints/{cid}").text
    assert f'action="/complaints/{cid}/complainant"' in page and "南京东路100号" not in page
    shown = client.post(f"/complaints/{cid}/complainant", data={"csrf": csrf})
    assert shown.status_code == 200 and PHONE in shown.text and "南京东路100号" in shown.text
    client.cookies.clear()
    with reading(sessions) as s:
        assert s.scalars(select(PersonalDataView.complaint_id)).all() == [cid]


def test_the_console_masks_numbers_in_the_title_investigation_and_solution_too(client, org):
    handler = login(client, "receiver1")
    body = _body(org, title=f"客户{PHONE}沙发塌陷")
    cid = client.post("/api/v1/complaints", json=body, headers=handler).json()["id"]
    for command, payload in [
        ("acknowledge", {}),
        ("record_contact", {"reached": True}),
        ("classify", {"classification": "valid", "reason": "情况属实"}),
        ("record_investigation", {**INVESTIGATION, "findings": f"回访电话 {PHONE}"}),
        ("propose_solution", {"solution_type": "repair", "description": f"上门前打 {PHONE}"}),
    ]:
        assert run(client, handler, cid, command, payload).status_code == 200, command
    _console(client, "receiver1")  # who registered and handles it sees the record as it is
    assert PHONE in client.get(f"/complaints/{cid}").text
    _console(client, "receiver2")  # a colleague without the permission
    texts = [client.get(url).text for url in (f"/complaints/{cid}", f"/complaints/{cid}/received")]
    client.cookies.clear()
    assert [PHONE in text for text in texts] == [False, False]
    assert all("138****5678" in text for text in texts)


def test_console_lists_mask_numbers_in_titles_for_those_without_the_permission(client, org):
    body = _body(org, title=f"客户{PHONE}沙发塌陷")
    client.post("/api/v1/complaints", json=body, headers=login(client, "supervisor"))
    lists = [
        "/?queue=all",
        "/handover",
        f"/intake/lookup?complainant.phone={PHONE}",
        "/forms/weekly?week=2026-11-26",  # the week under way, which holds it
    ]
    _console(client, "supervisor")  # who registered it
    assert PHONE in client.get("/?queue=all").text
    _console(client, "receiver1")
    seen = {url: PHONE in client.get(url).text for url in lists}
    client.cookies.clear()
    assert seen == dict.fromkeys(lists, False)


def test_the_one_who_registered_it_sees_it_unmasked_and_the_view_is_logged(client, case, sessions):
    headers = login(client, "supervisor")
    detail = client.get(f"/api/v1/complaints/{case}", headers=headers).json()
    assert detail["complainant"]["phone"] == "138****5678" and detail["complainant"]["masked"]
    r = client.get(f"/api/v1/complaints/{case}/complainant", headers=headers)
    assert r.status_code == 200
    assert r.json()["phone"] == PHONE and r.json()["address"].startswith("上海市黄浦区南京东路")
    with reading(sessions) as s:
        logged = s.scalars(select(PersonalDataView)).one()
    assert logged.complaint_id == case and logged.purpose == "view"
    assert logged.fields == ["phone", "address", "member_id"]
    views = client.get("/api/v1/privacy/views", headers=login(client, "admin")).json()
    assert [(v["complaint_id"], v["fields"]) for v in views] == [
        (case, ["phone", "address", "member_id"])
    ]


def test_the_assigned_handler_may_reveal_the_phone_to_call_the_customer(client, case, org):
    supervisor = login(client, "supervisor")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=supervisor).json()}
    assert (
        run(client, supervisor, case, "assign", {"assignee_id": users["receiver1"]}).status_code
        == 200
    )
    r = client.get(f"/api/v1/complaints/{case}/complainant", headers=login(client, "receiver1"))
    assert r.status_code == 200 and r.json()["phone"] == PHONE


def test_numbers_in_the_description_are_masked_in_lists_for_those_without_the_permission(
    client, case
):
    item = client.get("/api/v1/complaints", headers=login(client, "receiver1")).json()["items"][0]
    assert "138****5678" in item["description"] and PHONE not in item["description"]
    item = client.get("/api/v1/complaints", headers=login(client, "supervisor")).json()["items"][0]
    assert PHONE in item["description"]


def _close_as_enquiry(client, cid):
    receiver = login(client, "receiver1")
    r = run(client, receiver, cid, "classify", {"classification": "enquiry", "reason": "咨询"})
    assert r.status_code == 200, r.text
    assert run(client, login(client, "archivist"), cid, "close", {}).status_code == 200


def test_a_data_subject_gets_everything_held_about_them_and_the_request_is_on_record(
    client, case, sessions
):
    admin = login(client, "admin")
    r = client.post(
        "/api/v1/privacy/subject-export",
        json={"phone": "138-1234-5678", "reason": "本人书面申请查阅"},
        headers=admin,
    )
    assert r.status_code == 200
    assert r.json()["complainants"][0]["phone"] == PHONE
    assert [c["title"] for c in r.json()["complaints"]] == ["沙发坐垫塌陷"]
    requests = client.get("/api/v1/privacy/requests", headers=admin).json()
    assert [(q["kind"], q["reason"]) for q in requests] == [("export", "本人书面申请查阅")]
    with reading(sessions) as s:
        assert s.scalars(select(PersonalDataView.purpose)).all() == ["subject_export"]


def test_erasure_waits_for_open_complaints_then_anonymises_and_keeps_the_record(
    client, case, sessions, settings, monkeypatch
):
    admin = login(client, "admin")
    body = {"phone": PHONE, "reason": "本人要求删除个人信息"}
    r = client.post("/api/v1/privacy/subject-erasure", json=body, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["key"] == "privacy.open_complaints"
    _close_as_enquiry(client, case)
    r = client.post("/api/v1/privacy/subject-erasure", json=body, headers=admin)
    assert r.status_code == 200 and len(r.json()["complaints"]) == 1
    detail = client.get(f"/api/v1/complaints/{case}", headers=login(client, "director")).json()
    assert detail["complainant"]["name"] == "（已匿名）" and detail["complainant"]["phone"] is None
    assert detail["state"] == "closed" and len(detail["timeline"]) == 3
    r = client.post("/api/v1/privacy/subject-export", json=body, headers=admin)
    assert r.status_code == 404  # nothing about the person is left to find
    with reading(sessions) as s:  # nor the digest of what they submitted
        assert s.execute(text("SELECT count(*) FROM submission_key")).scalar() == 0
    kinds = [q["kind"] for q in client.get("/api/v1/privacy/requests", headers=admin).json()]
    assert kinds == ["erasure"]
    from typer.testing import CliRunner

    from kesu.cli import app as cli_app

    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    result = CliRunner().invoke(cli_app, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def _report(sessions, org, now) -> dict:
    from kesu.report import service as report_service

    with reading(sessions) as s:
        period = report_service.period_for("annual", "2026", None)
        report = report_service.build(s, org_id=org["HX"], period=period, locale="zh_Hans", now=now)
        return json.loads(report_service.render(report, "json")[0])


def test_retention_anonymises_closed_complaints_after_three_years_and_the_report_is_unchanged(
    client, org, case, sessions, clock
):
    _close_as_enquiry(client, case)
    open_one = client.post(
        "/api/v1/complaints",
        json=_body(org, complainant={"name": "张先生", "phone": "13900001111"}),
        headers=login(client, "receiver1"),
    ).json()["id"]
    clock.advance(days=365 * 3, hours=23)  # an hour short of three years after closing
    now = clock.now()
    before = _report(sessions, org, now)
    with transaction(sessions) as s:
        assert privacy_service.anonymise_due(s, clock) == 0
    clock.advance(hours=2)
    with transaction(sessions) as s:
        assert privacy_service.anonymise_due(s, clock) == 0  # once a day: it ran 2 hours ago
    clock.advance(days=1)
    with transaction(sessions) as s:
        assert privacy_service.anonymise_due(s, clock) == 1
    assert _report(sessions, org, now) == before
    with reading(sessions) as s:
        people = {c.id: s.get(Complainant, c.complainant_id) for c in s.scalars(select(Complaint))}
        assert people[case].anonymised_at is not None and people[case].phone is None
        assert people[open_one].phone == "13900001111"  # its complaint is still open
        trace = s.scalars(select(PrivacyRequest).where(PrivacyRequest.kind == "retention")).one()
        assert trace.complainant_id == people[case].id


def test_an_organisation_may_keep_personal_data_longer(client, org, case, sessions, clock):
    admin = login(client, "admin")
    r = client.put(f"/api/v1/privacy/retention/{org['SH-NJ']}", json={"years": 5}, headers=admin)
    assert r.status_code == 200
    r = client.get(f"/api/v1/privacy/retention/{org['HZ-XH']}", headers=admin)
    assert r.json() == {"org_id": org["HZ-XH"], "years": 3, "default": True}
    _close_as_enquiry(client, case)
    clock.advance(days=365 * 4)
    with transaction(sessions) as s:
        assert privacy_service.anonymise_due(s, clock) == 0
    clock.advance(days=365 + 2)
    with transaction(sessions) as s:
        assert privacy_service.anonymise_due(s, clock) == 1
    trail = client.get("/api/v1/audit/config", headers=login(client, "admin")).json()
    assert trail[0]["action"] == "retention.set" and trail[0]["details"]["after"] == 5


def test_erasure_also_removes_the_person_from_the_notification_outbox(
    client, case, sessions, clock
):
    from kesu.notify import service as notify_service
    from kesu.notify.models import Outbox

    with transaction(sessions) as s:
        person = s.get(Complaint, case).complainant_id
        notify_service.notify_customer(
            s,
            now=clock.now(),
            complainant_id=person,
            template="customer_complaint_received",
            params={"org": "华夏家居", "name": "林女士", "number": "FS1"},
            dedupe_key="ack",
            complaint_id=case,
        )
    with reading(sessions) as s:
        waiting = s.scalars(select(Outbox).where(Outbox.recipient_kind == "customer")).all()
        assert waiting and any(PHONE in (r.address or "") for r in waiting)
    _close_as_enquiry(client, case)
    body = {"phone": PHONE, "reason": "本人要求删除个人信息"}
    r = client.post("/api/v1/privacy/subject-erasure", json=body, headers=login(client, "admin"))
    assert r.status_code == 200, r.text
    with reading(sessions) as s:
        rows = s.scalars(select(Outbox).where(Outbox.complaint_id == case)).all()
        assert rows
        for row in rows:
            assert "林女士" not in json.dumps(row.params, ensure_ascii=False)
            if row.recipient_kind == "customer":
                assert row.address == "-" and row.state in ("sent", "dead")
