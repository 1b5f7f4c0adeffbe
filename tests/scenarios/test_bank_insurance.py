"""The bank-insurance pack: 《银行业保险业消费投诉处理管理办法》 Art. 18, on calendar days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kesu.errors import Forbidden, InvalidInput
from scenarios.world import REACHED, VALID, World, delay, investigation, local, solution

STAFF = [
    ("officer", "officer", "CS"),
    ("head", "complaint_head", "CS"),
    ("senior", "senior_executive", None),
    ("records", "archivist", "CS"),
]
MONDAY_10 = local(2026, 11, 2, 10, 0)


@pytest.fixture
def world(sessions, clock):
    clock.set(MONDAY_10)
    return World.build(sessions, clock, "bank-insurance", STAFF)


def complaint(world, **over) -> int:
    body = {"channel": "branch", "level": "ordinary", "category": "cards"}
    body.update(over)
    return world.receive("officer", **body)


def test_bank_a_decision_is_due_on_the_15th_day_the_day_of_receipt_not_counted(world):
    cid = complaint(world)
    assert world.timers(cid)["decision"].due_at == local(2026, 11, 18)  # end of 17 November


def test_bank_a_15th_day_in_the_national_day_holiday_moves_to_the_next_working_day(world):
    world.clock.set(local(2026, 9, 16, 10, 0))
    cid = complaint(world)
    assert world.timers(cid)["decision"].due_at == local(2026, 10, 9)  # day 15 is 1 October


def test_bank_a_15_day_deadline_is_extended_to_30_only_with_the_approval_recorded(world):
    cid = complaint(world)
    until = local(2026, 12, 2, 18, 0)  # the 30th day
    world.at(MONDAY_10 + timedelta(days=5))
    world.run("officer", cid, "request_delay", delay(until))
    assert world.timers(cid)["decision"].due_at == local(2026, 11, 18)  # asked, not approved
    with pytest.raises(Forbidden):
        world.run("officer", cid, "approve_delay", {})  # an officer cannot approve

    world.run("head", cid, "approve_delay", {"comment": "情况复杂，同意延长至30日"})
    decision = world.timers(cid)["decision"]
    assert decision.due_at == until
    [extension] = decision.extensions
    assert (extension["step"], extension["approved_by_id"]) == (1, world.ids["head"])
    approval = world.events(cid)[-1]
    assert approval.command == "approve_delay" and approval.actor_id == world.ids["head"]
    assert approval.payload["sla"] == {"extended": ["decision"]}
    assert world.messages(cid, "delay_extended") == []  # the first 15 days need no notice

    world.at(local(2026, 11, 18, 9, 0))
    assert world.timers(cid)["decision"].breached_at is None


def test_bank_a_further_30_days_needs_a_senior_executive_and_tells_the_complainant(world):
    cid = complaint(world)
    world.run("officer", cid, "request_delay", delay(local(2026, 12, 2, 18, 0)))
    world.run("head", cid, "approve_delay", {})
    later = local(2026, 12, 30, 18, 0)  # the 58th day
    world.run("officer", cid, "request_delay", delay(later))
    with pytest.raises(Forbidden) as refused:
        world.run("head", cid, "approve_delay", {})
    assert refused.value.key == "sla.delay_approver"
    world.run("senior", cid, "approve_delay", {"comment": "特别复杂，同意再延长"})
    assert world.timers(cid)["decision"].due_at == later
    assert world.messages(cid, "delay_extended") == ["customer"]


def test_bank_no_delay_beyond_60_days_may_even_be_requested(world):
    cid = complaint(world)
    with pytest.raises(InvalidInput) as refused:
        world.run("officer", cid, "request_delay", delay(local(2027, 1, 5, 10, 0)))
    assert (refused.value.key, refused.value.field) == ("sla.delay_beyond_limit", "until")
    assert world.complaint(cid).delay_status is None  # nothing changed


def test_bank_the_decision_deadline_is_met_by_the_decision(world):
    cid = complaint(world)
    world.run("officer", cid, "record_contact", REACHED)
    world.run("officer", cid, "classify", VALID)
    world.run("officer", cid, "record_investigation", investigation("process"))
    world.run("officer", cid, "propose_solution", solution("refund", 80))
    assert world.timers(cid)["decision"].state == "met"
    assert world.messages(cid, "customer_update") == ["customer"]


def test_bank_the_extension_approval_form_is_the_request_and_its_decision(world):
    """延长处理期限审批单: the extension asked and its decision, in the 核准 box even when the
    head refuses it (the form records the decision), not the rest of the case."""
    cid = complaint(world)
    world.run("officer", cid, "request_delay", delay(local(2026, 12, 2, 18, 0)))
    world.run("head", cid, "reject_delay", {"reason": "理由不足，按期处理"})
    view = world.form(cid, "extension_approval", "head")
    titles = [title for title, _ in view.sections]
    assert "延期申请" in titles and "处理方案与实施" not in titles
    [prepared, approved] = view.signs
    assert prepared.who == "officer" and approved.label.startswith("核准")
    assert (approved.who, approved.note) == ("head", "理由不足，按期处理")


def test_bank_the_complainant_is_told_an_end_of_day_extension_as_that_days_24_00(world):
    from sqlalchemy import select

    from kesu.notify.models import Outbox

    cid = complaint(world)
    world.run("officer", cid, "request_delay", delay(local(2026, 12, 2, 18, 0)))
    world.run("head", cid, "approve_delay", {})
    world.run("officer", cid, "request_delay", delay(local(2026, 12, 31, 0, 0)))
    world.run("senior", cid, "approve_delay", {})
    with world.sessions() as session:
        sms = session.scalars(
            select(Outbox).where(Outbox.template == "delay_extended", Outbox.channel == "sms-log")
        ).one()
    assert sms.params["until"] == "2026-12-30 24:00"  # not "2026-12-31 00:00", a day later
