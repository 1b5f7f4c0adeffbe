"""The policy pack model (制度): what one organisation's complaint procedure declares.

A pack is data. The engine (`kesu.complaint.lifecycle`) reads it; nothing about a
particular organisation lives in code. Labels are {zh_Hans, zh_Hant, en} mappings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from kesu.calendar import BusinessHours
from kesu.complaint.commands import COMMANDS
from kesu.i18n import DEFAULT_LOCALE, catalogue, label, translate

T = TypeVar("T")

Key = str
Label = dict[Literal["zh_Hans", "zh_Hant", "en"], str]


class PackRule(ValueError):
    """A pack check that failed, said in every language: `policy.rule.<name>` with `params`
    (a label among them, such as the kind of thing unknown, is read in the reader's language).
    `at`: the place in the pack a check across the whole pack is about
    ("levels.L1.handler_tier"), which becomes the problem's path and line."""

    def __init__(self, name: str, *, at: str | None = None, **params: Any) -> None:
        self.key, self.at, self.params = f"policy.rule.{name}", at, params
        english = {k: v["en"] if isinstance(v, dict) else v for k, v in params.items()}
        super().__init__(translate(self.key, "en", **english))


class PackRules(ValueError):
    """Every problem a check across the whole pack found, not only the first."""

    def __init__(self, rules: list[PackRule]) -> None:
        self.rules = rules
        super().__init__("; ".join(f"{r.at}: {r}" for r in rules))


class _Found:
    """The problems of one check across the pack, raised together at its end."""

    def __init__(self) -> None:
        self.rules: list[PackRule] = []

    def add(self, name: str, at: str, **params: Any) -> None:
        self.rules.append(PackRule(name, at=at, **params))

    def unknown(self, at: str, names: list[str] | None, known: set[str], what: str) -> None:
        missing = sorted(set(names or []) - known)
        if missing:
            self.add("unknown", at, what=label(f"policy.what.{what}"), names=_quoted(missing))

    def duplicates(self, at: str, keys: list[Any]) -> None:
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            self.add("duplicate_keys", at, keys=_quoted(dupes))

    def done(self) -> None:
        if self.rules:
            raise PackRules(self.rules)


def _quoted(names: list[Any]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _unknown_commands(names: list[str]) -> PackRule:
    known = ", ".join(["receive", *sorted(COMMANDS)])
    return PackRule(
        "unknown_of", what=label("policy.what.command"), names=_quoted(names), known=known
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(_Strict):
    key: Key = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", max_length=40)
    name: Label

    @field_validator("name")
    @classmethod
    def _has_chinese_name(cls, v: Label) -> Label:
        if "zh_Hans" not in v:
            raise PackRule("name_zh")
        return v


class Tier(Named):
    """Handler tier (处理人员等级), lowest first in the pack's list."""


class Role(Named):
    tier: Key | None = None
    admin: bool = Field(False, description="may manage users, tokens and organisations")
    commands: list[str] = Field(default_factory=list, description="commands this role may issue")
    personal_data: Literal["none", "assigned", "all"] = Field(
        "assigned",
        description="complainants' phone, address and ID numbers unmasked: none; assigned (the "
        "complaints this person handles or registered); all (every complaint in scope)",
    )

    @field_validator("commands")
    @classmethod
    def _known_commands(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in ("*", "receive") and c not in COMMANDS]
        if unknown:
            raise _unknown_commands(unknown)
        return v

    def may(self, command: str) -> bool:
        return "*" in self.commands or command in self.commands


class ReviewStep(_Strict):
    """One signature on the review chain: a role, or anyone of at least a tier."""

    role: Key | None = None
    tier: Key | None = None
    name: Label | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReviewStep:
        if (self.role is None) == (self.tier is None):
            raise PackRule("review_step_one")
        return self


class Level(Named):
    """Severity level (投诉级别), lowest first."""

    handler_tier: Key
    review_chain: list[ReviewStep] = Field(default_factory=list)
    closer_roles: list[Key] = Field(min_length=1)
    description: Label | None = None


class Category(Named):
    children: list[Category] = Field(default_factory=list)


class SatisfactionGrade(_Strict):
    value: int
    name: Label
    outcome: Literal["accept", "escalate"]


class AuthorityBand(_Strict):
    """Row of the 权限核决表: a solution up to this amount may be approved by this tier."""

    up_to: Decimal | None
    tier: Key


class Numbering(_Strict):
    pattern: str = Field(description="tokens: {yyyy} {yy} {mm} {dd} {seq:N}")
    reset: Literal["year", "month", "day", "never"]

    @field_validator("pattern")
    @classmethod
    def _has_seq(cls, v: str) -> str:
        from kesu.complaint.numbering import check_pattern

        check_pattern(v)
        return v


# --- timers, delays, escalation, notifications, forms (the SLA sections) ---------------------

DURATION_UNITS = (
    "minutes",
    "hours",
    "working_minutes",
    "working_hours",
    "working_days",
    "calendar_days",
)
RECIPIENTS = ("assignee", "receiver", "next_tier")
"""Who a notification may go to besides pack roles: the handler, the staff member who received
the complaint (its handler when it came in by itself), and everyone one tier above the
complaint's current tier."""
Matchable = Literal["category", "site_id", "product", "sku", "order_no", "staff_complained_id"]
"""What "the same matter" compares for repeat complaints (subject fields and the complaint's)."""


def _check_event(v: str) -> str:
    if v != "receive" and v not in COMMANDS:
        raise _unknown_commands([v])
    return v


class Duration(_Strict):
    """A length of time in exactly one unit, e.g. `{minutes: 30}` or `{working_days: 1}`.

    minutes / hours run on the 24-hour clock; working_minutes / working_hours count business
    hours on working days; working_days / calendar_days count whole days by the Civil Code
    rule (the start day is not counted; a last day that is not a working day moves to the end
    of the next working day).
    """

    minutes: int | None = Field(None, ge=0)
    hours: int | None = Field(None, ge=0)
    working_minutes: int | None = Field(None, ge=0)
    working_hours: int | None = Field(None, ge=0)
    working_days: int | None = Field(None, ge=0)
    calendar_days: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _exactly_one_unit(self) -> Duration:
        given = [u for u in DURATION_UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise PackRule("duration_one", units=", ".join(DURATION_UNITS))
        return self

    @property
    def unit(self) -> str:
        return next(u for u in DURATION_UNITS if getattr(self, u) is not None)

    @property
    def amount(self) -> int:
        return getattr(self, self.unit)

    def __str__(self) -> str:  # "1 working day", "2 working days": the API's `within`, logs
        words = self.unit.replace("_", " ")
        return f"{self.amount} {words[:-1] if self.amount == 1 else words}"


def _triggers(value: Any) -> Any:
    """`close` is short for `{event: close}` in every trigger list."""
    if isinstance(value, list):
        return [{"event": v} if isinstance(v, str) else v for v in value]
    return value


class Trigger(_Strict):
    """An event that starts, meets, cancels or resumes a timer: a command (or `receive`),
    optionally only when fields match (`when`) and only by some actors (`min_tier`, `roles`).

    `when` compares the event's payload first, then the complaint (channel, level, category,
    classification, state, complainant_type, round); a list value means "any of these".
    """

    event: str
    when: dict[str, Any] = Field(default_factory=dict)
    min_tier: Key | None = None
    roles: list[Key] = Field(default_factory=list)

    @field_validator("event")
    @classmethod
    def _known_event(cls, v: str) -> str:
        return _check_event(v)


Triggers = Annotated[list[Trigger], BeforeValidator(_triggers)]


class OnBreach(_Strict):
    """What happens when a timer passes its due time unmet."""

    notify: list[Key] = Field(default_factory=list, description="roles or assignee/receiver/…")
    escalate: bool = Field(False, description="raise the complaint one level (not above the top)")
    penalty: Decimal | None = Field(None, ge=0, description="yuan, once per breach")
    penalty_to: Literal["assignee", "receiver"] = Field(
        "assignee",
        description="the handler (the receiver when nobody is assigned) or the receiver (the "
        "handler when nobody registered it: the portal, e-mail)",
    )


class LevelTiming(_Strict):
    """A timer's values for one level, where they differ from its defaults."""

    within: Duration | None = None
    penalty: Decimal | None = Field(None, ge=0)


class TimerRule(Named):
    """One SLA timer (时限): what starts it, what meets it, how long it runs, what a breach does."""

    basis: str | None = Field(None, description="the seed clause or article it reproduces")
    start: Triggers = Field(min_length=1)
    met_by: Triggers = Field(min_length=1)
    cancel_on: Triggers = Field(default_factory=lambda: [Trigger(event="close")])
    within: Duration
    not_before: Duration | None = Field(
        None, description="a window: the task is due from this long after the start"
    )
    levels: list[Key] | None = Field(None, description="the levels it applies to (null: all)")
    by_level: dict[Key, LevelTiming] = Field(default_factory=dict)
    warn_at_percent: int | None = Field(80, ge=1, le=99)
    warn: list[Key] = Field(default_factory=lambda: ["assignee"])
    on_breach: OnBreach = Field(default_factory=OnBreach)
    recurring: bool = Field(False, description="starts again each time it is met")

    def applies_to(self, level: Key) -> bool:
        return self.levels is None or level in self.levels

    def within_for(self, level: Key) -> Duration:
        timing = self.by_level.get(level)
        return timing.within if timing and timing.within else self.within

    def penalty_for(self, level: Key) -> Decimal | None:
        timing = self.by_level.get(level)
        if timing and timing.penalty is not None:
            return timing.penalty
        return self.on_breach.penalty


class DelayStep(_Strict):
    """How far an approved delay may extend a deadline, and who must approve it."""

    up_to: Duration = Field(description="the longest total period, counted from the start")
    approver_roles: list[Key] = Field(min_length=1)
    notify_customer: bool = False


class DelayPolicy(_Strict):
    """What an approved delay request (投诉延期处理申请, approve_delay) does to the clocks.

    pause: the clock stops from the approval until the request's `until` (or earlier, on a
    `resume_on` event); extend: the deadline moves to `until`, within the steps' limits.
    """

    effect: Literal["pause", "extend"] = "pause"
    timers: list[Key] | None = Field(None, description="the timers it affects (null: all)")
    approver_roles: list[Key] = Field(
        default_factory=list, description="pause: who may approve (empty: the role table)"
    )
    resume_on: Triggers = Field(default_factory=list)
    steps: list[DelayStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _steps_for_extend(self) -> DelayPolicy:
        if self.effect == "extend" and not self.steps:
            raise PackRule("delay_steps")
        if self.effect == "pause" and self.steps:
            raise PackRule("delay_pause_steps")
        return self


class RepeatRule(_Strict):
    """A repeat complaint (重复投诉): same complainant and matter within the window."""

    window: Duration
    same: list[Matchable] = Field(default_factory=lambda: ["category"])
    min_level: Key

    @field_validator("window")
    @classmethod
    def _elapsed_time(cls, v: Duration) -> Duration:
        if v.unit not in ("minutes", "hours", "calendar_days"):
            raise PackRule("elapsed_window")
        return v


class ResponseRounds(_Strict):
    """At most this many response rounds (对应次数); beyond, the case goes to management."""

    max: int | None = Field(None, ge=1)
    by_level: dict[Key, int | None] = Field(default_factory=dict)
    notify: list[Key] = Field(default_factory=list)

    def max_for(self, level: Key) -> int | None:
        return self.by_level.get(level, self.max)


class Escalation(_Strict):
    """Automatic escalation besides timer breaches."""

    auto_assign: bool = Field(
        True, description="give an unowned complaint to a handler of its tier (never the recused)"
    )
    emergency_categories: list[Key] = Field(
        default_factory=list, description="categories (and their children) that go to the top"
    )
    keywords_in_text: bool = Field(
        True, description="urgent keywords in notes and contact summaries also go to the top"
    )
    top_level_notify: list[Key] = Field(default_factory=list)
    repeat: RepeatRule | None = None
    gm_agenda_notify: list[Key] = Field(default_factory=list)


class NotifyRule(_Strict):
    """Which event tells whom, with which message template (`notify.<template>.*`)."""

    event: str
    when: dict[str, Any] = Field(default_factory=dict)
    notify: list[Key] = Field(default_factory=list)
    customer: bool = False
    template: str = "complaint_alert"

    @field_validator("event")
    @classmethod
    def _known_event(cls, v: str) -> str:
        return _check_event(v)

    @field_validator("template")
    @classmethod
    def _known_template(cls, v: str) -> str:
        texts = catalogue(DEFAULT_LOCALE)
        if f"notify.{v}.subject" not in texts or f"notify.{v}.body" not in texts:
            raise PackRule("unknown", what=label("policy.what.template"), names=_quoted([v]))
        return v


class Form(Named):
    """A form the procedure names (a printable view of the record) and who does what on it:
    prepare 编制, review 复核, approve 核准, informed 被通知 (seed 000's duty table)."""

    prepare: list[Key] = Field(default_factory=list)
    review: list[Key] = Field(default_factory=list)
    approve: list[Key] = Field(default_factory=list)
    informed: list[Key] = Field(default_factory=list)
    levels: list[Key] | None = None


# --- the improvement loop (整改): corrective actions, checklists, repeat causes --------------

IMPROVEMENT_RECIPIENTS = ("owner", "verifier", "creator", "next_tier")
"""Who an improvement message may go to besides pack roles: the action's owner, its verifier,
whoever opened it, and staff one tier above the owner (one tier more per escalation)."""


class ActionDeadline(_Strict):
    """整改期限: a corrective action's deadline, a timer like the complaint timers: a warning
    before it, a breach message when it passes unmet, then one tier higher every
    `escalate_every` until the top tier has been told."""

    within: Duration = Field(default_factory=lambda: Duration(working_days=10))
    warn_at_percent: int | None = Field(80, ge=1, le=99)
    warn: list[Key] = Field(default_factory=lambda: ["owner"])
    on_breach: list[Key] = Field(default_factory=lambda: ["owner", "next_tier"])
    escalate_every: Duration | None = None


class RepeatCause(_Strict):
    """重复原因预警: the same root cause named in `count` complaints received within `window`."""

    count: int = Field(ge=2)
    window: Duration
    same: list[Literal["category", "site_id", "department_id"]] = Field(
        default_factory=lambda: ["category"],
        description="what else must match besides the cause dimension",
    )
    notify: list[Key] = Field(default_factory=list, description="roles told besides cause owners")

    @field_validator("window")
    @classmethod
    def _elapsed_time(cls, v: Duration) -> Duration:
        if v.unit not in ("minutes", "hours", "calendar_days"):
            raise PackRule("elapsed_window")
        return v


class ChecklistItem(Named):
    """One line of a checklist; a failed item may open a preventive action about its cause."""

    cause_dimension: Key | None = None
    category: Key | None = None


class Schedule(_Strict):
    """When a checklist falls due, in local time: every day, every week on `weekday` (1 =
    Monday) or every month on `day`."""

    every: Literal["day", "week", "month"]
    at: time = time(9, 0)
    weekday: int | None = Field(None, ge=1, le=7)
    day: int | None = Field(None, ge=1, le=28)

    @model_validator(mode="after")
    def _day_fits_period(self) -> Schedule:
        if (self.every == "week") != (self.weekday is not None):
            raise PackRule("weekday_weekly")
        if (self.every == "month") != (self.day is not None):
            raise PackRule("day_monthly")
        return self


class Checklist(Named):
    """定期检查: a prevention checklist the worker issues to every site on its schedule."""

    basis: str | None = Field(None, description="the seed clause it reproduces")
    items: list[ChecklistItem] = Field(min_length=1)
    schedule: Schedule
    complete_within: Duration = Field(default_factory=lambda: Duration(hours=4))
    roles: list[Key] = Field(min_length=1, description="who inspects (told when it falls due)")
    on_missed: list[Key] = Field(default_factory=list)
    on_failed: list[Key] = Field(default_factory=list)


class Improvement(_Strict):
    """The improvement loop (持续改进): corrective and preventive actions with a deadline, a
    target checked after an observation period, repeat-cause alerts, prevention checklists."""

    basis: str | None = Field(None, description="the seed clause it reproduces")
    manager_roles: list[Key] = Field(
        default_factory=list,
        description="may open, reassign and cancel actions and record training, discipline and "
        "rewards (empty: every role of the second tier or above)",
    )
    verifier_roles: list[Key] = Field(
        default_factory=list,
        description="may confirm an action effective or reopen it (empty: the manager roles)",
    )
    observation_months: int = Field(
        1, ge=1, le=12, description="how long the target is watched after the action is done"
    )
    deadline: ActionDeadline = Field(default_factory=ActionDeadline)
    cause_owners: dict[Key, list[Key]] = Field(
        default_factory=dict, description="root-cause dimension → roles that own it"
    )
    repeat_cause: RepeatCause | None = None
    checklists: list[Checklist] = Field(default_factory=list)


class ReportSchedule(_Strict):
    """A report the worker builds and sends by itself: e.g. 每周客怨统计报告 to head-office
    operations every Monday 09:00 (seed 000), the monthly staff review by the 10th (seed 001)."""

    key: Key = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=40)
    kind: Literal["weekly", "monthly", "annual", "staff_review"]
    weekday: int = Field(1, ge=1, le=7, description="weekly: the ISO weekday it goes (1 Monday)")
    day: int = Field(1, ge=1, le=28, description="monthly, annual, staff_review: day of month")
    month: int = Field(1, ge=1, le=12, description="annual: the month it goes")
    at: time = Field(time(9, 0), description="local time it goes")
    org: str | None = Field(None, description="organisation code; null: the whole group")
    to_roles: list[Key] = Field(min_length=1, description="who receives it (pack roles)")
    format: Literal["pdf", "xlsx", "csv"] = "pdf"
    locale: Literal["zh_Hans", "zh_Hant", "en"] = DEFAULT_LOCALE


class Reports(_Strict):
    """Reports (kesu.report): the repeat-complaint window and the scheduled deliveries."""

    repeat_window_days: int = Field(
        90, ge=1, le=3650, description="a complaint is a repeat within this many days"
    )
    schedules: list[ReportSchedule] = Field(default_factory=list)

    @field_validator("schedules")
    @classmethod
    def _unique_keys(cls, v: list[ReportSchedule]) -> list[ReportSchedule]:
        keys = [s.key for s in v]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise PackRule("duplicate_keys", keys=_quoted(dupes))
        return v


def _window(text: str) -> tuple[time, time]:
    opens, sep, closes = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
    except ValueError:
        raise PackRule("hours_window", text=text) from None


class Pack(_Strict):
    key: Key = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: int = Field(ge=1)
    name: Label
    source: str = Field(description="the seed or regulation this pack models")
    timezone: str = "Asia/Shanghai"
    numbering: Numbering
    tiers: list[Tier] = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    channels: list[Named] = Field(min_length=1)
    complainant_types: list[Named] = Field(min_length=1)
    demands: list[Named] = Field(min_length=1)
    solution_types: list[Named] = Field(min_length=1)
    root_cause_dimensions: list[Named] = Field(min_length=1)
    satisfaction: list[SatisfactionGrade] = Field(min_length=2)
    authority: list[AuthorityBand] = Field(min_length=1)
    urgent_keywords: list[str] = Field(
        default_factory=list, description="text that sends a complaint to the top level at once"
    )
    business_hours: list[str] = Field(
        default_factory=lambda: ["09:00-18:00"],
        description="local opening windows of a working day, for working_minutes/working_hours",
    )
    timers: list[TimerRule] = Field(default_factory=list)
    delays: DelayPolicy = Field(default_factory=DelayPolicy)
    escalation: Escalation = Field(default_factory=Escalation)
    response_rounds: ResponseRounds | None = None
    notifications: list[NotifyRule] = Field(default_factory=list)
    forms: list[Form] = Field(default_factory=list)
    improvement: Improvement = Field(default_factory=Improvement)

    reports: Reports = Field(default_factory=Reports)

    @model_validator(mode="after")
    def _cross_references(self) -> Pack:
        """Every check across the pack, with every problem they find reported together: a
        deployer editing a pack fixes them in one round, not one section per run."""
        found = _Found()
        self._references_resolve(found)
        self._sla_references_resolve(found)
        self._improvement_references_resolve(found)
        self._report_roles(found)
        found.done()
        return self

    def _report_roles(self, found: _Found) -> None:
        roles = {r.key for r in self.roles}
        for schedule in self.reports.schedules:
            at = f"reports.schedules.{schedule.key}.to_roles"
            found.unknown(at, schedule.to_roles, roles, "role")

    def _references_resolve(self, found: _Found) -> None:
        tiers = {t.key for t in self.tiers}
        roles = {r.key for r in self.roles}
        for name, items in (
            ("tiers", self.tiers),
            ("roles", self.roles),
            ("levels", self.levels),
            ("channels", self.channels),
            ("complainant_types", self.complainant_types),
            ("demands", self.demands),
            ("solution_types", self.solution_types),
            ("root_cause_dimensions", self.root_cause_dimensions),
        ):
            found.duplicates(name, [i.key for i in items])
        found.duplicates("categories", [c.key for c in self.category_list()])
        for r in self.roles:
            found.unknown(f"roles.{r.key}.tier", [r.tier] if r.tier else [], tiers, "tier")
        for lv in self.levels:
            found.unknown(f"levels.{lv.key}.handler_tier", [lv.handler_tier], tiers, "tier")
            for step in lv.review_chain:
                at = f"levels.{lv.key}.review_chain"
                found.unknown(at, [step.role] if step.role else [], roles, "role")
                found.unknown(at, [step.tier] if step.tier else [], tiers, "tier")
            found.unknown(f"levels.{lv.key}.closer_roles", lv.closer_roles, roles, "role")
        found.duplicates("satisfaction", [g.value for g in self.satisfaction])
        if not any(g.outcome == "accept" for g in self.satisfaction):
            found.add("satisfaction_accept", "satisfaction")
        for i, band in enumerate(self.authority):
            found.unknown(f"authority.{i}.tier", [band.tier], tiers, "tier")
        if self.authority[-1].up_to is not None:
            found.add("authority_last", f"authority.{len(self.authority) - 1}.up_to")

    def _sla_references_resolve(self, found: _Found) -> None:
        """The SLA sections name only tiers, roles, levels and categories the pack declares."""
        tiers = {t.key for t in self.tiers}
        roles = {r.key for r in self.roles}
        levels = {lv.key for lv in self.levels}
        recipients = roles | set(RECIPIENTS)
        check = found.unknown
        for i, window in enumerate(self.business_hours):
            try:
                _window(window)
            except PackRule as rule:
                rule.at = f"business_hours.{i}"
                found.rules.append(rule)

        def check_triggers(where: str, triggers: list[Trigger]) -> None:
            for i, trig in enumerate(triggers):
                named = [trig.min_tier] if trig.min_tier else []
                check(f"{where}.{i}.min_tier", named, tiers, "tier")
                check(f"{where}.{i}.roles", trig.roles, roles, "role")

        timer_keys = [t.key for t in self.timers]
        found.duplicates("timers", timer_keys)
        for t in self.timers:
            where = f"timers.{t.key}"
            check(f"{where}.levels", t.levels, levels, "level")
            check(f"{where}.by_level", list(t.by_level), set(t.levels or levels), "level")
            for part in ("start", "met_by", "cancel_on"):
                check_triggers(f"{where}.{part}", getattr(t, part))
            check(f"{where}.warn", t.warn, recipients, "recipient")
            check(f"{where}.on_breach.notify", t.on_breach.notify, recipients, "recipient")
        check("delays.timers", self.delays.timers, set(timer_keys), "timer")
        check("delays.approver_roles", self.delays.approver_roles, roles, "role")
        check_triggers("delays.resume_on", self.delays.resume_on)
        for i, step in enumerate(self.delays.steps):
            check(f"delays.steps.{i}.approver_roles", step.approver_roles, roles, "role")
        esc = self.escalation
        categories = self.keys("categories")
        check("escalation.emergency_categories", esc.emergency_categories, categories, "category")
        check("escalation.top_level_notify", esc.top_level_notify, recipients, "recipient")
        check("escalation.gm_agenda_notify", esc.gm_agenda_notify, recipients, "recipient")
        if esc.repeat:
            check("escalation.repeat.min_level", [esc.repeat.min_level], levels, "level")
        if self.response_rounds:
            check("response_rounds.by_level", list(self.response_rounds.by_level), levels, "level")
            check("response_rounds.notify", self.response_rounds.notify, recipients, "recipient")
        for i, rule in enumerate(self.notifications):
            check(f"notifications.{i}.notify", rule.notify, recipients, "recipient")
        for form in self.forms:
            for duty in ("prepare", "review", "approve", "informed"):
                check(f"forms.{form.key}.{duty}", getattr(form, duty), roles, "role")
            check(f"forms.{form.key}.levels", form.levels, levels, "level")

    def _improvement_references_resolve(self, found: _Found) -> None:
        """The improvement section names only roles, causes and categories the pack declares."""
        imp = self.improvement
        roles = {r.key for r in self.roles}
        recipients = roles | set(IMPROVEMENT_RECIPIENTS)
        dims = self.keys("root_cause_dimensions")
        categories = self.keys("categories")

        def check(where: str, names: list[str], known: set[str], what: str) -> None:
            found.unknown(f"improvement.{where}", names, known, what)

        check("manager_roles", imp.manager_roles, roles, "role")
        check("verifier_roles", imp.verifier_roles, roles, "role")
        check("deadline.warn", imp.deadline.warn, recipients, "recipient")
        check("deadline.on_breach", imp.deadline.on_breach, recipients, "recipient")
        check("cause_owners", list(imp.cause_owners), dims, "dimension")
        for dim, owners in imp.cause_owners.items():
            check(f"cause_owners.{dim}", owners, roles, "role")
        if imp.repeat_cause:
            check("repeat_cause.notify", imp.repeat_cause.notify, roles, "role")
        found.duplicates("improvement.checklists", [c.key for c in imp.checklists])
        for cl in imp.checklists:
            where = f"checklists.{cl.key}"
            found.duplicates(f"improvement.{where}.items", [i.key for i in cl.items])
            for duty in ("roles", "on_missed", "on_failed"):
                check(f"{where}.{duty}", getattr(cl, duty), roles, "role")
            for item in cl.items:
                check(
                    f"{where}.items.{item.key}.cause_dimension",
                    [item.cause_dimension] if item.cause_dimension else [],
                    dims,
                    "dimension",
                )
                check(
                    f"{where}.items.{item.key}.category",
                    [item.category] if item.category else [],
                    categories,
                    "category",
                )

    # --- lookups used by the engine -------------------------------------------------
    def tier_rank(self, tier: Key | None) -> int:
        """0 for no tier, 1 for the lowest declared tier, and so on."""
        for i, t in enumerate(self.tiers, start=1):
            if t.key == tier:
                return i
        return 0

    def role(self, key: Key | None) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def level(self, key: Key) -> Level | None:
        return next((lv for lv in self.levels if lv.key == key), None)

    def level_index(self, key: Key) -> int:
        return [lv.key for lv in self.levels].index(key)

    def category_list(self) -> list[Category]:
        out: list[Category] = []
        stack = list(reversed(self.categories))
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(c.children))
        return out

    def grade(self, value: int) -> SatisfactionGrade | None:
        return next((g for g in self.satisfaction if g.value == value), None)

    def approval_tier(self, amount: Decimal) -> Key:
        """The lowest tier whose authority covers `amount`."""
        for band in self.authority:
            if band.up_to is None or amount <= band.up_to:
                return band.tier
        return self.authority[-1].tier

    def keys(self, name: str) -> set[str]:
        if name == "categories":
            return {c.key for c in self.category_list()}
        return {i.key for i in getattr(self, name)}

    def timer(self, key: Key) -> TimerRule | None:
        """The first timer of a key (looked up several times per breach by the sweep)."""
        return _timers_by_key(self).get(key)

    def hours(self) -> BusinessHours:
        """The business hours as the calendar takes them (validated with the pack)."""
        return BusinessHours(tuple(_window(w) for w in self.business_hours))


def per_pack(build: Callable[[Pack], T]) -> Callable[[Pack], T]:
    """`build(pack)` worked out once per parsed pack: a parsed pack never changes, and parsed
    packs live as long as the process (`policy.service.pack_of`). Keyed by the pack's identity
    (checked, so a new pack at a reused id is built afresh); at most 64 kept."""
    made: dict[int, tuple[Pack, T]] = {}

    @functools.wraps(build)
    def get(pack: Pack) -> T:
        found = made.get(id(pack))
        if found is None or found[0] is not pack:
            if len(made) > 64:
                made.clear()
            found = made[id(pack)] = (pack, build(pack))
        return found[1]

    return get


@per_pack
def _timers_by_key(pack: Pack) -> dict[Key, TimerRule]:
    by_key: dict[Key, TimerRule] = {}
    for rule in pack.timers:  # the first of a key
        by_key.setdefault(rule.key, rule)
    return by_key
