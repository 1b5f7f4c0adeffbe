"""Pure SLA arithmetic: due times with pauses and extensions, warnings, windows, triggers.

No database, no clock: the caller passes the pack's rule, the calendar and `now`. Every
datetime is timezone-aware; results are in UTC (as `kesu.calendar` returns them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kesu.calendar import (
    Deadline,
    WorkCalendar,
    YearSchedule,
    add_calendar_days,
    add_wall_minutes,
    add_working_days,
    add_working_minutes,
    is_working_day,
    working_minutes_between,
)
from kesu.policy.schema import DelayPolicy, DelayStep, Duration, Pack, Trigger

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Pause:
    """A stopped clock: from `start` until `until`, or until `ended` if it resumed earlier."""

    start: datetime
    until: datetime
    ended: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.ended if self.ended is not None and self.ended < self.until else self.until

    def as_json(self) -> dict[str, str | None]:
        return {
            "start": self.start.isoformat(),
            "until": self.until.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pause:
        ended = data.get("ended")
        return cls(
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["until"]),
            datetime.fromisoformat(ended) if ended else None,
        )


def calendar(
    pack: Pack,
    *,
    closed_days: Iterable[date] = (),
    working_days: Iterable[date] = (),
    schedules: Iterable[YearSchedule] = (),
) -> WorkCalendar:
    """The working calendar of one organisation: the pack's timezone and hours, its overrides."""
    return WorkCalendar(
        timezone=pack.timezone,
        hours=pack.hours(),
        extra_closed_days=frozenset(closed_days),
        extra_working_days=frozenset(working_days),
        schedules=tuple(schedules),
    )


def _add(cal: WorkCalendar, start: datetime, unit: str, amount: int) -> Deadline:
    if unit == "minutes":
        return add_wall_minutes(start, amount)
    if unit == "hours":
        return add_wall_minutes(start, amount * 60)
    if unit == "working_minutes":
        return add_working_minutes(cal, start, amount)
    if unit == "working_hours":
        return add_working_minutes(cal, start, amount * 60)
    if unit == "working_days":
        return add_working_days(cal, start, amount)
    if unit == "calendar_days":
        return add_calendar_days(cal, start, amount)
    raise ValueError(f"unknown unit {unit!r}")


def _local(cal: WorkCalendar, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(cal.timezone)).date()


def _paused_days(cal: WorkCalendar, unit: str, pause: Pause) -> tuple[int, bool]:
    """Whole days a pause takes out of a day-based period: the local days from its start day
    up to (not including) the day it ends; working days only for a working-day period."""
    first, last = _local(cal, pause.start), _local(cal, pause.end)
    if unit == "calendar_days":
        return max((last - first).days, 0), False
    count, provisional, day = 0, False, first
    while day < last:
        working, unsure = is_working_day(cal, day)
        count += working
        provisional |= unsure
        day += _ONE_DAY
    return count, provisional


def due_at(
    cal: WorkCalendar,
    started_at: datetime,
    within: Duration,
    pauses: Sequence[Pause] = (),
    extended_until: datetime | None = None,
) -> Deadline:
    """When a timer falls due: `within` after the start, moved out by every pause that began
    before it fell due, and no earlier than an approved extension.

    Minute-based clocks shift by exactly the paused time in their own measure (pausing N
    working minutes moves the deadline by N working minutes); day-based clocks by the whole
    days paused.
    """
    unit, amount = within.unit, within.amount
    ordered = sorted(pauses, key=lambda p: p.start)
    if unit in ("working_days", "calendar_days"):
        extra = 0
        deadline = _add(cal, started_at, unit, amount)
        provisional = deadline.provisional
        for pause in ordered:
            if pause.start >= deadline.at:
                continue
            days, unsure = _paused_days(cal, unit, pause)
            extra += days
            deadline = _add(cal, started_at, unit, amount + extra)
            provisional |= unsure or deadline.provisional
        result = Deadline(deadline.at, provisional)
    else:
        result = _moved_past(cal, unit, _add(cal, started_at, unit, amount), ordered)
    if extended_until is not None and extended_until > result.at:
        return Deadline(extended_until, result.provisional)
    return result


