"""The portal over HTTP: consent, rate limits, what a customer may and may not see."""

from __future__ import annotations

import re

from helpers import INVESTIGATION, complaint_body, login, run
from kesu.access.models import User
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.complaint.tracking import path as track_path
from kesu.db.session import transaction
from kesu.notify.models import Outbox
from web.console_helpers import csrf_of, post_form

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\xdac\xfc\xcf\xc0P\x0f\x00\x04\x85\x01\x80\x84\xa9\x8c"
    b"!\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _form(org, **over) -> dict:
    data = {
        "name": "陈先生",
        "phone": "137 0000 1234",
        "preference": "sms",
        "other_contact": "微信 chen1234",
        "site_id": str(org["HZ-XH"]),
        "title": "餐桌开裂",
        "description": "收到两周桌面开裂",
        "demands": "exchange",
        "consent": "yes",
    }
    data.update(over)
    return data


def _submit(client, org, files=None, **over):
    return post_form(client, "/portal", "/portal/complaints", _form(org, **over), files=files)


def test_a_portal_complaint_needs_consent_to_the_privacy_notice(client, org, sessions):
    r = _submit(client, org, consent="")
    assert r.status_code == 422
    assert "隐私说明" in r.text and "餐桌开裂" in r.text
    with transaction(sessions) as session:
        assert session.query(Complaint).count() == 0


def test_a_portal_complaint_is_received_with_its_consent_and_files_on_the_record(
    client, org, sessions
):
    r = _submit(client, org, files=[("files", ("crack.png", PNG, "image/png"))])
    assert r.status_code == 303 and "?new=1" in r.headers["location"]
    with transaction(sessions) as session:
        c = session.query(Complaint).one()
        commands = [
            e.command
            for e in session.query(ComplaintEvent).filter_by(complaint_id=c.id).order_by("seq")
        ]
        assert (c.channel, c.received_by_id) == ("portal", None)
        assert commands == ["receive", "note", "attach_evidence"]
    page = client.get(r.headers["location"]).text
    assert c.number in page and "已受理" in page


def test_tracking_needs_the_right_last_four_digits_and_says_nothing_more(client, org):
    location = _submit(client, org).headers["location"]
    number = re.search(r'data-number="([^"]+)"', client.get(location).text).group(1)
    wrong = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": "9999"})
    unknown = post_form(
        client, "/portal/track", "/portal/track", {"number": "FS1999010001", "last4": "1234"}
    )
    assert wrong.status_code == unknown.status_code == 404
    message = "找不到该投诉，或手机号码后四位不符"
    assert message in wrong.text and message in unknown.text
    right = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": "1234"})
    assert right.status_code == 303 and right.headers["location"].startswith("/portal/t/")


def test_guessing_the_last_four_digits_is_stopped_after_five_tries(client, org):
    location = _submit(client, org).headers["location"]
    number = re.search(r'data-number="([^"]+)"', client.get(location).text).group(1)
    for digits in ("0000", "0001", "0002", "0003", "0004"):
        r = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": digits})
        assert r.status_code == 404
    r = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": "1234"})
    assert r.status_code == 429
    assert "请求过于频繁" in r.text


def test_a_customer_may_follow_their_complaint_as_often_as_they_like(client, org):
    location = _submit(client, org).headers["location"]
    number = re.search(r'data-number="([^"]+)"', client.get(location).text).group(1)
    for _ in range(7):
        r = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": "1234"})
        assert r.status_code == 303
    r = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": "0000"})
    assert r.status_code == 404


def test_one_phone_may_file_three_complaints_an_hour(client, org):
    for _ in range(3):
        assert _submit(client, org).status_code == 303
    r = _submit(client, org)
    assert r.status_code == 429


def test_a_form_sent_back_for_a_correction_does_not_use_up_the_phones_complaints(client, org):
    for _ in range(4):  # the consent box forgotten, again and again
        assert _submit(client, org, consent="").status_code == 422
    for _ in range(3):
        assert _submit(client, org).status_code == 303


