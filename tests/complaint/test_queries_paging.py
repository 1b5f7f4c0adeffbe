"""Lists page newest first with a cursor: every complaint exactly once, in order, even when
several were received in the same instant and the list is filtered."""

from __future__ import annotations

from tests.helpers import complaint_body, login


def test_paging_returns_each_complaint_once_newest_first_across_ties(client, org, clock):
    headers = login(client, "receiver1")
    made = []
    for minute, n in ((0, 4), (5, 1), (9, 3)):  # complaints received in the same instant
        clock.set(clock.now().replace(hour=10, minute=minute))
        for _ in range(n):
            body = complaint_body(
                org,
                channel="web" if len(made) % 3 else "phone",
                complainant={"name": "林女士", "phone": f"1381234{len(made):04d}"},
            )
            r = client.post("/api/v1/complaints", json=body, headers=headers)
            assert r.status_code == 201, r.text
            made.append((r.json()["received_at"], r.json()["id"], body["channel"]))
    staff = login(client, "supervisor")
    for channel in (None, "web"):
        expected = [cid for at, cid, ch in sorted(made, reverse=True) if channel in (None, ch)]
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"channel": channel} if channel else {})}
            if cursor:
                params["cursor"] = cursor
            r = client.get("/api/v1/complaints", params=params, headers=staff)
            assert r.status_code == 200, r.text
            seen += [c["id"] for c in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert seen == expected


def test_a_state_that_does_not_exist_is_refused_naming_the_states(client, org):
    headers = {**login(client, "supervisor"), "Accept-Language": "en"}
    client.post("/api/v1/complaints", json=complaint_body(org), headers=headers)
    r = client.get("/api/v1/complaints", params={"state": "open"}, headers=headers)
    assert r.status_code == 422, r.text  # not an empty page that looks like "nothing open"
    error = r.json()["error"]
    assert error["field"] == "query.state"
    assert error["message"].startswith("State: must be one of 'new', 'acknowledged'")
    assert len(client.get("/api/v1/complaints?state=new", headers=headers).json()["items"]) == 1
