"""Corrective and preventive actions on the billiards-club pack (seed 003 六(一)2): the deadline
timer, the check of effect after the observation period, repeat-cause alerts — on both
databases, on a FrozenClock, through the real services and the worker's jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from improvement.loop import DONE, Loop, club, investigated, table_complaint
from kesu.db.session import transaction
from kesu.errors import Forbidden, IllegalTransition, StaleVersion
from kesu.improvement import queries, review
from kesu.improvement import service as improvement_service
from kesu.improvement.schemas import InspectionIn
from kesu.web.pages import local_deadline
from scenarios.world import local

THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def loop(sessions, clock):
    clock.set(THURSDAY_10)
    return Loop(club(sessions, clock))


def test_a_preventive_action_whose_target_is_missed_in_its_observation_period_is_reopened_and_its_owner_notified(  # noqa: E501
    loop,
):
    first = table_complaint(loop.world)
    investigated(loop.world, first)
    aid = loop.open("club_mgr", action_kind="preventive", target_per_month=0, complaint_ids=[first])
    loop.run("eq_head", aid, "start")
    loop.world.clock.set(local(2026, 11, 27, 10, 0))
    loop.run("eq_head", aid, "implement", DONE)
    assert loop.action(aid).state == "observing"
    assert loop.action(aid).observe_until == local(2026, 12, 27, 10, 0)

    # within the month: one more faulty table investigated to material, one not investigated yet
    loop.world.clock.set(local(2026, 12, 10, 15, 0))
    again = table_complaint(loop.world)
    investigated(loop.world, again)
    table_complaint(loop.world, title="3号台库边没有弹性")

    assert loop.at(local(2026, 12, 27, 9, 59))["actions"] == 0
    assert loop.action(aid).state == "observing"
    loop.at(local(2026, 12, 27, 10, 0))

    action = loop.action(aid)
    assert action.state == "reopened" and action.round == 2
    assert action.verification["counts"] == [2] and action.verification["pending"] == 1
    assert action.verification["met"] is False and action.verification["target"] == 0
    assert action.implemented_at is None and action.due_at > local(2026, 12, 27, 10, 0)
    assert loop.messages("improvement_target_missed") == ["club_mgr", "eq_head"]
    assert loop.message_params("improvement_target_missed")[0]["counts"]["zh_Hans"] == "2"
    assert loop.events(aid)[-1] == "verify"

    loop.sweep()
    assert loop.messages("improvement_target_missed") == ["club_mgr", "eq_head"]


def test_an_action_whose_target_is_met_is_marked_effective_with_the_figures_shown(loop):
    cid = table_complaint(loop.world)
    investigated(loop.world, cid)
    aid = loop.open("eq_head", target_per_month=1, complaint_ids=[cid])
    loop.run("eq_head", aid, "implement", DONE)
    loop.world.clock.set(local(2026, 12, 5, 11, 0))
    other = table_complaint(loop.world)  # one a month is within the target
    investigated(loop.world, other)
    elsewhere = table_complaint(loop.world, category="billing", title="计费多算了半小时")
    investigated(loop.world, elsewhere, cause="material")

    loop.at(local(2026, 12, 26, 10, 0))
    action = loop.action(aid)
    assert action.state == "awaiting_verification"
    assert action.verification["counts"] == [1] and action.verification["met"] is True
    assert loop.messages("improvement_verify") == ["club_mgr"]
    params = loop.message_params("improvement_verify")[0]
    assert params["counts"]["en"] == "1" and params["target"] == 1 and params["months"] == 1

    with pytest.raises(Forbidden):
        loop.run("eq_head", aid, "confirm")  # the owner does not verify their own action
    loop.run("club_mgr", aid, "confirm", {"comment": "一个月内同类投诉 1 件，达到目标。"})
    action = loop.action(aid)
    assert action.state == "effective" and action.closed_at == local(2026, 12, 26, 10, 0)
    figures = {k: action.verification[k] for k in ("target", "counts", "total", "met", "round")}
    assert figures == {"target": 1, "counts": [1], "total": 1, "met": True, "round": 1}
    assert loop.events(aid)[-2:] == ["verify", "confirm"]
    with pytest.raises(IllegalTransition):
        loop.run("club_mgr", aid, "reopen", {"reason": "再看看"})


def test_an_overdue_action_escalates_per_the_pack_one_tier_at_a_time_and_only_once_per_step(loop):
    aid = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="前台球具清洁")
    action = loop.action(aid)
    # 7 calendar days (the pack's 整改期限): to the end of Thursday 3 December
    assert action.due_at == local(2026, 12, 4, 0, 0)
    assert loop.messages("improvement_assigned") == ["desk"]

    loop.at(action.warn_at - timedelta(seconds=1))
    assert loop.messages("improvement_warning") == []
    loop.at(action.warn_at)
    assert loop.messages("improvement_warning") == ["desk"]

    loop.at(local(2026, 12, 3, 23, 59))
    assert loop.messages("improvement_overdue") == []
    loop.at(local(2026, 12, 4, 0, 0))
    assert loop.messages("improvement_overdue") == ["desk", "eq_head", "floor_head"]
    step = loop.action(aid).next_escalation_at
    # 2 more days by the civil-code rule: Saturday 5 → the end of Monday 7 December
    assert step == local(2026, 12, 8, 0, 0)

    loop.at(step - timedelta(seconds=1))
    assert loop.messages("improvement_escalated") == []
    loop.at(step)
    assert loop.messages("improvement_escalated") == ["club_mgr", "desk"]
    assert loop.action(aid).next_escalation_at is None  # the club manager is the top tier
    loop.at(step + timedelta(days=10))
    assert loop.messages("improvement_overdue") == ["desk", "eq_head", "floor_head"]
    assert loop.messages("improvement_escalated") == ["club_mgr", "desk"]

    loop.run("desk", aid, "implement", {"actions_taken": "每日开店前清洁球具并登记。"})
    assert loop.action(aid).state == "awaiting_verification"
    assert loop.events(aid) == [
        "open",
        "deadline_warning",
        "overdue",
        "escalated",
        "implement",
    ]


def test_a_repeat_cause_alert_fires_once_not_on_every_sweep(loop):
    for i in range(3):
        cid = table_complaint(loop.world, title=f"{i + 1}号台台面不平")
        investigated(loop.world, cid)
        loop.world.clock.advance(hours=5)
    loop.at(loop.world.clock.now() + timedelta(minutes=2))  # investigations a minute old

    alerts = loop.alerts()
    assert len(alerts) == 1
    assert alerts[0].cause_dimension == "material" and alerts[0].category == "table_fault"
    assert alerts[0].count == 3
    # cause owner of 物 (department heads) and the club manager
    assert loop.messages("improvement_repeat_cause") == ["club_mgr", "eq_head", "floor_head"]

    loop.sweep()
    loop.at(loop.world.clock.now() + timedelta(hours=1))
    fourth = table_complaint(loop.world)
    investigated(loop.world, fourth)
    loop.at(loop.world.clock.now() + timedelta(minutes=2))
    assert len(loop.alerts()) == 1
    assert loop.messages("improvement_repeat_cause") == ["club_mgr", "eq_head", "floor_head"]


def test_a_cause_that_is_still_returning_a_window_later_is_raised_again(loop):
    for i in range(3):
        investigated(loop.world, table_complaint(loop.world, title=f"{i + 1}号台不平"))
    loop.at(THURSDAY_10 + timedelta(minutes=2))
    assert len(loop.alerts()) == 1

    loop.world.clock.set(THURSDAY_10 + timedelta(days=31))
    for i in range(3):
        investigated(loop.world, table_complaint(loop.world, title=f"{i + 4}号台不平"))
    loop.at(THURSDAY_10 + timedelta(days=31, minutes=2))
    assert [a.count for a in loop.alerts()] == [3, 3]


def test_two_complaints_of_a_cause_are_below_the_pack_count_and_raise_nothing(loop):
    for i in range(2):
        investigated(loop.world, table_complaint(loop.world, title=f"{i + 1}号台不平"))
    other = table_complaint(loop.world, category="cue_ball", title="球杆皮头脱落")
    investigated(loop.world, other)
    loop.at(THURSDAY_10 + timedelta(minutes=2))
    assert loop.alerts() == []


def test_only_managers_open_actions_and_a_stale_page_changes_nothing(loop):
    with pytest.raises(Forbidden):
        loop.open("desk")
    aid = loop.open("eq_head")
    with pytest.raises(Forbidden):
        loop.run("desk", aid, "start")  # not the owner
    with loop.world.sessions() as session:
        from kesu.improvement import service

        user = loop.user(session, "eq_head")
        with pytest.raises(StaleVersion):
            service.execute(session, loop.world.clock, aid, user, "start", {}, version=99)
    assert loop.action(aid).state == "open"


def test_an_action_takes_the_site_its_complaints_share_and_the_whole_group_otherwise(loop):
    at_site = table_complaint(loop.world)
    at_head_office = table_complaint(loop.world, site_id=loop.world.ids["G"], title="会员卡积分")
    for cid in (at_site, at_head_office):
        investigated(loop.world, cid)
    one = loop.open("eq_head", complaint_ids=[at_site])
    other = loop.open("eq_head", complaint_ids=[at_head_office])
    both = loop.open("eq_head", complaint_ids=[at_site, at_head_office])
    assert loop.action(one).site_id == loop.world.ids["SITE"]
    assert loop.action(other).site_id is None and loop.action(both).site_id is None
    assert loop.linked(at_head_office) == [other, both]


def test_an_action_done_after_its_deadline_is_late_even_before_the_worker_saw_it_go_overdue(loop):
    aid = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="前台球具清洁")
    due = loop.action(aid).due_at
    loop.world.clock.set(due + timedelta(hours=30))  # the worker was down meanwhile
    loop.run("desk", aid, "implement", {"actions_taken": "每日开店前清洁球具并登记。"})

    action = loop.action(aid)
    assert action.breached_at == due
    with loop.world.sessions() as session:
        done = queries.events(session, aid)[-1]
        assert done.command == "implement" and done.payload["late"] is True
        report = review.build(
            session,
            org_id=loop.world.ids["G"],
            quarter="2026-Q4",
            locale="en",
            now=loop.world.clock.now(),
        )
    summary = {row[0]: row[2] for row in report.sections[0].rows}
    assert summary["done"] == 1 and summary["done_on_time"] == 0
    overdue_column = next(s for s in report.sections if s.key == "actions").rows[0][-1]
    assert overdue_column == "yes"


def test_a_cancelled_action_is_no_longer_listed_as_overdue(loop):
    aid = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="前台球具清洁")
    kept = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="球杆皮头更换")
    loop.at(loop.action(aid).due_at)
    assert loop.action(aid).breached_at is not None

    loop.run("eq_head", aid, "cancel", {"reason": "已并入球杆皮头更换的整改。"})
    with loop.world.sessions() as session:
        head = loop.user(session, "eq_head")
        assert [a.id for a in queries.listing(session, head, overdue=True)] == [kept]


def test_the_loops_messages_name_the_cause_checklist_and_findings_in_each_readers_language(loop):
    for _ in range(3):  # the pack's count: a repeat cause
        investigated(loop.world, table_complaint(loop.world))
    aid = loop.open("club_mgr", target_per_month=0)
    loop.run("eq_head", aid, "implement", DONE)
    loop.world.clock.set(local(2026, 12, 10, 15, 0))
    for _ in range(2):
        investigated(loop.world, table_complaint(loop.world))
    loop.at(local(2026, 12, 26, 10, 0))  # the month watched is over: 5 complaints, target 0

    assert "(cause: Material)" in loop.said("improvement_assigned", "en")[0]
    assert "（原因：物）" in loop.said("improvement_assigned", "zh_Hans")[0]
    assert "per month were 5, above the target" in loop.said("improvement_target_missed", "en")[0]
    alert = loop.said("improvement_repeat_cause", "en")[0]
    assert 'the cause "Material" (Table fault)' in alert and "、" not in alert

    loop.at(local(2026, 12, 27, 10, 0))  # the daily table check falls due
    inspection = next(i for i in loop.inspections() if i.checklist == "tables_daily")
    with transaction(loop.world.sessions) as session:
        results = {i: {"ok": True} for i in ("table_level", "cushions", "pockets", "cues", "balls")}
        improvement_service.record_inspection(
            session,
            loop.world.clock,
            loop.user(session, "desk"),
            inspection.id,
            InspectionIn(items={**results, "cloth": {"ok": False, "finding": "6号台台呢有破洞"}}),
        )
    failed = loop.said("improvement_inspection_failed", "en")[0]
    assert failed.startswith('"Daily table and cue check" at 一号门店 found 1 failed items:')
    assert "Cloth" in failed and "：" not in failed
    due = loop.said("improvement_inspection_due", "zh_Hant")[0]
    assert "球桌球桿日檢" in due


def test_the_management_review_writes_a_deadline_as_the_console_does_and_lists_figures_in_the_readers_language(  # noqa: E501
    loop,
):
    aid = loop.open("eq_head", owner_id=loop.world.ids["desk"], title="前台球具清洁")
    due = loop.action(aid).due_at
    assert local_deadline(due, "Asia/Shanghai").endswith("24:00")  # a deadline counted in days
    with transaction(loop.world.sessions) as session:
        improvement_service.get(session, aid).verification = {"counts": [2, 1]}
    for locale, figures in (("en", "2, 1"), ("zh_Hans", "2、1")):
        with loop.world.sessions() as session:
            report = review.build(
                session,
                org_id=loop.world.ids["G"],
                quarter="2026-Q4",
                locale=locale,
                now=loop.world.clock.now(),
            )
        row = next(s for s in report.sections if s.key == "actions").rows[0]
        assert row[6] == local_deadline(due, "Asia/Shanghai")
        assert row[10] == figures
