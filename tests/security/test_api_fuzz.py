"""schemathesis against /api/v1/openapi.json: generated requests (valid and not) for every
operation, signed in, must never get a 5xx nor a response that breaks the published schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from helpers import complaint_body
from kesu.access import service as access_service
from kesu.db.session import transaction
from kesu.health import service as health_service

ADMIN_PREFIXES = ("/api/v1/users/", "/api/v1/privacy", "/api/v1/audit", "/api/v1/notify")


@pytest.fixture
def seeded(client, app, org):
    """One complaint, a worker that has just finished a pass (so /health/worker answers 200,
    not its 503 for a deployment without one) and a token factory (no password hashing per
    example)."""
    state = app.state
    with transaction(state.sessions) as s:
        now = state.clock.now()
        health_service.beat(s, "fuzz:1", started_at=now, now=now, took_ms=1, failing=[])

    def token(username: str) -> str:
        with transaction(state.sessions) as s:
            user = access_service.by_username(s, username)
            return access_service.issue_token(
                s, state.clock, user, kind="session", name="fuzz", hours=1
            )

    r = client.post(
        "/api/v1/complaints",
        json=complaint_body(org),
        headers={"Authorization": f"Bearer {token('receiver1')}"},
    )
    assert r.status_code == 201
    return token


def test_no_generated_request_gets_a_server_error_or_an_off_schema_answer(app, seeded):
    """Each operation gets its own bounded run (25 examples, reproducible); the first failing
    example is reported with the request that caused it."""
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        _fuzz(operation, seeded)


def _fuzz(operation, seeded) -> None:
    who = "admin" if operation.path.startswith(ADMIN_PREFIXES) else "director"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {seeded(who)}"},
            checks=[not_a_server_error, response_schema_conformance],
        )

    check()
