"""Timers on complaint events: start, meet, cancel, pause, extend, and re-time them when the
level changes; keep the complaint's next deadline; per-organisation calendar overrides.

`on_event` runs inside the complaint's own write (called by `kesu.complaint.service` after a
change is applied and before its event is recorded), so what it does lands in that one event
(`payload["sla"]`, `payload["auto"]`) and that one transaction. Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.audit import service as audit_service
from kesu.calendar import WorkCalendar, YearSchedule
from kesu.calendar.workdays import deadline_text
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint.models import Complaint
from kesu.errors import Forbidden, InvalidInput, NotFound
from kesu.escalation import service as escalation_service
from kesu.escalation.service import Alert
from kesu.org import service as org_service
from kesu.policy import service as policy_service
from kesu.policy.schema import Duration, Pack, TimerRule
from kesu.sla import rules
from kesu.sla.models import CalendarDay, OfficialYear, Timer

# --- calendar -----------------------------------------------------------------------------------


_CALENDARS = "kesu.sla.calendars"
"""session.info key: calendars built in this unit of work, by pack, site and group."""
_OVERRIDES = "kesu.sla.overrides"
"""session.info key: the calendar days of organisations and the entered years of groups read in
this unit of work."""


def calendar_for(session: Session, pack: Pack, complaint: Complaint) -> WorkCalendar:
    """The calendar a complaint's clocks run on: the pack's timezone and hours, closed and
    extra working days of its site and every organisation above it, the group's entered years.
    Built once per pack, site and unit of work (the sweep re-times thousands of complaints of
    the same sites); changing a calendar below forgets them."""
    known = session.info.setdefault(_CALENDARS, {})
    key = (id(pack), complaint.site_id or complaint.org_id, complaint.org_id)
    if key not in known or known[key][0] is not pack:
        known[key] = (pack, _build_calendar(session, pack, complaint))
    return known[key][1]


def prefetch_calendars(session: Session, complaints: list[Complaint]) -> None:
    """Read the calendar overrides of many complaints' sites and groups with two queries (the
    sweep's pass); `calendar_for` then builds from them."""
    cache = session.info.setdefault(_OVERRIDES, {"days": {}, "years": {}})
    days, years = cache["days"], cache["years"]
    orgs = {o for c in complaints for o in escalation_service.scope_of(session, c)} - days.keys()
    groups = {c.org_id for c in complaints} - years.keys()
    if orgs:
        days.update({o: [] for o in orgs})
        for org_id, day, working in session.execute(
            select(CalendarDay.org_id, CalendarDay.day, CalendarDay.working).where(
                CalendarDay.org_id.in_(orgs)
            )
        ):
            days[org_id].append((day, working))
    if groups:
        years.update({g: [] for g in groups})
        for year in session.scalars(
            select(OfficialYear).where(OfficialYear.org_id.in_(groups)).order_by(OfficialYear.id)
        ):
            years[year.org_id].append(year)


def _build_calendar(session: Session, pack: Pack, complaint: Complaint) -> WorkCalendar:
    prefetch_calendars(session, [complaint])
    cache = session.info[_OVERRIDES]
    scope = escalation_service.scope_of(session, complaint)
    days = [d for org_id in scope for d in cache["days"][org_id]]
    return rules.calendar(
        pack,
        closed_days=[d for d, working in days if not working],
        working_days=[d for d, working in days if working],
        schedules=[
            YearSchedule(
                y.year,
                frozenset(date.fromisoformat(d) for d in y.holidays),
                frozenset(date.fromisoformat(d) for d in y.makeup_workdays),
            )
            for y in cache["years"][complaint.org_id]
        ],
    )


def _forget_calendars(session: Session) -> None:
    session.info.pop(_CALENDARS, None)
    session.info.pop(_OVERRIDES, None)


