"""The customer portal on a 375 px phone screen: submit, track, rate — and a 4 reopens it."""

from __future__ import annotations

import base64
import re

from playwright.sync_api import expect

from browser.helpers import drive, handled_steps, receive
from helpers import complaint_body
from kesu.complaint.models import Complaint, Evidence
from kesu.db.session import transaction

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_a_customer_submits_on_a_phone_tracks_it_rates_it_4_and_sees_it_reopened(
    phone_page, live, sessions, clock, org
):
    page = phone_page
    page.goto(f"{live}/portal")
    page.fill("input[name=name]", "陈先生")
    page.fill("input[name=phone]", "137 0000 1234")
    page.select_option("select[name=preference]", "sms")
    page.select_option("select[name=site_id]", label="杭州西湖店")
    page.fill("input[name=title]", "餐桌桌面开裂")
    page.fill("textarea[name=description]", "收到实木餐桌两周，桌面出现一道裂缝。")
    page.check("input[name=demands][value=exchange]")
    page.set_input_files(
        "input[name=files]", files=[{"name": "crack.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.check("input[name=consent]")
    page.click("form button[type=submit]")

    expect(page.locator(".done")).to_contain_text("您的投诉已提交")
    number = page.locator("#complaint-number").get_attribute("data-number")
    expect(page.locator("#portal-state")).to_have_text("已受理")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "no sideways scrolling"
    with transaction(sessions) as session:
        c = session.query(Complaint).filter_by(number=number).one()
        cid, channel, level = c.id, c.channel, c.level
        files = session.query(Evidence).filter_by(complaint_id=cid).count()
    assert (channel, level, files) == ("portal", "L1", 1)

    page.goto(f"{live}/portal/track")
    page.fill("input[name=number]", number)
    page.fill("input[name=last4]", "1234")
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/portal/t/"))
    expect(page.locator("h1 .number")).to_have_text(number)
    expect(page.locator("form.rate")).to_have_count(0)

    drive(sessions, clock, cid, handled_steps())
    page.reload()
    expect(page.locator("#portal-state")).to_have_text("已答复结果")
    expect(page.locator("body")).not_to_contain_text("王晓丽")  # roles, never staff names
    expect(page.locator("ol.timeline")).to_contain_text("主要受理人")
    page.check("form.rate input[name=satisfaction][value='4']")
    page.fill("form.rate textarea[name=comment]", "更换后还是有裂缝")
    page.click("form.rate button[type=submit]")

    expect(page.locator(".done")).to_contain_text("感谢您的评价")
    expect(page.locator("#portal-state")).to_have_text("处理中")
    expect(page.locator("#portal-level")).to_have_text("二级（较严重投诉）")
    with transaction(sessions) as session:
        c = session.get(Complaint, cid)
        assert (c.state, c.level, c.satisfaction, c.round) == ("in_progress", "L2", 4, 2)


def test_wrong_digits_and_a_forged_link_reveal_nothing(phone_page, live, sessions, clock, org):
    cid = receive(sessions, clock, "receiver1", complaint_body(org))
    with transaction(sessions) as session:
        number = session.get(Complaint, cid).number
    page = phone_page
    page.goto(f"{live}/portal/track")
    page.fill("input[name=number]", number)
    page.fill("input[name=last4]", "0000")
    page.click("form button[type=submit]")
    expect(page.locator(".error")).to_have_text("找不到该投诉，或手机号码后四位不符")
    page.fill("input[name=number]", "FS2099010001")
    page.fill("input[name=last4]", "5678")
    page.click("form button[type=submit]")
    expect(page.locator(".error")).to_have_text("找不到该投诉，或手机号码后四位不符")
    response = page.goto(f"{live}/portal/t/{cid}.forged")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("林女士")
