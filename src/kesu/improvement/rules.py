"""Pure rules of the improvement loop (整改): who may do what to an action in which state, the
target check over the observation period, repeat causes, checklist schedules.

No database and no clock: callers pass what the rules read and `now`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from kesu.errors import Forbidden, IllegalTransition, InvalidInput
from kesu.policy.schema import Checklist, Duration, Pack, RepeatCause, Schedule
from kesu.report.rules import Period

KINDS = ("corrective", "preventive")
SOURCES = ("complaint", "complaints", "pareto", "inspection", "manual")
STATES = (
    "open",
    "in_progress",
    "observing",
    "awaiting_verification",
    "effective",
    "reopened",
    "cancelled",
)
FINAL = frozenset({"effective", "cancelled"})
WORKING = frozenset({"open", "in_progress", "reopened"})
"""States in which the deadline runs: the owner is still at work."""
ACCOUNTABILITY_KINDS = ("training", "discipline", "reward")
NOT_COMPLAINTS = ("help", "enquiry", "venting", "invalid", "malicious")
"""Classifications that are not complaints: they never count against a target."""


# --- who ------------------------------------------------------------------------------------


def managers(pack: Pack) -> frozenset[str]:
    """Roles that may open, reassign and cancel actions and record accountability: the pack's
    list, else every role of the second tier or above (the first, in a one-tier pack)."""
    if pack.improvement.manager_roles:
        return frozenset(pack.improvement.manager_roles)
    floor = min(2, len(pack.tiers))
    return frozenset(r.key for r in pack.roles if pack.tier_rank(r.tier) >= floor)


def verifiers(pack: Pack) -> frozenset[str]:
    return frozenset(pack.improvement.verifier_roles) or managers(pack)


@dataclass(frozen=True)
class ActionView:
    """What the rules read of an action."""

    state: str
    owner_id: int
    verifier_id: int | None


@dataclass(frozen=True)
class Who:
    """The person acting, as the rules see them."""

    user_id: int
    role: str | None


@dataclass(frozen=True)
class Rule:
    states: frozenset[str]
    by: tuple[str, ...]
    """any of: owner (the action's owner), manager (a manager role), verifier (the named
    verifier or a verifier role — never the owner)"""


_NOT_FINAL = frozenset(STATES) - FINAL
RULES: dict[str, Rule] = {
    "start": Rule(frozenset({"open", "reopened"}), ("owner",)),
    "progress": Rule(_NOT_FINAL, ("owner", "manager", "verifier")),
    "add_evidence": Rule(_NOT_FINAL, ("owner", "manager")),
    "implement": Rule(WORKING, ("owner",)),
    "link_complaints": Rule(_NOT_FINAL, ("owner", "manager")),
    "reassign": Rule(_NOT_FINAL, ("manager",)),
    "confirm": Rule(frozenset({"awaiting_verification"}), ("verifier",)),
    "reopen": Rule(frozenset({"observing", "awaiting_verification"}), ("verifier",)),
    "cancel": Rule(_NOT_FINAL, ("manager",)),
}
"""Every command on an action after it is opened; the worker's own steps (`verify`, `warn`,
`breach`, `escalate`) are not commands anyone can issue."""


def capacities(pack: Pack, action: ActionView, who: Who) -> set[str]:
    found: set[str] = set()
    if who.user_id == action.owner_id:
        found.add("owner")
    if who.role in managers(pack):
        found.add("manager")
    named = action.verifier_id is not None and who.user_id == action.verifier_id
    if (named or who.role in verifiers(pack)) and who.user_id != action.owner_id:
        found.add("verifier")
    return found


def check(pack: Pack, action: ActionView, who: Who, command: str) -> None:
    """Raise unless `who` may issue `command` on `action` now (role first, then state)."""
    rule = RULES.get(command)
    if rule is None:
        raise InvalidInput("improvement.unknown_command", field="command", command=command)
    if not capacities(pack, action, who) & set(rule.by):
        if "verifier" in rule.by and who.user_id == action.owner_id:
            raise Forbidden("improvement.owner_cannot_verify")
        raise Forbidden("improvement.not_allowed", command=command)
    if action.state not in rule.states:
        raise IllegalTransition("improvement.wrong_state", command=command, state=action.state)


def allowed(pack: Pack, action: ActionView, who: Who) -> list[str]:
    """The commands `who` may issue now (what a page offers)."""
    out = []
    for command in RULES:
        try:
            check(pack, action, who, command)
        except (Forbidden, IllegalTransition):
            continue
        out.append(command)
    return out


def after_implement(has_target: bool) -> str:
    """Done: with a target the effect is watched first; without one the verifier checks now."""
    return "observing" if has_target else "awaiting_verification"


# --- the target and its verification ---------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month when it is shorter."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Slice:
    """One month of an observation period, [start, end) as UTC instants."""

    start: datetime
    end: datetime


def observation(start: datetime, months: int, tz: str) -> list[Slice]:
    """The observation period from `start`: `months` months by the local calendar, each month
    from the same local day and time as the start."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    bounds = [
        datetime.combine(add_months(local.date(), i), local.timetz().replace(tzinfo=None), zone)
        for i in range(months + 1)
    ]
    return [Slice(a.astimezone(UTC), b.astimezone(UTC)) for a, b in pairwise(bounds)]