def set_day(
    session: Session,
    clock: Clock,
    org_id: int,
    day: date,
    *,
    working: bool,
    note: str | None,
    by: User | None = None,
) -> int:
    """Mark a day closed (or an extra working day) for an organisation; re-time open clocks
    and put it on the configuration trail (`by` None: the CLI). Returns how many running
    timers got a new due time. A department is refused: deadlines count the days of a
    complaint's site and the organisations above it, never a department's."""
    org = org_service.get(session, org_id)
    if org.kind == "department":
        raise InvalidInput("calendar.department", field="org", code=org.code)
    note = (note or "").strip() or None
    if note is not None and len(note) > 200:
        raise InvalidInput("invalid.text_too_long", field="note", max=200)
    row = session.scalar(
        select(CalendarDay).where(CalendarDay.org_id == org_id, CalendarDay.day == day)
    )
    if row is None:
        row = CalendarDay(org_id=org_id, day=day, created_at=clock.now(), working=working)
        session.add(row)
    row.working, row.note = working, note
    session.flush()
    _forget_calendars(session)
    moved = retime_open(session, org_service.group_of(session, org_id).id)
    details = {"day": day.isoformat(), "working": working, "note": note, "moved": moved}
    audit_service.record_config(session, clock, by, "calendar.day", "organisation", org_id, details)
    return moved


def clear_day(
    session: Session, clock: Clock, org_id: int, day: date, *, by: User | None = None
) -> int:
    """Remove an organisation's own setting for a day (NotFound when it has none); re-time
    open clocks; on the configuration trail."""
    gone = session.execute(
        delete(CalendarDay).where(CalendarDay.org_id == org_id, CalendarDay.day == day)
    ).rowcount
    if not gone:
        raise NotFound("calendar.no_day", day=day.isoformat())
    session.flush()
    _forget_calendars(session)
    moved = retime_open(session, org_service.group_of(session, org_id).id)
    details = {"day": day.isoformat(), "moved": moved}
    audit_service.record_config(
        session, clock, by, "calendar.day_cleared", "organisation", org_id, details
    )
    return moved


def days_of(session: Session, org_ids: list[int], year: int | None = None) -> list[CalendarDay]:
    """The organisations' own closed and extra working days, by day."""
    stmt = select(CalendarDay).where(CalendarDay.org_id.in_(org_ids))
    if year is not None:
        stmt = stmt.where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.scalars(stmt.order_by(CalendarDay.day, CalendarDay.org_id)))


def enter_year(
    session: Session,
    clock: Clock,
    org_id: int,
    schedule: YearSchedule,
    *,
    by: User | None = None,
) -> int:
    """Store an official year's schedule (holidays, 调休 days) for a group, replacing the
    provisional weekends-only rule; re-time open clocks; on the configuration trail (`by`
    None: the CLI). Returns how many moved."""
    group = org_service.group_of(session, org_id)
    row = session.scalar(
        select(OfficialYear).where(
            OfficialYear.org_id == group.id, OfficialYear.year == schedule.year
        )
    )
    if row is None:
        row = OfficialYear(
            org_id=group.id,
            year=schedule.year,
            holidays=[],
            makeup_workdays=[],
            entered_at=clock.now(),
        )
        session.add(row)
    row.holidays = sorted(d.isoformat() for d in schedule.holidays)
    row.makeup_workdays = sorted(d.isoformat() for d in schedule.makeup_workdays)
    row.entered_at = clock.now()
    session.flush()
    _forget_calendars(session)
    moved = retime_open(session, group.id)
    details = {
        "year": schedule.year,
        "holidays": row.holidays,
        "makeup_workdays": row.makeup_workdays,
        "moved": moved,
    }
    audit_service.record_config(
        session, clock, by, "calendar.year", "organisation", group.id, details
    )
    return moved


