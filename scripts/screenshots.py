"""Screenshots of the main screens (zh-CN) for docs/screenshots/, taken with the real browser.

    .venv/bin/python scripts/screenshots.py

Builds a throw-away SQLite database with the demo organisation, serves it on 127.0.0.1 and
drives Debian's chromium (`apt-get install -y chromium fonts-noto-cjk`) through Playwright.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from kesu import demo
from kesu.cli import prepare
from kesu.complaint.models import Complainant, Complaint
from kesu.db.session import make_engine, make_sessionmaker, reading
from kesu.settings import Settings
from kesu.web.app import create_app
from kesu.web.portal.routes import track_path

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pick(sessions) -> dict[str, int]:
    """A complaint waiting for review and one handled, awaiting the customer's answer."""
    with reading(sessions) as session:
        ids = {}
        wanted = (("review", "reviewing"), ("open", "in_progress"), ("rate", "implemented"))
        for key, state in wanted:
            ids[key] = session.scalar(
                select(Complaint.id).where(Complaint.state == state).order_by(Complaint.id)
            )
        ids["closed"] = session.scalar(
            select(Complaint.id).where(Complaint.state == "closed").order_by(Complaint.id)
        )
    return ids


def _shot(page: Page, base: str, path: str, name: str, wait: int = 400) -> None:
    page.goto(base + path)
    page.wait_for_timeout(wait)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png")


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_selector("form.who")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), _env_file=None)
        prepare(settings)
        engine = make_engine(settings.db_url)
        sessions = make_sessionmaker(engine)
        demo.load(sessions, complaints=120)
        ids = _pick(sessions)
        app = create_app(settings)
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
                page = desk.new_page()
                _shot(page, base, "/login", "login")
                _sign_in(page, base, "supervisor")
                _shot(page, base, "/?queue=team", "queue")
                _shot(page, base, f"/complaints/{ids['review']}", "complaint")
                _shot(page, base, "/handover", "handover")
                _shot(page, base, "/dashboard", "dashboard", wait=1500)
                _shot(page, base, f"/complaints/{ids['closed']}/forms/handling_form", "form")
                page.click("form.who button")
                _sign_in(page, base, "receiver1")
                page.goto(f"{base}/intake")
                with reading(sessions) as session:
                    phone = session.get(
                        Complainant, session.get(Complaint, ids["open"]).complainant_id
                    ).phone
                page.keyboard.type(phone)
                page.wait_for_selector("#lookup ul")
                page.keyboard.press("Tab")
                page.keyboard.press("Tab")
                page.keyboard.type("沙发坐垫再次塌陷")
                page.screenshot(path=str(OUT / "intake.png"), full_page=True)
                print("docs/screenshots/intake.png")
                phone_ctx = browser.new_context(
                    locale="zh-CN", viewport={"width": 375, "height": 812}, is_mobile=True
                )
                mobile = phone_ctx.new_page()
                _shot(mobile, base, "/portal", "portal-submit")
                _shot(mobile, base, track_path(settings, ids["rate"]), "portal-status")
                browser.close()
        finally:
            server.should_exit = True
            engine.dispose()
            app.state.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
