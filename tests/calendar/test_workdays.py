from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kesu.calendar.workdays import (
    BusinessHours,
    WorkCalendar,
    YearSchedule,
    add_calendar_days,
    add_wall_minutes,
    add_working_days,
    add_working_minutes,
    deadline_text,
    is_working_day,
    provisional_years,
    working_minutes_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
LUNCH_BREAK = WorkCalendar(
    hours=BusinessHours(windows=((time(9), time(12)), (time(13, 30), time(18))))
)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


# --- official 2026 data (chinese_calendar 1.11.0) -------------------------------------------


def test_national_day_2026_is_off_from_october_1_to_7():
    for day in days(date(2026, 10, 1), date(2026, 10, 7)):
        assert is_working_day(CAL, day) == (False, False), day
    assert is_working_day(CAL, date(2026, 9, 30)) == (True, False)
    assert is_working_day(CAL, date(2026, 10, 8)) == (True, False)


def test_mid_autumn_2026_is_off_from_september_25_to_27():
    for day in days(date(2026, 9, 25), date(2026, 9, 27)):
        assert is_working_day(CAL, day) == (False, False), day


def test_national_day_2026_make_up_days_are_sunday_september_20_and_saturday_october_10():
    assert date(2026, 9, 20).weekday() == 6
    assert date(2026, 10, 10).weekday() == 5
    assert is_working_day(CAL, date(2026, 9, 20)) == (True, False)
    assert is_working_day(CAL, date(2026, 10, 10)) == (True, False)
    assert is_working_day(CAL, date(2026, 10, 11)) == (False, False)


def test_spring_festival_2026_is_off_from_february_15_to_23():
    for day in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert is_working_day(CAL, day) == (False, False), day
    assert is_working_day(CAL, date(2026, 2, 24)) == (True, False)


def test_spring_festival_2026_make_up_days_are_saturdays_february_14_and_28():
    for day in (date(2026, 2, 14), date(2026, 2, 28)):
        assert day.weekday() == 5
        assert is_working_day(CAL, day) == (True, False)


def test_a_make_up_saturday_counts_as_a_working_day():
    deadline = add_working_days(CAL, local(2026, 10, 9, 10), 1)
    assert deadline.at == local(2026, 10, 11)  # end of Saturday October 10
    assert not deadline.provisional


def test_3_working_days_after_completion_on_september_30_skip_national_day():
    deadline = add_working_days(CAL, local(2026, 9, 30, 15), 3)
    # October 8, 9 and the make-up Saturday October 10
    assert deadline.at == local(2026, 10, 11)
    assert not deadline.provisional


def test_5_working_days_after_completion_on_september_30_skip_national_day():
    deadline = add_working_days(CAL, local(2026, 9, 30, 15), 5)
    # October 8, 9, 10 (make-up), 12, 13
    assert deadline.at == local(2026, 10, 14)
    assert not deadline.provisional


# --- civil-code counting rule -----------------------------------------------------------------


def test_one_working_day_from_monday_morning_ends_at_the_end_of_tuesday():
    assert add_working_days(CAL, local(2026, 3, 2, 10), 1).at == local(2026, 3, 4)


def test_the_start_day_is_not_counted_for_calendar_days():
    assert add_calendar_days(CAL, local(2026, 3, 2, 23, 59), 1).at == local(2026, 3, 4)
    assert add_calendar_days(CAL, local(2026, 3, 2, 0, 0), 1).at == local(2026, 3, 4)


def test_a_calendar_day_deadline_whose_last_day_is_a_holiday_moves_to_the_next_working_day():
    deadline = add_calendar_days(CAL, local(2026, 9, 28, 10), 3)  # last day October 1
    assert deadline.at == local(2026, 10, 9)  # end of October 8
    assert not deadline.provisional


def test_a_calendar_day_deadline_whose_last_day_is_a_sunday_moves_to_monday():
    deadline = add_calendar_days(CAL, local(2026, 3, 3, 10), 5)  # last day Sunday March 8
    assert deadline.at == local(2026, 3, 10)  # end of Monday March 9


def test_a_calendar_day_deadline_ending_on_a_make_up_saturday_stays_there():
    assert add_calendar_days(CAL, local(2026, 10, 3, 10), 7).at == local(2026, 10, 11)


def test_zero_days_end_at_the_end_of_the_start_day_when_it_is_a_working_day():
    assert add_working_days(CAL, local(2026, 3, 2, 10), 0).at == local(2026, 3, 3)
    assert add_calendar_days(CAL, local(2026, 3, 2, 10), 0).at == local(2026, 3, 3)


def test_zero_days_from_a_holiday_end_at_the_end_of_the_next_working_day():
    assert add_working_days(CAL, local(2026, 10, 2, 10), 0).at == local(2026, 10, 9)
    assert add_calendar_days(CAL, local(2026, 10, 2, 10), 0).at == local(2026, 10, 9)


def test_days_are_counted_in_the_calendar_timezone_and_returned_in_utc():
    start = datetime(2026, 3, 1, 17, tzinfo=UTC)  # Sunday in UTC, Monday 01:00 in Shanghai
    deadline = add_working_days(CAL, start, 1)
    assert deadline.at == local(2026, 3, 4)  # end of Tuesday, not of Monday
    assert deadline.at.tzinfo is UTC
    assert deadline.at == datetime(2026, 3, 3, 16, tzinfo=UTC)


# --- years without official data --------------------------------------------------------------


def test_a_2027_deadline_uses_weekends_only_and_is_provisional():
    deadline = add_working_days(CAL, local(2027, 9, 30, 10), 3)
    # weekends-only: Friday October 1, Monday October 4, Tuesday October 5
    assert deadline.at == local(2027, 10, 6)
    assert deadline.provisional
    assert is_working_day(CAL, date(2027, 10, 1)) == (True, True)


def test_an_admin_entered_2027_schedule_makes_the_deadline_official_and_honours_its_holidays():
    schedule = YearSchedule(
        year=2027,
        holidays=frozenset(days(date(2027, 10, 1), date(2027, 10, 7))),
        makeup_workdays=frozenset({date(2027, 9, 26), date(2027, 10, 9)}),
    )
    cal = WorkCalendar(schedules=(schedule,))
    deadline = add_working_days(cal, local(2027, 9, 30, 10), 3)
    # Friday October 8, make-up Saturday October 9, Monday October 11
    assert deadline.at == local(2027, 10, 12)
    assert not deadline.provisional
    assert is_working_day(cal, date(2027, 9, 26)) == (True, False)
    assert is_working_day(cal, date(2027, 10, 4)) == (False, False)


def test_an_admin_entered_schedule_overrides_the_library():
    cal = WorkCalendar(schedules=(YearSchedule(year=2026, holidays=frozenset()),))
    assert is_working_day(cal, date(2026, 10, 1)) == (True, False)
    assert is_working_day(cal, date(2026, 10, 10)) == (False, False)


def test_provisional_years_reports_2027_until_an_admin_enters_it():
    assert provisional_years(CAL, date(2026, 6, 1), date(2027, 6, 1)) == [2027]
    assert provisional_years(CAL, date(2024, 1, 1), date(2026, 12, 31)) == []
    cal = WorkCalendar(schedules=(YearSchedule(year=2027),))
    assert provisional_years(cal, date(2026, 6, 1), date(2028, 6, 1)) == [2028]


def test_a_deadline_that_crosses_into_a_year_without_data_is_provisional():
    assert add_working_days(CAL, local(2026, 12, 30, 10), 3).provisional
    assert not add_working_days(CAL, local(2026, 12, 1, 10), 3).provisional


def test_a_calendar_day_deadline_is_provisional_only_when_its_last_day_is():
    assert not add_calendar_days(CAL, local(2026, 12, 25, 10), 5).provisional
    assert add_calendar_days(CAL, local(2026, 12, 25, 10), 7).provisional


def test_wall_minutes_run_round_the_clock_and_are_never_provisional():
    deadline = add_wall_minutes(local(2027, 1, 1, 23, 30), 60)
    assert deadline.at == local(2027, 1, 2, 0, 30)
    assert deadline.at.tzinfo is UTC
    assert not deadline.provisional


# --- per-organisation overrides ---------------------------------------------------------------


def test_a_per_organisation_closed_day_is_skipped():
    cal = WorkCalendar(extra_closed_days=frozenset({date(2026, 3, 3)}))
    assert add_working_days(cal, local(2026, 3, 2, 10), 1).at == local(2026, 3, 5)
    assert add_working_minutes(cal, local(2026, 3, 2, 17, 30), 60).at == local(2026, 3, 4, 9, 30)


def test_a_per_organisation_extra_working_day_counts():
    cal = WorkCalendar(extra_working_days=frozenset({date(2026, 3, 7)}))
    assert add_working_days(cal, local(2026, 3, 6, 10), 1).at == local(2026, 3, 8)
    assert add_working_minutes(cal, local(2026, 3, 6, 17, 30), 60).at == local(2026, 3, 7, 9, 30)


def test_a_day_both_closed_and_extra_working_is_closed():
    cal = WorkCalendar(
        extra_closed_days=frozenset({date(2026, 3, 3)}),
        extra_working_days=frozenset({date(2026, 3, 3)}),
    )
    assert is_working_day(cal, date(2026, 3, 3)) == (False, False)


# --- working minutes --------------------------------------------------------------------------


def test_working_minutes_skip_the_lunch_break():
    assert add_working_minutes(LUNCH_BREAK, local(2026, 3, 2, 11, 30), 60).at == local(
        2026, 3, 2, 14
    )


def test_a_working_minute_deadline_landing_on_a_window_end_stays_there():
    assert add_working_minutes(LUNCH_BREAK, local(2026, 3, 2, 11), 60).at == local(2026, 3, 2, 12)
    assert add_working_minutes(CAL, local(2026, 3, 6, 17), 60).at == local(2026, 3, 6, 18)


def test_a_start_outside_business_hours_begins_at_the_next_opening():
    assert add_working_minutes(CAL, local(2026, 3, 2, 7), 30).at == local(2026, 3, 2, 9, 30)
    assert add_working_minutes(CAL, local(2026, 3, 6, 17, 50), 30).at == local(2026, 3, 9, 9, 20)
    assert add_working_minutes(CAL, local(2026, 10, 1, 10), 60).at == local(2026, 10, 8, 10)


def test_10000_working_minutes_from_a_monday_morning():
    # 540 minutes a day: 18 full working days (March 2-25) and 280 minutes on March 26
    deadline = add_working_minutes(CAL, local(2026, 3, 2, 9), 10_000)
    assert deadline.at == local(2026, 3, 26, 13, 40)
    assert not deadline.provisional


def test_working_minutes_between_counts_only_business_hours():
    assert working_minutes_between(CAL, local(2026, 3, 6, 17), local(2026, 3, 9, 10)) == 120
    assert working_minutes_between(LUNCH_BREAK, local(2026, 3, 2), local(2026, 3, 3)) == 450
    assert working_minutes_between(CAL, local(2026, 3, 9, 10), local(2026, 3, 6, 17)) == 0


def test_a_working_minute_deadline_in_2027_is_provisional():
    assert add_working_minutes(CAL, local(2026, 12, 31, 17), 120).provisional
    assert not add_working_minutes(CAL, local(2026, 12, 31, 9), 120).provisional


# --- invalid input ----------------------------------------------------------------------------


def test_a_naive_datetime_raises_value_error():
    naive = datetime(2026, 3, 2, 10)
    aware = local(2026, 3, 2, 10)
    with pytest.raises(ValueError):
        add_working_days(CAL, naive, 1)
    with pytest.raises(ValueError):
        add_calendar_days(CAL, naive, 1)
    with pytest.raises(ValueError):
        add_working_minutes(CAL, naive, 1)
    with pytest.raises(ValueError):
        add_wall_minutes(naive, 1)
    with pytest.raises(ValueError):
        working_minutes_between(CAL, naive, aware)
    with pytest.raises(ValueError):
        working_minutes_between(CAL, aware, naive)


def test_a_negative_amount_raises_value_error():
    start = local(2026, 3, 2, 10)
    with pytest.raises(ValueError):
        add_working_days(CAL, start, -1)
    with pytest.raises(ValueError):
        add_calendar_days(CAL, start, -1)
    with pytest.raises(ValueError):
        add_working_minutes(CAL, start, -1)
    with pytest.raises(ValueError):
        add_wall_minutes(start, -1)


def test_invalid_business_hours_and_schedules_are_rejected():
    with pytest.raises(ValueError):
        BusinessHours(windows=())
    with pytest.raises(ValueError):
        BusinessHours(windows=((time(18), time(9)),))
    with pytest.raises(ValueError):
        BusinessHours(windows=((time(9), time(13)), (time(12), time(18))))
    with pytest.raises(ValueError):
        YearSchedule(year=2027, holidays=frozenset({date(2028, 1, 1)}))
    with pytest.raises(ValueError):
        WorkCalendar(schedules=(YearSchedule(year=2027), YearSchedule(year=2027)))


# --- properties -------------------------------------------------------------------------------

ORG = WorkCalendar(
    hours=LUNCH_BREAK.hours,
    extra_closed_days=frozenset({date(2025, 3, 3), date(2026, 10, 8)}),
    extra_working_days=frozenset({date(2025, 3, 8), date(2026, 10, 11)}),
)
calendars = st.sampled_from([CAL, LUNCH_BREAK, ORG])
starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59),
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
minute_counts = st.integers(min_value=0, max_value=20_000)
bounded = settings(max_examples=150, deadline=None)


