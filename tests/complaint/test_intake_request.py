"""An API request authenticates in its own unit of work's session: one pooled connection at a
time, and what it registers is numbered and chained as before (both databases)."""

from __future__ import annotations

from sqlalchemy import event

from helpers import complaint_body, login


def _watch_pool(engine) -> dict[str, int]:
    seen = {"out": 0, "most": 0, "checkouts": 0}

    def checkout(*_):
        seen["out"] += 1
        seen["checkouts"] += 1
        seen["most"] = max(seen["most"], seen["out"])

    def checkin(*_):
        seen["out"] -= 1

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine.pool, "checkin", checkin)
    return seen


def test_intake_and_reads_hold_one_connection_at_a_time(app, client, org):
    headers = login(client, "receiver1")
    seen = _watch_pool(app.state.engine)
    numbers = []
    for _ in range(3):
        r = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["number"])
        cid = r.json()["id"]
        assert client.get(f"/api/v1/complaints/{cid}", headers=headers).status_code == 200
    assert seen["most"] == 1
    assert len(set(numbers)) == 3 and numbers == sorted(numbers)


def test_a_bad_token_writes_nothing(app, client, org):
    r = client.post(
        "/api/v1/complaints",
        json=complaint_body(org),
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert r.status_code == 401
    headers = login(client, "receiver1")
    listed = client.get("/api/v1/complaints", headers=headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
