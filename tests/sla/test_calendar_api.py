"""An organisation's own closed and extra working days over the API: an administrator of the
organisation sets them, open deadlines move at once, and the trail says who did it."""

from __future__ import annotations

from helpers import complaint_body, login

DAY = "/api/v1/calendar/days/SH-NJ/2026-11-27"


def test_an_administrator_closes_a_store_for_a_day_and_its_deadlines_move(client, org):
    receiver = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver).json()["id"]
    admin = login(client, "admin")
    r = client.put(DAY, json={"working": False, "note": "盘点"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"moved": 1}
    detail = client.get(f"/api/v1/complaints/{cid}", headers=receiver).json()
    assert detail["next_due_at"] == "2026-11-30T16:00:00Z"  # the end of Monday
    listed = client.get("/api/v1/calendar/days?year=2026", headers=admin).json()
    assert [(d["org"], d["day"], d["working"], d["note"]) for d in listed] == [
        ("SH-NJ", "2026-11-27", False, "盘点")
    ]
    trail = client.get("/api/v1/audit/config", headers=admin).json()
    assert "calendar.day" in {e["action"] for e in trail}
    assert client.delete(DAY, headers=admin).json() == {"moved": 1}
    detail = client.get(f"/api/v1/complaints/{cid}", headers=receiver).json()
    assert detail["next_due_at"] == "2026-11-27T16:00:00Z"
    r = client.delete(DAY, headers={**admin, "Accept-Language": "en"})
    assert r.status_code == 404
    assert r.json()["error"]["message"].endswith("it follows the official calendar")


def test_only_an_administrator_of_the_organisation_changes_its_calendar(client, org):
    for user in ("receiver1", "director"):
        r = client.put(DAY, json={"working": False}, headers=login(client, user))
        assert r.status_code == 403, user
    admin = login(client, "admin")
    assert client.get("/api/v1/calendar/days", headers=admin).json() == []
    r = client.put(DAY, json={"working": False, "note": "x" * 201}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["field"] == "body.note"
    r = client.put("/api/v1/calendar/days/NOPE/2026-11-27", json={"working": True}, headers=admin)
    assert r.status_code == 404
