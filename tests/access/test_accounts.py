"""Accounts through the API: lockout with backoff, password change, sessions, scoped API
tokens, deactivation — what a staff member or an administrator would notice."""

from __future__ import annotations

from sqlalchemy import select

from helpers import complaint_body, login, run
from kesu.access.models import Token
from kesu.audit.models import ConfigAudit
from kesu.db.session import reading
from kesu.demo import PASSWORD

LOGIN = "/api/v1/auth/login"


def _try(client, username, password="wrong-password"):
    return client.post(LOGIN, json={"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, clock):
    for _ in range(5):
        assert _try(client, "receiver1").status_code == 401
    locked = _try(client, "receiver1", PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["key"] == "auth.locked"
    assert "1 分钟" in locked.json()["error"]["message"]
    clock.advance(seconds=61)
    assert _try(client, "receiver1", PASSWORD).status_code == 200


def test_each_failure_after_a_lockout_doubles_the_wait(client, clock):
    for _ in range(5):
        _try(client, "receiver1")
    clock.advance(seconds=61)
    assert _try(client, "receiver1").status_code == 401  # the sixth failure: two minutes
    clock.advance(seconds=61)
    assert _try(client, "receiver1", PASSWORD).status_code == 429
    clock.advance(seconds=60)
    assert _try(client, "receiver1", PASSWORD).status_code == 200


def test_an_unknown_username_locks_the_same_way_so_a_lockout_reveals_nothing(client):
    for _ in range(5):
        assert _try(client, "nobody-here").status_code == 401
    assert _try(client, "nobody-here").status_code == 429


def test_one_address_trying_many_usernames_is_locked_out_too(client):
    for n in range(30):
        assert _try(client, f"guess{n}").status_code == 401
    assert _try(client, "receiver1", PASSWORD).status_code == 429


def test_a_lockout_holds_in_every_web_process(settings, clock, org):
    """Two application instances on one database: failures in one lock the other."""
    from fastapi.testclient import TestClient

    from kesu.web.app import create_app

    first, second = create_app(settings, clock), create_app(settings, clock)
    try:
        with TestClient(first) as a, TestClient(second) as b:
            for _ in range(5):
                _try(a, "supervisor")
            assert _try(b, "supervisor", PASSWORD).status_code == 429
    finally:
        first.state.engine.dispose()
        second.state.engine.dispose()


def test_a_successful_sign_in_clears_the_failures_before_the_limit(client):
    for _ in range(4):
        _try(client, "receiver1")
    assert _try(client, "receiver1", PASSWORD).status_code == 200
    for _ in range(4):
        _try(client, "receiver1")
    assert _try(client, "receiver1", PASSWORD).status_code == 200


def test_changing_the_password_ends_every_other_session_and_the_old_password(client):
    here, elsewhere = login(client, "receiver1"), login(client, "receiver1")
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a-new-long-secret"},
        headers=here,
    )
    assert r.status_code == 200 and r.json() == {"count": 1}
    assert client.get("/api/v1/me", headers=here).status_code == 200
    assert client.get("/api/v1/me", headers=elsewhere).status_code == 401
    assert _try(client, "receiver1", PASSWORD).status_code == 401
    assert _try(client, "receiver1", "a-new-long-secret").status_code == 200


def test_a_wrong_current_password_or_a_weak_new_one_is_refused_by_field(client):
    headers = login(client, "receiver1")
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it", "new_password": "a-new-long-secret"},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "current_password"
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "12345678"},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["error"]["key"] == "invalid.password_guessable"
    assert r.json()["error"]["field"] == "new_password"


def test_signing_out_everywhere_ends_all_sessions_but_not_api_tokens(client):
    one, two = login(client, "supervisor"), login(client, "supervisor")
    raw = client.post("/api/v1/tokens", json={"name": "erp", "scope": "read"}, headers=one)
    api = {"Authorization": f"Bearer {raw.json()['token']}"}
    r = client.post("/api/v1/auth/sessions/revoke", headers=one)
    assert r.json() == {"count": 2}
    assert client.get("/api/v1/me", headers=one).status_code == 401
    assert client.get("/api/v1/me", headers=two).status_code == 401
    assert client.get("/api/v1/me", headers=api).status_code == 200


def test_a_session_expires_after_the_configured_hours(client, clock, settings):
    headers = login(client, "receiver1")
    clock.advance(hours=settings.session_hours, seconds=1)
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["key"] == "auth.bad_token"


def test_an_api_token_is_stored_only_as_its_hash_has_a_scope_and_can_be_revoked(
    client, sessions, org
):
    headers = login(client, "director")
    r = client.post("/api/v1/tokens", json={"name": "呼叫中心", "scope": "intake"}, headers=headers)
    assert r.status_code == 201
    raw, token_id = r.json()["token"], r.json()["id"]
    with reading(sessions) as s:
        stored = s.get(Token, token_id)
        assert stored.scope == "intake" and raw not in stored.token_hash
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert [(t["name"], t["scope"], t["token"]) for t in listed] == [("呼叫中心", "intake", None)]
    api = {"Authorization": f"Bearer {raw}"}
    created = client.post("/api/v1/complaints", json=complaint_body(org), headers=api)
    assert created.status_code == 201
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=api).status_code == 401


