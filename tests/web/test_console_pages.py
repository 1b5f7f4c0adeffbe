"""The console over HTTP (TestClient): sign-in cookie, CSRF, escaping, permissions, recusal."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from helpers import INVESTIGATION, complaint_body, login, run
from kesu.access.models import User
from kesu.complaint.commands import COMMANDS
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.complaint.tracking import path as track_path
from kesu.db.session import transaction
from kesu.demo import PASSWORD
from kesu.notify.models import Outbox
from kesu.web.console.forms import FIELDS
from kesu.web.console.record import labelled, spaced
from web.console_helpers import VERSION, csrf_of, intake_form, post_form, sign_in


def _complaint(client, org, **over) -> int:
    headers = login(client, "receiver1")
    r = client.post("/api/v1/complaints", json=complaint_body(org, **over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _events(sessions, cid: int) -> int:
    with transaction(sessions) as session:
        return session.query(ComplaintEvent).filter_by(complaint_id=cid).count()


def test_console_pages_send_a_visitor_to_the_sign_in_page(client):
    r = client.get("/handover", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/handover"


def test_signing_in_returns_to_the_queue_or_report_asked_for_with_its_filters(client):
    r = client.get("/reports?kind=monthly&period=2026-10", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/reports%3Fkind%3Dmonthly%26period%3D2026-10"
    page = client.get(r.headers["location"])
    assert 'name="next" value="/reports?kind=monthly&amp;period=2026-10"' in page.text
    form = {
        "username": "director",
        "password": PASSWORD,
        "next": "/reports?kind=monthly&period=2026-10",
    }
    r = post_form(client, "/login", "/login", form)
    assert r.headers["location"] == "/reports?kind=monthly&period=2026-10"
    client.cookies.clear()
    long = "/?queue=all&q=" + "沙发" * 200  # too long to carry: the page itself
    assert client.get(long, follow_redirects=False).headers["location"] == "/login?next=/"


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    r = sign_in(client, "receiver1")
    cookie = r.headers["set-cookie"]
    assert "kesu_session=kss_" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_in_production(settings, clock, org):
    from fastapi.testclient import TestClient

    from kesu.web.app import create_app

    app = create_app(settings.model_copy(update={"environment": "production"}), clock)
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" in sign_in(client, "receiver1").headers["set-cookie"]
    app.state.engine.dispose()


def test_a_wrong_password_shows_the_reason_and_sets_no_session(client):
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "receiver1", "password": "nope-nope", "csrf": csrf_of(page.text)},
    )
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert "kesu_session" not in r.headers.get("set-cookie", "")


def test_signing_out_revokes_the_session(client):
    sign_in(client, "receiver1")
    stolen = client.cookies.get("kesu_session")
    r = post_form(client, "/", "/logout", {})
    assert r.status_code == 303
    client.cookies.set("kesu_session", stolen)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(client, org, sessions):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    before = _events(sessions, cid)
    r = client.post(
        f"/complaints/{cid}/commands/acknowledge", data={"version": "1", "message": "hi"}
    )
    assert r.status_code == 403
    assert "CSRF" in r.text
    assert _events(sessions, cid) == before


def test_a_csrf_token_from_another_browser_is_refused(client, app, org, sessions):
    from fastapi.testclient import TestClient

    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    token = csrf_of(client.get(f"/complaints/{cid}").text)
    with TestClient(app) as other:
        sign_in(other, "receiver2")
        r = other.post(
            f"/complaints/{cid}/commands/acknowledge", data={"version": "1", "csrf": token}
        )
    assert r.status_code == 403
    assert _events(sessions, cid) == 1


def test_complaint_text_is_escaped_on_every_page(client, org):
    cid = _complaint(
        client,
        org,
        title="<script>alert(1)</script>",
        description='<img src=x onerror="alert(2)">',
    )
    sign_in(client, "supervisor")
    for url in ("/?queue=all", f"/complaints/{cid}", "/handover", f"/complaints/{cid}/received"):
        html = client.get(url).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html


def test_pages_have_no_inline_scripts_or_event_handlers(client, org):
    cid = _complaint(client, org)
    sign_in(client, "supervisor")
    urls = ["/", "/intake", f"/complaints/{cid}", "/handover", "/dashboard", "/forms/weekly"]
    for url in [*urls, f"/complaints/{cid}/forms/handling_form"]:
        html = client.get(url).text
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert all("src=" in attrs or "application/json" in attrs for attrs in scripts), url
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert "style=" not in html, url


def test_a_receiver_is_not_offered_sign_off_and_posting_it_is_refused(client, org, sessions):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    page = client.get(f"/complaints/{cid}").text
    assert 'id="action-acknowledge"' in page and 'id="action-sign_off"' not in page
    r = post_form(
        client, f"/complaints/{cid}", f"/complaints/{cid}/commands/sign_off", {"version": "1"}
    )
    assert r.status_code == 403
    assert "无权执行" in r.text
    assert _events(sessions, cid) == 1


def test_a_stale_page_gets_a_conflict_and_changes_nothing(client, org, sessions):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    url = f"/complaints/{cid}"
    assert post_form(client, url, f"{url}/commands/note", {"version": "1", "text": "a"}).is_redirect
    r = post_form(client, url, f"{url}/commands/note", {"version": "1", "text": "b"})
    assert r.status_code == 409
    assert "下方已是最新情况" in r.text and "刷新" not in r.text  # a refresh would post it again
    assert _events(sessions, cid) == 2
    form = r.text.split('id="action-note"')[1].split("</details>")[0]
    assert 'name="version" value="2"' in form and ">b</textarea>" in form  # as typed, current
    assert post_form(client, url, f"{url}/commands/note", {"version": "2", "text": "b"}).is_redirect


def test_a_failed_action_names_the_field_and_keeps_what_was_typed(client, org):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    url = f"/complaints/{cid}"
    r = post_form(
        client, url, f"{url}/commands/classify", {"version": "1", "reason": "客户要求咨询价格"}
    )
    assert r.status_code == 422
    assert "投诉性质" in r.text and "必填" in r.text
    assert "客户要求咨询价格" in r.text
    assert '<details class="action" id="action-classify" open>' in r.text


def test_a_failed_investigation_keeps_every_root_cause_ticked(client, org):
    cid = _complaint(client, org)
    headers = login(client, "receiver1")
    assert run(client, headers, cid, "acknowledge").status_code == 200
    payload = {"classification": "valid", "reason": "情况属实"}
    assert run(client, headers, cid, "classify", payload).status_code == 200
    sign_in(client, "receiver1")
    url = f"/complaints/{cid}"
    page = client.get(url)
    r = client.post(
        f"{url}/commands/record_investigation",
        data={
            "csrf": csrf_of(page.text),
            "version": VERSION.search(page.text).group(1),
            "findings": "坐垫海绵密度不达标",
            "root_causes": ["material", "process"],
            "responsibility.0.party": "质量管理部",
            "responsibility.0.share": "60",
            "responsibility.1.party": "物流部",
            "responsibility.1.share": "30",
            "founded": "yes",
        },
    )
    assert r.status_code == 422 and "现为 90%" in r.text
    ticked = re.findall(r'name="root_causes" value="(\w+)" checked', r.text)
    assert sorted(ticked) == ["material", "process"]


def test_the_printed_form_names_whoever_a_dissatisfied_answer_handed_the_case_to(client, org):
    cid = _complaint(client, org)
    headers = login(client, "receiver1")
    for command, payload in [
        ("acknowledge", {}),
        ("record_contact", {"reached": True, "summary": "已电话联系"}),
        ("classify", {"classification": "valid", "reason": "情况属实"}),
        (
            "record_investigation",
            INVESTIGATION,
        ),
        ("propose_solution", {"solution_type": "exchange", "amount": 150, "description": "换"}),
        ("implement", {"notes": "已上门更换"}),
        ("record_response", {"satisfaction": 4}),
    ]:
        assert run(client, headers, cid, command, payload).status_code == 200, command
    detail = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    handler = detail["assignee_id"]
    assert handler is not None and detail["level"] == "L2"
    supervisor = login(client, "supervisor")
    users = client.get("/api/v1/users", headers=supervisor).json()
    director = next(u["id"] for u in users if u["username"] == "director")
    assert run(client, supervisor, cid, "assign", {"assignee_id": director}).status_code == 200
    sign_in(client, "supervisor")
    html = client.get(f"/complaints/{cid}/forms/handling_form").text
    assert "处理人：张伟" in html
    assert f"处理人：{handler}<" not in html and f"处理人：{handler}；" not in html


def test_the_record_reads_in_english_with_english_punctuation_and_paused_clocks_named(client, org):
    cid = _complaint(client, org)
    receiver = login(client, "receiver1")
    for command, payload in [
        ("acknowledge", {}),
        ("record_contact", {"reached": True, "summary": "已电话联系"}),
        ("request_delay", {"reason": "客户出差", "until": "2026-12-10T10:00:00+08:00"}),
    ]:
        assert run(client, receiver, cid, command, payload).status_code == 200, command
    assert run(client, login(client, "director"), cid, "approve_delay").status_code == 200
    sign_in(client, "supervisor")
    html = client.get(f"/complaints/{cid}?lang=en").text
    assert "web.timer." not in html
    assert "Paused: " in html and "Met: " in html
    assert "Met：" not in html and "；" not in html
    zh = client.get(f"/complaints/{cid}?lang=zh-CN").text
    assert "暂停计时：" in zh and "已完成：" in zh


def test_the_queue_search_finds_a_number_as_it_was_read_out_to_the_caller(client, org, sessions):
    cid = _complaint(client, org)
    with transaction(sessions) as session:
        number = session.get(Complaint, cid).number
    sign_in(client, "receiver1")
    read_out = spaced(number, "FS{yyyy}{mm}{seq:4}")
    assert " " in read_out
    html = client.get("/", params={"queue": "all", "q": read_out}).text
    assert f'href="/complaints/{cid}"' in html


def test_the_queue_search_ignores_letter_case_on_every_database(client, org, sessions):
    cid = _complaint(client, org, title="Sofa cushion sagging")
    with transaction(sessions) as session:
        number = session.get(Complaint, cid).number
    sign_in(client, "receiver1")
    for typed in (number.lower(), "SOFA", "sofa cushion"):
        html = client.get("/", params={"queue": "all", "q": typed}).text
        assert f'href="/complaints/{cid}"' in html, typed


def test_an_enquiry_waits_in_the_archivists_queue_to_be_closed_with_its_reason(client, org):
    cid = _complaint(client, org)
    valid = _complaint(client, org, title="另一条有效投诉")
    receiver = login(client, "receiver1")
    payload = {"classification": "enquiry", "reason": "只是咨询退货政策"}
    assert run(client, receiver, cid, "classify", payload).status_code == 200
    payload = {"classification": "valid", "reason": "情况属实"}
    assert run(client, receiver, valid, "classify", payload).status_code == 200
    sign_in(client, "archivist")
    html = client.get("/", params={"queue": "review"}).text
    assert f'href="/complaints/{cid}"' in html
    assert f'href="/complaints/{valid}"' not in html
    assert 'id="action-close"' in client.get(f"/complaints/{cid}").text


def test_the_menu_offers_intake_only_to_those_who_may_register_a_complaint(client, org):
    sign_in(client, "archivist")
    assert 'href="/intake"' not in client.get("/").text
    assert client.get("/intake").status_code == 403


def test_a_refusal_names_the_role_and_the_action_in_words(client, org):
    sign_in(client, "archivist")
    r = client.get("/intake")
    assert r.status_code == 403 and "您的角色（事务文员）无权执行「受理登记」" in r.text
    r = client.get("/intake?lang=en")
    assert "Your role (Archivist (records clerk)) may not issue &#39;Receive&#39;" in r.text
    sign_in(client, "receiver1")
    assert 'href="/intake"' in client.get("/").text


def test_a_breached_time_limit_reads_in_words_on_the_timeline(client, org, clock, sessions):
    from datetime import timedelta

    from kesu.sla import sweep

    cid = _complaint(client, org)
    clock.set(clock.now() + timedelta(days=5))
    with transaction(sessions) as session:
        sweep.sweep(session, clock)
    sign_in(client, "supervisor")
    page = client.get(f"/complaints/{cid}").text
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert "超时" in timeline and "系统" in timeline and "一个工作日内联系投诉人" in timeline
    for raw in ("first_contact", "整改期限", "+00:00<", ">round<", "user_id", "system<"):
        assert raw not in timeline, raw


def test_a_contact_may_note_the_language_the_customer_wants_to_be_written_to_in(
    client, org, sessions
):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    html = client.get(f"/complaints/{cid}").text
    form = html.split('id="action-record_contact"')[1].split("</details>")[0]
    assert 'name="locale"' in form and "繁體中文" in form and "English" in form
    fields = {"version": "1", "reached": "yes", "method": "phone", "locale": "en"}
    for _ in range(2):  # a second click is done once, not refused as someone else's change
        r = post_form(client, "/", f"/complaints/{cid}/commands/record_contact", fields)
        assert r.status_code == 303, r.text
    assert _events(sessions, cid) == 2  # received, contacted
    with transaction(sessions) as session:
        assert session.get(Complaint, cid).locale == "en"
    timeline = client.get(f"/complaints/{cid}").text.split('<ol class="timeline">')[1]
    assert "<dt>客户语言</dt><dd>English</dd>" in timeline.split("</ol>")[0]


def test_a_staff_member_who_switches_language_gets_their_messages_in_it(client, org, sessions):
    with transaction(sessions) as session:
        session.query(User).filter_by(username="supervisor").one().email = "zhang@hx.example"
    sign_in(client, "supervisor")
    assert client.get("/lang/en?next=/", follow_redirects=False).status_code == 303
    cid = _complaint(client, org, level="L2")  # an L2 complaint alerts the supervisor
    with transaction(sessions) as session:
        told = session.scalars(
            select(Outbox).where(
                Outbox.complaint_id == cid,
                Outbox.recipient_kind == "user",
                Outbox.template == "complaint_alert",
            )
        ).all()
    assert [r.locale for r in told] == ["en"]
    headers = login(client, "supervisor")
    r = client.put("/api/v1/me/locale", json={"locale": "fr"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["field"] == "body.locale"
    r = client.put("/api/v1/me/locale", json={"locale": "zh_Hant"}, headers=headers)
    assert r.status_code == 200 and r.json()["locale"] == "zh_Hant"
    assert client.get("/api/v1/me", headers=headers).json()["locale"] == "zh_Hant"


def test_a_transfer_offers_only_receivers_who_may_handle_the_complaint_at_its_level(client, org):
    cid = _complaint(client, org)
    supervisor = login(client, "supervisor")
    assert run(client, supervisor, cid, "categorize", {"level": "L2"}).status_code == 200
    sign_in(client, "supervisor")
    html = client.get(f"/complaints/{cid}").text
    form = html.split('id="action-transfer"')[1].split("</details>")[0]
    choices = form.split('name="to"')[1].split("</select>")[0]
    assert "刘洋" in choices  # the logistics manager (tier 2)
    assert "陈静" not in choices and "王晓丽" not in choices  # tier 1 receivers
    assert "物流部" in choices and "质量管理部" not in choices  # nobody there could accept it


def test_the_transfer_form_offers_each_person_under_their_own_desk_so_the_two_always_match(
    client, org, sessions
):
    cid = _complaint(client, org)
    sign_in(client, "supervisor")
    html = client.get(f"/complaints/{cid}").text
    form = html.split('id="action-transfer"')[1].split("</details>")[0]
    assert 'name="to_user_id"' not in form and 'name="to_department_id"' not in form
    desks = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', form))
    assert set(desks) == {"综合服务部", "物流部"}  # only desks someone could accept it at
    with transaction(sessions) as session:
        ids = {u.username: u.id for u in session.query(User)}
    assert f'value="{org["LOG"]}:{ids["supervisor2"]}"' in desks["物流部"]
    assert f'value="{org["LOG"]}:' not in desks["综合服务部"]
    assert f'value="{org["LOG"]}">物流部（部门内有权限者接收）' in desks["物流部"]
    for username in ("admincenter", "admin"):  # no desk: a transfer to them can only be refused
        assert f':{ids[username]}"' not in form
    assert f':{ids["receiver1"]}"' not in form  # who handles it already
    assert f':{ids["receiver2"]}"' in form
    page = f"/complaints/{cid}"
    to = f"{org['LOG']}:{ids['supervisor2']}"
    r = post_form(
        client,
        page,
        f"{page}/commands/transfer",
        {"version": VERSION.search(html).group(1), "to": to, "reason": "属物流问题"},
    )
    assert r.status_code == 303, r.text
    with transaction(sessions) as session:
        pending = session.get(Complaint, cid).pending_transfer
    assert (pending["to_department_id"], pending["to_user_id"]) == (org["LOG"], ids["supervisor2"])
    mismatch = _complaint(client, org, title="另一件")
    page = f"/complaints/{mismatch}"
    html = client.get(page).text
    forged = {"version": VERSION.search(html).group(1), "reason": "属物流问题"}
    forged["to"] = f"{org['CS']}:{ids['supervisor2']}"
    r = post_form(client, page, f"{page}/commands/transfer", forged)
    assert r.status_code == 422 and "接收人：该员工不在接收部门" in r.text
    assert f'<option value="{forged["to"]}" selected' not in r.text


def test_the_solution_form_asks_for_what_will_be_done_not_the_complaints_description(client, org):
    cid = _complaint(client, org)
    headers = login(client, "receiver1")
    run(client, headers, cid, "classify", {"classification": "valid", "reason": "属实"})
    assert run(client, headers, cid, "record_investigation", INVESTIGATION).status_code == 200
    sign_in(client, "receiver1")
    html = client.get(f"/complaints/{cid}").text
    form = html.split('id="action-propose_solution"')[1].split("</details>")[0]
    assert '<label for="propose_solution-description">方案说明' in form
    assert "投诉内容" not in form


def test_a_transfer_waits_in_the_receiving_sides_review_queue_until_it_is_answered(client, org):
    to_desk = _complaint(client, org, title="转物流部")
    to_person = _complaint(client, org, title="转给刘洋")
    headers = login(client, "receiver1")
    payload = {"to_department_id": org["LOG"], "reason": "属物流问题"}
    assert run(client, headers, to_desk, "transfer", payload).status_code == 200
    with_person = {**payload, "to_user_id": _user_id(client, "supervisor2")}
    assert run(client, headers, to_person, "transfer", with_person).status_code == 200
    sign_in(client, "receiver3")  # a tier-1 receiver of the logistics desk
    queue = client.get("/?queue=review").text
    assert "转物流部" in queue and "转给刘洋" not in queue
    sign_in(client, "supervisor2")  # the logistics manager
    queue = client.get("/?queue=review").text
    assert "转物流部" in queue and "转给刘洋" in queue
    sign_in(client, "supervisor")  # the sending desk's manager has nothing to answer
    queue = client.get("/?queue=review").text
    assert "转物流部" not in queue and "转给刘洋" not in queue
    assert run(client, login(client, "receiver3"), to_desk, "accept_transfer").status_code == 200
    sign_in(client, "receiver3")
    assert "转物流部" not in client.get("/?queue=review").text


def _user_id(client, username: str) -> int:
    return client.get("/api/v1/me", headers=login(client, username)).json()["id"]


def test_the_person_complained_about_gets_404_for_the_page_its_forms_and_evidence(
    client, org, sessions
):
    with transaction(sessions) as session:
        clerk = session.query(User).filter_by(username="clerk").one().id
    cid = _complaint(client, org, staff_complained_id=clerk)
    sign_in(client, "clerk")
    for url in (
        f"/complaints/{cid}",
        f"/complaints/{cid}/forms/handling_form",
        f"/complaints/{cid}/forms/handling_form/pdf",
        f"/complaints/{cid}/received",
    ):
        assert client.get(url).status_code == 404, url
    r = post_form(client, "/", f"/complaints/{cid}/commands/note", {"version": "1", "text": "x"})
    assert r.status_code == 404
    assert _events(sessions, cid) == 1


def test_intake_registers_through_the_same_service_and_reports_missing_fields(
    client, org, sessions
):
    sign_in(client, "receiver1")
    r = post_form(client, "/intake", "/intake", {"complainant.name": "王先生", "title": "无内容"})
    assert r.status_code == 422
    assert "投诉内容" in r.text and "王先生" in r.text
    form = intake_form(org, demands="repair", locale="zh_Hant")
    r = post_form(client, "/intake", "/intake", form)
    assert r.status_code == 303
    cid = int(r.headers["location"].split("/")[2])
    with transaction(sessions) as session:
        c = session.get(Complaint, cid)
        assert (c.title, c.channel, c.demands, c.state) == ("床垫异响", "phone", ["repair"], "new")
        assert c.locale == "zh_Hant"  # the receiver noted the customer reads traditional
    page = client.get(f"/complaints/{cid}").text
    assert "繁體中文" in page.split("客户语言")[1][:60]
    # what is read back and the reply templates are in the customer's language, the rest not
    received = client.get(f"/complaints/{cid}/received").text
    assert "跟您確認一下：您是王先生" in received and "请把记录读给" not in received
    assert "<h2>复述确认</h2>" in page and "跟您確認一下" in page
    assert "我是客服" in page and "很高興為您服務" in page  # the reply templates too


def test_intake_for_a_site_that_does_not_exist_names_the_field(client, org, sessions):
    """A tampered site id answered 找不到组织 99999, naming no field, and nothing was kept."""
    sign_in(client, "receiver1")
    r = post_form(client, "/intake", "/intake", intake_form(org, site_id="99999"))
    assert r.status_code == 422 and "门店/站点" in r.text and "99999" in r.text
    assert "找不到组织" not in r.text and "床垫异响" in r.text  # the form comes back as typed
    with transaction(sessions) as session:
        assert session.query(Complaint).count() == 0


def test_intake_calls_a_field_left_blank_or_only_spaces_required(client, org, sessions):
    sign_in(client, "receiver1")
    r = post_form(
        client,
        "/intake",
        "/intake",
        {"complainant.name": "  ", "title": "   ", "description": "保修期内异响"},
    )
    assert r.status_code == 422
    assert "姓名：必填" in r.text and "标题：必填" in r.text
    assert "必须是文字" not in r.text
    assert "保修期内异响" in r.text


def test_intake_opens_the_more_section_when_the_error_is_in_it(client, org):
    sign_in(client, "receiver1")
    r = post_form(client, "/intake", "/intake", intake_form(org, occurred_at="2030-01-01T10:00"))
    assert r.status_code == 422 and "发生时间" in r.text
    assert '<details class="wide" open>' in r.text
    assert 'value="2030-01-01T10:00"' in r.text


def test_the_repeat_complainant_lookup_lists_only_what_the_viewer_may_see(client, org, sessions):
    with transaction(sessions) as session:
        clerk = session.query(User).filter_by(username="clerk").one().id
    _complaint(client, org, title="第一次投诉")
    _complaint(client, org, title="关于店员", staff_complained_id=clerk)
    sign_in(client, "clerk")
    html = client.get("/intake/lookup", params={"complainant.phone": "138 1234 5678"}).text
    assert "第一次投诉" in html and "关于店员" not in html
    assert 'data-known-name="林女士"' in html


def test_the_repeat_complainant_lookup_is_only_for_those_who_take_complaints(client, org):
    _complaint(client, org, title="第一次投诉")
    sign_in(client, "archivist")  # sees the complaint masked, may not take complaints
    r = client.get("/intake/lookup", params={"complainant.phone": "138 1234 5678"})
    assert r.status_code == 403 and "林女士" not in r.text and "第一次投诉" not in r.text


def test_every_command_has_a_console_form():
    assert set(FIELDS) == set(COMMANDS)


@pytest.mark.parametrize(
    ("number", "pattern", "read"),
    [
        ("FS2026110007", "FS{yyyy}{mm}{seq:4}", "FS 2026 11 0007"),
        ("FS20261112345", "FS{yyyy}{mm}{seq:4}", "FS 2026 11 12345"),
        ("100912099", "{yy}{mm}{dd}{seq:3}", "10 09 12 099"),
        ("A-2026-0001", "A-{yyyy}-{seq:4}", "A 2026 0001"),
    ],
)
def test_numbers_are_read_out_in_the_parts_of_their_pattern(number, pattern, read):
    assert spaced(number, pattern) == read


def test_pages_render_without_the_vendor_assets(client, org, monkeypatch, tmp_path):
    from kesu.web import pages

    monkeypatch.setattr(pages, "STATIC_DIR", tmp_path)
    sign_in(client, "supervisor")
    for url in ("/", "/intake", "/dashboard"):
        r = client.get(url)
        assert r.status_code == 200
        assert "vendor/" not in r.text
    assert 'class="list chart-table"' in client.get("/dashboard").text


def _keys_shown() -> set[str]:
    """Every message key the console and portal can show (templates and code, all families)."""
    from pathlib import Path

    from kesu.complaint.lifecycle import STATES
    from kesu.web.console import printing, queries, record
    from kesu.web.console.forms import CONTACT_METHODS
    from kesu.web.console.intake import SUBJECT_FIELDS
    from kesu.web.portal.routes import CUSTOMER_EVENTS

    root = Path(printing.__file__).resolve().parents[1]
    keys = set()
    for path in [
        *root.glob("templates/**/*.html"),
        *root.glob("console/*.py"),
        *root.glob("portal/*.py"),
    ]:
        keys |= set(
            re.findall(
                r"""\b(?:t|translate)\(\s*["']((?:web|portal)\.[a-z_.]+[a-z_])["']""",
                path.read_text(),
            )
        )
    layouts = [*printing.LAYOUTS.values(), printing.DEFAULT_LAYOUT]
    families = {
        "command": set(FIELDS) | {"receive", "attach_evidence"},
        "state": set(STATES),
        "web.queue": set(queries.QUEUES),
        "web.waiting": set(queries.WAITING),
        "web.method": set(CONTACT_METHODS),
        "web.subject": set(SUBJECT_FIELDS)
        | {"batch", "store", "merchant", "facility", "staff_name"},
        "web.form": set(printing.LAYOUTS)
        | set(printing.WEEKLY.values())
        | printing.PERIOD_FORMS
        | {"complaint_record"},
        "web.block": {b for lay in layouts for b in lay.blocks} | {"totals"},
        "web.sign": {s.key for lay in layouts for s in (*lay.signs, *lay.closing)} | {"review"},
        "web.duty": {"prepare", "review", "approve", "informed"},
        "web.time": {
            "received_at",
            "acknowledged_at",
            "first_contact_at",
            "resolved_at",
            "closed_at",
            "followed_up_at",
        },
        "web.timer": {
            *("running", "met", "cancelled", "breached", "started"),
            *("paused", "resumed", "extended", "retimed"),
        },
        "web.sep": {"colon", "items", "list"},
        "web.delay": {"requested", "approved", "rejected"},
        "web.reply": {k for ks in record.REPLIES.values() for k in ks}
        | set(record.DEFAULT_REPLIES),
        "portal.event": set(CUSTOMER_EVENTS),
        "portal.stage": {"received", "handling", "result", "closed"},
    }
    for prefix, names in families.items():
        keys |= {f"{prefix}.{n}" for n in names}
    keys |= {f"web.reply.{k}.title" for k in families["web.reply"]}
    return keys


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_every_text_the_pages_show_exists_in_each_language(locale):
    from kesu.i18n import catalogue

    keys = _keys_shown()
    assert len(keys) > 200
    assert sorted(k for k in keys if k not in catalogue(locale)) == []


