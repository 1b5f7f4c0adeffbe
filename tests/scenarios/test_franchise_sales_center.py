"""Seed 002 (franchise-sales-center pack): §4.3, §5.1, §5.3 and §5.4 on a FrozenClock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from scenarios.world import REACHED, VALID, World, investigation, local, solution

STAFF = [
    ("receiver", "receiver", "CS"),
    ("receiver2", "receiver", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("supervisor_ops", "supervisor", "OPS"),
    ("director", "director", "CS"),
    ("admin_center", "admin_center", None),
    ("archivist", "archivist", "CS"),
]
THURSDAY_10 = local(2026, 11, 26, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(THURSDAY_10)
    return World.build(sessions, clock, "franchise-sales-center", STAFF)


def test_002_a_t1_receiver_who_has_not_contacted_the_complainant_by_the_end_of_the_next_working_day_is_breached_and_penalised_30_yuan(  # noqa: E501
    world,
):
    cid = world.receive("receiver", level="L1", category="product_quality")
    first = world.timers(cid)["first_contact"]
    assert first.due_at == local(2026, 11, 28)  # the end of Friday, the next working day

    world.at(local(2026, 11, 27, 23, 59))
    assert world.penalties(cid) == []
    world.at(local(2026, 11, 28))
    assert world.penalties(cid) == [("receiver", Decimal("30.00"))]  # 5.4.1.1: 30元/次
    assert world.messages(cid, "sla_breach") == ["receiver", "supervisor"]

    world.at(local(2026, 11, 30, 9, 30))  # Monday: contacted at last
    world.run("receiver", cid, "record_contact", REACHED)
    assert world.timers(cid)["first_contact"].state == "met"
    assert world.penalties(cid) == [("receiver", Decimal("30.00"))]


def test_002_a_complaint_received_on_friday_is_due_at_the_end_of_monday(world):
    world.clock.set(local(2026, 11, 27, 17, 0))
    cid = world.receive("receiver", level="L1", category="product_quality")
    assert world.timers(cid)["first_contact"].due_at == local(2026, 12, 1)


def test_002_a_complaint_received_before_national_day_is_due_after_the_holiday(world):
    world.clock.set(local(2026, 9, 30, 15, 0))
    cid = world.receive("receiver", level="L1", category="product_quality")
    assert world.timers(cid)["first_contact"].due_at == local(2026, 10, 9)  # end of Oct 8


def test_002_the_receiver_tells_the_customer_the_progress_at_least_weekly_and_more_often_for_l2(
    world,
):
    l1 = world.receive("receiver", level="L1", category="product_quality")
    l2 = world.receive("receiver", level="L2", category="store_attitude")
    world.run("receiver", l1, "record_contact", REACHED)
    world.run("supervisor", l2, "record_contact", REACHED)
    assert world.timers(l1)["progress_contact"].due_at == local(2026, 12, 4)  # 7 days
    # 3 days end on Sunday, which moves to the end of Monday (Civil Code art. 203)
    assert world.timers(l2)["progress_contact"].due_at == local(2026, 12, 1)

    world.at(local(2026, 12, 2, 11, 0))
    world.run("receiver", l1, "record_contact", REACHED)  # each contact restarts the week
    progress = world.all_timers(l1, "progress_contact")
    assert [t.state for t in progress] == ["met", "running"]
    assert progress[1].due_at == local(2026, 12, 10)
    assert world.timers(l2)["progress_contact"].breached_at is not None


def test_002_a_dissatisfied_answer_upgrades_one_level_with_a_new_handling_form_and_a_new_contact_clock(  # noqa: E501
    world,
):
    cid = world.receive("receiver", level="L1", category="product_quality")
    assert world.complaint(cid).assignee_id == world.ids["receiver"]  # 5.1.1: T1 handles L1
    world.run("receiver", cid, "record_contact", REACHED)
    world.run("receiver", cid, "classify", VALID)
    world.run("receiver", cid, "record_investigation", investigation("material"))
    world.run("receiver", cid, "propose_solution", solution("repair"))
    world.run("receiver", cid, "implement", {})
    assert world.timers(cid)["result_feedback"].due_at == local(2026, 11, 28)
    world.run("receiver", cid, "record_response", {"satisfaction": 4})

    c = world.complaint(cid)
    assert (c.level, c.round, c.state) == ("L2", 2, "in_progress")
    assert c.assignee_id == world.ids["supervisor"]  # an L2 case: the T2 manager of CS
    contact = world.all_timers(cid, "first_contact")
    assert [t.round for t in contact] == [1, 2] and contact[1].state == "running"
    # "并向相应的处理人员反馈": the T2 manager hears the case is theirs now, and why
    assert world.messages(cid, "complaint_escalated") == ["supervisor"]
    (told,) = world.said(cid, "complaint_escalated", "zh_Hans")
    assert "二级（较严重投诉）" in told and "客户评价“不满意”" in told


def test_002_an_l3_case_still_dissatisfied_goes_on_the_general_managers_meeting_agenda(world):
    cid = world.receive("receiver", level="L3", category="policy")
    world.run("supervisor", cid, "record_contact", REACHED)
    world.run("supervisor", cid, "classify", VALID)
    world.run("supervisor", cid, "record_investigation", investigation("process"))
    world.run("supervisor", cid, "propose_solution", solution("service_fix"))
    world.run("supervisor", cid, "implement", {})
    world.run("supervisor", cid, "record_response", {"satisfaction": 5})
    assert world.complaint(cid).gm_agenda
    assert world.messages(cid, "gm_agenda") == ["admin_center"]  # 5.3.1.7: 行政中心 submits it


def test_002_a_12315_complaint_is_l3_at_once_and_reported_to_the_director_and_administration(
    world,
):
    cid = world.receive(
        "receiver", level="L1", category="product_quality", title="消费者已向12315投诉"
    )
    c = world.complaint(cid)
    assert c.level == "L3" and c.urgent_keywords == ["12315"]
    assert world.messages(cid, "complaint_top_level") == ["admin_center", "director"]


def test_002_a_later_note_about_the_media_raises_the_case_to_l3(world):
    cid = world.receive("receiver", level="L1", category="product_quality")
    world.run("receiver", cid, "note", {"text": "客户表示要向媒体曝光。"})
    c = world.complaint(cid)
    assert c.level == "L3" and c.assignee_id == world.ids["supervisor"]
    note = world.events(cid)[-1]
    assert note.payload["auto"]["urgent_keywords"] == ["媒体", "曝光"]
    assert world.messages(cid, "complaint_top_level") == ["admin_center", "director"]
    assert world.messages(cid, "complaint_escalated") == ["supervisor"]  # who handles it now
    assert "关键词：媒体、曝光" in world.said(cid, "complaint_escalated", "zh_Hans")[0]


def test_002_a_complaint_written_in_traditional_chinese_about_suing_is_l3_at_once(world):
    """Seed 002 is written in Traditional Chinese, and so are many of its customers: 起訴 and
    受傷 are the pack's 起诉 and 受伤 (as is a full-width １２３１５)."""
    cid = world.receive_online(
        category="product_quality",
        title="加盟店拒絕退貨",
        description="如果再不處理，我會向法院起訴。",
    )
    c = world.complaint(cid)
    assert c.level == "L3" and c.urgent_keywords == ["起诉"]
    assert world.messages(cid, "complaint_top_level") == ["admin_center", "director"]
    later = world.receive("receiver", level="L1", category="product_quality")
    world.run("receiver", later, "note", {"text": "客戶的孩子在門市受傷，已向１２３１５反映。"})
    c = world.complaint(later)
    assert c.level == "L3" and c.urgent_keywords == ["12315", "受伤"]