def test_an_intake_token_registers_complaints_but_cannot_handle_them(client, org):
    headers = login(client, "director")
    raw = client.post("/api/v1/tokens", json={"name": "wechat", "scope": "intake"}, headers=headers)
    api = {"Authorization": f"Bearer {raw.json()['token']}"}
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=api).json()["id"]
    r = run(client, api, cid, "acknowledge")
    assert r.status_code == 403 and r.json()["error"]["key"] == "forbidden.token_scope"
    # what the token may not do, in the reader's words, not the rule's key ("command")
    said = r.json()["error"]["message"]
    assert said == "此 API 令牌的权限范围不允许“处理投诉（流程操作）”（请使用范围更大的令牌）"
    r = client.post("/api/v1/tokens", json={"name": "x"}, headers=api | {"Accept-Language": "en"})
    assert r.json()["error"]["message"].startswith(
        "This API token's scope does not allow 'managing your own account (password, tokens, "
    )
    assert run(client, headers, cid, "acknowledge").status_code == 200


def test_a_deactivated_user_cannot_sign_in_and_their_history_keeps_their_name(
    client, org, sessions
):
    staff = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=staff).json()["id"]
    admin = login(client, "admin")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    r = client.post(f"/api/v1/users/{users['receiver1']}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/me", headers=staff).status_code == 401
    assert _try(client, "receiver1", PASSWORD).status_code == 401
    timeline = client.get(f"/api/v1/complaints/{cid}", headers=login(client, "supervisor"))
    assert timeline.json()["timeline"][0]["actor_label"] == "王晓丽"
    with reading(sessions) as s:
        actions = [a for (a,) in s.execute(select(ConfigAudit.action).order_by(ConfigAudit.seq))]
    assert actions[-1] == "user.deactivate"
    client.post(f"/api/v1/users/{users['receiver1']}/activate", headers=admin)
    assert _try(client, "receiver1", PASSWORD).status_code == 200


def test_an_administrator_can_end_all_of_a_user_s_tokens_and_lift_a_lockout(client):
    staff = login(client, "supervisor")
    raw = client.post("/api/v1/tokens", json={"name": "erp"}, headers=staff).json()["token"]
    admin = login(client, "admin")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    r = client.post(f"/api/v1/users/{users['supervisor']}/revoke-tokens", headers=admin)
    assert r.json() == {"count": 2}
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    for _ in range(5):
        _try(client, "supervisor")
    assert _try(client, "supervisor", PASSWORD).status_code == 429
    client.post(f"/api/v1/users/{users['supervisor']}/unlock", headers=admin)
    assert _try(client, "supervisor", PASSWORD).status_code == 200