def working(cal: WorkCalendar, day: date) -> bool:
    return is_working_day(cal, day)[0]


def last_day_of(deadline: datetime) -> date:
    end = deadline.astimezone(SHANGHAI)
    assert end.time() == time(0)
    return end.date() - timedelta(1)


@bounded
@given(calendars, starts, st.integers(min_value=0, max_value=40))
def test_a_working_day_deadline_ends_at_the_end_of_the_nth_working_day(cal, start, n):
    deadline = add_working_days(cal, start, n)
    last = last_day_of(deadline.at)
    start_day = start.astimezone(SHANGHAI).date()
    assert working(cal, last)
    if n == 0:
        assert not any(working(cal, d) for d in days(start_day, last)[:-1])
    else:
        assert sum(working(cal, d) for d in days(start_day + timedelta(1), last)) == n
    assert deadline.provisional == (last.year >= 2027)


@bounded
@given(calendars, starts, st.integers(min_value=0, max_value=60))
def test_a_calendar_day_deadline_ends_on_the_first_working_day_from_its_last_day(cal, start, n):
    deadline = add_calendar_days(cal, start, n)
    last = last_day_of(deadline.at)
    nominal = start.astimezone(SHANGHAI).date() + timedelta(n)
    assert working(cal, last)
    assert not any(working(cal, d) for d in days(nominal, last)[:-1])
    assert deadline.provisional == (last.year >= 2027)