def test_002_complaints_that_a_department_does_nothing_are_l3(world):
    cid = world.receive("receiver", level="L1", category="department_inaction")
    assert world.complaint(cid).level == "L3"


def test_002_a_repeat_complaint_on_the_same_matter_is_at_least_l2(world):
    world.receive("receiver", level="L1", category="delivery_quantity")
    world.at(THURSDAY_10 + timedelta(days=20))
    again = world.receive("receiver", level="L1", category="delivery_quantity")
    other = world.receive("receiver", level="L1", category="transport")
    assert world.complaint(again).level == "L2"
    assert world.complaint(other).level == "L1"  # another matter of the same customer


def test_002_an_l2_handling_form_goes_to_the_t2_manager_at_once(world):
    cid = world.receive("receiver", level="L2", category="store_attitude")
    assert world.messages(cid, "complaint_alert") == ["supervisor"]


def test_002_a_case_the_receiver_finds_to_be_l2_goes_to_the_t2_manager_who_is_told_at_once(world):
    """5.1: for an L2 case the T1 receiver hands the 《投诉处理单》 to the T2 manager at once."""
    cid = world.receive("receiver", level="L1", category="store_attitude")
    world.run("receiver", cid, "categorize", {"level": "L2", "reason": "客户情绪激动"})
    assert world.complaint(cid).assignee_id == world.ids["supervisor"]
    assert world.messages(cid, "complaint_alert") == ["supervisor"]
    assert "设定类别/级别" in world.said(cid, "complaint_alert", "zh_Hans")[0]


