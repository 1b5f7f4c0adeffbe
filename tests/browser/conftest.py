"""Browser tests: a real uvicorn server on 127.0.0.1 (fresh database per test, SQLite and
PostgreSQL like the rest of the suite) driven by Debian's chromium through Playwright.

Needs `/usr/bin/chromium` (`apt-get install -y chromium`; never `playwright install`) and the
pinned front-end assets (`npm ci && python scripts/vendor_assets.py`). Every page must run
without a console error: a CSP violation (an inline script or handler) fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kesu.web.pages import vendor_present
from server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's chromium: apt-get install -y chromium")
    missing = [name for name, ok in vendor_present().items() if not ok]
    if missing:
        pytest.fail(f"assets {missing} missing: npm ci && python scripts/vendor_assets.py")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def live(app) -> Iterator[str]:
    with serving(app) as base:
        yield base


def _new_page(browser: Browser, **context: Any) -> tuple[Page, list[str]]:
    ctx = browser.new_context(locale="zh-CN", **context)
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console(msg) -> None:
        # a page answered 404/422 on purpose logs "Failed to load resource"; sub-resources
        # (scripts, styles, images) are checked by status below instead
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console {msg.type}: {msg.text}")

    def response(r) -> None:
        if r.status >= 400 and r.request.resource_type != "document":
            problems.append(f"{r.status} for {r.request.resource_type} {r.url}")

    page.on("console", console)
    page.on("response", response)
    return page, problems


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A desktop page (1280 × 900). The test fails on any script error or CSP violation."""
    pg, problems = _new_page(browser, viewport={"width": 1280, "height": 900})
    yield pg
    pg.context.close()
    assert problems == []


@pytest.fixture
def phone_page(browser) -> Iterator[Page]:
    """A phone-sized page (375 × 812, touch), as a customer in WeChat's browser has."""
    pg, problems = _new_page(
        browser, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    )
    yield pg
    pg.context.close()
    assert problems == []