@bounded
@given(calendars, starts, minute_counts)
def test_a_working_minute_deadline_lies_inside_or_at_the_end_of_a_window(cal, start, minutes):
    deadline = add_working_minutes(cal, start, minutes)
    end = deadline.at.astimezone(SHANGHAI)
    assert deadline.at >= start
    assert working(cal, end.date())
    assert any(opens <= end.time() <= closes for opens, closes in cal.hours.windows)


@bounded
@given(calendars, starts, minute_counts)
def test_a_working_minute_deadline_is_provisional_exactly_when_it_reaches_2027(cal, start, minutes):
    deadline = add_working_minutes(cal, start, minutes)
    assert deadline.provisional == (deadline.at.astimezone(SHANGHAI).year >= 2027)


@bounded
@given(calendars, starts, minute_counts)
def test_adding_then_measuring_working_minutes_round_trips(cal, start, minutes):
    deadline = add_working_minutes(cal, start, minutes)
    assert working_minutes_between(cal, start, deadline.at) == minutes


@bounded
@given(calendars, starts, minute_counts, minute_counts)
def test_adding_m1_then_m2_working_minutes_equals_adding_their_sum(cal, start, m1, m2):
    # so pausing a clock for N working minutes moves its deadline by exactly N
    stepwise = add_working_minutes(cal, add_working_minutes(cal, start, m1).at, m2)
    assert stepwise.at == add_working_minutes(cal, start, m1 + m2).at


