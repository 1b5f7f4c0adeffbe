"""The improvement loop's pure rules: no database, no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from kesu.errors import Forbidden, IllegalTransition, InvalidInput
from kesu.improvement import rules
from kesu.policy import loader
from kesu.policy.schema import Duration, RepeatCause, Schedule
from scenarios.world import local

CLUB = loader.parse_pack(loader.builtin_source("billiards-club"), "billiards-club.yaml")
FRANCHISE = loader.parse_pack(
    loader.builtin_source("franchise-sales-center"), "franchise-sales-center.yaml"
)


def test_a_month_later_is_the_same_day_or_the_last_day_of_a_shorter_month():
    assert rules.add_months(date(2026, 11, 26), 1) == date(2026, 12, 26)
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert rules.add_months(date(2026, 12, 15), 2) == date(2027, 2, 15)
    assert rules.add_months(date(2026, 10, 1), -3) == date(2026, 7, 1)


def test_an_observation_period_is_split_into_local_months_from_the_day_the_action_was_done():
    slices = rules.observation(local(2026, 11, 27, 15, 30), 3, "Asia/Shanghai")
    assert [(s.start, s.end) for s in slices] == [
        (local(2026, 11, 27, 15, 30), local(2026, 12, 27, 15, 30)),
        (local(2026, 12, 27, 15, 30), local(2027, 1, 27, 15, 30)),
        (local(2027, 1, 27, 15, 30), local(2027, 2, 27, 15, 30)),
    ]


def test_a_target_is_met_only_if_no_month_of_the_period_exceeds_it():
    assert rules.TargetResult(2, (2, 1, 0), 0).met
    missed = rules.TargetResult(2, (0, 3, 0), 1)
    assert not missed.met and missed.total == 3 and missed.worst == 3
    assert rules.verdict(missed) == "reopened"
    assert rules.verdict(rules.TargetResult(0, (0,), 0)) == "awaiting_verification"


def test_escalation_climbs_one_tier_per_step_and_stops_at_the_top():
    assert [rules.escalation_rank(1, step, 3) for step in (1, 2, 3)] == [2, 3, 3]
    assert rules.escalates_further(1, 1, 3) and not rules.escalates_further(1, 2, 3)
    assert not rules.escalates_further(2, 1, 3)  # a department head's action: the top at once
    assert rules.escalation_rank(0, 1, 3) == 1  # an owner with no tier: the front line first


def test_managers_default_to_the_second_tier_and_above_and_verifiers_to_the_managers():
    assert rules.managers(CLUB) == {"supervisor", "club_manager"}
    assert rules.verifiers(CLUB) == {"club_manager"}
    assert rules.managers(FRANCHISE) == {
        r.key for r in FRANCHISE.roles if FRANCHISE.tier_rank(r.tier) >= 2
    }
    assert rules.verifiers(FRANCHISE) == rules.managers(FRANCHISE)


def _view(state: str, owner: int = 1, verifier: int | None = None) -> rules.ActionView:
    return rules.ActionView(state=state, owner_id=owner, verifier_id=verifier)


def test_the_owner_works_the_verifier_verifies_and_nobody_verifies_their_own_action():
    owner = rules.Who(1, "supervisor")
    manager = rules.Who(2, "club_manager")
    assert "implement" in rules.allowed(CLUB, _view("in_progress"), owner)
    assert "confirm" in rules.allowed(CLUB, _view("awaiting_verification"), manager)
    with pytest.raises(Forbidden) as own:
        rules.check(CLUB, _view("awaiting_verification", owner=2), manager, "confirm")
    assert own.value.key == "improvement.owner_cannot_verify"
    named = rules.Who(3, "handler")  # a named verifier needs no verifier role
    rules.check(CLUB, _view("awaiting_verification", verifier=3), named, "confirm")
    with pytest.raises(IllegalTransition):
        rules.check(CLUB, _view("effective"), manager, "reopen")
    with pytest.raises(Forbidden):
        rules.check(CLUB, _view("open"), rules.Who(4, "handler"), "cancel")
    with pytest.raises(InvalidInput):
        rules.check(CLUB, _view("open"), owner, "delete")


def test_a_done_action_is_watched_when_it_has_a_target_and_verified_at_once_without():
    assert rules.after_implement(True) == "observing"
    assert rules.after_implement(False) == "awaiting_verification"


def test_a_repeat_cause_compares_what_the_pack_names_and_an_empty_field_is_no_cause():
    rule = RepeatCause(count=3, window=Duration(calendar_days=30), same=["category", "site_id"])
    facts = {"category": "table_fault", "site_id": 4, "department_id": None}
    assert rules.cause_of(rule, "material", facts) == rules.Cause("material", "table_fault", 4)
    assert rules.cause_of(rule, "material", {**facts, "site_id": None}) is None
    key = rules.cause_key(1, rules.Cause("material", "table_fault", 4))
    assert key == "1:material:table_fault:4:-"
    assert rules.alert_key(key, None) != rules.alert_key(key, 7)


def test_an_alert_is_not_raised_again_until_a_window_after_the_last_one():
    window = Duration(calendar_days=30)
    last = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert rules.may_alert_again(None, last, window)
    assert not rules.may_alert_again(last, last + timedelta(days=29, hours=23), window)
    assert rules.may_alert_again(last, last + timedelta(days=30), window)


def test_checklists_fall_due_daily_weekly_or_monthly_at_their_local_time():
    tz = "Asia/Shanghai"
    daily = Schedule(every="day", at=time(10, 0))
    assert rules.next_occurrence(daily, local(2026, 11, 26, 9, 0), tz) == local(2026, 11, 26, 10)
    assert rules.next_occurrence(daily, local(2026, 11, 26, 10, 0), tz) == local(2026, 11, 27, 10)
    weekly = Schedule(every="week", weekday=1, at=time(10, 30))
    assert rules.next_occurrence(weekly, local(2026, 11, 26, 10), tz) == local(2026, 11, 30, 10, 30)
    monthly = Schedule(every="month", day=1, at=time(9, 0))
    assert rules.next_occurrence(monthly, local(2026, 11, 26), tz) == local(2026, 12, 1, 9)
    with pytest.raises(ValueError):
        Schedule(every="week", at=time(9, 0))


def test_every_item_of_an_inspection_is_answered_and_a_failed_one_says_what_was_found():
    checklist = CLUB.improvement.checklists[1]
    answers = {i.key: (True, None) for i in checklist.items}
    assert [r.ok for r in rules.inspection_results(checklist, answers)] == [True] * 4
    with pytest.raises(InvalidInput) as missing:
        rules.inspection_results(checklist, {**answers, "lighting": (False, " ")})
    assert missing.value.field == "items.lighting.finding"
    del answers["exits"]
    with pytest.raises(InvalidInput):
        rules.inspection_results(checklist, answers)


def test_a_quarter_is_named_like_2026_q4_and_the_last_complete_one_is_the_default():
    q = rules.quarter("2026-Q4")
    assert (q.label, q.start, q.end) == ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1))
    assert rules.quarter("2027-q1").start == date(2027, 1, 1)
    assert rules.last_complete_quarter(date(2026, 11, 26)).label == "2026-Q3"
    assert rules.last_complete_quarter(date(2027, 1, 2)).label == "2026-Q4"
    with pytest.raises(ValueError):
        rules.quarter("2026-Q5")
