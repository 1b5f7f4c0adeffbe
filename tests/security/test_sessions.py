"""Signing in and out, sessions and tokens, as an attacker or an auditor would check them."""

from __future__ import annotations


def test_an_api_token_that_signs_itself_out_is_revoked_on_the_configuration_trail(
    client, org, people, bearer
):
    """`POST /auth/logout` with an integration token revoked it, but the trail kept only its
    issue: an auditor read a token as live that no longer worked, with no one named as
    having stopped it. It now goes on the trail like any revoked API token."""
    admin = bearer("admin")
    made = client.post(
        "/api/v1/tokens", json={"name": "呼叫中心", "scope": "read"}, headers=admin
    ).json()
    token = {"Authorization": f"Bearer {made['token']}"}
    assert client.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert client.get("/api/v1/me", headers=token).status_code == 401
    trail = client.get("/api/v1/audit/config", headers=admin).json()
    revoked = [e for e in trail if e["action"] == "token.revoke" and e["target_id"] == made["id"]]
    assert len(revoked) == 1 and revoked[0]["actor_id"] == people["admin"]
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert [t["revoked_at"] is not None for t in listed if t["id"] == made["id"]] == [True]