def _moved_past(
    cal: WorkCalendar, unit: str, moment: Deadline, ordered: Sequence[Pause]
) -> Deadline:
    """A minute-based instant moved out by every pause (oldest first) that began before it:
    by the paused working minutes on a working-time clock, by the paused time otherwise."""
    result = moment
    for pause in ordered:
        if pause.start >= result.at:
            continue
        if unit in ("working_minutes", "working_hours"):
            left = working_minutes_between(cal, pause.start, result.at)
            moved = add_working_minutes(cal, pause.end, left)
            result = Deadline(moved.at, result.provisional or moved.provisional)
        else:
            result = Deadline(pause.end + (result.at - pause.start), False)
    return result


def opens_at(
    cal: WorkCalendar, started_at: datetime, not_before: Duration, pauses: Sequence[Pause] = ()
) -> Deadline:
    """The start of a window "from N … after": for day units the start of the N-th day
    (the end of day N-1), otherwise N after the start; moved out by the pauses as a due time
    is (a stopped clock opens its window later by the time it stood still)."""
    unit, amount = not_before.unit, not_before.amount
    if unit in ("working_days", "calendar_days") and amount > 0:
        amount -= 1
    return due_at(cal, started_at, Duration(**{unit: amount}), pauses)


def warn_at(started_at: datetime, due: datetime, percent: int | None) -> datetime | None:
    """The instant `percent` of the way from start to due (None: no warning)."""
    if percent is None or due <= started_at:
        return None
    span = due - started_at
    return started_at + timedelta(seconds=int(span.total_seconds() * percent / 100))


def reminder_at(
    cal: WorkCalendar,
    started_at: datetime,
    within: Duration,
    percent: int | None,
    pauses: Sequence[Pause] = (),
    extended_until: datetime | None = None,
) -> datetime | None:
    """When a timer warns (None: never): `percent` of the way to its deadline as the pack set
    it, then moved out by every pause that began before it, as the deadline is. A stopped
    clock so keeps its warning as far before its deadline as it was (in the clock's own
    measure), and never warns while it stands still. An approved extension is a new
    deadline: `percent` of the way to it."""
    plain = due_at(cal, started_at, within).at
    first = warn_at(started_at, plain, percent)
    if first is None:
        return None
    due = due_at(cal, started_at, within, pauses).at
    if extended_until is not None and extended_until > due:
        return warn_at(started_at, extended_until, percent)
    ordered = sorted(pauses, key=lambda p: p.start)
    if within.unit not in ("working_days", "calendar_days"):
        return _moved_past(cal, within.unit, Deadline(first, False), ordered).at
    # a day-based deadline moves by whole days: the warning keeps its distance to it
    lead, counted, moment = plain - first, [], first
    for pause in ordered:
        if pause.start < moment:
            counted.append(pause)
            moment = due_at(cal, started_at, within, counted).at - lead
    for pause in ordered:
        if pause.start <= moment < pause.end:
            moment = pause.end
    return moment if moment < due else None


def facts_of(complaint: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a trigger's `when` compares: the complaint's fields, overlaid by the event payload."""
    facts: dict[str, Any] = {
        "channel": complaint.channel,
        "level": complaint.level,
        "category": complaint.category,
        "classification": complaint.classification,
        "state": complaint.state,
        "complainant_type": complaint.complainant_type,
        "round": complaint.round,
    }
    facts.update(payload)
    return facts


def matches(
    trigger: Trigger,
    command: str,
    facts: Mapping[str, Any],
    *,
    actor_role: str | None,
    actor_rank: int,
    pack: Pack,
) -> bool:
    """Does this event fire the trigger? (command, `when` fields, actor role and tier)"""
    if trigger.event != command:
        return False
    for name, wanted in trigger.when.items():
        value = facts.get(name)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    if trigger.roles and actor_role not in trigger.roles:
        return False
    return not (trigger.min_tier and actor_rank < pack.tier_rank(trigger.min_tier))


def extension_step(
    policy: DelayPolicy, cal: WorkCalendar, started_at: datetime, until: datetime
) -> tuple[int, DelayStep] | None:
    """The first step whose limit (counted from the timer's start) covers `until`, or None."""
    for i, step in enumerate(policy.steps, start=1):
        if until <= due_at(cal, started_at, step.up_to).at:
            return i, step
    return None
