"""Working days, business hours and deadlines on the Chinese official calendar."""

from kesu.calendar.workdays import (
    BusinessHours,
    Deadline,
    WorkCalendar,
    YearSchedule,
    add_calendar_days,
    add_wall_minutes,
    add_working_days,
    add_working_minutes,
    is_working_day,
    provisional_years,
    working_minutes_between,
)

__all__ = [
    "BusinessHours",
    "Deadline",
    "WorkCalendar",
    "YearSchedule",
    "add_calendar_days",
    "add_wall_minutes",
    "add_working_days",
    "add_working_minutes",
    "is_working_day",
    "provisional_years",
    "working_minutes_between",
]
