"""Concurrent intake and concurrent updates over real HTTP, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from helpers import complaint_body, login
from kesu.complaint.models import Complaint, ComplaintEvent
from server import serving


def test_a_thousand_complaints_from_16_concurrent_clients_get_a_thousand_distinct_numbers(
    app, client, org, sessions
):
    headers = login(client, "receiver1")
    with serving(app) as base:

        def one_client(n: int) -> list[str]:
            numbers = []
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for i in range(n):
                    body = complaint_body(org, title=f"并发投诉 {i}")
                    r = http.post("/api/v1/complaints", json=body)
                    assert r.status_code == 201, r.text
                    numbers.append(r.json()["number"])
            return numbers

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(one_client, [63] * 8 + [62] * 8))
    numbers = [n for chunk in results for n in chunk]
    assert len(numbers) == 1000
    assert len(set(numbers)) == 1000
    serials = sorted(int(n[-4:]) for n in numbers)
    assert serials == list(range(1, 1001))  # the month's running count, no gaps, no reuse
    with sessions() as s:
        assert s.scalar(select(func.count(Complaint.id))) == 1000


def test_of_two_updates_made_from_the_same_version_one_wins_and_the_other_gets_409(
    app, client, org, sessions
):
    receiver = login(client, "receiver1")
    other = login(client, "receiver2")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver).json()["id"]
    seen = client.get(f"/api/v1/complaints/{cid}", headers=receiver).json()["version"]

    def note(args):
        headers, text = args
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            return http.post(
                f"/api/v1/complaints/{cid}/commands/note",
                json={"version": seen, "payload": {"text": text}},
            )

    with serving(app) as base, ThreadPoolExecutor(2) as pool:
        results = list(pool.map(note, [(receiver, "甲的备注"), (other, "乙的备注")]))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["error"]["code"] == "kesu.stale_version"
    with sessions() as s:
        notes = s.scalars(
            select(ComplaintEvent.payload).where(
                ComplaintEvent.complaint_id == cid, ComplaintEvent.command == "note"
            )
        ).all()
        assert len(notes) == 1
        assert s.get(Complaint, cid).version == seen + 1


def test_a_command_sent_with_an_old_version_changes_nothing(client, org, sessions):
    headers = login(client, "receiver1")
    cid = client.post("/api/v1/complaints", json=complaint_body(org), headers=headers).json()["id"]
    r = client.post(
        f"/api/v1/complaints/{cid}/commands/acknowledge",
        json={"version": 1, "payload": {}},
        headers=headers,
    )
    assert r.status_code == 200
    stale = client.post(
        f"/api/v1/complaints/{cid}/commands/note",
        json={"version": 1, "payload": {"text": "过期版本"}},
        headers={**headers, "Accept-Language": "zh-CN"},
    )
    assert stale.status_code == 409
    assert "已被他人更新" in stale.json()["error"]["message"]
    detail = client.get(f"/api/v1/complaints/{cid}", headers=headers).json()
    assert detail["version"] == 2 and [e["command"] for e in detail["timeline"]] == [
        "receive",
        "acknowledge",
    ]
