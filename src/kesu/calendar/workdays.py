"""The Chinese working-day calendar: which days are working days, and deadlines counted on them.

Pure functions: no I/O, no database, no wall clock. Official data comes from the
`chinese_calendar` library (this module is the only place that knows it); an admin-entered
`YearSchedule` overrides the library for its year; a year with neither falls back to a
weekends-only rule and every result that depended on such a day is marked provisional.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)
_NINE_TO_SIX = ((time(9), time(18)),)


@dataclass(frozen=True)
class BusinessHours:
    """Opening windows of a working day, in local wall time, e.g. 09:00-12:00 and 13:30-18:00."""

    windows: tuple[tuple[time, time], ...] = _NINE_TO_SIX

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("business hours need at least one window")
        previous_end: time | None = None
        for opens, closes in self.windows:
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("business hours are local wall times without a timezone")
            if opens >= closes:
                raise ValueError(f"a window must open before it closes: {opens}-{closes}")
            if previous_end is not None and opens < previous_end:
                raise ValueError("windows must be in order and must not overlap")
            previous_end = closes


@dataclass(frozen=True)
class YearSchedule:
    """A year's official schedule, entered by an admin when the library has no data for it."""

    year: int
    holidays: frozenset[date] = frozenset()  # official days off that would otherwise be working
    makeup_workdays: frozenset[date] = frozenset()  # 调休: weekend days that are working days

    def __post_init__(self) -> None:
        outside = sorted(d for d in self.holidays | self.makeup_workdays if d.year != self.year)
        if outside:
            shown = ", ".join(d.isoformat() for d in outside)
            raise ValueError(f"dates outside {self.year} in its schedule: {shown}")
        both = sorted(self.holidays & self.makeup_workdays)
        if both:
            shown = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"days both holiday and make-up working day: {shown}")


@dataclass(frozen=True)
class WorkCalendar:
    timezone: str = "Asia/Shanghai"
    hours: BusinessHours = field(default_factory=BusinessHours)
    extra_closed_days: frozenset[date] = frozenset()  # per-organisation closures
    extra_working_days: frozenset[date] = frozenset()  # per-organisation extra working days
    schedules: tuple[YearSchedule, ...] = ()  # admin-entered official years; override the library

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fails early on an unknown timezone name
        years = [s.year for s in self.schedules]
        if len(years) != len(set(years)):
            raise ValueError(f"more than one schedule for the same year: {sorted(years)}")


@dataclass(frozen=True)
class Deadline:
    at: datetime  # timezone-aware, in UTC
    provisional: bool  # True when any day used in the computation had no official data


def is_working_day(cal: WorkCalendar, day: date) -> tuple[bool, bool]:
    """Return (working, provisional) for a local calendar day.

    Per-organisation overrides are authoritative, so a day they decide is never provisional.
    """
    if isinstance(day, datetime):
        raise TypeError("is_working_day takes a date, not a datetime")
    if day in cal.extra_closed_days:
        return False, False
    if day in cal.extra_working_days:
        return True, False
    return _official_working_day(cal, day)


def provisional_years(cal: WorkCalendar, start: date, end: date) -> list[int]:
    """Years from start to end (inclusive) that have neither an admin schedule nor library data."""
    if end < start:
        raise ValueError("end must not be before start")
    return [
        year
        for year in range(start.year, end.year + 1)
        if _schedule_for(cal, year) is None and not _library_has_year(year)
    ]


def add_working_days(cal: WorkCalendar, start: datetime, days: int) -> Deadline:
    """End (24:00 local) of the `days`-th working day after the start day.

    The start day is not counted. With days=0: end of the start day, or of the next working day
    if the start day is not a working day. Provisional when any day after the start day up to
    the deadline day had no official data.
    """
    _require_aware(start)
    _require_not_negative(days)
    day = _local_date(cal, start)
    provisional = False
    if days == 0:
        day, provisional = _first_working_day_from(cal, day)
        return Deadline(_end_of_day(cal, day), provisional)
    counted = 0
    while counted < days:
        day += _ONE_DAY
        working, unsure = is_working_day(cal, day)
        provisional |= unsure
        counted += working
    return Deadline(_end_of_day(cal, day), provisional)


def add_calendar_days(cal: WorkCalendar, start: datetime, days: int) -> Deadline:
    """End (24:00 local) of day start+days, moved to the next working day's end if it is not one.

    Civil Code art. 201-203: the start day is not counted, and a period whose last day is a
    holiday ends on the first working day after it.
    """
    _require_aware(start)
    _require_not_negative(days)
    last_day, provisional = _first_working_day_from(cal, _local_date(cal, start) + days * _ONE_DAY)
    return Deadline(_end_of_day(cal, last_day), provisional)


