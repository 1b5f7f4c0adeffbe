"""The pure transition table: who may do what, when (seed 002 pack, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kesu.complaint import commands as c
from kesu.complaint.lifecycle import Actor, Case, allowed_commands, decide, open_complaint
from kesu.errors import Forbidden, IllegalTransition, InvalidInput
from kesu.policy.loader import builtin_source, parse_pack

PACK = parse_pack(builtin_source("franchise-sales-center"))
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
RECEIVER = Actor(kind="staff", user_id=1, role="receiver", department_id=10, label="王")
SUPERVISOR = Actor(kind="staff", user_id=2, role="supervisor", department_id=10, label="张")
DIRECTOR = Actor(kind="staff", user_id=3, role="director", department_id=10, label="赵")
ARCHIVIST = Actor(kind="staff", user_id=4, role="archivist", department_id=10, label="周")
CLERK = Actor(kind="staff", user_id=9, role="receiver", department_id=10, label="吴")
INVESTIGATION = c.RecordInvestigation(
    findings="属实",
    root_causes=["people"],
    responsibility=[c.Responsibility(party="门店", share=100)],
    founded=True,
)


def case(**over) -> Case:
    fields = {
        "state": "in_progress",
        "level": "L1",
        "current_tier": "T1",
        "classification": "valid",
    }
    fields.update(over)
    return Case(**fields)


def test_closing_a_complaint_that_is_still_being_handled_is_refused():
    with pytest.raises(IllegalTransition) as err:
        decide(PACK, case(), ARCHIVIST, "close", c.Close(), NOW)
    assert err.value.key == "transition.close_unresolved"


def test_a_closed_complaint_cannot_be_closed_again():
    with pytest.raises(IllegalTransition):
        decide(PACK, case(state="closed"), ARCHIVIST, "close", c.Close(), NOW)


def test_the_staff_member_complained_about_can_do_nothing_on_the_case():
    recused = case(staff_complained_id=CLERK.user_id)
    for command in ("note", "record_investigation", "acknowledge", "sign_off"):
        with pytest.raises(Forbidden) as err:
            decide(PACK, recused, CLERK, command, c.Note(text="x"), NOW)
        assert err.value.key == "forbidden.recused"
    assert allowed_commands(PACK, recused, CLERK) == []


def test_a_tier_1_receiver_may_not_investigate_a_level_2_complaint():
    with pytest.raises(Forbidden) as err:
        decide(
            PACK,
            case(level="L2", current_tier="T2"),
            RECEIVER,
            "record_investigation",
            INVESTIGATION,
            NOW,
        )
    assert err.value.key == "forbidden.tier" and err.value.params["tier"] == "T2"


def test_responsibility_shares_must_add_up_to_100_percent():
    split = c.RecordInvestigation(
        findings="两方责任",
        root_causes=["people"],
        responsibility=[
            c.Responsibility(party="门店", share=60),
            c.Responsibility(party="物流", share=30),
        ],
        founded=True,
    )
    with pytest.raises(InvalidInput) as err:
        decide(PACK, case(), RECEIVER, "record_investigation", split, NOW)
    assert err.value.field == "responsibility" and err.value.params["total"] == 90


def test_a_root_cause_outside_the_packs_dimensions_is_refused_naming_the_field():
    wrong = INVESTIGATION.model_copy(update={"root_causes": ["weather"]})
    with pytest.raises(InvalidInput) as err:
        decide(PACK, case(), RECEIVER, "record_investigation", wrong, NOW)
    assert err.value.field == "root_causes.0"


def test_a_solution_above_the_handlers_authority_waits_for_a_higher_tier():
    proposed = decide(
        PACK,
        case(investigation={"x": 1}),
        RECEIVER,
        "propose_solution",
        c.ProposeSolution(solution_type="compensation", amount=500, description="补偿"),
        NOW,
    )
    assert proposed.fields["state"] == "awaiting_approval"
    assert proposed.fields["solution"]["approval_tier"] == "T2"
    waiting = case(state="awaiting_approval", solution=proposed.fields["solution"])
    with pytest.raises(Forbidden):
        decide(PACK, waiting, RECEIVER, "approve_solution", c.Decision(), NOW)
    approved = decide(PACK, waiting, SUPERVISOR, "approve_solution", c.Decision(), NOW)
    assert approved.fields["state"] == "solution_agreed"


@pytest.mark.parametrize("grade", [4, 5])
def test_seed_002_dissatisfied_4_or_5_upgrades_one_level_with_a_new_handling_form(grade):
    change = decide(
        PACK,
        case(state="implemented", assignee_id=1, assignee_tier="T1"),
        RECEIVER,
        "record_response",
        c.RecordResponse(satisfaction=grade),
        NOW,
    )
    assert change.fields["level"] == "L2" and change.fields["current_tier"] == "T2"
    assert change.fields["round"] == 2 and change.fields["state"] == "in_progress"
    assert change.fields["assignee_id"] is None  # a T1 assignee cannot keep an L2 case


@pytest.mark.parametrize("grade", [1, 2, 3])
def test_seed_002_satisfaction_1_to_3_sends_the_case_to_review(grade):
    change = decide(
        PACK,
        case(state="implemented"),
        RECEIVER,
        "record_response",
        c.RecordResponse(satisfaction=grade),
        NOW,
    )
    assert change.fields["state"] == "reviewing"


def test_seed_002_an_l3_complaint_still_dissatisfied_goes_on_the_general_managers_agenda():
    change = decide(
        PACK,
        case(state="implemented", level="L3", current_tier="T2"),
        SUPERVISOR,
        "record_response",
        c.RecordResponse(satisfaction=5),
        NOW,
    )
    assert change.fields["gm_agenda"] is True and "level" not in change.fields


def test_a_satisfaction_grade_outside_the_packs_scale_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide(
            PACK,
            case(state="implemented"),
            RECEIVER,
            "record_response",
            c.RecordResponse(satisfaction=7),
            NOW,
        )
    assert err.value.field == "satisfaction"
    assert err.value.params["allowed"] == ["1", "2", "3", "4", "5"]


def test_seed_002_l1_is_reviewed_by_the_t2_manager_and_filed_by_the_archivist():
    reviewing = case(state="reviewing", assignee_id=1)
    with pytest.raises(Forbidden):
        decide(PACK, reviewing, DIRECTOR, "sign_off", c.SignOff(), NOW)
    with pytest.raises(IllegalTransition):  # not signed yet
        decide(PACK, reviewing, ARCHIVIST, "close", c.Close(), NOW)
    signed = decide(PACK, reviewing, SUPERVISOR, "sign_off", c.SignOff(), NOW)
    done = case(state="reviewing", review_step=signed.fields["review_step"])
    with pytest.raises(Forbidden):  # only the archivist files
        decide(PACK, done, SUPERVISOR, "close", c.Close(), NOW)
    assert decide(PACK, done, ARCHIVIST, "close", c.Close(), NOW).fields["state"] == "closed"


def test_seed_002_l3_needs_both_the_director_and_the_administration_centre():
    chain = [s.role for s in PACK.level("L3").review_chain]
    assert chain == ["director", "admin_center"]


def test_a_handler_may_not_sign_off_their_own_case():
    with pytest.raises(Forbidden) as err:
        decide(
            PACK,
            case(state="reviewing", assignee_id=SUPERVISOR.user_id),
            SUPERVISOR,
            "sign_off",
            c.SignOff(),
            NOW,
        )
    assert err.value.key == "forbidden.self_review"


def test_a_request_for_help_closes_with_its_reason_without_investigation():
    change = decide(
        PACK,
        case(state="acknowledged", classification="enquiry"),
        ARCHIVIST,
        "close",
        c.Close(summary="已解答"),
        NOW,
    )
    assert change.fields["state"] == "closed"


def test_only_a_valid_complaint_is_investigated():
    with pytest.raises(IllegalTransition):
        decide(
            PACK,
            case(classification="venting"),
            RECEIVER,
            "record_investigation",
            INVESTIGATION,
            NOW,
        )


def test_a_transfer_completes_only_when_the_receiving_side_accepts():
    started = decide(
        PACK,
        case(department_id=10),
        RECEIVER,
        "transfer",
        c.Transfer(to_department_id=20, reason="物流问题"),
        NOW,
    )
    pending = case(department_id=10, pending_transfer=started.fields["pending_transfer"])
    assert "department_id" not in started.fields  # nothing moves yet
    with pytest.raises(Forbidden):
        decide(PACK, pending, SUPERVISOR, "accept_transfer", c.AnswerTransfer(), NOW)
    logistics = Actor(kind="staff", user_id=5, role="supervisor", department_id=20, label="刘")
    accepted = decide(PACK, pending, logistics, "accept_transfer", c.AnswerTransfer(), NOW)
    assert accepted.fields == {"pending_transfer": None, "department_id": 20, "assignee_id": 5}


def test_a_transfer_sent_by_mistake_is_withdrawn_by_its_sender_not_by_the_receiving_side():
    """Before, only the receiving side could end a transfer: one sent to the wrong desk
    waited until that desk declined it, and could not be sent anywhere else meanwhile."""
    sent = decide(
        PACK,
        case(department_id=10, assignee_id=1),
        RECEIVER,
        "transfer",
        c.Transfer(to_department_id=20, reason="发错了"),
        NOW,
    ).fields["pending_transfer"]
    pending = case(department_id=10, assignee_id=1, pending_transfer=sent)
    logistics = Actor(kind="staff", user_id=5, role="supervisor", department_id=20, label="刘")
    assert "withdraw_transfer" not in allowed_commands(PACK, pending, logistics)
    with pytest.raises(Forbidden):
        decide(PACK, pending, CLERK, "withdraw_transfer", c.AnswerTransfer(), NOW)
    assert "withdraw_transfer" in allowed_commands(PACK, pending, RECEIVER)
    back = decide(PACK, pending, RECEIVER, "withdraw_transfer", c.AnswerTransfer(), NOW)
    assert back.fields == {"pending_transfer": None}
    assert back.event["transfer"]["to_department_id"] == 20
    with pytest.raises(IllegalTransition):  # nothing left to withdraw
        decide(PACK, case(department_id=10), RECEIVER, "withdraw_transfer", c.AnswerTransfer(), NOW)


def test_a_transfer_to_a_department_is_accepted_only_by_someone_of_the_complaints_tier():
    pending = case(
        level="L2",
        current_tier="T2",
        department_id=10,
        pending_transfer=decide(
            PACK,
            case(level="L2", current_tier="T2", department_id=10),
            SUPERVISOR,
            "transfer",
            c.Transfer(to_department_id=20, reason="物流问题"),
            NOW,
        ).fields["pending_transfer"],
    )
    clerk = Actor(kind="staff", user_id=6, role="receiver", department_id=20, label="陈")
    with pytest.raises(Forbidden):
        decide(PACK, pending, clerk, "accept_transfer", c.AnswerTransfer(), NOW)
    assert "accept_transfer" not in allowed_commands(PACK, pending, clerk)
    assert "decline_transfer" in allowed_commands(PACK, pending, clerk)
    manager = Actor(kind="staff", user_id=5, role="supervisor", department_id=20, label="刘")
    accepted = decide(PACK, pending, manager, "accept_transfer", c.AnswerTransfer(), NOW)
    assert accepted.fields["assignee_id"] == 5


def test_a_level_is_lowered_only_by_someone_of_its_tier_and_raised_by_anyone():
    serious = case(level="L3", current_tier="T2")
    lower = c.Categorize(level="L1", reason="不严重")
    with pytest.raises(Forbidden):
        decide(PACK, serious, RECEIVER, "categorize", lower, NOW)
    assert decide(PACK, serious, SUPERVISOR, "categorize", lower, NOW).fields["level"] == "L1"
    higher = c.Categorize(level="L2", reason="客户情绪激动")
    assert decide(PACK, case(), RECEIVER, "categorize", higher, NOW).fields["level"] == "L2"
    category = c.Categorize(category="store_attitude")
    assert decide(PACK, serious, RECEIVER, "categorize", category, NOW).fields == {
        "category": "store_attitude"
    }


def test_only_a_handler_of_its_tier_may_set_a_complaint_aside_as_not_valid():
    serious = case(state="acknowledged", level="L3", current_tier="T2", classification=None)
    enquiry = c.Classify(classification="enquiry", reason="只是咨询")
    with pytest.raises(Forbidden):
        decide(PACK, serious, RECEIVER, "classify", enquiry, NOW)
    assert decide(PACK, serious, SUPERVISOR, "classify", enquiry, NOW).fields == {
        "classification": "enquiry"
    }
    valid = c.Classify(classification="valid", reason="情况属实")
    assert decide(PACK, serious, RECEIVER, "classify", valid, NOW).fields["state"] == "in_progress"
    ordinary = case(state="acknowledged", classification=None)
    assert decide(PACK, ordinary, RECEIVER, "classify", enquiry, NOW).fields == {
        "classification": "enquiry"
    }


def test_an_approved_delay_needs_a_role_with_that_power():
    asked = case(delay_status="requested")
    with pytest.raises(Forbidden):
        decide(PACK, asked, SUPERVISOR, "approve_delay", c.Decision(), NOW)
    assert decide(PACK, asked, DIRECTOR, "approve_delay", c.Decision(), NOW).fields == {
        "delay_status": "approved"
    }


def test_escalating_past_the_top_level_is_refused():
    with pytest.raises(IllegalTransition):
        decide(
            PACK,
            case(level="L3", current_tier="T2"),
            SUPERVISOR,
            "escalate",
            c.Escalate(reason="媒体"),
            NOW,
        )


def test_a_12315_complaint_starts_at_the_top_level():
    initial = open_complaint(PACK, level="L1", text="已向12315投诉，商品质量问题")
    assert initial["level"] == "L3" and initial["urgent_keywords"] == ["12315"]


def test_the_actions_offered_change_with_state_and_role():
    assert allowed_commands(PACK, case(state="new", classification=None), RECEIVER)[:3] == [
        "acknowledge",
        "record_contact",
        "classify",
    ]
    assert "close" in allowed_commands(PACK, case(state="reviewing", review_step=1), ARCHIVIST)
    assert "close" not in allowed_commands(PACK, case(state="reviewing"), ARCHIVIST)
    assert allowed_commands(PACK, case(state="closed"), ARCHIVIST) == ["note"]
    assert "reopen" in allowed_commands(PACK, case(state="closed"), SUPERVISOR)


def test_a_customer_may_only_answer_with_satisfaction_or_leave_a_note():
    customer = Actor(kind="customer", label="林女士")
    assert allowed_commands(PACK, case(state="implemented"), customer) == [
        "record_response",
        "note",
    ]