def test_the_hand_over_lists_the_most_urgent_per_desk_and_links_the_rest(client, org, monkeypatch):
    from kesu.web.console import queries

    monkeypatch.setattr(queries, "HANDOVER_ROWS", 2)
    ids = [_complaint(client, org, department_id=org["LOG"], title=f"物流 {i}") for i in range(3)]
    other = _complaint(client, org, title="综合服务")
    sign_in(client, "director")
    page = client.get("/handover").text
    assert "未结 3，今日新增 3" in page and "未结 1，今日新增 1" in page
    listed = {cid for cid in [*ids, other] if f'href="/complaints/{cid}"' in page}
    assert len(listed & set(ids)) == 2 and other in listed
    assert "另有 1 件" in page
    link = f"/?queue=team&amp;department={org['LOG']}"
    assert link in page
    queue = client.get(link.replace("&amp;", "&")).text
    assert all(f'href="/complaints/{cid}"' in queue for cid in ids)
    assert f'href="/complaints/{other}"' not in queue


def test_the_dashboard_does_not_count_complaints_about_the_viewer(client, org, sessions):
    with transaction(sessions) as session:
        clerk = session.query(User).filter_by(username="clerk").one().id
    _complaint(client, org, title="第一次投诉")
    _complaint(client, org, title="关于店员", staff_complained_id=clerk)
    today = re.compile(r'id="today-count">(\d+)<')
    chart = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>')

    def figures(html: str) -> tuple[str, int]:
        categories = json.loads(chart.search(html).group(1))["categories"]
        return today.search(html).group(1), sum(n for _, n in categories)

    sign_in(client, "clerk")
    mine = client.get("/dashboard").text
    assert figures(mine) == ("1", 1)
    client.post("/logout", data={"csrf": csrf_of(mine)})
    sign_in(client, "director")
    assert figures(client.get("/dashboard").text) == ("2", 2)


