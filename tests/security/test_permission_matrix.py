"""The permission matrix: every API route × every role, organisation scope and the person
complained about, with the answer each one must get — allowed or refused.

The expected answers are written out by hand here (who may do what in the demo organisation,
seed 002's pack), not computed with `kesu.access.rules.can`, so the rule is checked against
what the users were promised. A route without a line in ROUTES fails the first test.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from helpers import complaint_body
from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.complaint import queries
from kesu.complaint.models import Complaint
from kesu.db.session import reading, transaction
from security.routes import all_routes

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
STAFF = [
    "receiver1",
    "supervisor",
    "director",
    "admincenter",
    "archivist",
    "admin",
    "clerk",  # the complaint is about him (回避)
    "east_receiver",
    "shnj_receiver",
    "south_supervisor",
    "east_admin",
]
EVERYONE = set(STAFF)
# who may see the complaint at 上海南京路店 about the clerk: head office, the East region and
# the store itself — not the clerk it is about, not the South region
VIEWERS = EVERYONE - {"clerk", "south_supervisor"}
# roles whose pack entry lists `receive`, for a store in their scope
RECEIVERS = {"receiver1", "supervisor", "director", "clerk", "east_receiver", "shnj_receiver"}
# handlers (a tier) or receivers, among those who see it
EVIDENCE = {"receiver1", "supervisor", "director", "admincenter", "east_receiver", "shnj_receiver"}
# the pack gives every role `personal_data: assigned`: only the supervisor, who registered it
UNMASK = {"supervisor"}
ADMINS = {"admin", "east_admin"}
GROUP_ADMINS = {"admin"}  # data-subject requests span the whole group

ROUTES: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/api/v1/health"): "public",
    ("GET", "/api/v1/health/worker"): "public",
    ("GET", "/api/v1/openapi.json"): "public",
    ("GET", "/api/v1/docs"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("POST", "/api/v1/auth/password"): EVERYONE,
    ("POST", "/api/v1/auth/sessions/revoke"): EVERYONE,
    ("GET", "/api/v1/me"): EVERYONE,
    ("PUT", "/api/v1/me/locale"): EVERYONE,
    ("GET", "/api/v1/organisations"): EVERYONE,
    ("POST", "/api/v1/organisations"): ADMINS,
    ("GET", "/api/v1/users"): EVERYONE,
    ("POST", "/api/v1/users"): ADMINS,
    ("PATCH", "/api/v1/users/{user_id}"): ADMINS,
    ("POST", "/api/v1/users/{user_id}/activate"): ADMINS,
    ("POST", "/api/v1/users/{user_id}/deactivate"): ADMINS,
    ("POST", "/api/v1/users/{user_id}/password"): ADMINS,
    ("POST", "/api/v1/users/{user_id}/revoke-tokens"): ADMINS,
    ("POST", "/api/v1/users/{user_id}/unlock"): ADMINS,
    ("GET", "/api/v1/tokens"): EVERYONE,
    ("POST", "/api/v1/tokens"): EVERYONE,
    ("DELETE", "/api/v1/tokens/{token_id}"): EVERYONE,
    ("GET", "/api/v1/packs"): EVERYONE,
    ("GET", "/api/v1/packs/{key}"): EVERYONE,
    ("GET", "/api/v1/complaints"): EVERYONE,  # 200 for all; the rows are checked below
    ("GET", "/api/v1/register"): EVERYONE,  # the list's rows as a file (tests/report)
    ("POST", "/api/v1/complaints"): RECEIVERS,
    ("GET", "/api/v1/complaints/{complaint_id}"): VIEWERS,
    ("GET", "/api/v1/complaints/{complaint_id}/complainant"): UNMASK,
    ("POST", "/api/v1/complaints/{complaint_id}/commands/{command}"): VIEWERS,  # `note`
    ("POST", "/api/v1/complaints/{complaint_id}/evidence"): EVIDENCE,
    ("GET", "/api/v1/complaints/{complaint_id}/evidence/{evidence_id}"): VIEWERS,
    ("GET", "/api/v1/audit/config"): ADMINS,
    ("GET", "/api/v1/privacy/views"): ADMINS,
    ("GET", "/api/v1/privacy/requests"): ADMINS,
    ("GET", "/api/v1/privacy/retention/{org_id}"): ADMINS,
    ("PUT", "/api/v1/privacy/retention/{org_id}"): ADMINS,
    ("POST", "/api/v1/privacy/subject-export"): GROUP_ADMINS,
    ("POST", "/api/v1/privacy/subject-erasure"): GROUP_ADMINS,
    ("GET", "/api/v1/notify/outbox"): ADMINS,
    ("GET", "/api/v1/notify/outbox/{outbox_id}"): ADMINS,
    ("POST", "/api/v1/notify/outbox/{outbox_id}/retry"): ADMINS,
    ("GET", "/api/v1/notify/channels"): ADMINS,
    ("POST", "/api/v1/notify/channels"): ADMINS,
    ("PUT", "/api/v1/notify/channels/{channel_id}"): ADMINS,
    ("DELETE", "/api/v1/notify/channels/{channel_id}"): ADMINS,
    ("PUT", "/api/v1/notify/users/{user_id}/email"): ADMINS,
    ("GET", "/api/v1/complaints/{complaint_id}/timers"): VIEWERS,
    ("GET", "/api/v1/sla/overdue"): EVERYONE,  # rows filtered by scope
    ("GET", "/api/v1/sla/penalties"): EVERYONE,
    ("GET", "/api/v1/reports/deliveries"): EVERYONE,  # rows filtered by scope
    ("GET", "/api/v1/sla/calendar-check"): ADMINS,
    ("GET", "/api/v1/calendar/days"): ADMINS,
    # capabilities with rules of their own on top of can() (managers of corrective actions,
    # the report's organisation, a ledger's site): their folders' tests check who may; here
    # each must at least refuse a caller without a token
    ("POST", "/api/v1/packs"): "own",  # an administrator of every group running the key
    ("GET", "/api/v1/reports/{kind}"): "own",
    ("PUT", "/api/v1/reports/volume"): "own",
    ("GET", "/api/v1/reports/deliveries/{delivery_id}/file"): "own",
    ("GET", "/api/v1/cases"): "own",
    ("GET", "/api/v1/cases/export"): "own",
    ("POST", "/api/v1/ledger/imports"): "own",
    ("PUT", "/api/v1/ledger/mappings/{name}"): "own",
    ("GET", "/api/v1/improvement/actions"): "own",
    ("POST", "/api/v1/improvement/actions"): "own",
    ("GET", "/api/v1/improvement/actions/{action_id}"): "own",
    ("POST", "/api/v1/improvement/actions/{action_id}/commands/{command}"): "own",
    ("GET", "/api/v1/improvement/accountability"): "own",
    ("POST", "/api/v1/improvement/accountability"): "own",
    ("GET", "/api/v1/improvement/inspections"): "own",
    ("POST", "/api/v1/improvement/inspections/{inspection_id}"): "own",
    ("POST", "/api/v1/improvement/inspections/{inspection_id}/items/{item}/action"): "own",
    ("GET", "/api/v1/improvement/alerts"): "own",
    ("GET", "/api/v1/improvement/review"): "own",
    ("PUT", "/api/v1/calendar/days/{org}/{day}"): "own",  # an administrator of that organisation
    ("DELETE", "/api/v1/calendar/days/{org}/{day}"): "own",
}
MISSING = {
    "/api/v1/notify/outbox/{outbox_id}",
    "/api/v1/notify/outbox/{outbox_id}/retry",
    "/api/v1/notify/channels/{channel_id}",
}
"""Routes called with an id that does not exist: allowed means not refused (404 is fine)."""


def api_routes(app) -> list[tuple[str, str]]:
    return [(m, p) for m, p in all_routes(app) if p.startswith("/api/")]


def test_every_api_route_has_a_line_in_the_matrix(app):
    missing = [r for r in api_routes(app) if r not in ROUTES]
    assert missing == [], f"routes without a permission rule: {missing}"


def _served(app) -> dict:
    """The matrix lines of the routes this application serves."""
    served = set(api_routes(app))
    return {r: who for r, who in ROUTES.items() if r in served}


@pytest.fixture
def case(client, org, people, bearer):
    """A complaint at 上海南京路店 about the clerk, registered by the supervisor, with evidence."""
    headers = bearer("supervisor")
    body = complaint_body(org, staff_complained_id=people["clerk"], category="store_attitude")
    r = client.post("/api/v1/complaints", json=body, headers=headers)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    files = {"file": ("receipt.jpg", JPEG, "image/jpeg")}
    r = client.post(f"/api/v1/complaints/{cid}/evidence", files=files, headers=headers)
    assert r.status_code == 201, r.text
    return {"complaint_id": cid, "evidence_id": r.json()["id"]}


def _call(client, org, people, case, method, path, who, headers, n):
    """Issue one request for this route with sensible arguments; returns the status code."""
    ids = {
        "complaint_id": case["complaint_id"],
        "evidence_id": case["evidence_id"],
        "user_id": people["target"],
        "org_id": org["SH-NJ"],
        "key": "franchise-sales-center",
        "command": "note",
        "outbox_id": 999_999,
        "channel_id": 999_999,
        "token_id": 0,
        "kind": "weekly",
        "delivery_id": 999_999,
        "name": "ledger",
        "action_id": 999_999,
        "inspection_id": 999_999,
        "item": "x",
        "org": "SH-NJ",
        "day": "2026-11-27",
    }
    url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
    kw: dict = {"headers": headers}
    bodies = {
        "/api/v1/auth/login": {"username": who, "password": "kesu-demo-2026"},
        "/api/v1/me/locale": {"locale": "en"},
        "/api/v1/auth/password": {
            "current_password": "kesu-demo-2026",
            "new_password": f"new-secret-{n}-x",
        },
        "/api/v1/organisations": {
            "kind": "site",
            "code": f"NEW-{n}",
            "name": "新店",
            "parent_id": org["EAST"],
        },
        "/api/v1/users": {
            "username": f"new{n}",
            "display_name": "新同事",
            "role": "receiver",
            "org_id": org["SH-NJ"],
        },
        "/api/v1/users/{user_id}": {"display_name": f"改名{n}"},
        "/api/v1/users/{user_id}/password": {"password": f"reset-secret-{n}"},
        "/api/v1/tokens": {"name": "integration", "scope": "read"},
        "/api/v1/complaints": complaint_body(org),
        "/api/v1/privacy/retention/{org_id}": {"years": 5},
        "/api/v1/privacy/subject-export": {"phone": "13812345678", "reason": "本人来函"},
        "/api/v1/privacy/subject-erasure": {"phone": "13812345678", "reason": "本人要求删除"},
        "/api/v1/notify/channels": {
            "kind": "webhook",
            "name": "x",
            "target": "https://example.invalid/h",
        },
        "/api/v1/notify/channels/{channel_id}": {
            "kind": "webhook",
            "name": "x",
            "target": "https://example.invalid/h",
        },
        "/api/v1/notify/users/{user_id}/email": {"email": "a@example.com"},
    }
    if path == "/api/v1/complaints/{complaint_id}/commands/{command}":
        version = _version(client, people, case)
        kw["json"] = {"version": version, "payload": {"text": f"{who} 补充说明"}}
    elif path == "/api/v1/complaints/{complaint_id}/evidence" and method == "POST":
        kw["files"] = {"file": ("photo.jpg", JPEG, "image/jpeg")}
    elif path == "/api/v1/tokens/{token_id}":
        url = f"/api/v1/tokens/{_token_id(client, who)}"
    elif method in ("POST", "PUT", "PATCH") and path in bodies:
        kw["json"] = bodies[path]
    elif method == "POST":
        kw["json"] = {}
    return client.request(method, url, **kw).status_code


def _version(client, people, case) -> int:
    with reading(client.app.state.sessions) as s:
        return s.get(Complaint, case["complaint_id"]).version


def _token_id(client, who: str) -> int:
    """An API token of `who` to revoke (any id for someone unknown)."""
    if who == "nobody":
        return 1
    state = client.app.state
    with transaction(state.sessions) as s:
        user = access_service.by_username(s, who)
        raw = access_service.issue_token(s, state.clock, user, kind="api", name="x", hours=None)
        return access_service.token_of(s, raw).id


def _allowed(status: int, path: str) -> bool:
    """Past authorisation: a success, or a business rule further on (state, validation)."""
    if path in MISSING:
        return status not in (401, 403)
    return status < 400 or status in (409, 422)


def _refused(status: int, path: str) -> bool:
    return status == 403 if path in MISSING else status in (403, 404)


def test_each_person_is_allowed_exactly_what_the_matrix_says(client, org, people, case, bearer):
    wrong = []
    counter = itertools.count()
    for (method, path), who_may in _served(client.app).items():
        if who_may in ("public", "own"):
            continue
        for who in STAFF:
            status = _call(client, org, people, case, method, path, who, bearer(who), next(counter))
            expected = who in who_may
            ok = _allowed(status, path) if expected else _refused(status, path)
            if not ok:
                wrong.append(f"{method} {path} as {who}: {status} (expected allowed={expected})")
    assert wrong == []


def test_without_a_token_every_route_but_the_public_ones_answers_401(client, org, people, case):
    wrong = []
    for (method, path), who_may in _served(client.app).items():
        if who_may == "public":
            continue
        status = _call(client, org, people, case, method, path, "nobody", {}, 0)
        if status != 401:
            wrong.append(f"{method} {path}: {status}")
    assert wrong == []


@pytest.mark.parametrize(
    ("scope", "allowed_writes"),
    [
        ("read", {("POST", "/api/v1/auth/logout")}),
        (
            "intake",
            {
                ("POST", "/api/v1/auth/logout"),
                ("POST", "/api/v1/complaints"),
                ("POST", "/api/v1/complaints/{complaint_id}/evidence"),
            },
        ),
    ],
)
def test_a_scoped_api_token_reads_but_writes_only_within_its_scope(
    client, org, people, case, bearer, scope, allowed_writes
):
    """The director (who may do everything) through a read or intake token."""
    wrong = []
    for n, ((method, path), who_may) in enumerate(_served(client.app).items()):
        if who_may in ("public", "own") or "director" not in who_may:
            continue
        headers = bearer("director", scope)
        status = _call(client, org, people, case, method, path, "director", headers, n)
        expected = method == "GET" or (method, path) in allowed_writes
        if expected != _allowed(status, path):
            wrong.append(f"{method} {path} with a {scope} token: {status}")
    assert wrong == []


def test_the_person_complained_about_never_finds_the_complaint_in_a_list_or_search(
    client, org, people, case, bearer
):
    for query in ("", "?q=沙发", "?open_only=true", f"?site_id={org['SH-NJ']}"):
        r = client.get(f"/api/v1/complaints{query}", headers=bearer("clerk"))
        assert r.status_code == 200
        assert case["complaint_id"] not in [c["id"] for c in r.json()["items"]]
    r = client.get("/api/v1/complaints", headers=bearer("east_receiver"))
    assert case["complaint_id"] in [c["id"] for c in r.json()["items"]]
    r = client.get("/api/v1/complaints", headers=bearer("south_supervisor"))
    assert case["complaint_id"] not in [c["id"] for c in r.json()["items"]]


def test_the_list_query_and_the_rule_agree_for_every_person_and_complaint(
    client, org, people, bearer, sessions
):
    """`queries.visible_to` (SQL) is the list form of `can(view)`: same answer everywhere."""
    about = [None, people["clerk"], people["receiver1"], people["east_receiver"]]
    for site, person in itertools.product(("SH-NJ", "HZ-XH", "GZ-TH", "HX"), about):
        body = complaint_body(org, site_id=org[site], staff_complained_id=person)
        r = client.post("/api/v1/complaints", json=body, headers=bearer("director"))
        assert r.status_code == 201, r.text
    with reading(sessions) as s:
        complaints = list(s.scalars(select(Complaint)))
        for user in s.scalars(select(User)):
            p = access_service.principal(s, user)
            listed = set(s.scalars(queries.visible_to(s, user).with_only_columns(Complaint.id)))
            ruled = {c.id for c in complaints if rules.can(p, "view", access_service.view_of(c))}
            assert listed == ruled, user.username
