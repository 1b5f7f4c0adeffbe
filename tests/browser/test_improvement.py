"""The improvement loop in a real browser: from a complaint's page a supervisor opens a
corrective action, the owner marks it done on the action's page, and both pages link each
other — without a script error or a CSP violation."""

from __future__ import annotations

from playwright.sync_api import expect

from browser.helpers import drive, receive, sign_in, sign_out
from helpers import complaint_body

INVESTIGATED = [
    ("receiver1", "classify", {"classification": "valid", "reason": "情况属实。"}),
    (
        "receiver1",
        "record_investigation",
        {
            "findings": "坐垫海绵密度不达标。",
            "root_causes": ["material"],
            "responsibility": [{"party": "质量管理部", "share": 100}],
            "founded": True,
        },
    ),
]


def test_a_supervisor_opens_an_action_from_a_complaint_and_its_owner_marks_it_done(
    page, live, sessions, clock, org
):
    body = complaint_body(org)
    body["complainant"] = {"name": "林女士", "phone": "13812345678"}
    cid = receive(sessions, clock, "receiver1", body)
    drive(sessions, clock, cid, INVESTIGATED)

    sign_in(page, live, "supervisor")
    page.goto(f"{live}/complaints/{cid}")
    page.click("#improvement >> text=立项整改")
    expect(page.locator("select[name=cause_dimension]")).to_have_value("material")
    page.fill("input[name=title]", "坐垫来料检验")
    page.fill("textarea[name=planned]", "每批海绵来料抽检密度并记录。")
    page.select_option("select[name=owner_id]", label="张伟")
    page.fill("input[name=target_per_month]", "0")
    page.click("form[action='/improvement/new'] button[type=submit]")
    expect(page.locator(".done")).to_be_visible()
    number = page.locator("h1 .number").inner_text()
    expect(page.locator("#complaints a.number")).to_have_count(1)

    page.click("#action-implement > summary")
    page.fill("#action-implement textarea[name=actions_taken]", "已建立来料抽检记录表。")
    page.click("#action-implement button[type=submit]")
    expect(page.locator(".badge").first).to_have_text("效果观察期")

    page.click("#complaints a.number")
    expect(page.locator("#improvement")).to_contain_text(number)
    sign_out(page)