def retime_open(session: Session, group_id: int) -> int:
    """Recompute the due time of every running, unbreached timer of a group's complaints after
    its calendar changed; keep each complaint's next deadline."""
    moved = 0
    complaints = session.scalars(
        select(Complaint)
        .where(Complaint.org_id == group_id, Complaint.next_due_at.is_not(None))
        .order_by(Complaint.id)
    )
    for complaint in complaints:
        pack = policy_service.pack_of(session, complaint.policy_version_id)
        cal = calendar_for(session, pack, complaint)
        live = _running(session, complaint)
        for timer in live:
            rule = pack.timer(timer.key)
            if rule is None or timer.breached_at is not None:
                continue
            before = (timer.due_at, timer.provisional)
            _retime(cal, rule, timer)
            moved += (timer.due_at, timer.provisional) != before
        _refresh(complaint, live)
    session.flush()
    return moved


# --- timers on events ---------------------------------------------------------------------------


def on_event(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    announce: bool = True,
    timers: list[Timer] | None = None,
) -> None:
    """Bring timers, level and owner in step with one event, then enqueue its messages (the
    caller has already claimed the complaint row, so nothing here can race another writer).
    `announce=False`: the same changes, no messages (a ledger import). `timers`: as for
    `update` (intake: a complaint just inserted has none)."""
    alerts = update(session, pack, complaint, actor, command, payload, now, timers)
    if announce:
        escalation_service.send(
            session, pack, complaint, alerts, f"event:{complaint.id}:{complaint.version}", now
        )


def restart_running(session: Session, pack: Pack, complaint: Complaint, now: datetime) -> None:
    """An open complaint taken over from an old ledger: its running clocks start at `now`
    (when Kesu takes it over), not at the ledger's received time, so nobody is breached or
    penalised for time before Kesu ran the procedure. The received time stays as recorded."""
    cal = calendar_for(session, pack, complaint)
    live = _running(session, complaint)
    for timer in live:
        rule = pack.timer(timer.key)
        timer.started_at = now
        if rule is not None and rule.not_before:
            opens = rules.opens_at(cal, now, rule.not_before)
            timer.opens_at = timer.warn_at = opens.at
        _retime(cal, rule, timer)
    _refresh(complaint, live)


def update(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    now: datetime,
    timers: list[Timer] | None = None,
    open_cases: Callable[[list[int]], dict[int, int]] | None = None,
    rounds: Callable[[int], list[tuple[str, int]]] | None = None,
) -> list[Alert]:
    """The changes without the messages (the sweep sends those after recording its event).
    `timers`: the complaint's running timers, oldest first, when the caller has loaded them
    (the sweep, for a whole pass at once); timers started here are appended to it (met and
    cancelled ones stay in it with their new state). `open_cases`:
    the handlers' open complaints for auto-assignment, when the caller counts them.
    `rounds`: (key, round) of every timer of a complaint in the database, when the caller
    reads them for many complaints at once (with `timers`: those it started are in there)."""
    auto: dict[str, Any] = {}
    alerts = escalation_service.on_event(session, pack, complaint, command, payload, now, auto)
    report, more = _timers(
        session, pack, complaint, actor, command, payload, auto, now, timers, rounds
    )
    alerts += more
    owner = escalation_service.ensure_owner(session, pack, complaint, actor, open_cases)
    if owner is not None:
        auto["assignee_id"] = owner
        alerts += escalation_service.handed_over(pack, complaint, actor, command, payload, auto)
    if report:
        payload["sla"] = report
    if auto:
        payload["auto"] = auto
    return alerts


def _running(session: Session, complaint: Complaint) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer)
            .where(Timer.complaint_id == complaint.id, Timer.state == "running")
            .order_by(Timer.id)
        )
    )


