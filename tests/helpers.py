"""Plain helper functions for tests (fixed defaults, no magic)."""

from __future__ import annotations

from typing import Any

from kesu.access import service as access_service
from kesu.complaint import service as complaint_service
from kesu.complaint.schemas import ComplaintCreate
from kesu.db.session import transaction
from kesu.demo import PASSWORD

INVESTIGATION = {
    "findings": "坐垫海绵密度不达标",
    "root_causes": ["material"],
    "responsibility": [{"party": "质量管理部", "share": 100}],
    "founded": True,
}
"""A record_investigation payload for the demo's sofa complaint (founded, one cause)."""


def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def complaint_body(org: dict[str, int], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": org["SH-NJ"],
        "channel": "phone",
        "complainant": {"name": "林女士", "phone": "138 1234 5678"},
        "complainant_type": "consumer",
        "title": "沙发坐垫塌陷",
        "description": "购买的北欧布艺沙发使用不到一个月坐垫明显塌陷，要求上门检测。",
        "demands": ["repair"],
        "category": "product_quality",
        "level": "L1",
        "subject": {"product": "北欧布艺沙发", "sku": "SF-2031", "order_no": "SO123456"},
        "department_id": org["CS"],
    }
    body.update(over)
    return body


def receive(sessions, clock, org: dict[str, int], username: str = "receiver1", **over: Any):
    """A complaint taken by `username` through the service (`complaint_body` with `over`)."""
    with transaction(sessions) as session:
        actor = complaint_service.actor_of(access_service.by_username(session, username))
        body = ComplaintCreate.model_validate(complaint_body(org, **over))
        return complaint_service.receive(session, clock, actor, body)


def run(client, headers, cid: int, command: str, payload: dict | None = None, version=None):
    """Issue a command with the complaint's current version (unless one is given)."""
    if version is None:
        version = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()["version"]
    return client.post(
        f"/api/v1/complaints/{cid}/commands/{command}",
        json={"version": version, "payload": payload or {}},
        headers=headers,
    )
