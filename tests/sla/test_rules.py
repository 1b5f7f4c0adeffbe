"""The pure timer arithmetic (kesu.sla.rules): due times with pauses and extensions, windows,
warnings and triggers. Properties over many starts; no database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kesu.calendar import BusinessHours, WorkCalendar, is_working_day, working_minutes_between
from kesu.policy import loader
from kesu.policy.schema import Duration, Trigger
from kesu.sla import rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(hours=BusinessHours(windows=((time(9), time(12)), (time(13, 30), time(18)))))
PACK = loader.parse_cached(loader.builtin_source("service-center"))


def local(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# whole minutes across 2024-2026 (years with official data), in UTC
starts = st.integers(min_value=0, max_value=3 * 365 * 24 * 60 - 1).map(
    lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
)
minutes = st.integers(min_value=0, max_value=8000)
fast = settings(max_examples=150, deadline=None)


def local_day(moment: datetime):
    return moment.astimezone(SHANGHAI).date()


@fast
@given(starts, minutes)
def test_a_working_minute_deadline_never_ends_on_a_non_working_day(start, amount):
    due = rules.due_at(CAL, start, Duration(working_minutes=amount))
    if amount:
        assert is_working_day(CAL, local_day(due.at))[0]


@fast
@given(starts, st.integers(min_value=0, max_value=40))
def test_a_working_day_deadline_never_ends_on_a_non_working_day(start, days):
    due = rules.due_at(CAL, start, Duration(working_days=days))
    last_day = local_day(due.at - timedelta(minutes=1))  # it ends at 24:00 of its last day
    assert is_working_day(CAL, last_day)[0]


@fast
@given(starts, st.integers(min_value=0, max_value=60))
def test_a_calendar_day_deadline_never_ends_on_a_non_working_day(start, days):
    due = rules.due_at(CAL, start, Duration(calendar_days=days))
    assert is_working_day(CAL, local_day(due.at - timedelta(minutes=1)))[0]


@fast
@given(starts, minutes)
def test_adding_then_measuring_working_time_round_trips(start, amount):
    due = rules.due_at(CAL, start, Duration(working_minutes=amount))
    assert working_minutes_between(CAL, start, due.at) == amount


@fast
@given(starts, minutes, st.integers(min_value=0, max_value=10_000), minutes)
def test_pausing_a_timer_for_n_working_minutes_moves_its_deadline_by_n(start, amount, at, length):
    before = rules.due_at(CAL, start, Duration(working_minutes=amount))
    pause_start = start + timedelta(minutes=at)
    if pause_start >= before.at:
        return  # a pause after the deadline changes nothing (checked below)
    pause = rules.Pause(pause_start, pause_start + timedelta(minutes=length))
    paused = working_minutes_between(CAL, pause.start, pause.end)
    after = rules.due_at(CAL, start, Duration(working_minutes=amount), [pause])
    worked = working_minutes_between(CAL, start, after.at) - paused
    assert worked == amount
    assert working_minutes_between(CAL, before.at, after.at) == paused


@fast
@given(
    starts,
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=0, max_value=15),
    st.integers(min_value=0, max_value=30),
)
def test_pausing_a_day_timer_for_n_working_days_moves_it_by_n_working_days(start, days, at, length):
    before = rules.due_at(CAL, start, Duration(working_days=days))
    pause_start = start + timedelta(days=at)
    pause = rules.Pause(pause_start, pause_start + timedelta(days=length))
    after = rules.due_at(CAL, start, Duration(working_days=days), [pause])
    if pause_start >= before.at:
        assert after == before
        return
    first, last = local_day(pause.start), local_day(pause.end)
    skipped = sum(
        is_working_day(CAL, first + timedelta(days=i))[0] for i in range((last - first).days)
    )
    assert after == rules.due_at(CAL, start, Duration(working_days=days + skipped))


@fast
@given(starts, minutes, st.integers(min_value=0, max_value=600), minutes)
def test_a_wall_clock_pause_moves_the_deadline_by_the_paused_time(start, amount, at, length):
    pause = rules.Pause(start + timedelta(minutes=at), start + timedelta(minutes=at + length))
    before = rules.due_at(CAL, start, Duration(minutes=amount)).at
    after = rules.due_at(CAL, start, Duration(minutes=amount), [pause]).at
    expected = before + timedelta(minutes=length) if pause.start < before else before
    assert after == expected


@fast
@given(starts, minutes, st.integers(min_value=-5000, max_value=50_000))
def test_an_approved_extension_never_brings_a_deadline_forward(start, amount, shift):
    plain = rules.due_at(CAL, start, Duration(hours=amount)).at
    extended = rules.due_at(
        CAL, start, Duration(hours=amount), (), plain + timedelta(minutes=shift)
    )
    assert extended.at == max(plain, plain + timedelta(minutes=shift))


@fast
@given(starts, minutes, st.integers(min_value=1, max_value=99))
def test_a_warning_falls_between_the_start_and_the_deadline(start, amount, percent):
    due = rules.due_at(CAL, start, Duration(minutes=amount + 1)).at
    warn = rules.warn_at(start, due, percent)
    assert start <= warn < due


@fast
@given(starts, minutes, st.integers(min_value=0, max_value=600), minutes)
def test_a_paused_wall_clock_warns_as_long_before_its_deadline_as_before(start, amount, at, length):
    within = Duration(minutes=amount + 1)
    pause = rules.Pause(start + timedelta(minutes=at), start + timedelta(minutes=at + length))
    plain_due = rules.due_at(CAL, start, within).at
    plain_warn = rules.reminder_at(CAL, start, within, 80)
    due = rules.due_at(CAL, start, within, [pause]).at
    warn = rules.reminder_at(CAL, start, within, 80, [pause])
    assert plain_warn == rules.warn_at(start, plain_due, 80)
    assert not pause.start <= warn < pause.end  # never while the clock stands still
    if pause.start < plain_warn:  # stopped before it warned: the warning moves with the deadline
        assert due - warn == plain_due - plain_warn
    else:
        assert warn == plain_warn


@fast
@given(starts, minutes, st.integers(min_value=0, max_value=10_000), minutes)
def test_a_paused_working_time_clock_warns_as_many_working_minutes_before_its_deadline(
    start, amount, at, length
):
    within = Duration(working_minutes=amount + 10)
    pause = rules.Pause(start + timedelta(minutes=at), start + timedelta(minutes=at + length))
    plain_warn = rules.reminder_at(CAL, start, within, 75)
    plain_lead = working_minutes_between(CAL, plain_warn, rules.due_at(CAL, start, within).at)
    due = rules.due_at(CAL, start, within, [pause]).at
    warn = rules.reminder_at(CAL, start, within, 75, [pause])
    if pause.start < plain_warn:
        # (whole minutes: a warning at a minute's 30th second may count one more or less)
        assert abs(working_minutes_between(CAL, warn, due) - plain_lead) <= 1
        assert warn >= pause.end
    else:
        assert warn == plain_warn


@fast
@given(
    starts,
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=0, max_value=15 * 24),
    st.integers(min_value=0, max_value=30 * 24),
)
def test_a_paused_day_clock_never_warns_while_it_stands_still(start, days, at, length):
    within = Duration(working_days=days)
    pause = rules.Pause(start + timedelta(hours=at), start + timedelta(hours=at + length))
    due = rules.due_at(CAL, start, within, [pause]).at
    warn = rules.reminder_at(CAL, start, within, 80, [pause])
    if warn is not None:
        assert start <= warn < due
        plain_warn = rules.reminder_at(CAL, start, within, 80)
        assert warn == plain_warn or not pause.start <= warn < pause.end


def test_a_first_response_stopped_for_two_hours_warns_six_minutes_before_its_new_deadline():
    # service-center first response: 30 minutes, warned at 80 % (minute 24); the general
    # manager stops the clock at minute 5 for two hours
    start = local(2026, 11, 26, 10, 0)
    pause = rules.Pause(local(2026, 11, 26, 10, 5), local(2026, 11, 26, 12, 5))
    within = Duration(minutes=30)
    assert rules.due_at(CAL, start, within, [pause]).at == local(2026, 11, 26, 12, 30)
    # not 80 % of the stretched span (12:00, while the clock still stands)
    assert rules.reminder_at(CAL, start, within, 80, [pause]) == local(2026, 11, 26, 12, 24)


def test_a_window_opens_later_by_the_time_its_clock_stood_still():
    start = local(2026, 11, 26, 10, 0)
    pause = rules.Pause(local(2026, 11, 26, 10, 20), local(2026, 11, 26, 11, 20))
    assert rules.opens_at(CAL, start, Duration(minutes=40), [pause]).at == local(
        2026, 11, 26, 11, 40
    )
    # a follow-up window "from the 3rd working day": a pause over Friday opens it a day later
    done = local(2026, 11, 25, 15, 0)  # Wednesday
    friday = rules.Pause(local(2026, 11, 27, 9, 0), local(2026, 11, 28, 9, 0))
    assert rules.opens_at(CAL, done, Duration(working_days=3)).at == local(2026, 11, 28)
    assert rules.opens_at(CAL, done, Duration(working_days=3), [friday]).at == local(2026, 12, 1)


def test_a_paused_clock_that_resumes_early_counts_only_the_time_it_stood_still():
    start = local(2026, 11, 26, 10, 0)
    planned = rules.Pause(local(2026, 11, 26, 10, 10), local(2026, 11, 26, 14, 0))
    early = rules.Pause(planned.start, planned.until, ended=local(2026, 11, 26, 12, 10))
    due = rules.due_at(CAL, start, Duration(hours=12), [early]).at
    assert due == local(2026, 11, 27, 0, 0)  # 22:00 + the 2 hours it stood still


def test_a_follow_up_window_opens_on_the_third_working_day_after_national_day():
    done = local(2026, 9, 30, 15, 0)
    assert rules.opens_at(CAL, done, Duration(working_days=3)).at == local(2026, 10, 10)
    assert rules.due_at(CAL, done, Duration(working_days=5)).at == local(2026, 10, 14)


def test_a_deadline_counted_on_2027_is_provisional():
    due = rules.due_at(CAL, local(2027, 3, 1, 10, 0), Duration(working_days=1))
    assert due.provisional and due.at == local(2027, 3, 3)


def test_triggers_compare_the_event_then_the_complaint_and_the_actor():
    contact = Trigger(event="record_contact", when={"reached": True}, min_tier="T2")
    facts = {"reached": True, "channel": "phone"}
    ok = dict(actor_role="department_manager", actor_rank=2, pack=PACK)
    assert rules.matches(contact, "record_contact", facts, **ok)
    assert not rules.matches(contact, "note", facts, **ok)
    assert not rules.matches(contact, "record_contact", {"reached": False}, **ok)
    low = dict(actor_role="follow_up_specialist", actor_rank=1, pack=PACK)
    assert not rules.matches(contact, "record_contact", facts, **low)
    onsite = Trigger(event="receive", when={"channel": ["onsite", "walk_in"]})
    assert rules.matches(onsite, "receive", {"channel": "onsite"}, **ok)
    assert not rules.matches(onsite, "receive", {"channel": "phone"}, **ok)
    specialist = Trigger(event="record_contact", roles=["follow_up_specialist"])
    assert rules.matches(specialist, "record_contact", facts, **low)
    assert not rules.matches(specialist, "record_contact", facts, **ok)


def test_an_extension_takes_the_first_step_whose_limit_covers_it():
    bank = loader.parse_cached(loader.builtin_source("bank-insurance"))
    start = local(2026, 11, 2, 10, 0)
    step = lambda until: rules.extension_step(bank.delays, CAL, start, until)  # noqa: E731
    assert step(local(2026, 12, 2, 23, 59))[0] == 1
    assert step(local(2026, 12, 3, 0, 1))[0] == 2
    assert step(local(2027, 1, 1, 0, 0))[0] == 2
    assert step(local(2027, 1, 2, 0, 1)) is None