def test_the_status_page_names_roles_not_staff_and_hides_other_people(client, app, org, settings):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    version = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()["version"]
    client.post(
        f"/api/v1/complaints/{cid}/commands/acknowledge",
        json={"version": version, "payload": {"message": "已受理，一个工作日内联系您"}},
        headers=headers,
    )
    client.headers.pop("Authorization", None)
    html = client.get(track_path(settings, cid)).text
    assert "主要受理人" in html and "已受理，一个工作日内联系您" in html
    assert "2026-11-27 24:00" in html  # the next promise: the end of Friday, not Saturday 00:00
    assert "王晓丽" not in html  # the receiver's name
    assert "138" not in html  # not even the customer's own phone is echoed


def test_a_forged_or_tampered_tracking_link_is_not_found(client, org, settings):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    client.headers.pop("Authorization", None)
    good = track_path(settings, cid)
    assert client.get(good).status_code == 200
    assert client.get(good[:-2] + ("AA" if not good.endswith("AA") else "BB")).status_code == 404
    assert client.get(f"/portal/t/{cid}").status_code == 404


def test_rating_happens_only_when_the_result_is_given(client, org, settings, sessions):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    client.headers.pop("Authorization", None)
    link = track_path(settings, cid)
    page = client.get(link).text
    assert 'name="satisfaction"' not in page
    assert "我们承诺在此之前答复" in page  # while it is handled, the next promised time
    r = client.post(
        f"{link}/rate",
        data={
            "csrf": csrf_of(client.get("/portal/track").text),
            "version": "1",
            "satisfaction": "4",
        },
    )
    assert r.status_code == 409
    assert "这件投诉的状态已有变化，现在不能评价" in r.text and "版本" not in r.text
    with transaction(sessions) as session:
        assert session.get(Complaint, cid).satisfaction is None