def test_the_dashboards_due_within_the_hour_opens_a_queue_of_just_those(
    client, org, sessions, clock
):
    soon = _complaint(client, org, title="半小时后到期")
    later = _complaint(client, org, title="两小时后到期")
    late = _complaint(client, org, title="已经超时")
    now = clock.now()
    with transaction(sessions) as session:
        for cid, due in ((soon, 30), (later, 120), (late, -10)):
            session.get(Complaint, cid).next_due_at = now + timedelta(minutes=due)
    sign_in(client, "director")
    dashboard = client.get("/dashboard").text
    tile = re.search(r'<a class="figure" href="([^"]+)" id="due-hour">(\d+)</a>', dashboard)
    assert tile.group(2) == "1"
    html = client.get(tile.group(1).replace("&amp;", "&")).text
    assert f'href="/complaints/{soon}"' in html
    assert f'href="/complaints/{later}"' not in html and f'href="/complaints/{late}"' not in html
    assert "1 小时内到期" in html


def test_a_deadline_at_the_end_of_a_day_reads_as_that_days_24_00(client, org):
    """The first contact is due by the end of Friday 27th: the queue and the complaint page
    say "2026-11-27 24:00", not "2026-11-28 00:00", which reads as a day later."""
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    for path in (f"/complaints/{cid}", "/?queue=mine", "/?queue=team"):
        html = client.get(path).text
        assert "2026-11-27 24:00" in html, path
        assert "2026-11-28 00:00" not in html, path