@bounded
@given(calendars, starts, starts)
def test_working_minutes_between_never_exceeds_wall_minutes(cal, a, b):
    measured = working_minutes_between(cal, a, b)
    assert 0 <= measured <= max((b - a) // timedelta(minutes=1), 0)


# --- how a deadline is written ----------------------------------------------------------------


def test_a_deadline_at_the_end_of_a_day_is_written_as_that_days_24_00():
    friday = add_working_days(CAL, local(2026, 11, 26, 10), 1).at  # the end of Friday 27th
    assert deadline_text(friday, "Asia/Shanghai") == "2026-11-27 24:00"
    assert deadline_text(local(2027, 1, 1), "Asia/Shanghai", "%m-%d %H:%M") == "12-31 24:00"


def test_other_deadlines_are_written_as_they_are():
    assert deadline_text(local(2026, 11, 27, 18), "Asia/Shanghai") == "2026-11-27 18:00"
    assert deadline_text(local(2026, 11, 27, 0, 1), "Asia/Shanghai") == "2026-11-27 00:01"
    assert deadline_text(local(2026, 11, 28), "Asia/Shanghai", "%Y-%m-%d") == "2026-11-28"
    # midnight in Shanghai is 16:00 in London: written in the zone it is asked for
    assert deadline_text(local(2026, 11, 28), "Europe/London") == "2026-11-27 16:00"
