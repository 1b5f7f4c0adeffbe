"""Report periods and metric definitions (pure: plain values in, plain values out).

Every definition here is written out for readers in docs/reports.md; the two must agree.
Durations are whole seconds, rates are fractions (0.25 = 25 %), None means "no data".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

KINDS = ("weekly", "monthly", "annual", "range")
EXAMPLES = {"weekly": "2026-W47", "monthly": "2026-11", "annual": "2026"}
"""How each kind's period is written, for the message that refuses another spelling."""
ROLLING_DAYS_MAX = 62
"""A range report's trend is by day up to this many days, by month beyond."""


@dataclass(frozen=True)
class Period:
    """A report period: local calendar days [start, end) in the pack's time zone."""

    kind: str
    label: str
    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """The period as UTC instants [from, to)."""
        zone = ZoneInfo(tz)
        return (
            datetime.combine(self.start, time(), zone).astimezone(UTC),
            datetime.combine(self.end, time(), zone).astimezone(UTC),
        )

    @property
    def trend_unit(self) -> str:
        """'day' for weeks, months and short ranges; 'month' for years and long ranges."""
        if self.kind == "annual" or (self.kind == "range" and self.days > ROLLING_DAYS_MAX):
            return "month"
        return "day"


def week(year: int, number: int) -> Period:
    start = date.fromisocalendar(year, number, 1)
    return Period("weekly", f"{year}-W{number:02d}", start, start + timedelta(days=7))


def month(year: int, number: int) -> Period:
    start = date(year, number, 1)
    end = date(year + (number == 12), number % 12 + 1, 1)
    return Period("monthly", f"{year}-{number:02d}", start, end)


def year(number: int) -> Period:
    return Period("annual", str(number), date(number, 1, 1), date(number + 1, 1, 1))


def date_range(first: date, last: date) -> Period:
    """Both days included."""
    if last < first:
        raise ValueError("the range ends before it starts")
    return Period("range", f"{first.isoformat()}..{last.isoformat()}", first, last + timedelta(1))


_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse(kind: str, text: str) -> Period:
    """'2026-W47' (weekly), '2026-11' (monthly), '2026' (annual); ValueError otherwise."""
    pattern = {"weekly": _WEEK, "monthly": _MONTH, "annual": _YEAR}.get(kind)
    m = pattern.match(text.strip()) if pattern else None
    if m is None:
        raise ValueError(f"not a {kind} period: {text!r}")
    numbers = [int(g) for g in m.groups()]
    if kind == "weekly":
        return week(*numbers)
    if kind == "monthly":
        return month(*numbers)
    return year(*numbers)


def last_complete(kind: str, today: date) -> Period:
    """The newest period of this kind that ended before `today` began."""
    if kind == "weekly":
        iso = (today - timedelta(days=7)).isocalendar()
        return week(iso.year, iso.week)
    if kind == "monthly":
        first = today.replace(day=1) - timedelta(days=1)
        return month(first.year, first.month)
    if kind == "annual":
        return year(today.year - 1)
    raise ValueError(f"no default period for {kind}")


def previous(period: Period) -> Period:
    """The period just before, of the same kind (a range: the same number of days)."""
    if period.kind == "weekly":
        iso = (period.start - timedelta(days=7)).isocalendar()
        return week(iso.year, iso.week)
    if period.kind == "monthly":
        last = period.start - timedelta(days=1)
        return month(last.year, last.month)
    if period.kind == "annual":
        return year(period.start.year - 1)
    return date_range(period.start - timedelta(days=period.days), period.start - timedelta(1))


# --- numbers -------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def median(sorted_values: list[int]) -> float | None:
    """The middle value; the mean of the two middle values when the count is even."""
    n = len(sorted_values)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


@dataclass(frozen=True)
class Durations:
    """Handling or response times in seconds."""

    count: int
    mean: float | None
    median: float | None
    p90: int | None


def durations(seconds: Iterable[int]) -> Durations:
    values = sorted(seconds)
    if not values:
        return Durations(0, None, None, None)
    return Durations(len(values), sum(values) / len(values), median(values), percentile(values, 90))


def per_10k(count: int, volume: float | None) -> float | None:
    """Complaints per 10,000 orders or visits."""
    return count / volume * 10_000 if volume else None


@dataclass(frozen=True)
class VolumeRecord:
    first_day: date
    last_day: date  # included
    amount: int