def add_working_minutes(cal: WorkCalendar, start: datetime, minutes: int) -> Deadline:
    """The instant `minutes` business minutes after start.

    A start outside business hours begins at the next window opening; a deadline that lands
    exactly at a window's end stays there. With minutes=0 the start itself is returned when it
    lies inside or at the end of a window, otherwise the next opening. Provisional when any day
    from the start day to the deadline day had no official data.
    """
    _require_aware(start)
    _require_not_negative(minutes)
    cursor = start.astimezone(UTC)
    remaining = minutes * _ONE_MINUTE
    provisional = False
    for windows, unsure in _days_from(cal, _local_date(cal, start)):
        provisional |= unsure
        for opens, closes in windows:
            if closes < cursor:
                continue
            begin = max(opens, cursor)
            available = closes - begin
            if remaining <= available:
                return Deadline(begin + remaining, provisional)
            remaining -= available
            cursor = closes
    raise AssertionError("unreachable: the day sequence is endless")


def working_minutes_between(cal: WorkCalendar, a: datetime, b: datetime) -> int:
    """Whole business minutes in [a, b); 0 when b is not after a."""
    _require_aware(a)
    _require_aware(b)
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if b <= a:
        return 0
    total = timedelta()
    for windows, _ in _days_from(cal, _local_date(cal, a)):
        for opens, closes in windows:
            if opens >= b:
                return total // _ONE_MINUTE
            total += max(min(closes, b) - max(opens, a), timedelta())
    raise AssertionError("unreachable: the day sequence is endless")


def add_wall_minutes(start: datetime, minutes: int) -> Deadline:
    """The instant `minutes` elapsed minutes after start, on the 24-hour clock."""
    _require_aware(start)
    _require_not_negative(minutes)
    return Deadline((start + minutes * _ONE_MINUTE).astimezone(UTC), False)


def _official_working_day(cal: WorkCalendar, day: date) -> tuple[bool, bool]:
    schedule = _schedule_for(cal, day.year)
    if schedule is not None:
        if day in schedule.makeup_workdays:
            return True, False
        return day.weekday() < 5 and day not in schedule.holidays, False
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5, True


def _schedule_for(cal: WorkCalendar, year: int) -> YearSchedule | None:
    return next((s for s in cal.schedules if s.year == year), None)


def _library_has_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _first_working_day_from(cal: WorkCalendar, day: date) -> tuple[date, bool]:
    """The first working day on or after `day`, and whether any day looked at was provisional."""
    provisional = False
    while True:
        working, unsure = is_working_day(cal, day)
        provisional |= unsure
        if working:
            return day, provisional
        day += _ONE_DAY


def _days_from(
    cal: WorkCalendar, day: date
) -> Iterator[tuple[list[tuple[datetime, datetime]], bool]]:
    """For each local day from `day` on: its business windows in UTC (none if it is not a
    working day) and whether that day was provisional."""
    zone = ZoneInfo(cal.timezone)
    while True:
        working, unsure = is_working_day(cal, day)
        windows = [
            (
                datetime.combine(day, opens, zone).astimezone(UTC),
                datetime.combine(day, closes, zone).astimezone(UTC),
            )
            for opens, closes in cal.hours.windows
            if working
        ]
        yield windows, unsure
        day += _ONE_DAY


def deadline_text(moment: datetime, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A deadline as people read it, in its calendar's zone. The end of a day (local midnight,
    where deadlines counted in days fall) is written as that day's 24:00, as Chinese notices
    write a deadline (截至…24时): "2026-11-27 24:00", where "2026-11-28 00:00" reads as a day
    later than it is."""
    local = moment.astimezone(ZoneInfo(timezone))
    if local.time() != time(0) or "%H" not in fmt:
        return local.strftime(fmt)
    late = fmt.replace("%H", "24").replace("%M", "00").replace("%S", "00")
    return (local - _ONE_DAY).strftime(late)


def _end_of_day(cal: WorkCalendar, day: date) -> datetime:
    return datetime.combine(day + _ONE_DAY, time(0), ZoneInfo(cal.timezone)).astimezone(UTC)


def _local_date(cal: WorkCalendar, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(cal.timezone)).date()


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got naive {moment!r}")


def _require_not_negative(amount: int) -> None:
    if amount < 0:
        raise ValueError(f"the amount must not be negative, got {amount}")
