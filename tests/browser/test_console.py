"""The staff console in a real browser: intake by keyboard, a handler's way to close, recusal,
the language switch and a printable form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from browser.helpers import act, drive, handled_steps, offered, receive, sign_in, sign_out
from helpers import complaint_body
from kesu.access.models import User
from kesu.complaint.models import Complaint
from kesu.db.session import transaction


def test_a_receiver_registers_a_repeat_callers_complaint_by_keyboard_alone(
    page, live, sessions, clock, org
):
    earlier = receive(
        sessions,
        clock,
        "receiver2",
        complaint_body(org, complainant={"name": "林女士", "phone": "139 1234 5678"}),
    )
    sign_in(page, live, "receiver1")
    page.goto(f"{live}/intake")

    expect(page.locator("input[name='complainant.phone']")).to_be_focused()
    page.keyboard.type("13912345678")
    expect(page.locator("#lookup")).to_contain_text("重复投诉")
    with transaction(sessions) as session:
        earlier_number = session.get(Complaint, earlier).number
    expect(page.locator("#lookup")).to_contain_text(earlier_number)
    page.keyboard.press("Tab")
    expect(page.locator("input[name='complainant.name']")).to_be_focused()
    expect(page.locator("input[name='complainant.name']")).to_have_value("林女士")
    page.keyboard.press("Tab")
    page.keyboard.type("沙发又塌陷了")
    page.keyboard.press("Tab")
    page.keyboard.type("上次换过坐垫，一个月后又塌陷，要求退货。")
    page.keyboard.press("Tab")  # 维修
    page.keyboard.press("Tab")  # 退货
    page.keyboard.press("Space")
    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(re.compile(r"/complaints/\d+/received$"))
    number = page.locator("#complaint-number").get_attribute("data-number")
    expect(page.locator("#complaint-number")).to_have_text(
        f"{number[:2]} {number[2:6]} {number[6:8]} {number[8:]}"
    )
    expect(page.locator("#restate")).to_contain_text("林女士")
    expect(page.locator("#restate")).to_contain_text("沙发又塌陷了")
    expect(page.locator("#restate")).to_contain_text("退货")
    with transaction(sessions) as session:
        c = session.query(Complaint).filter_by(number=number).one()
        assert (c.channel, c.level, c.demands, c.complainant_id) == (
            "phone",
            "L1",
            ["return"],
            session.get(Complaint, earlier).complainant_id,
        )


def test_a_name_typed_while_the_earlier_one_arrives_replaces_it_instead_of_doubling(
    page, live, sessions, clock, org
):
    receive(
        sessions,
        clock,
        "receiver2",
        complaint_body(org, complainant={"name": "林女士", "phone": "139 1234 5678"}),
    )
    sign_in(page, live, "receiver1")
    page.goto(f"{live}/intake")
    expect(page.locator("input[name='complainant.phone']")).to_be_focused()  # then type
    page.keyboard.type("13912345678")
    name = page.locator("input[name='complainant.name']")
    name.click()  # in the name field before the lookup answers
    expect(page.locator("#lookup")).to_contain_text("重复投诉")
    expect(name).to_have_value("林女士")
    page.keyboard.type("林小姐")
    expect(name).to_have_value("林小姐")


def test_a_handler_takes_a_complaint_to_close_with_actions_following_state_and_role(
    page, live, sessions, clock, org
):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    url = f"{live}/complaints/{cid}"
    sign_in(page, live, "receiver1")
    page.goto(url)
    assert {"acknowledge", "classify", "note"} <= offered(page)
    assert offered(page).isdisjoint({"sign_off", "close", "assign", "implement"})

    page.click("#action-acknowledge > summary")
    page.select_option("#action-acknowledge select.replies", index=3)  # 受理告知
    expect(page.locator("#acknowledge-message")).to_have_value(re.compile("已受理"))
    page.click("#action-acknowledge button[type=submit]")
    expect(page.locator(".done")).to_contain_text("确认受理")
    expect(page.locator(".case-head .state-acknowledged")).to_be_visible()
    assert "acknowledge" not in offered(page)

    act(page, "classify", {"classification": "valid", "reason": "情况属实"})
    assert "record_investigation" in offered(page) and "propose_solution" not in offered(page)
    page.click("#action-record_investigation > summary")
    page.fill("#record_investigation-findings", "坐垫海绵密度不达标")
    page.check("#action-record_investigation input[name=root_causes][value=material]")
    page.fill("#action-record_investigation input[name='responsibility.0.party']", "质量管理部")
    page.fill("#action-record_investigation input[name='responsibility.0.share']", "100")
    page.select_option("#record_investigation-founded", "yes")
    page.click("#action-record_investigation button[type=submit]")
    expect(page.locator(".done")).to_be_visible()
    act(
        page,
        "propose_solution",
        {"solution_type": "exchange", "amount": "150", "description": "更换坐垫"},
    )
    expect(page.locator(".case-head .state-solution_agreed")).to_be_visible()
    act(page, "implement", {"notes": "已上门更换"})
    act(page, "record_response", {"satisfaction": "2", "comment": "满意"})
    expect(page.locator(".case-head .state-reviewing")).to_be_visible()
    assert offered(page).isdisjoint({"sign_off", "close"}), "a receiver neither reviews nor files"
    sign_out(page)

    sign_in(page, live, "supervisor")
    page.goto(url)
    assert "sign_off" in offered(page) and "close" not in offered(page)
    act(page, "sign_off", {"opinion": "处理得当"})
    assert "sign_off" not in offered(page)
    sign_out(page)

    sign_in(page, live, "archivist")
    page.goto(url)
    assert offered(page) == {"close", "note"}
    act(page, "close", {"summary": "资料齐全，归档"})
    expect(page.locator(".case-head .state-closed")).to_be_visible()
    assert offered(page) == {"note"}
    timeline = page.locator("ol.timeline li")
    expect(timeline).to_have_count(9)
    expect(timeline.last).to_contain_text("周文员")


def test_the_staff_member_complained_about_sees_no_actions_and_cannot_open_it(
    page, live, sessions, clock, org
):
    with transaction(sessions) as session:
        clerk = session.query(User).filter_by(username="clerk").one().id
    body = complaint_body(org, title="店员态度恶劣", category="store_attitude", level="L2")
    cid = receive(sessions, clock, "receiver1", {**body, "staff_complained_id": clerk})
    with transaction(sessions) as session:
        number = session.get(Complaint, cid).number

    sign_in(page, live, "clerk")
    page.goto(f"{live}/?queue=all")
    expect(page.locator("#queue")).not_to_contain_text(number)
    response = page.goto(f"{live}/complaints/{cid}")
    assert response.status == 404
    expect(page.locator("#actions")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("店员态度恶劣")
    page.goto(f"{live}/")
    sign_out(page)

    sign_in(page, live, "supervisor")
    page.goto(f"{live}/complaints/{cid}")
    assert "acknowledge" in offered(page), "the same complaint has actions for anyone else"


def test_the_language_switch_changes_every_screen(page, live, sessions, clock, org):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    page.goto(f"{live}/login")
    expect(page.locator("h1")).to_have_text("员工登录")
    page.click(".lang a[lang=en]")
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sign_in(page, live, "receiver1")
    expect(page.locator(".tabs a[aria-current]")).to_have_text("Mine")
    page.goto(f"{live}/complaints/{cid}")
    expect(page.locator("#actions h2")).to_have_text("What you can do now")
    expect(page.locator(".case-head .badge").first).to_have_text("New")
    page.click(".lang a[lang=zh-Hant]")
    expect(page.locator("#actions h2")).to_have_text("可執行的操作")
    expect(page).to_have_url(f"{live}/complaints/{cid}")
    page.goto(f"{live}/intake")
    expect(page.locator("h1")).to_have_text("受理登記")
    page.goto(f"{live}/portal")
    expect(page.locator("h1")).to_have_text("提交投訴")
    page.click(".lang a[lang=zh-Hans]")
    expect(page.locator("h1")).to_have_text("提交投诉")


def test_a_countdown_of_several_days_counts_them_in_the_pages_language(
    page, live, sessions, clock, org
):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    drive(sessions, clock, cid, handled_steps()[:2])  # reached: a progress contact within 7 days
    sign_in(page, live, "receiver1")
    page.goto(f"{live}/complaints/{cid}")
    left = page.locator(".case-head ~ .columns time.due .left").first
    expect(left).to_have_text(re.compile(r"^7天 \d\d:\d\d:\d\d$"))
    page.click(".lang a[lang=en]")
    expect(left).to_have_text(re.compile(r"^7d \d\d:\d\d:\d\d$"))


def test_a_printable_form_shows_the_record_and_who_signed_it(page, live, sessions, clock, org):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    drive(
        sessions,
        clock,
        cid,
        [
            *handled_steps(),
            ("receiver1", "record_response", {"satisfaction": 1}),
            ("supervisor", "sign_off", {"opinion": "同意结案"}),
            ("archivist", "close", {"summary": "归档"}),
        ],
    )
    with transaction(sessions) as session:
        number = session.get(Complaint, cid).number
    sign_in(page, live, "supervisor")
    page.goto(f"{live}/complaints/{cid}")
    page.click("text=投诉处理单")

    paper = page.locator("article.paper")
    expect(paper.locator("h1")).to_have_text("投诉处理单")
    expect(paper).to_contain_text(number)
    expect(paper).to_contain_text("林女士")
    expect(paper).to_contain_text("北欧布艺沙发")
    expect(paper).to_contain_text("坐垫海绵密度不达标")
    signs = paper.locator(".sign")
    expect(signs.filter(has_text="编制：主要受理人")).to_contain_text("王晓丽")
    reviewed = signs.filter(has_text="复核：综合服务部经理/主管")
    expect(reviewed).to_contain_text("张伟")
    expect(reviewed).to_contain_text("同意结案")
    expect(signs.filter(has_text="核准：销售中心总监")).not_to_contain_text("赵总监")
    expect(signs.filter(has_text="归档")).to_contain_text("周文员")
    expect(paper.locator(".informed")).to_have_text("被通知：事务文员")

    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(paper).to_be_visible()
    pdf = page.request.get(live + page.locator("a", has_text="PDF").get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")


def test_the_dashboard_draws_its_charts(page, live, sessions, clock, org):
    receive(sessions, clock, "receiver1", complaint_body(org))
    sign_in(page, live, "supervisor")
    page.goto(f"{live}/dashboard")
    expect(page.locator("#today-count")).to_have_text("1")
    expect(page.locator(".chart.drawn canvas")).to_have_count(3)
    expect(page.locator(".chart-table").first).to_be_hidden()


def test_on_a_phone_the_complaint_shows_what_to_do_before_its_history(
    phone_page, live, sessions, clock, org
):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    drive(sessions, clock, cid, handled_steps()[:4])  # a history longer than a phone screen
    page = phone_page
    sign_in(page, live, "receiver1")
    page.goto(f"{live}/complaints/{cid}")

    def top(selector: str) -> float:
        return page.locator(selector).first.bounding_box()["y"]

    summary, actions, history = top(".main-col > .card"), top("#actions"), top("ol.timeline")
    assert summary < actions < history
    width = page.locator("#actions").bounding_box()["width"]
    assert width > 300  # the whole width of the screen, not shrunk to its content
    act(page, "note", {"text": "在手机上处理"})


def test_a_keyboard_user_skips_the_menu_with_the_first_tab(page, live, sessions, clock, org):
    """Thirteen menu links stood between the first Tab and a page's content."""
    sign_in(page, live, "supervisor")
    page.goto(f"{live}/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("跳到正文")
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    page.goto(f"{live}/?queue=team")
    expect(skip).not_to_be_in_viewport()  # out of sight until it is focused