@dataclass(frozen=True)
class TargetResult:
    """ "No more than `target` complaints of this cause per month": the count in every month
    of the observation period, and whether each stayed within it."""

    target: int
    counts: tuple[int, ...]
    pending: int
    """complaints counted although not investigated yet (of the action's category)"""

    @property
    def met(self) -> bool:
        return all(n <= self.target for n in self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def worst(self) -> int:
        return max(self.counts, default=0)

    def as_json(self) -> dict:
        return {
            "target": self.target,
            "counts": list(self.counts),
            "total": self.total,
            "worst": self.worst,
            "pending": self.pending,
            "met": self.met,
        }


def verdict(result: TargetResult) -> str:
    """Where the worker sends an action at the end of its observation period: a met target
    goes to the verifier to confirm; a missed one is reopened at once."""
    return "awaiting_verification" if result.met else "reopened"


# --- deadline escalation ---------------------------------------------------------------------


def escalation_rank(owner_rank: int, step: int, top: int) -> int:
    """The tier told at escalation `step` (1 = the breach): one above the owner's per step,
    never above the top tier."""
    return min(max(owner_rank, 0) + step, top)


def escalates_further(owner_rank: int, step: int, top: int) -> bool:
    return escalation_rank(owner_rank, step, top) < top


def elapsed(window: Duration) -> timedelta:
    """A window in elapsed time (minutes, hours or calendar days)."""
    minutes = {"minutes": 1, "hours": 60, "calendar_days": 1440}[window.unit]
    return timedelta(minutes=window.amount * minutes)


# --- repeat causes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """A root cause as the repeat rule compares it: the dimension plus what `same` names."""

    dimension: str
    category: str | None = None
    site_id: int | None = None
    department_id: int | None = None


def cause_of(rule: RepeatCause, dimension: str, facts: Mapping[str, object]) -> Cause | None:
    """The cause one complaint shows under the rule; None when a compared field is empty."""
    values = {name: facts.get(name) for name in rule.same}
    if any(v in (None, "") for v in values.values()):
        return None
    return Cause(dimension, **values)  # type: ignore[arg-type]


def cause_key(group_id: int, cause: Cause) -> str:
    return ":".join(
        str(part if part is not None else "-")
        for part in (
            group_id,
            cause.dimension,
            cause.category,
            cause.site_id,
            cause.department_id,
        )
    )


def alert_key(cause: str, previous_alert_id: int | None) -> str:
    """The claim of one alert: the cause and the alert before it. Two workers that both saw the
    same previous alert try the same key; the unique constraint lets one through."""
    return f"{cause}|after:{previous_alert_id or 0}"


def may_alert_again(last_raised_at: datetime | None, now: datetime, window: Duration) -> bool:
    """An alert fires at most once per window: not again until `window` after the last one."""
    return last_raised_at is None or now - last_raised_at >= elapsed(window)


# --- checklists ------------------------------------------------------------------------------


def next_occurrence(schedule: Schedule, after: datetime, tz: str) -> datetime:
    """The first scheduled instant strictly after `after` (UTC)."""
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(400):
        if _scheduled_on(schedule, day):
            moment = datetime.combine(day, schedule.at, zone)
            if moment > local:
                return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise ValueError("no occurrence within 400 days")  # unreachable for a valid schedule


def _scheduled_on(schedule: Schedule, day: date) -> bool:
    if schedule.every == "week":
        return day.isoweekday() == schedule.weekday
    if schedule.every == "month":
        return day.day == schedule.day
    return True


@dataclass(frozen=True)
class ItemResult:
    item: str
    ok: bool
    finding: str | None


def inspection_results(checklist: Checklist, given: Mapping[str, tuple[bool, str | None]]):
    """Every item answered; a failed item says what was found. Returns the results in the
    checklist's order."""
    out: list[ItemResult] = []
    for item in checklist.items:
        if item.key not in given:
            raise InvalidInput("improvement.item_unanswered", field=f"items.{item.key}")
        ok, finding = given[item.key]
        finding = (finding or "").strip() or None
        if not ok and finding is None:
            raise InvalidInput("improvement.finding_required", field=f"items.{item.key}.finding")
        out.append(ItemResult(item.key, ok, finding))
    unknown = sorted(set(given) - {i.key for i in checklist.items})
    if unknown:
        raise InvalidInput("improvement.unknown_item", field="items", items=", ".join(unknown))
    return out


# --- the management review's quarter ---------------------------------------------------------


def quarter(text: str) -> Period:
    """'2026-Q4' → the quarter's local days [1 Oct, 1 Jan)."""
    year_text, sep, q = text.strip().upper().partition("-Q")
    if not sep or not year_text.isdigit() or q not in ("1", "2", "3", "4"):
        raise ValueError(f"not a quarter: {text!r}")
    year, number = int(year_text), int(q)
    start = date(year, 3 * number - 2, 1)
    end = date(year + (number == 4), (3 * number) % 12 + 1, 1)
    return Period("quarterly", f"{year}-Q{number}", start, end)


def quarter_of(day: date) -> Period:
    return quarter(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def last_complete_quarter(today: date) -> Period:
    current = quarter_of(today)
    return quarter_of(current.start - timedelta(days=1))
