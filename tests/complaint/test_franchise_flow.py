"""Seed 002 end to end through the HTTP API: one complaint's whole life, on the record."""

from __future__ import annotations

from helpers import complaint_body, login, run
from kesu.audit.service import verify_all


def test_a_franchise_complaint_goes_from_receipt_to_follow_up_with_every_step_on_record(
    client, org, sessions, clock
):
    receiver = login(client, "receiver1")
    supervisor = login(client, "supervisor")
    director = login(client, "director")
    archivist = login(client, "archivist")

    r = client.post("/api/v1/complaints", json=complaint_body(org), headers=receiver)
    assert r.status_code == 201, r.text
    c = r.json()
    cid = c["id"]
    assert c["state"] == "new" and c["level"] == "L1" and c["current_tier"] == "T1"
    assert c["number"].startswith("FS202611")

    def step(headers, command, payload=None, minutes=30):
        clock.advance(minutes=minutes)
        resp = run(client, headers, cid, command, payload)
        assert resp.status_code == 200, (command, resp.text)
        return resp.json()

    step(receiver, "acknowledge", {"message": "已受理，一个工作日内联系您"})
    step(receiver, "record_contact", {"reached": True, "summary": "电话联系，了解经过"})
    c = step(receiver, "classify", {"classification": "valid", "reason": "情况属实"})
    assert c["state"] == "in_progress"
    investigation = {
        "findings": "坐垫海绵密度不达标",
        "root_causes": ["material"],
        "responsibility": [{"party": "供应商", "share": 70}, {"party": "质量管理部", "share": 30}],
        "founded": True,
    }
    step(receiver, "record_investigation", investigation)
    c = step(
        receiver,
        "propose_solution",
        {"solution_type": "repair", "amount": 0, "description": "上门更换坐垫"},
    )
    assert c["state"] == "solution_agreed"
    step(receiver, "implement", {"notes": "已更换"})

    # a grade off the scale is refused, the scale listed as the reader's language lists
    for lang, scale in (("zh-CN", "（1、2、3、4、5）"), ("en", "(1, 2, 3, 4, 5)")):
        wrong = run(
            client,
            {**receiver, "Accept-Language": lang},
            cid,
            "record_response",
            {"satisfaction": 9},
        )
        assert wrong.status_code == 422 and scale in wrong.json()["error"]["message"], wrong.text
    # satisfaction 4 (不满意): automatic upgrade to L2, a new handling form, a T2 handler
    c = step(receiver, "record_response", {"satisfaction": 4, "comment": "还是软"})
    assert c["state"] == "in_progress"
    assert c["level"] == "L2" and c["current_tier"] == "T2" and c["round"] == 2
    # the T1 receiver may no longer handle it
    refused = run(client, receiver, cid, "record_investigation", investigation)
    assert refused.status_code == 403
    assert "T2" in refused.json()["error"]["message"]

    step(supervisor, "record_investigation", investigation)
    c = step(
        supervisor,
        "propose_solution",
        {"solution_type": "exchange", "amount": 800, "description": "整套更换新沙发"},
    )
    assert c["state"] == "solution_agreed"  # 800 yuan is within T2's authority
    step(supervisor, "implement", {"notes": "已换新"})
    c = step(supervisor, "record_response", {"satisfaction": 2})
    assert c["state"] == "reviewing"

    # L2's review chain is the T3 director; the archivist files it
    assert run(client, supervisor, cid, "sign_off", {"opinion": "同意"}).status_code == 403
    step(director, "sign_off", {"opinion": "处理得当，同意结案"})
    c = step(archivist, "close", {"summary": "归档"})
    assert c["state"] == "closed" and c["closed_at"]
    clock.advance(hours=72)  # the follow-up visit, three days later: a new login session
    receiver = login(client, "receiver1")
    c = step(receiver, "follow_up", {"result": "回访：客户满意", "satisfaction": 1})
    assert c["followed_up_at"]

    timeline = c["timeline"]
    commands = [e["command"] for e in timeline]
    assert commands == [
        "receive",
        "acknowledge",
        "record_contact",
        "classify",
        "record_investigation",
        "propose_solution",
        "implement",
        "record_response",
        "record_investigation",
        "propose_solution",
        "implement",
        "record_response",
        "sign_off",
        "close",
        "follow_up",
    ]
    actors = {e["command"]: e["actor_label"] for e in timeline}
    assert actors["sign_off"] == "赵总监" and actors["close"] == "周文员"
    times = [e["at"] for e in timeline]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert timeline[7]["payload"]["upgraded_to"] == "L2"
    assert c["version"] == len(timeline)

    with sessions() as session:
        checked, breaks = verify_all(session)
    assert checked == 1 and breaks == []