def test_the_result_reply_asks_for_the_grades_of_the_complaints_own_pack():
    from kesu.complaint.models import Complainant
    from kesu.policy.loader import builtin_source, parse_pack
    from kesu.web.console.record import replies

    person = Complainant(name="林女士")
    complaint = Complaint(number="RS2026110001")
    texts = {}
    for key in ("retail-store", "franchise-sales-center"):
        pack = parse_pack(builtin_source(key))
        texts[key] = {
            locale: dict(replies(pack, complaint, person, "王晓丽", locale))
            for locale in ("zh_Hans", "zh_Hant", "en")
        }
    retail = texts["retail-store"]
    assert retail["zh_Hans"]["结果反馈与满意度"].endswith("？1 满意，2 可以接受，3 不满意。")
    assert retail["zh_Hant"]["結果回饋與滿意度"].endswith("？1 滿意，2 可以接受，3 不滿意。")
    assert retail["en"]["Result and satisfaction"].endswith(
        "? 1 Satisfied, 2 Acceptable, 3 Not satisfied."
    )
    assert "5" not in retail["zh_Hans"]["结果反馈与满意度"].replace("RS2026110001", "")
    franchise = texts["franchise-sales-center"]["zh_Hans"]["结果反馈与满意度"]
    assert "1 非常满意，2 满意，3 可理解/接受，4 不满意，5 很不满意。" in franchise


