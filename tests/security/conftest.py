"""People at every organisation scope, and bearer tokens without the password KDF."""

from __future__ import annotations

import pytest

from kesu.access import service as access_service
from kesu.db.session import transaction

SCOPED = [
    # username, role, org code, department code
    ("east_receiver", "receiver", "EAST", "CS"),  # a region: its three stores
    ("shnj_receiver", "receiver", "SH-NJ", "CS"),  # one store
    ("south_supervisor", "supervisor", "SOUTH", "CS"),  # the other region
    ("east_admin", "admin", "EAST", None),  # a region's administrator
    ("target", "receiver", "SH-NJ", "CS"),  # someone for administrators to manage
]


@pytest.fixture
def people(sessions, clock, org):
    """{username: user id} for the demo staff (head office) and the scoped users above."""
    from sqlalchemy import select

    from kesu.access.models import User

    with transaction(sessions) as s:
        for username, role, org_code, dept in SCOPED:
            access_service.add_user(
                s,
                clock,
                username=username,
                display_name=username,
                role=role,
                org_id=org[org_code],
                department_id=org[dept] if dept else None,
                password="kesu-demo-2026",
            )
        return {u.username: u.id for u in s.scalars(select(User))}


@pytest.fixture
def bearer(sessions, clock):
    """bearer(username, scope=None) -> headers: a session (scope None) or an API token."""

    def make(username: str, scope: str | None = None) -> dict[str, str]:
        with transaction(sessions) as s:
            user = access_service.by_username(s, username)
            kind = "session" if scope is None else "api"
            raw = access_service.issue_token(
                s, clock, user, kind=kind, name="test", hours=12, scope=scope or "full"
            )
        return {"Authorization": f"Bearer {raw}"}

    return make
