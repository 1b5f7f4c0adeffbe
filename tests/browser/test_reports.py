"""The manager's report page in a real browser: the form as a browser submits it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from browser.helpers import sign_in


def test_a_manager_picks_a_monthly_report_and_presses_show(page, live, org):
    """The date boxes stay empty for a month, and a browser sends them anyway (from=&to=)."""
    sign_in(page, live, "director")
    page.goto(f"{live}/reports")
    page.select_option("select[name=kind]", "monthly")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/reports\?kind=monthly&org=&period=&from=&to="))
    expect(page.locator("main h2").first).to_contain_text("投诉月报")
    csv = page.request.get(live + page.locator("a", has_text="CSV").get_attribute("href"))
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
