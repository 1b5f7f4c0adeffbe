"""Seed 003 (billiards-club pack), 五 and 六(一)2, 九(一): a moderate complaint about a faulty
table is investigated; its cause is fixed by a corrective action (the repair, and a table-level
item on the daily inspection); the daily inspections are recorded; a month later Kesu counts
the complaints of that cause and the club manager confirms the fix worked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from improvement.loop import Loop, club, table_complaint
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.db.session import transaction
from kesu.improvement import service as improvement_service
from kesu.improvement.models import Inspection
from kesu.improvement.schemas import InspectionIn
from scenarios.world import REACHED, VALID, local
from web.console_helpers import sign_in

THURSDAY_10 = local(2026, 11, 26, 10, 0)
PASSWORD = "club-2026-secret"
ALL_OK = {k: {"ok": True} for k in ("table_level", "cloth", "cushions", "pockets", "cues", "balls")}


@pytest.fixture
def loop(sessions, clock):
    clock.set(THURSDAY_10)
    return Loop(club(sessions, clock))


def _inspect(loop: Loop, username: str, day: int, **items) -> Inspection:
    """Record the daily table check issued for 10:00 on that day of November/December."""
    with transaction(loop.world.sessions) as session:
        row = session.scalar(
            select(Inspection).where(
                Inspection.checklist == "tables_daily",
                Inspection.scheduled_for == _ten(day),
            )
        )
        improvement_service.record_inspection(
            session,
            loop.world.clock,
            loop.user(session, username),
            row.id,
            InspectionIn.model_validate({"items": {**ALL_OK, **items}}),
        )
        return row


def _ten(day: int):
    return local(2026, 11, day, 10, 0) if day > 20 else local(2026, 12, day, 10, 0)


def test_003_a_faulty_table_is_fixed_inspected_daily_and_verified_after_a_month_with_the_count_of_its_cause(  # noqa: E501
    loop, settings
):
    w = loop.world
    loop.sweep()  # the worker keeps a schedule for each checklist at the site

    # 四(二): a moderate complaint — table 8 is not level
    cid = table_complaint(w)
    w.clock.set(THURSDAY_10 + timedelta(minutes=5))
    w.run("desk", cid, "acknowledge")
    w.clock.set(THURSDAY_10 + timedelta(minutes=20))
    w.run("eq_head", cid, "record_contact", REACHED)  # the department head on site in 30 min
    w.run("eq_head", cid, "classify", VALID)

    # 五(二): the cause — 物 (the table's feet had worked loose) and 事 (no level check)
    w.clock.set(THURSDAY_10 + timedelta(hours=2))
    w.run(
        "eq_head",
        cid,
        "record_investigation",
        {
            "findings": "8号台台脚松动致台面不平；每日开店检查未包括台面水平。",
            "root_causes": ["material", "process"],
            "responsibility": [{"party": "设备部", "share": 100}],
            "founded": True,
        },
    )

    # 六(一)2: 整改 — owner, deadline and target; the repair plus a check on the daily list
    aid = loop.open(
        "eq_head",
        complaint_ids=[cid],
        title="8号台校平及台面水平日检",
        problem="8号台台面不平，影响正常打球（中度投诉）。",
        planned="请厂家校平8号台并更换台脚垫；每日开店检查逐台检查台面水平。",
        target_per_month=1,
    )
    action = loop.action(aid)
    assert (action.cause_dimension, action.category, action.site_id) == (
        "material",
        "table_fault",
        w.ids["SITE"],
    )
    assert action.due_at == local(2026, 12, 4, 0, 0)  # 7 days, the pack's 整改期限
    assert loop.linked(cid) == [aid]
    loop.run("eq_head", aid, "start", {"note": "已约厂家明早上门。"})

    # 九(一): the daily table check, issued at 10:00 and recorded by the daily team
    loop.at(local(2026, 11, 27, 10, 0))
    w.clock.set(local(2026, 11, 27, 10, 40))
    _inspect(loop, "desk", 27, table_level={"ok": False, "finding": "8号台仍不平，等待厂家"})
    w.clock.set(local(2026, 11, 27, 16, 0))
    loop.run(
        "eq_head", aid, "add_evidence", {"text": "厂家维修单 WX-1127：8号台已校平，台脚垫已换"}
    )
    loop.at(local(2026, 11, 28, 10, 0))
    w.clock.set(local(2026, 11, 28, 10, 30))
    _inspect(loop, "desk2", 28)
    w.clock.set(local(2026, 11, 28, 18, 0))
    loop.run(
        "eq_head",
        aid,
        "implement",
        {
            "actions_taken": "8号台已校平、台脚垫更换；每日开店检查含台面水平，连续两日记录。",
            "evidence": ["日检记录 11-27（不合格已整改）、11-28（合格）"],
        },
    )
    action = loop.action(aid)
    assert action.state == "observing" and action.observe_until == local(2026, 12, 28, 18, 0)
    assert action.breached_at is None

    inspections = [i for i in loop.inspections() if i.checklist == "tables_daily"]
    assert [(i.scheduled_for, i.state, i.failed) for i in inspections] == [
        (local(2026, 11, 27, 10, 0), "done", 1),
        (local(2026, 11, 28, 10, 0), "done", 0),
    ]
    assert loop.messages("improvement_inspection_failed") == ["eq_head", "floor_head"]

    # within the month one more table complaint of the same cause (at most 1 a month is the target)
    w.clock.set(local(2026, 12, 15, 20, 0))
    other = table_complaint(w, title="3号台库边反弹差")
    w.run("eq_head", other, "classify", VALID)
    w.run(
        "eq_head",
        other,
        "record_investigation",
        {
            "findings": "3号台库边胶条老化。",
            "root_causes": ["material"],
            "responsibility": [{"party": "设备部", "share": 100}],
            "founded": True,
        },
    )

    # a month after the fix: Kesu counts the complaints of the cause and asks the club manager
    assert loop.at(local(2026, 12, 28, 17, 59))["actions"] == 0
    loop.at(local(2026, 12, 28, 18, 0))
    action = loop.action(aid)
    assert action.state == "awaiting_verification"
    assert action.verification["counts"] == [1] and action.verification["target"] == 1
    assert loop.messages("improvement_verify") == ["club_mgr"]
    assert loop.message_params("improvement_verify")[0]["counts"]["zh_Hans"] == "1"

    # the club manager sees the count on the action's page and confirms the fix
    with transaction(w.sessions) as session:
        manager = session.get(User, w.ids["club_mgr"])
        access_service.reset_password(session, w.clock, None, manager, PASSWORD)
    from kesu.web.app import create_app

    app = create_app(settings, w.clock)
    with TestClient(app) as client:
        sign_in(client, "club_mgr", PASSWORD)
        page = client.get(f"/improvement/actions/{aid}").text
        assert "目标已达成：观察期内该原因投诉共 1 件（每月不超过 1 件）" in page
        assert re.search(r"<td>2026-11-28 – 2026-12-28</td><td data-count>1</td>", page)
        complaint_page = client.get(f"/complaints/{cid}").text
        assert action.number in complaint_page.split('id="improvement"')[1]
    app.state.engine.dispose()

    w.clock.set(local(2026, 12, 29, 9, 0))
    loop.run("club_mgr", aid, "confirm", {"comment": "观察期内同类投诉 1 件，达到目标，整改有效。"})
    assert loop.action(aid).state == "effective"
    assert loop.events(aid) == [
        "open",
        "start",
        "add_evidence",
        "implement",
        "verify",
        "confirm",
    ]
