"""Plain helpers for console and portal tests over TestClient (forms, CSRF, sign-in)."""

from __future__ import annotations

import re

from kesu.demo import PASSWORD

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r


def post_form(client, page_url: str, action: str, data: dict, files=None, **kw):
    """Post a form the way a browser does: the token comes from the page the form is on."""
    page = client.get(page_url)
    body = {"csrf": csrf_of(page.text), **data}
    return client.post(action, data=body, files=files, follow_redirects=False, **kw)


def intake_form(org: dict[str, int], **over: str) -> dict[str, str]:
    """The intake form as a receiver fills it in for a caller's mattress complaint."""
    return {
        "complainant.phone": "13800001111",
        "complainant.name": "王先生",
        "title": "床垫异响",
        "description": "保修期内异响",
        "channel": "phone",
        "complainant_type": "consumer",
        "site_id": str(org["SH-NJ"]),
        "level": "L1",
        **over,
    }