def _timers(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    auto: dict[str, Any],
    now: datetime,
    timers: list[Timer] | None = None,
    rounds: Callable[[int], list[tuple[str, int]]] | None = None,
) -> tuple[dict[str, list[str]], list[Alert]]:
    role = pack.role(actor.role) if actor.kind == "staff" else None
    rank = pack.tier_rank(role.tier) if role else 0
    facts = rules.facts_of(complaint, payload)

    def fired(triggers, event: str = command) -> bool:
        return any(
            rules.matches(t, event, facts, actor_role=actor.role, actor_rank=rank, pack=pack)
            for t in triggers
        )

    known: WorkCalendar | None = None

    def cal() -> WorkCalendar:
        nonlocal known
        if known is None:
            known = calendar_for(session, pack, complaint)
        return known

    report: dict[str, list[str]] = defaultdict(list)
    if timers is None:
        running = _running(session, complaint)
    else:
        running = [t for t in timers if t.state == "running"]
    again: set[str] = set()
    for timer in running:
        rule = pack.timer(timer.key)
        if rule is None:
            continue
        if fired(rule.met_by):
            timer.state, timer.met_at = "met", now
            report["met"].append(timer.key)
            if rule.recurring:
                again.add(rule.key)
        elif fired(rule.cancel_on) or not rule.applies_to(complaint.level):
            timer.state, timer.cancelled_at = "cancelled", now
            report["cancelled"].append(timer.key)
    live = [t for t in running if t.state == "running"]

    alerts = _delays(pack, complaint, actor, command, fired, live, now, cal, report)

    for timer in live:
        rule = pack.timer(timer.key)
        if rule is not None and timer.level != complaint.level:
            within = rule.within_for(complaint.level)
            timer.level, timer.unit, timer.amount = complaint.level, within.unit, within.amount
            _retime(cal(), rule, timer)
            report["retimed"].append(timer.key)

    level_changed = command != "receive" and bool(
        escalation_service.raised_to(command, payload, auto)
    )
    this_round: set[str] = set()
    if level_changed:
        if rounds is not None:
            this_round = {key for key, r in rounds(complaint.id) if r == complaint.round}
        else:
            this_round = set(
                session.scalars(
                    select(Timer.key).where(
                        Timer.complaint_id == complaint.id, Timer.round == complaint.round
                    )
                )
            )
        # and those the caller's pass started, not flushed yet
        this_round |= {t.key for t in timers or [] if t.round == complaint.round}
    running_keys = {t.key for t in live}
    for rule in pack.timers:
        if rule.key in running_keys or not rule.applies_to(complaint.level):
            continue
        from_start = level_changed and rule.key not in this_round and fired(rule.start, "receive")
        if rule.key in again or fired(rule.start) or from_start:
            started = _start(session, cal(), complaint, rule, now)
            live.append(started)
            if timers is not None:
                timers.append(started)
            report["started"].append(rule.key)
    _refresh(complaint, live)
    return dict(report), alerts