def test_the_handler_and_tier_use_the_readers_brackets(client, org):
    """ "王晓丽 (主要受理人)" mixed ASCII brackets into Chinese text; Chinese pages use （）."""
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    assert re.search(r"王晓丽（[^）<]+）</dd>", client.get(f"/complaints/{cid}").text)
    client.get("/lang/en")
    html = client.get(f"/complaints/{cid}").text
    assert re.search(r"王晓丽 \([^)<]+\)</dd>", html)
    # and so do the people offered for a transfer
    assert ">李明 (Receiver (CS specialist))</option>" in html and "李明（" not in html


def test_a_mistyped_report_period_is_shown_on_the_report_form_as_typed(client, org):
    sign_in(client, "director")
    r = client.get("/reports", params={"kind": "monthly", "period": "2026-13"})
    assert r.status_code == 422
    assert "“2026-13”不是有效的月报期间" in r.text
    assert 'name="period" value="2026-13"' in r.text  # the form, to correct it
    assert '<option value="monthly" selected>' in r.text


def test_a_queue_cut_at_its_limit_does_not_call_what_it_shows_the_total(client, org, monkeypatch):
    from kesu.web.console import queries as console_queries

    _complaint(client, org, title="第一件")
    _complaint(client, org, title="第二件")
    monkeypatch.setattr(console_queries, "LIMIT", 1)
    sign_in(client, "supervisor")
    html = client.get("/?queue=all").text
    assert "显示 1 条" in html and "共 1 条" not in html  # two complaints, one shown
    assert "只显示前 1 条" in html


