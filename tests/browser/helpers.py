"""Plain helpers for the browser tests (fixed defaults, no magic)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from helpers import INVESTIGATION
from kesu.access.models import User
from kesu.complaint import service as complaint_service
from kesu.complaint.schemas import ComplaintCreate
from kesu.db.session import transaction
from kesu.demo import PASSWORD


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("form.who")).to_be_visible()


def sign_out(page: Page) -> None:
    page.click("form.who button")
    expect(page.locator("form[action='/login']")).to_be_visible()


def act(page: Page, command: str, fields: dict[str, str] | None = None) -> None:
    """Open one action on the complaint page, fill its fields by id, submit, wait for 'done'."""
    page.click(f"#action-{command} > summary")
    for name, value in (fields or {}).items():
        target = page.locator(f"#{command}-{name}")
        if target.evaluate("el => el.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    page.click(f"#action-{command} button[type=submit]")
    expect(page.locator(".done")).to_be_visible()


def offered(page: Page) -> set[str]:
    """The actions the complaint page offers this person now."""
    ids = page.locator("#actions details.action").evaluate_all("els => els.map(e => e.id)")
    return {i.removeprefix("action-") for i in ids}


def receive(sessions, clock, username: str, data: dict[str, Any]) -> int:
    with transaction(sessions) as session:
        user = session.query(User).filter_by(username=username).one()
        actor = complaint_service.actor_of(user)
        return complaint_service.receive(
            session, clock, actor, ComplaintCreate.model_validate(data)
        ).id


def drive(sessions, clock, cid: int, steps: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Run commands through the service, as other staff would have, a few minutes apart."""
    for username, command, payload in steps:
        with transaction(sessions) as session:
            user = session.query(User).filter_by(username=username).one()
            c = complaint_service.get(session, cid)
            complaint_service.execute(
                session, clock, cid, complaint_service.actor_of(user), command, payload, c.version
            )
        clock.advance(minutes=7)


def handled_steps(handler: str = "receiver1") -> list[tuple[str, str, dict[str, Any]]]:
    """An L1 complaint from receipt to implemented (amount within tier 1's authority)."""
    return [
        (handler, "acknowledge", {"message": "您的投诉已受理"}),
        (handler, "record_contact", {"reached": True, "summary": "已电话联系"}),
        (handler, "classify", {"classification": "valid", "reason": "情况属实"}),
        (
            handler,
            "record_investigation",
            INVESTIGATION,
        ),
        (
            handler,
            "propose_solution",
            {"solution_type": "exchange", "amount": 150, "description": "更换坐垫"},
        ),
        (handler, "implement", {"notes": "已上门更换"}),
    ]
