"""The market-regulation-12315 pack: 《市场监督管理投诉举报处理暂行办法》 Art. 14 and 21 (2019),
on working days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios.world import VALID, World, delay, local

STAFF = [
    ("officer", "case_officer", "CS"),
    ("chief", "section_chief", "CS"),
    ("leader", "bureau_leader", None),
]
MONDAY_9 = local(2026, 9, 28, 9, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(MONDAY_9)
    return World.build(sessions, clock, "market-regulation-12315", STAFF)


def complaint(world, **over) -> int:
    body = {"channel": "platform_12315", "level": "ordinary", "category": "prepaid"}
    body.update(over)
    return world.receive("officer", **body)


def test_12315_a_complaint_is_accepted_or_refused_within_7_working_days(world):
    cid = complaint(world)
    # 29, 30 September; 8, 9, 10 (make-up Saturday), 12, 13 October
    assert world.timers(cid)["acceptance_decision"].due_at == local(2026, 10, 14)
    world.at(local(2026, 10, 12, 10, 0))
    world.run("officer", cid, "classify", VALID)
    assert world.timers(cid)["acceptance_decision"].state == "met"
    assert world.messages(cid, "customer_update") == ["customer"]  # told of the decision


def test_12315_a_refusal_also_decides_and_the_case_is_then_closed(world):
    cid = complaint(world)
    world.run(
        "officer", cid, "classify", {"classification": "invalid", "reason": "不属于本部门管辖"}
    )
    timers = world.timers(cid)
    assert timers["acceptance_decision"].state == "met"
    assert "mediation" not in timers and timers["close_out"].state == "running"


def test_12315_mediation_ends_after_45_working_days_without_agreement(world):
    cid = complaint(world)
    world.at(MONDAY_9 + timedelta(days=1))
    world.run("officer", cid, "classify", VALID)
    mediation = world.timers(cid)["mediation"]
    assert mediation.due_at == local(2026, 12, 8)  # the end of the 45th working day, 7 December
    world.at(local(2026, 12, 8))
    assert world.messages(cid, "sla_breach") == ["chief", "officer"]


def test_12315_testing_time_is_not_counted_in_the_mediation_period(world):
    cid = complaint(world)
    world.run("officer", cid, "classify", VALID)
    before = world.timers(cid)["mediation"].due_at
    world.at(local(2026, 11, 2, 9, 0))  # a Monday: the goods go to a testing laboratory
    world.run("officer", cid, "request_delay", delay(local(2026, 11, 16, 9, 0)))
    world.run("chief", cid, "approve_delay", {})
    after = world.timers(cid)["mediation"]
    assert after.due_at > before  # two weeks of testing: ten working days not counted
    assert after.due_at == local(2026, 12, 19)
    assert world.timers(cid)["acceptance_decision"].state == "met"


def test_12315_the_acceptance_notice_is_the_complaint_and_the_decision_to_accept_it(world):
    """受理/不予受理告知书: the decision (classify) is what the chief's 核准 box holds."""
    cid = complaint(world)
    world.run("chief", cid, "classify", {"classification": "invalid", "reason": "不属于本部门管辖"})
    view = world.form(cid, "acceptance_notice", "chief")
    sections = dict(view.sections)
    assert any("不属于本部门管辖" in text for _, text in sections["受理决定"])
    assert (view.signs[-1].who, view.signs[-1].note) == ("chief", "不属于本部门管辖")


def test_12315_the_complainant_hears_the_decision_in_plain_words_not_the_staff_command(world):
    """The customer's update said "有新进展：判定性质" (the staff command's name); it now says
    what the step means for them: accepted, or not."""
    from sqlalchemy import select

    from kesu.notify.models import Outbox

    accepted, refused = complaint(world), complaint(world)
    world.run("officer", accepted, "classify", VALID)
    world.run(
        "chief", refused, "classify", {"classification": "invalid", "reason": "不属于本部门管辖"}
    )
    with world.sessions() as session:
        told = {
            row.complaint_id: row.params["event"]["zh_Hans"]
            for row in session.scalars(
                select(Outbox).where(
                    Outbox.template == "customer_update", Outbox.recipient_kind == "customer"
                )
            )
        }
    assert told[accepted].startswith("您的投诉已受理")
    assert told[refused] == "经审查，您的投诉不予受理"
    assert "判定性质" not in told.values()