def _customer_writes(client, settings, sessions, cid: int, text: str) -> None:
    """The complainant leaves a message on their complaint's portal page."""
    link = track_path(settings, cid)
    with transaction(sessions) as session:
        version = session.get(Complaint, cid).version
    r = post_form(client, link, f"{link}/message", {"version": str(version), "text": text})
    assert r.status_code == 303, r.text


def _portal_complaint(client, org, title: str = "网上投诉未处理") -> None:
    """A customer files a complaint on the portal (it has no department until staff route it)."""
    form = {
        "name": "陈先生",
        "phone": "137 0000 1234",
        "preference": "sms",
        "site_id": str(org["SH-NJ"]),
        "title": title,
        "description": "收到两周桌面开裂",
        "demands": "exchange",
        "consent": "yes",
    }
    assert post_form(client, "/portal", "/portal/complaints", form).status_code == 303


def _case_head(page: str) -> str:
    return page.split('<header class="case-head">')[1].split("</header>")[0]


def test_a_customers_portal_message_is_marked_in_the_queue_and_on_the_page_until_staff_act(
    client, org, settings, sessions
):
    cid = _complaint(client, org, title="沙发塌陷")
    quiet = _complaint(client, org, title="餐桌开裂")
    _portal_complaint(client, org)  # its consent note is the customer's, but nothing they wrote
    _customer_writes(client, settings, sessions, cid, "请问什么时候上门？")
    sign_in(client, "receiver1")
    for url in ("/?queue=mine", "/?queue=all", "/handover"):
        rows = {
            row.split("</a>")[0].rsplit(">", 1)[1]: row
            for row in client.get(url).text.split("<tr>")[1:]
            if "/complaints/" in row
        }
        marked = {title for title in rows if "客户新留言" in rows[title]}
        with transaction(sessions) as session:
            numbers = {session.get(Complaint, cid).number}
        assert marked == numbers, url
    page = client.get(f"/complaints/{cid}").text
    assert "客户新留言" in _case_head(page)
    assert "林女士（投诉人）" in page  # the note on the timeline is the customer's, not staff's
    assert "客户新留言" not in client.get(f"/complaints/{quiet}").text
    headers = login(client, "receiver1")
    assert run(client, headers, cid, "note", {"text": "已回电，约周六上门"}).status_code == 200
    assert "客户新留言" not in client.get("/?queue=mine").text
    assert "客户新留言" not in _case_head(client.get(f"/complaints/{cid}").text)
    _customer_writes(client, settings, sessions, cid, "周六不行，改周日")
    sign_in(client, "receiver1")
    assert "客户新留言" in client.get("/?queue=mine").text