def test_002_a_t2_manager_who_raises_a_case_to_l2_keeps_it_and_is_not_told_of_their_own_step(
    world,
):
    cid = world.receive("receiver", level="L1", category="store_attitude")
    world.run("supervisor", cid, "escalate", {"reason": "客户情绪激动"})
    assert world.complaint(cid).assignee_id == world.ids["supervisor"]
    assert world.messages(cid, "complaint_alert") == []


def test_002_the_person_complained_about_is_never_given_the_case(world):
    cid = world.receive(
        "receiver",
        level="L2",
        category="store_attitude",
        staff_complained_id=world.ids["supervisor"],
    )
    # the CS manager is recused; the other T2 manager takes it
    assert world.complaint(cid).assignee_id == world.ids["supervisor_ops"]


def test_002_a_customer_dissatisfied_at_the_follow_up_call_is_brought_to_the_t2_manager(world):
    cid = world.receive("receiver", level="L1", category="repair")
    world.run("receiver", cid, "record_contact", REACHED)
    world.run("receiver", cid, "classify", VALID)
    world.run("receiver", cid, "record_investigation", investigation("material"))
    world.run("receiver", cid, "propose_solution", solution("repair"))
    world.run("receiver", cid, "implement", {})
    world.run("receiver", cid, "record_response", {"satisfaction": 2})
    assert world.timers(cid)["review_and_file"].state == "running"
    world.run("supervisor", cid, "sign_off", {})
    world.run("archivist", cid, "close", {})
    assert world.complaint(cid).next_due_at is None
    world.run("receiver", cid, "follow_up", {"result": "回访：又坏了", "satisfaction": 5})
    assert world.messages(cid, "complaint_alert") == ["supervisor"]


def test_002_a_complaint_filed_online_makes_its_t1_handler_the_receiver_who_is_reminded_told_and_charged_the_30_yuan(  # noqa: E501
    world,
):
    """5.1.1 and 5.4.1.1: nobody registered a portal complaint, so the T1 receiver it was given
    to answers for the one-working-day contact: the reminder, the breach and the 30 yuan."""
    cid = world.receive_online(level="L1", category="product_quality")
    assert world.complaint(cid).received_by_id is None
    assert world.complaint(cid).assignee_id == world.ids["receiver"]
    world.at(local(2026, 11, 27, 20, 0))
    assert world.messages(cid, "sla_warning") == ["receiver"]
    world.at(local(2026, 11, 28))
    assert world.penalties(cid) == [("receiver", Decimal("30.00"))]  # not charged to nobody
    assert world.messages(cid, "sla_penalty") == ["receiver"]
    # no department yet: every T2 manager of the site hears of it, and the receiver
    assert world.messages(cid, "sla_breach") == ["receiver", "supervisor", "supervisor_ops"]
