"""The permission matrix for the staff console: the same promises as the API (tests in
test_permission_matrix.py), through cookie sessions and CSRF-checked forms."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from helpers import complaint_body
from kesu.complaint.models import Complaint
from kesu.db.session import reading
from security.routes import all_routes
from security.test_permission_matrix import (
    EVERYONE,
    EVIDENCE,
    JPEG,
    RECEIVERS,
    STAFF,
    UNMASK,
    VIEWERS,
)

CONSOLE: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/complaints/{complaint_id}"): VIEWERS,
    ("POST", "/complaints/{complaint_id}/complainant"): UNMASK,  # reveal, logged
    ("POST", "/complaints/{complaint_id}/commands/{command}"): VIEWERS,  # `note`
    ("POST", "/complaints/{complaint_id}/evidence"): EVIDENCE,
    ("GET", "/complaints/{complaint_id}/evidence/{evidence_id}"): VIEWERS,
    ("GET", "/complaints/{complaint_id}/evidence/{evidence_id}/preview"): VIEWERS,
    ("GET", "/complaints/{complaint_id}/forms/{key}"): VIEWERS,
    ("GET", "/complaints/{complaint_id}/forms/{key}/pdf"): VIEWERS,
    ("GET", "/complaints/{complaint_id}/received"): VIEWERS,
    ("GET", "/intake"): RECEIVERS | {"south_supervisor"},  # their own region's stores
    ("POST", "/intake"): RECEIVERS,  # a complaint at 上海南京路店
    ("GET", "/"): EVERYONE,
    ("GET", "/handover"): EVERYONE,
}
"""Console routes that reach one complaint or register one, with who may use them."""

ELSEWHERE = {
    # pages without a complaint of their own: their rows come from `visible_to` (scope and
    # recusal) and their own capability's tests check them
    "/dashboard",
    "/cases",
    "/cases/export",
    "/reports",
    "/reports/download",
    "/reports/rebuild",
    "/register",
    "/register/download",  # the list's rows (`complaint.queries.page`): tests/report
    "/forms/weekly",
    "/forms/weekly/pdf",
    "/intake/lookup",
    "/improvement",
    "/improvement/accountability",
    "/improvement/actions/{action_id}",
    "/improvement/actions/{action_id}/commands/{command}",
    "/improvement/complaints",
    "/improvement/inspections/{inspection_id}",
    "/improvement/inspections/{inspection_id}/items/{item}/action",
    "/improvement/new",
    "/improvement/review",
    "/improvement/review.{fmt}",
    # signing in and out, language, the public portal (its own rate limits and tests)
    "/login",
    "/logout",
    "/lang/{code}",
    "/docs/oauth2-redirect",
    "/portal",
    "/portal/complaints",
    "/portal/t/{token}",
    "/portal/t/{token}/message",
    "/portal/t/{token}/rate",
    "/portal/track",
}


def test_every_console_route_is_in_the_matrix_or_named_as_covered_elsewhere(app):
    console = [(m, p) for m, p in all_routes(app) if not p.startswith(("/api/", "/static"))]
    missing = [r for r in console if r not in CONSOLE and r[1] not in ELSEWHERE]
    assert missing == [], f"console routes without a permission rule: {missing}"


@pytest.fixture
def case(client, org, people, bearer):
    headers = bearer("supervisor")
    body = complaint_body(org, staff_complained_id=people["clerk"], category="store_attitude")
    cid = client.post("/api/v1/complaints", json=body, headers=headers).json()["id"]
    files = {"file": ("receipt.jpg", JPEG, "image/jpeg")}
    eid = client.post(f"/api/v1/complaints/{cid}/evidence", files=files, headers=headers)
    return {"complaint_id": cid, "evidence_id": eid.json()["id"]}


def _console_call(client, settings, org, case, method, path, token):
    from kesu.web.pages import SESSION_COOKIE

    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    csrf = hmac.new(
        settings.secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256
    ).hexdigest()
    url = path.format(
        complaint_id=case["complaint_id"],
        evidence_id=case["evidence_id"],
        command="note",
        key="handling_form",
    )
    if method == "GET":
        return client.get(url, follow_redirects=False).status_code
    if path.endswith("/complainant"):
        return client.post(url, data={"csrf": csrf}, follow_redirects=False).status_code
    if path.endswith("/evidence"):
        files = {"file": ("photo.jpg", JPEG, "image/jpeg")}
        return client.post(
            url, data={"csrf": csrf}, files=files, follow_redirects=False
        ).status_code
    if path == "/intake":
        b = complaint_body(org)
        data = {
            "csrf": csrf,
            "site_id": str(b["site_id"]),
            "channel": b["channel"],
            "complainant.name": "林女士",
            "complainant.phone": "13812345678",
            "complainant_type": b["complainant_type"],
            "title": b["title"],
            "description": b["description"],
            "level": "L1",
        }
        return client.post(url, data=data, follow_redirects=False).status_code
    with reading(client.app.state.sessions) as s:
        version = s.get(Complaint, case["complaint_id"]).version
    data = {"csrf": csrf, "version": str(version), "text": "补充说明"}
    return client.post(url, data=data, follow_redirects=False).status_code


def test_each_person_gets_exactly_the_console_actions_the_matrix_says(
    client, settings, org, people, case, bearer
):
    wrong = []
    for (method, path), who_may in CONSOLE.items():
        for who in STAFF:
            token = bearer(who)["Authorization"].split()[1]
            status = _console_call(client, settings, org, case, method, path, token)
            allowed = status < 400 or status in (409, 422)
            if allowed != (who in who_may):
                wrong.append(f"{method} {path} as {who}: {status}")
    client.cookies.clear()
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("scope", ["read", "intake", "full"])
def test_an_api_token_is_no_console_session(client, settings, case, bearer, scope):
    # the console's forms do not check a token's scope: a read token in the session cookie
    # would add notes and reveal the complainant
    from kesu.web.pages import SESSION_COOKIE

    token = bearer("director", scope)["Authorization"].split()[1]
    csrf = hmac.new(
        settings.secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256
    ).hexdigest()
    cid = case["complaint_id"]
    client.cookies.set(SESSION_COOKIE, token)
    with reading(client.app.state.sessions) as s:
        version = s.get(Complaint, cid).version
    calls = [
        client.get(f"/complaints/{cid}", follow_redirects=False),
        client.post(
            f"/complaints/{cid}/commands/note",
            data={"csrf": csrf, "version": str(version), "text": "补充说明"},
            follow_redirects=False,
        ),
        client.post(f"/complaints/{cid}/complainant", data={"csrf": csrf}, follow_redirects=False),
    ]
    client.cookies.clear()
    assert [(r.status_code, r.headers["location"].split("?")[0]) for r in calls] == [
        (303, "/login")
    ] * 3
    with reading(client.app.state.sessions) as s:
        assert s.get(Complaint, cid).version == version