def test_the_queue_reads_customers_messages_in_one_statement_however_many_rows_it_shows(
    client, app, org, settings, sessions
):
    def statements(url: str) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(app.state.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(app.state.engine, "before_cursor_execute", count)
        return len(seen)

    first = _complaint(client, org)
    _customer_writes(client, settings, sessions, first, "补充：发票在附件")
    sign_in(client, "receiver1")
    client.get("/?queue=all")
    one = statements("/?queue=all")
    for title in ("餐桌开裂", "床垫异响", "衣柜门歪"):
        _customer_writes(client, settings, sessions, _complaint(client, org, title=title), "补充")
    sign_in(client, "receiver1")
    client.get("/?queue=all")
    assert client.get("/?queue=all").text.count("客户新留言") == 4
    assert statements("/?queue=all") == one


def test_a_head_office_manager_without_a_department_gets_the_complaints_no_desk_owns_as_team(
    client, org
):
    _complaint(client, org, title="门店登记的投诉")  # the receiver's desk: 综合服务部
    _complaint(client, org, title="物流部的投诉", department_id=org["LOG"])
    _portal_complaint(client, org, title="网上投诉待分部门")
    sign_in(client, "admincenter")  # 行政管理中心总监: head office, no department
    page = client.get("/?queue=team").text
    tabs = page.split('aria-label="工作队列"')[1].split("</nav>")[0]
    assert ">未分配部门</a>" in tabs and ">本部门</a>" not in tabs
    assert "<h1>未分配部门" in page and "<title>未分配部门" in page
    assert "网上投诉待分部门" in page
    assert "门店登记的投诉" not in page and "物流部的投诉" not in page
    sign_in(client, "supervisor")  # 综合服务部: their own desk, and others' from the hand-over
    page = client.get("/?queue=team").text
    assert "<h1>本部门" in page and "门店登记的投诉" in page and "网上投诉待分部门" not in page
    page = client.get(f"/?queue=team&department={org['LOG']}").text
    assert "<h1>物流部" in page and "<h1>本部门" not in page and "物流部的投诉" in page
    assert f'name="department" value="{org["LOG"]}"' in page  # the filters keep the desk
    page = client.get("/?queue=team&department=0").text
    assert "<h1>未分配部门" in page and "网上投诉待分部门" in page and "门店登记的投诉" not in page
    assert 'name="department" value="0"' in page


def test_what_the_complaint_waits_on_this_person_for_comes_first_among_their_actions(client, org):
    cid = _complaint(client, org)
    headers = login(client, "receiver1")
    to = {"to_department_id": org["LOG"], "to_user_id": _user_id(client, "supervisor2")}
    assert run(client, headers, cid, "transfer", {**to, "reason": "属物流问题"}).status_code == 200
    sign_in(client, "supervisor2")
    page = client.get(f"/complaints/{cid}").text
    offered = re.findall(r'id="action-([a-z_]+)"', page)
    assert offered[:2] == ["accept_transfer", "decline_transfer"]
    assert len(offered) > 2  # their other steps follow


def test_a_form_sent_after_the_session_ran_out_signs_in_back_to_its_page_not_its_action(
    client, org
):
    cid = _complaint(client, org)
    sign_in(client, "receiver1")
    page = client.get(f"/complaints/{cid}").text
    client.cookies.delete("kesu_session")
    note = {"csrf": csrf_of(page), "version": VERSION.search(page).group(1), "text": "已回电"}
    r = client.post(
        f"/complaints/{cid}/commands/note",
        data=note,
        headers={"Referer": f"http://testserver/complaints/{cid}?done=acknowledge"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/complaints/{cid}%3Fdone%3Dacknowledge"
    r = client.post(f"/complaints/{cid}/commands/note", data=note, follow_redirects=False)
    assert r.headers["location"] == "/login?next=/"  # no page to go back to: the start page
    r = client.post("/intake", data=note, headers={"Referer": "https://elsewhere.example//x"})
    assert r.url.path == "/login" and r.url.params["next"] == "/"  # never another site


def test_a_printed_form_puts_no_separator_after_a_note_that_ends_its_own_sentence(client, org):
    assert labelled([("Summary", "了解經過。"), ("Timers", "Met")], "en") == (
        "Summary: 了解經過。 Timers: Met"
    )
    assert labelled([("摘要", "了解经过。"), ("时限", "已达成")], "zh_Hans") == (
        "摘要：了解经过。时限：已达成"
    )
    assert (
        labelled([("Summary", "called"), ("Timers", "Met")], "en") == "Summary: called; Timers: Met"
    )
    cid = _complaint(client, org)
    receiver = login(client, "receiver1")
    for command, payload in [
        ("acknowledge", {}),
        ("record_contact", {"reached": True, "summary": "了解經過。", "locale": "en"}),
    ]:
        assert run(client, receiver, cid, command, payload).status_code == 200, command
    sign_in(client, "supervisor")
    english = client.get(f"/complaints/{cid}/forms/handling_form?lang=en").text
    assert "Summary: 了解經過。" in english and "。;" not in english
    chinese = client.get(f"/complaints/{cid}/forms/handling_form").text
    assert "了解經過。" in chinese and "。；" not in chinese