def volume_in(records: Iterable[VolumeRecord], period: Period) -> float | None:
    """Volume over the period: each record counts by the share of its days inside the period
    (a month recorded as 31,000 orders gives a week of it 7,000). None when nothing overlaps."""
    total, seen = 0.0, False
    for r in records:
        days = (r.last_day - r.first_day).days + 1
        first, last = max(r.first_day, period.start), min(r.last_day, period.end - timedelta(1))
        inside = (last - first).days + 1
        if days > 0 and inside > 0:
            total += r.amount * inside / days
            seen = True
    return total if seen else None


@dataclass(frozen=True)
class ParetoRow:
    key: str
    count: int
    share: float
    cumulative: float
    vital: bool  # within the first 80 % (the "vital few")


def pareto(counts: Mapping[str, int]) -> list[ParetoRow]:
    """Causes by count, largest first (ties by key), with share and cumulative share. A cause
    is among the vital few if the cumulative share before it is below 80 %."""
    total = sum(counts.values())
    rows, running = [], 0
    for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count <= 0:
            continue
        before = running / total
        running += count
        rows.append(ParetoRow(key, count, count / total, running / total, before < 0.8))
    return rows


def local_hours(utc_hour_counts: Mapping[datetime, int], tz: str) -> dict[datetime, int]:
    """Counts per UTC hour → counts per local hour (exact for whole-hour UTC offsets)."""
    zone = ZoneInfo(tz)
    out: dict[datetime, int] = {}
    for at, n in utc_hour_counts.items():
        local = at.replace(tzinfo=UTC).astimezone(zone)
        out[local] = out.get(local, 0) + n
    return out


def heatmap(local_hour_counts: Mapping[datetime, int]) -> list[list[int]]:
    """7 × 24 counts: weekday (Monday first) × hour of day."""
    grid = [[0] * 24 for _ in range(7)]
    for at, n in local_hour_counts.items():
        grid[at.weekday()][at.hour] += n
    return grid


def trend_buckets(period: Period) -> list[date]:
    """The first day of each trend bucket in the period."""
    if period.trend_unit == "day":
        return [period.start + timedelta(days=i) for i in range(period.days)]
    out, d = [], period.start.replace(day=1)
    while d < period.end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def trend(local_hour_counts: Mapping[datetime, int], period: Period) -> dict[date, int]:
    buckets = {b: 0 for b in trend_buckets(period)}
    for at, n in local_hour_counts.items():
        day = at.date()
        key = day if period.trend_unit == "day" else day.replace(day=1)
        if key in buckets:
            buckets[key] += n
    return buckets


def change(current: float | None, before: float | None) -> tuple[float | None, float | None]:
    """(difference, relative difference) of a figure against the previous period."""
    if current is None or before is None:
        return None, None
    return current - before, ((current - before) / before if before else None)


# --- exported cells --------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def defuse(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
    leading apostrophe, so it is shown as the text it is (formula injection). Control
    characters no spreadsheet can hold are dropped."""
    if isinstance(value, str):
        value = _CONTROL.sub("", value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


# --- scheduled delivery -------------------------------------------------------------------------


def scheduled(
    kind: str, *, weekday: int, day: int, month_of_year: int, at: time, local_now: datetime
) -> tuple[datetime, Period]:
    """The latest moment a schedule was due at or before `local_now` (naive local time) and the
    period it reports: the last complete week / month / year before that moment."""
    today = local_now.date()
    if kind == "weekly":
        d = today - timedelta(days=(today.isoweekday() - weekday) % 7)
        if datetime.combine(d, at) > local_now:
            d -= timedelta(days=7)
    elif kind == "annual":
        d = date(today.year, month_of_year, day)
        if datetime.combine(d, at) > local_now:
            d = date(today.year - 1, month_of_year, day)
    else:  # monthly, staff_review
        d = today.replace(day=day)
        if datetime.combine(d, at) > local_now:
            last = d.replace(day=1) - timedelta(days=1)
            d = last.replace(day=day)
    basis = "monthly" if kind == "staff_review" else kind
    return datetime.combine(d, at), last_complete(basis, d)


def reads_staff_review(pack: Any, role: str | None) -> bool:
    """Whether a role may read the monthly staff review (人员考核: each person's penalties and
    the complaints about them): management and the offices (a role of the second tier or above,
    or of no tier: an archivist, an administration office), not the front line it reviews (the
    first tier, in a pack of more than one)."""
    found = pack.role(role) if role else None
    if found is None:
        return False
    return found.tier is None or pack.tier_rank(found.tier) >= min(2, len(pack.tiers))
