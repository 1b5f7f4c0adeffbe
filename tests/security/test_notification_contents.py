"""What a message to staff or a group chat carries: never a complainant's number that the
console masks for its readers."""

from __future__ import annotations

from sqlalchemy import select, update

from helpers import complaint_body
from kesu.access.models import User
from kesu.complaint.models import Complaint
from kesu.db.session import reading, transaction
from kesu.notify.models import Outbox


def test_a_number_in_a_complaints_title_is_masked_in_staff_messages_and_group_chats(
    client, sessions, org, people, bearer
):
    """An L3 complaint titled with the caller's mobile number told the T3 director (who does
    not handle it, so may not see the complainant's phone) by e-mail, and the group's chat
    robot, the number in full; the console shows the director 138****5678. Staff messages
    and channels now carry free text masked like every other screen."""
    with transaction(sessions) as s:
        s.execute(update(User).values(email=User.username + "@example.com"))
    admin = bearer("admin")
    hook = {"kind": "webhook", "name": "客服群", "target": "https://example.invalid/hook"}
    assert client.post("/api/v1/notify/channels", json=hook, headers=admin).status_code == 201
    body = complaint_body(
        org,
        level="L3",
        title="顾客13812345678反映门店态度差",
        staff_complained_id=people["clerk"],
    )
    made = client.post("/api/v1/complaints", json=body, headers=bearer("receiver1"))
    assert made.status_code == 201, made.text
    with reading(sessions) as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.complaint_id == made.json()["id"])))
    staff = [r for r in rows if r.recipient_kind in ("user", "channel")]
    assert {(r.recipient_kind, r.recipient_id) for r in staff} >= {
        ("user", people["director"])
    } and any(r.recipient_kind == "channel" for r in staff)
    for row in staff:
        assert "13812345678" not in str(row.params), (row.recipient_kind, row.params)
        assert row.params["title"] == "顾客138****5678反映门店态度差"
        assert row.recipient_id != people["clerk"] or row.recipient_kind != "user"
    listed = client.get("/api/v1/complaints", headers=bearer("director")).json()["items"]
    assert [c["title"] for c in listed if c["id"] == made.json()["id"]] == [
        "顾客138****5678反映门店态度差"
    ]


def test_a_repeat_cause_alert_does_not_name_a_complaint_to_the_person_it_is_about(sessions, clock):
    """Three faulty-table complaints put down to 物 raise a repeat-cause alert to both
    department heads, naming the complaints. One of them was about the floor head; his
    message named it too (回避: the person complained about is never told of the case).
    Each recipient now reads the numbers of the complaints they may see."""
    from datetime import timedelta

    from improvement.loop import Loop, club, investigated, table_complaint
    from scenarios.world import local

    clock.set(local(2026, 11, 26, 10, 0))
    loop = Loop(club(sessions, clock))
    world = loop.world
    numbers = {}
    for i in range(3):
        over = {"staff_complained_id": world.ids["floor_head"]} if i == 0 else {}
        cid = table_complaint(world, title=f"{i + 1}号台台面不平", **over)
        investigated(world, cid)
        with world.sessions() as s:
            numbers[i] = s.get(Complaint, cid).number
        world.clock.advance(hours=5)
    loop.at(world.clock.now() + timedelta(minutes=2))

    names = {v: k for k, v in world.ids.items()}
    with world.sessions() as s:
        told = {
            names[r.recipient_id]: r.params["numbers"]["zh_Hans"]
            for r in s.scalars(
                select(Outbox).where(
                    Outbox.template == "improvement_repeat_cause", Outbox.channel == "email"
                )
            )
        }
    assert set(told) == {"club_mgr", "eq_head", "floor_head"}
    assert all(numbers[i] in told["eq_head"] for i in range(3))
    assert numbers[0] not in told["floor_head"]
    assert numbers[1] in told["floor_head"] and numbers[2] in told["floor_head"]