def _delays(
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    fired: Callable[..., bool],
    live: list[Timer],
    now: datetime,
    cal: Callable[[], WorkCalendar],
    report: dict[str, list[str]],
) -> list[Alert]:
    """An approved delay request pauses or extends the pack's timers (seed 001: the general
    manager's approval stops the clock; bank Art. 18: 15 → 30 → 60 days with approvals)."""
    policy = pack.delays
    affected = [t for t in live if policy.timers is None or t.key in policy.timers]
    alerts: list[Alert] = []
    until = complaint.delay_until
    if command in ("request_delay", "approve_delay") and policy.effect == "extend":
        for timer in affected:
            found = rules.extension_step(policy, cal(), timer.started_at, until)
            if found is None:
                raise InvalidInput(
                    "sla.delay_beyond_limit", field="until", limit=str(policy.steps[-1].up_to)
                )
            step_no, step = found
            if command == "request_delay":
                continue
            if actor.kind == "staff" and actor.role not in step.approver_roles:
                raise Forbidden("sla.delay_approver", roles=", ".join(step.approver_roles))
            timer.extensions = [
                *timer.extensions,
                {
                    "until": until.isoformat(),
                    "step": step_no,
                    "approved_by_id": actor.user_id,
                    "at": now.isoformat(),
                },
            ]
            _retime(cal(), pack.timer(timer.key), timer)
            report["extended"].append(timer.key)
            if step.notify_customer:
                local = deadline_text(until, pack.timezone)  # an end of day reads 24:00
                alerts.append(
                    Alert(
                        f"extended:{timer.key}",
                        "delay_extended",
                        escalation_service.params_of(pack, complaint, until=local),
                        customer=True,
                    )
                )
    elif command == "approve_delay":
        if (
            actor.kind == "staff"
            and policy.approver_roles
            and actor.role not in policy.approver_roles
        ):
            raise Forbidden("sla.delay_approver", roles=", ".join(policy.approver_roles))
        for timer in affected:
            pause = rules.Pause(now, max(until, now))
            timer.pauses = [*timer.pauses, pause.as_json()]
            _retime(cal(), pack.timer(timer.key), timer)
            report["paused"].append(timer.key)
    if policy.resume_on and fired(policy.resume_on):
        for timer in affected:
            pauses = [rules.Pause.from_json(p) for p in timer.pauses]
            if not any(p.ended is None and p.start <= now < p.until for p in pauses):
                continue
            timer.pauses = [
                (
                    rules.Pause(p.start, p.until, now).as_json()
                    if p.ended is None and p.start <= now < p.until
                    else p.as_json()
                )
                for p in pauses
            ]
            _retime(cal(), pack.timer(timer.key), timer)
            report["resumed"].append(timer.key)
    return alerts


def _start(
    session: Session, cal: WorkCalendar, complaint: Complaint, rule: TimerRule, now: datetime
) -> Timer:
    within = rule.within_for(complaint.level)
    due = rules.due_at(cal, now, within)
    opens = rules.opens_at(cal, now, rule.not_before) if rule.not_before else None
    timer = Timer(
        complaint_id=complaint.id,
        key=rule.key,
        round=complaint.round,
        level=complaint.level,
        unit=within.unit,
        amount=within.amount,
        state="running",
        started_at=now,
        due_at=due.at,
        opens_at=opens.at if opens else None,
        warn_at=opens.at if opens else rules.warn_at(now, due.at, rule.warn_at_percent),
        provisional=due.provisional or bool(opens and opens.provisional),
        pauses=[],
        extensions=[],
    )
    session.add(timer)
    return timer


def _retime(cal: WorkCalendar, rule: TimerRule | None, timer: Timer) -> None:
    """Recompute a timer's due time from its start, pauses and approved extensions."""
    pauses = [rules.Pause.from_json(p) for p in timer.pauses]
    extended = max((datetime.fromisoformat(e["until"]) for e in timer.extensions), default=None)
    within = Duration(**{timer.unit: timer.amount})
    due = rules.due_at(cal, timer.started_at, within, pauses, extended)
    timer.due_at, timer.provisional = due.at, due.provisional
    if rule is None:
        return
    if rule.not_before is not None:  # a window opens later by the time its clock stood still
        opens = rules.opens_at(cal, timer.started_at, rule.not_before, pauses)
        timer.opens_at = opens.at
        timer.provisional = due.provisional or opens.provisional
        if timer.warned_at is None:
            timer.warn_at = opens.at
    elif timer.warned_at is None:
        timer.warn_at = rules.reminder_at(
            cal, timer.started_at, within, rule.warn_at_percent, pauses, extended
        )


def _refresh(complaint: Complaint, live: list[Timer]) -> None:
    """The complaint's next deadline: the earliest due time of its running timers."""
    running = [t for t in live if t.state == "running"]
    due = min((t.due_at for t in running), default=None)
    provisional = any(t.provisional for t in running)
    if complaint.next_due_at != due:
        complaint.next_due_at = due
    if complaint.deadline_provisional != provisional:
        complaint.deadline_provisional = provisional