def test_a_role_change_is_on_the_configuration_trail_with_before_and_after(client):
    admin = login(client, "admin")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    r = client.patch(
        f"/api/v1/users/{users['receiver2']}", json={"role": "supervisor"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["role"] == "supervisor"
    trail = client.get("/api/v1/audit/config", headers=admin).json()
    assert trail[0]["action"] == "user.role"
    assert trail[0]["details"] == {"before": {"role": "receiver"}, "after": {"role": "supervisor"}}
    assert trail[0]["actor_label"] == "系统管理员"
    r = client.patch(f"/api/v1/users/{users['receiver2']}", json={"role": "boss"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "role"


def test_a_user_cannot_be_put_in_a_department_of_another_group(client, org, sessions, clock):
    from kesu.db.session import transaction
    from kesu.org import service as org_service

    with transaction(sessions) as s:
        other = org_service.create(
            s, clock, kind="group", code="HY", name="华裕", pack_key="franchise-sales-center"
        )
        dept = org_service.create(
            s, clock, kind="department", code="HY-CS", name="客服部", parent_id=other.id
        )
        dept_id = dept.id
    admin = login(client, "admin")
    users = {u["username"]: u["id"] for u in client.get("/api/v1/users", headers=admin).json()}
    moved = client.patch(
        f"/api/v1/users/{users['receiver2']}", json={"department_id": dept_id}, headers=admin
    )
    assert moved.status_code == 422 and moved.json()["error"]["field"] == "department_id"
    body = {
        "username": "newbie",
        "display_name": "新人",
        "role": "receiver",
        "org_id": org["HX"],
        "department_id": dept_id,
    }
    added = client.post("/api/v1/users", json=body, headers=admin)
    assert added.status_code == 422 and added.json()["error"]["field"] == "department_id"
    after = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).json()}
    assert "newbie" not in after and after["receiver2"]["department_id"] != dept_id


def test_an_administrator_adds_a_user_who_reads_traditional_chinese(client, org):
    admin = login(client, "admin")
    body = {
        "username": "chan.hk",
        "display_name": "陳先生",
        "role": "receiver",
        "org_id": org["HX"],
        "locale": "zh_Hant",
    }
    r = client.post("/api/v1/users", json={**body, "locale": "fr"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["field"] == "body.locale"
    r = client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["locale"] == "zh_Hant"
    uid = r.json()["id"]
    r = client.patch(f"/api/v1/users/{uid}", json={"locale": None}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "locale"
    r = client.patch(f"/api/v1/users/{uid}", json={"locale": "en"}, headers=admin)
    assert r.status_code == 200 and r.json()["locale"] == "en"
    trail = client.get("/api/v1/audit/config", headers=admin).json()
    assert trail[0]["action"] == "user.update"


def test_head_office_administers_nothing_of_another_group(client, org, sessions, clock):
    from kesu.db.session import transaction
    from kesu.org import service as org_service

    with transaction(sessions) as s:
        other = org_service.create(
            s, clock, kind="group", code="HY", name="华裕", pack_key="retail-store"
        )
        store = org_service.create(
            s, clock, kind="site", code="HY-S1", name="华裕一店", parent_id=other.id
        )
        other_id, store_id = other.id, store.id
    admin = login(client, "admin")
    body = {
        "username": "intruder",
        "display_name": "外人",
        "role": "admin",
        "org_id": other_id,
        "password": "Intruder-pass-2026",
    }
    refused = client.post("/api/v1/users", json=body, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "org_id"
    site = {"kind": "site", "parent_id": other_id, "code": "HY-X", "name": "x"}
    refused = client.post("/api/v1/organisations", json=site, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "parent_id"
    day = {"working": False, "note": "盘点"}
    closed = client.put("/api/v1/calendar/days/HY-S1/2026-12-01", json=day, headers=admin)
    assert closed.status_code == 404  # as unknown as a code nobody uses
    kept = client.put(f"/api/v1/privacy/retention/{store_id}", json={"years": 1}, headers=admin)
    assert kept.status_code == 404
    with reading(sessions) as s:
        from kesu.access.models import User
        from kesu.org.models import Organisation

        assert s.scalar(select(User).where(User.username == "intruder")) is None
        assert s.scalar(select(Organisation).where(Organisation.code == "HY-X")) is None


def test_an_organisation_or_user_placed_nowhere_is_refused_naming_the_field_not_a_404(client, org):
    """An integrator who leaves out a new store's parent, or names an organisation that is not
    there, hears which field is wrong in their language, not "Organisation None not found"
    with 404 (which reads as a wrong address)."""
    admin = login(client, "admin") | {"Accept-Language": "en"}
    site = {"kind": "site", "code": "SH-NEW", "name": "新店"}
    r = client.post("/api/v1/organisations", json=site, headers=admin)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "parent_id"
    assert r.json()["error"]["message"] == "Parent: a valid parent organisation is required"
    person = {"username": "nowhere", "display_name": "无处", "role": "receiver", "org_id": 999}
    r = client.post("/api/v1/users", json=person, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "org_id"
    assert r.json()["error"]["message"] == "Organisation: no record with id 999"
    uid = client.get("/api/v1/me", headers=login(client, "receiver1")).json()["id"]
    r = client.patch(f"/api/v1/users/{uid}", json={"org_id": 999}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "org_id"
    hook = {"kind": "webhook", "name": "x", "target": "https://example.invalid/h", "org_id": 999}
    r = client.post("/api/v1/notify/channels", json=hook, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "org_id"