def test_rating_without_choosing_a_grade_says_the_grade_is_required(
    client, org, settings, sessions
):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    for command, payload in [
        ("classify", {"classification": "valid", "reason": "情况属实"}),
        (
            "record_investigation",
            INVESTIGATION,
        ),
        ("propose_solution", {"solution_type": "exchange", "amount": 150, "description": "换"}),
        ("implement", {}),
    ]:
        assert run(client, headers, cid, command, payload).status_code == 200, command
    version = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()["version"]
    client.headers.pop("Authorization", None)
    link = track_path(settings, cid)
    page = client.get(link).text
    assert 'name="satisfaction"' in page
    assert "我们承诺在此之前答复" not in page  # the answer is given: it waits for the customer
    r = client.post(
        f"{link}/rate",
        data={"csrf": csrf_of(page), "version": str(version), "comment": "还行"},
    )
    assert r.status_code == 422
    assert "满意度：必填" in r.text and "必须是整数" not in r.text
    assert ">还行</textarea>" in r.text  # what the customer wrote is still there to send
    r = client.post(
        f"{link}/rate",
        data={"csrf": csrf_of(page), "version": str(version), "satisfaction": "9"},
    )
    assert r.status_code == 422
    assert "满意度：请选择列出的一项" in r.text and "制度" not in r.text
    # a grade sent twice (a second click) is taken once and thanked twice
    rating = {"csrf": csrf_of(page), "version": str(version), "satisfaction": "2"}
    for _ in range(2):
        r = client.post(f"{link}/rate", data=rating, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?rated=1")
    with transaction(sessions) as session:
        rated = session.query(ComplaintEvent).filter_by(complaint_id=cid, command="record_response")
        assert rated.count() == 1
    # rated: nothing is asked of the customer any more while staff review and file it
    assert "待您确认" not in client.get(link).text


def test_a_blank_title_or_name_is_reported_as_required_in_the_readers_language(client, org):
    r = _submit(client, org, title="   ", phone="137 0000 2001")
    assert r.status_code == 422
    assert "标题：必填" in r.text and "必须是文本" not in r.text
    r = _submit(client, org, name=" ", phone="137 0000 2002")
    assert r.status_code == 422 and "姓名：必填" in r.text and "必须是文本" not in r.text
    client.get("/lang/en")
    r = _submit(client, org, title="", phone="137 0000 2003")
    assert r.status_code == 422
    assert "Title: required" in r.text and "must be text" not in r.text


def test_a_customer_who_files_in_english_is_answered_in_english(client, org, sessions):
    assert _submit(client, org, phone="137 0000 3001").status_code == 303
    client.get("/lang/en")
    assert _submit(client, org, phone="137 0000 3002").status_code == 303
    with transaction(sessions) as session:
        filed = {c.id: c.locale for c in session.query(Complaint)}
        told = [
            (r.complaint_id, r.locale)
            for r in session.query(Outbox).filter_by(recipient_kind="customer")
        ]
    assert sorted(filed.values()) == ["en", "zh_Hans"]
    assert sorted({loc for _, loc in told}) == ["en", "zh_Hans"]
    assert all(loc == filed[cid] for cid, loc in told)


def test_files_staff_attach_are_not_listed_on_the_customers_page(
    client, org, settings, sessions, clock
):
    from kesu.access import service as access_service
    from kesu.complaint import evidence
    from kesu.complaint import service as complaint_service

    location = _submit(client, org, files=[("files", ("crack.png", PNG, "image/png"))]).headers[
        "location"
    ]
    with transaction(sessions) as session:
        c = session.query(Complaint).one()
        actor = complaint_service.actor_of(access_service.by_username(session, "receiver1"))
        evidence.attach(
            session, clock, settings.evidence_dir, c, actor, "王晓丽询问店员记录.png", PNG, 10**6
        )
    page = client.get(location).text
    assert "crack.png" in page  # the customer's own file
    assert "王晓丽询问店员记录" not in page


def test_a_phone_typed_in_odd_groups_still_tracks_by_its_last_four_digits(client, org):
    location = _submit(client, org, phone="1370000 12-34").headers["location"]
    number = re.search(r'data-number="([^"]+)"', client.get(location).text).group(1)
    for typed in ("1234", "１２３４"):  # a Chinese input method's full-width digits too
        r = post_form(client, "/portal/track", "/portal/track", {"number": number, "last4": typed})
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/t/")


def test_the_customer_sees_on_the_portal_the_decision_the_pack_sent_them(
    client, sessions, clock, settings
):
    """12315 Art. 14: the complainant is told whether the complaint is accepted; the message's
    link opens a page that says the same, not "已受理" over a refusal."""
    from scenarios.world import VALID, World

    staff = [("officer", "case_officer", "MR")]  # beside the demo group, its own department
    world = World.build(sessions, clock, "market-regulation-12315", staff, departments=("MR",))
    world.ids["CS"] = world.ids["MR"]
    body = {"channel": "platform_12315", "level": "ordinary", "category": "prepaid"}
    accepted, refused = world.receive("officer", **body), world.receive("officer", **body)
    world.run("officer", accepted, "classify", VALID)
    world.run("officer", refused, "classify", {"classification": "invalid", "reason": "不属管辖"})
    page = client.get(track_path(settings, accepted)).text
    assert "审查结果" in page and "您的投诉已受理，我们将依程序处理" in page
    page = client.get(track_path(settings, refused)).text
    assert "审查结果" in page and "经审查，您的投诉不予受理" in page
    assert 'data-state="new">已答复结果' in page  # not "已受理" over a refusal
    assert "不属管辖" not in page  # the staff's reason is theirs to explain, not echoed
    client.get("/lang/en")
    page = client.get(track_path(settings, refused)).text
    assert "Decision on your complaint" in page and "判定性质" not in page


def test_a_customer_asks_a_question_on_the_status_page_and_the_handler_is_told(
    client, org, sessions
):
    location = _submit(client, org, files=[("files", ("crack.png", PNG, "image/png"))]).headers[
        "location"
    ]
    link = location.split("?")[0]
    with transaction(sessions) as session:
        c = session.query(Complaint).one()
        cid, version, assignee = c.id, c.version, c.assignee_id
        session.get(User, assignee).email = "handler@example.com"
    page = client.get(link).text
    assert "留言或补充材料" in page
    assert "隐私说明（版本" not in page  # the consent on record is not a message of theirs
    r = client.post(
        f"{link}/message", data={"csrf": csrf_of(page), "version": str(version), "text": "  "}
    )
    assert r.status_code == 422 and "内容：必填" in r.text
    question = {"csrf": csrf_of(page), "version": str(version), "text": "请问什么时候上门？"}
    for _ in range(2):  # a second click files it once
        r = client.post(
            f"{link}/message",
            data=question,
            files=[("files", ("receipt.png", PNG[:-1] + b"\x82", "image/png"))],
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].endswith("?sent=1")
    page = client.get(r.headers["location"]).text
    assert "您的留言已收到" in page and "您的留言" in page and "请问什么时候上门？" in page
    with transaction(sessions) as session:
        notes = session.query(ComplaintEvent).filter_by(complaint_id=cid, command="note")
        assert [(e.actor_kind, e.payload["text"]) for e in notes][1:] == [
            ("customer", "请问什么时候上门？")
        ]
        told = session.query(Outbox).filter_by(
            complaint_id=cid, recipient_kind="user", template="complaint_alert"
        )
        assert {r.recipient_id for r in told} == {assignee}
        assert "留言" in told.first().params["event"]["zh_Hans"]


def test_staff_notes_stay_off_the_customers_page_and_a_closed_complaint_takes_a_question(
    client, org, settings, sessions, clock
):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    assert run(client, headers, cid, "note", {"text": "内部：店长说客户难缠"}).status_code == 200
    enquiry = {"classification": "enquiry", "reason": "只是咨询"}
    assert run(client, headers, cid, "classify", enquiry).status_code == 200
    closer = login(client, "archivist")
    assert run(client, closer, cid, "close", {"summary": "已解答"}).status_code == 200
    client.headers.pop("Authorization", None)
    link = track_path(settings, cid)
    page = client.get(link).text
    assert "已办结" in page and "店长说客户难缠" not in page
    with transaction(sessions) as session:
        version = session.get(Complaint, cid).version
    r = client.post(
        f"{link}/message",
        data={"csrf": csrf_of(page), "version": str(version), "text": "我没有撤诉，请回电"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(link).text
    assert "我没有撤诉，请回电" in page and "店长说客户难缠" not in page


def test_once_the_complainant_is_erased_their_old_link_opens_nothing(
    client, org, settings, sessions
):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    link = track_path(settings, cid)
    page = client.get(link).text
    assert "沙发坐垫塌陷" in page
    enquiry = {"classification": "enquiry", "reason": "只是咨询"}
    assert run(client, headers, cid, "classify", enquiry).status_code == 200
    assert run(client, login(client, "archivist"), cid, "close", {}).status_code == 200
    erase = {"phone": "138 1234 5678", "reason": "本人要求删除个人信息"}
    admin = login(client, "admin")
    assert client.post("/api/v1/privacy/subject-erasure", json=erase, headers=admin).is_success
    client.headers.pop("Authorization", None)
    r = client.get(link)
    assert r.status_code == 404 and "沙发坐垫塌陷" not in r.text
    r = client.post(f"{link}/message", data={"csrf": csrf_of(page), "version": "9", "text": "我"})
    assert r.status_code == 404
    with transaction(sessions) as session:
        notes = session.query(ComplaintEvent).filter_by(complaint_id=cid, command="note")
        assert notes.count() == 0
