"""The improvement loop's worker jobs: action deadlines (warning, breach, escalation), the check
of effect at the end of the observation period, prevention checklists, repeat-cause alerts.

Each job asks only for stored due times (`warn_at`, `due_at`, `next_escalation_at`,
`observe_until`, `next_due_at`, an inspection's `due_at`) `<= now` over partial indexes, locks
the rows it picks with SKIP LOCKED (PostgreSQL) and handles each in its own savepoint. An
action is claimed by its version (the ORM's `UPDATE … WHERE version = :old`), an inspection or
a schedule by a conditional UPDATE on the column being set, an alert by its unique key: two
workers or a restart never double a step or a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kesu.access import rules as access_rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.errors import StaleVersion
from kesu.escalation import service as escalation_service
from kesu.i18n import pick, translate
from kesu.improvement import queries, rules
from kesu.improvement import service as improvement_service
from kesu.improvement.models import (
    CorrectiveAction,
    Inspection,
    InspectionSchedule,
    RepeatCauseAlert,
    SweepCursor,
)
from kesu.notify import service as notify_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack
from kesu.sla import rules as sla_rules
from kesu.sla import service as sla_service

log = logging.getLogger("kesu.improvement")

BATCH = 200
"""Rows handled per pass and kind; the rest wait for the next pass."""
REPEAT_LAG = timedelta(minutes=1)
"""The repeat-cause job reads investigations at least this old, so that one committed late
by a slower transaction (with a lower id) is not passed over."""


def _each(session: Session, ids: list[int], act: Callable[[Session, int], int]) -> int:
    done = 0
    for row_id in ids:
        try:
            with session.begin_nested():
                done += act(session, row_id)
        except (StaleVersion, StaleDataError, IntegrityError):
            log.info("improvement row %s changed meanwhile; next pass", row_id)
    return done


def _ids(session: Session, stmt) -> list[int]:
    return list(session.scalars(stmt.limit(BATCH).with_for_update(skip_locked=True)))


def _load(session: Session, action_id: int) -> tuple[CorrectiveAction, Pack]:
    action = session.get(CorrectiveAction, action_id, populate_existing=True)
    return action, improvement_service.pack_of(session, action)


def _bump(action: CorrectiveAction, now: datetime) -> None:
    action.version += 1
    action.updated_at = now


# --- actions ------------------------------------------------------------------------------------


def actions(session: Session, clock: Clock) -> int:
    """Deadlines (breach before warning, then escalation) and checks of effect."""
    now = clock.now()
    a = CorrectiveAction
    running = (a.implemented_at.is_(None), a.breached_at.is_(None), a.state != "cancelled")
    done = _each(
        session,
        _ids(session, select(a.id).where(*running, a.due_at <= now).order_by(a.due_at)),
        lambda s, i: _breach(s, clock, i),
    )
    done += _each(
        session,
        _ids(
            session,
            select(a.id)
            .where(*running, a.warned_at.is_(None), a.warn_at <= now)
            .order_by(a.warn_at),
        ),
        lambda s, i: _warn(s, clock, i),
    )
    done += _each(
        session,
        _ids(
            session,
            select(a.id)
            .where(a.next_escalation_at.is_not(None), a.next_escalation_at <= now)
            .order_by(a.next_escalation_at),
        ),
        lambda s, i: _escalate(s, clock, i),
    )
    done += _each(
        session,
        _ids(
            session,
            select(a.id)
            .where(a.state == "observing", a.observe_until <= now)
            .order_by(a.observe_until),
        ),
        lambda s, i: verify(s, clock, i),
    )
    return done


def _running(action: CorrectiveAction) -> bool:
    return action.implemented_at is None and action.state not in rules.FINAL


def _warn(session: Session, clock: Clock, action_id: int) -> int:
    now = clock.now()
    action, pack = _load(session, action_id)
    if not _running(action) or action.warned_at is not None or action.breached_at is not None:
        return 0
    action.warned_at = now
    _bump(action, now)
    improvement_service.record(
        session, action, lifecycle.SYSTEM, "deadline_warning", {"due_at": action.due_at}, now
    )
    session.flush()
    improvement_service.tell(
        session,
        pack,
        action,
        pack.improvement.deadline.warn,
        "improvement_warning",
        f"warning:{action.round}:{action.due_at.isoformat()}",
        now,
    )
    return 1


def _breach(session: Session, clock: Clock, action_id: int) -> int:
    """超期: the deadline passed unmet — tell whom the pack says (the tier above the owner
    first) and schedule the next escalation step if the pack climbs further."""
    now = clock.now()
    action, pack = _load(session, action_id)
    if not _running(action) or action.breached_at is not None:
        return 0
    rule = pack.improvement.deadline
    action.breached_at = now
    action.escalation_step = 1
    action.next_escalation_at = _next_step(session, pack, action, now)
    _bump(action, now)
    improvement_service.record(
        session, action, lifecycle.SYSTEM, "overdue", {"due_at": action.due_at, "step": 1}, now
    )
    session.flush()
    improvement_service.tell(
        session,
        pack,
        action,
        rule.on_breach,
        "improvement_overdue",
        f"overdue:{action.round}:{action.due_at.isoformat()}",
        now,
    )
    return 1


def _next_step(
    session: Session, pack: Pack, action: CorrectiveAction, now: datetime
) -> datetime | None:
    every = pack.improvement.deadline.escalate_every
    rank, top = improvement_service.owner_rank(session, pack, action), len(pack.tiers)
    if every is None or not rules.escalates_further(rank, action.escalation_step, top):
        return None
    return improvement_service.later(session, pack, action, now, every)


def _escalate(session: Session, clock: Clock, action_id: int) -> int:
    """逐级上报: still overdue after another `escalate_every` — the next tier up is told."""
    now = clock.now()
    action, pack = _load(session, action_id)
    if action.next_escalation_at is None or action.next_escalation_at > now:
        return 0  # done, cancelled or re-timed meanwhile (each clears or moves the next step)
    action.escalation_step += 1
    step = action.escalation_step
    action.next_escalation_at = _next_step(session, pack, action, now)
    _bump(action, now)
    improvement_service.record(
        session, action, lifecycle.SYSTEM, "escalated", {"due_at": action.due_at, "step": step}, now
    )
    session.flush()
    improvement_service.tell(
        session,
        pack,
        action,
        ["owner", "next_tier"],
        "improvement_escalated",
        f"escalated:{action.round}:{step}",
        now,
        step=step,
    )
    return 1


def verify(session: Session, clock: Clock, action_id: int) -> int:
    """效果验证: at the end of the observation period, count the complaints of the action's
    cause in each month of it. Met: the verifier is asked to confirm, with the figures. Missed:
    the action is reopened at once with a new deadline, and its owner is told why."""
    now = clock.now()
    action, pack = _load(session, action_id)
    if action.state != "observing" or action.observe_until is None or action.observe_until > now:
        return 0
    slices = rules.observation(action.implemented_at, action.observation_months, pack.timezone)
    result = queries.cause_counts(
        session,
        group_id=action.org_id,
        site_id=action.site_id,
        dimension=action.cause_dimension,
        categories=improvement_service.category_keys(pack, action.category),
        slices=slices,
        target=action.target_per_month or 0,
        action_id=action.id,
    )
    figures = {
        **result.as_json(),
        "from": slices[0].start.isoformat(),
        "until": slices[-1].end.isoformat(),
        "round": action.round,
    }
    action.verification = figures
    verdict = rules.verdict(result)
    params = {
        "counts": improvement_service.listed([str(n) for n in result.counts]),
        "target": result.target,
        "months": action.observation_months,
        "total": result.total,
    }
    round_ = action.round
    if verdict == "reopened":
        improvement_service.reopen(session, pack, action, now)
    else:
        action.state = verdict
    _bump(action, now)
    improvement_service.record(
        session, action, lifecycle.SYSTEM, "verify", {**figures, "outcome": verdict}, now
    )
    session.flush()
    if verdict == "reopened":
        improvement_service.tell(
            session,
            pack,
            action,
            ["owner", *improvement_service.verifier_names(pack, action)],
            "improvement_target_missed",
            f"verify:{round_}",
            now,
            **params,
        )
    else:
        improvement_service.tell(
            session,
            pack,
            action,
            improvement_service.verifier_names(pack, action),
            "improvement_verify",
            f"verify:{round_}",
            now,
            not_owner=True,
            **params,
        )
    return 1


# --- prevention checklists ----------------------------------------------------------------------


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _groups_with(session: Session, wanted: Callable[[Pack], bool]) -> list[tuple[int, int, Pack]]:
    """(group id, policy version id, pack) of every group whose current pack `wanted`."""
    found = []
    for group in session.scalars(select(Organisation).where(Organisation.kind == "group")):
        version = policy_service.current(session, group.pack_key)
        pack = policy_service.pack_of(session, version.id)
        if wanted(pack):
            found.append((group.id, version.id, pack))
    return found


def inspections(session: Session, clock: Clock) -> int:
    """Keep a schedule per site and checklist, issue what falls due, mark what was missed."""
    now = clock.now()
    groups = _groups_with(session, lambda p: bool(p.improvement.checklists))
    _schedule(session, now, groups)
    s = InspectionSchedule
    done = _each(
        session,
        _ids(session, select(s.id).where(s.next_due_at <= now).order_by(s.next_due_at)),
        lambda ses, i: _issue(ses, clock, i),
    )
    i = Inspection
    done += _each(
        session,
        _ids(session, select(i.id).where(i.state == "due", i.due_at <= now).order_by(i.due_at)),
        lambda ses, row: _missed(ses, clock, row),
    )
    return done


def _schedule(session: Session, now: datetime, groups: list[tuple[int, int, Pack]]) -> None:
    """A schedule row for every site of the group and checklist of its pack (once)."""
    for group_id, _, pack in groups:
        ids = set(org_service.subtree_ids(session, group_id))
        sites = session.scalars(
            select(Organisation.id).where(Organisation.kind == "site", Organisation.id.in_(ids))
        ).all()
        have = set(
            session.execute(
                select(InspectionSchedule.site_id, InspectionSchedule.checklist).where(
                    InspectionSchedule.org_id == group_id
                )
            ).all()
        )
        rows = [
            {
                "org_id": group_id,
                "site_id": site_id,
                "checklist": cl.key,
                "next_due_at": rules.next_occurrence(cl.schedule, now, pack.timezone),
            }
            for site_id in sites
            for cl in pack.improvement.checklists
            if (site_id, cl.key) not in have
        ]
        if rows:
            session.execute(
                _insert(session)(InspectionSchedule)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["site_id", "checklist"])
            )


def _issue(session: Session, clock: Clock, schedule_id: int) -> int:
    """Issue the inspection that fell due (only the latest if the worker was away) and move the
    schedule to the next occurrence; the inspectors at the site are told."""
    now = clock.now()
    row = session.get(InspectionSchedule, schedule_id, populate_existing=True)
    version = policy_service.current(session, org_service.get(session, row.org_id).pack_key)
    pack = policy_service.pack_of(session, version.id)
    checklist = next((c for c in pack.improvement.checklists if c.key == row.checklist), None)
    if checklist is None:  # the pack no longer has it
        session.delete(row)
        return 0
    due = row.next_due_at
    claimed = session.execute(
        update(InspectionSchedule)
        .where(InspectionSchedule.id == row.id, InspectionSchedule.next_due_at == due)
        .values(next_due_at=rules.next_occurrence(checklist.schedule, now, pack.timezone))
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return 0
    cal = sla_service.calendar_for(session, pack, row)  # the site's calendar
    inspection = Inspection(
        org_id=row.org_id,
        site_id=row.site_id,
        checklist=checklist.key,
        policy_version_id=version.id,
        scheduled_for=due,
        due_at=sla_rules.due_at(cal, due, checklist.complete_within).at,
        state="due",
        results=[],
        failed=0,
    )
    session.add(inspection)
    session.flush()
    improvement_service.inspection_message(
        session,
        pack,
        inspection,
        checklist,
        checklist.roles,
        "improvement_inspection_due",
        "due",
        now,
    )
    return 1


def _missed(session: Session, clock: Clock, inspection_id: int) -> int:
    now = clock.now()
    claimed = session.execute(
        update(Inspection)
        .where(Inspection.id == inspection_id, Inspection.state == "due", Inspection.due_at <= now)
        .values(state="missed", missed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return 0
    inspection = session.get(Inspection, inspection_id, populate_existing=True)
    pack = policy_service.pack_of(session, inspection.policy_version_id)
    checklist = improvement_service.checklist_of(session, inspection)
    if checklist.on_missed:
        improvement_service.inspection_message(
            session,
            pack,
            inspection,
            checklist,
            checklist.on_missed,
            "improvement_inspection_missed",
            "missed",
            now,
        )
    return 1


# --- repeat causes ------------------------------------------------------------------------------

CURSOR = "repeat_cause"


def repeat_causes(session: Session, clock: Clock) -> int:
    """重复原因预警: read the investigations recorded since the last pass; for each cause they
    name, count the complaints of that cause in the pack's window, and raise an alert to the
    cause's owners the first time it reaches the pack's count in a window."""
    now = clock.now()
    groups = {
        g: pack
        for g, _, pack in _groups_with(session, lambda p: p.improvement.repeat_cause is not None)
    }
    if not groups:
        return 0
    cursor = _cursor(session, now, groups)
    e = ComplaintEvent
    events = session.execute(
        select(e.id, e.complaint_id)
        .where(e.id > cursor, e.command == "record_investigation", e.at <= now - REPEAT_LAG)
        .order_by(e.id)
        .limit(BATCH)
    ).all()
    if not events:
        return 0
    claimed = session.execute(
        update(SweepCursor)
        .where(SweepCursor.name == CURSOR, SweepCursor.last_id == cursor)
        .values(last_id=events[-1].id)
    ).rowcount
    if claimed != 1:
        return 0  # another worker read this batch
    seen: set[tuple[int, rules.Cause]] = set()
    raised = 0
    for _, complaint_id in events:
        complaint = session.get(Complaint, complaint_id)
        pack = groups.get(complaint.org_id)
        causes = (complaint.investigation or {}).get("root_causes", [])
        if pack is None:
            continue
        rule = pack.improvement.repeat_cause
        facts = {
            "category": complaint.category,
            "site_id": complaint.site_id,
            "department_id": complaint.department_id,
        }
        for dimension in causes:
            cause = rules.cause_of(rule, dimension, facts)
            if cause is None or (complaint.org_id, cause) in seen:
                continue
            seen.add((complaint.org_id, cause))
            raised += _alert(session, now, complaint.org_id, pack, cause)
    return raised


def _cursor(session: Session, now: datetime, groups: dict[int, Pack]) -> int:
    """Where the job stands; the first time, just before the oldest investigation that could
    still fall inside a window (older ones can never count again)."""
    row = session.get(SweepCursor, CURSOR)
    if row is not None:
        return row.last_id
    longest = max(rules.elapsed(p.improvement.repeat_cause.window) for p in groups.values())
    start = session.scalar(
        select(func.max(ComplaintEvent.id)).where(
            ComplaintEvent.command == "record_investigation",
            ComplaintEvent.at < now - longest - REPEAT_LAG,
        )
    )
    session.execute(
        _insert(session)(SweepCursor)
        .values(name=CURSOR, last_id=start or 0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.get(SweepCursor, CURSOR, populate_existing=True).last_id


def _alert(session: Session, now: datetime, group_id: int, pack: Pack, cause: rules.Cause) -> int:
    rule = pack.improvement.repeat_cause
    start = now - rules.elapsed(rule.window)
    found = queries.complaints_of_cause(
        session,
        group_id=group_id,
        dimension=cause.dimension,
        start=start,
        end=now + timedelta(microseconds=1),  # received up to now, inclusive
        categories=[cause.category] if cause.category else None,
        site_id=cause.site_id,
        department_id=cause.department_id,
        limit=queries.LIMIT,
    )
    if len(found) < rule.count:
        return 0
    cause_key = rules.cause_key(group_id, cause)
    last = session.execute(
        select(RepeatCauseAlert.id, RepeatCauseAlert.raised_at)
        .where(RepeatCauseAlert.cause_key == cause_key)
        .order_by(RepeatCauseAlert.id.desc())
        .limit(1)
    ).first()
    if last is not None and not rules.may_alert_again(last.raised_at, now, rule.window):
        return 0  # raised already within the window
    key = rules.alert_key(cause_key, last.id if last else None)
    inserted = session.execute(
        _insert(session)(RepeatCauseAlert)
        .values(
            key=key,
            cause_key=cause_key,
            org_id=group_id,
            cause_dimension=cause.dimension,
            category=cause.category,
            site_id=cause.site_id,
            department_id=cause.department_id,
            count=len(found),
            window_start=start,
            complaint_ids=[c.id for c in found],
            raised_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(RepeatCauseAlert.id)
    ).all()
    if not inserted:
        return 0  # another worker raised it
    alert = session.get(RepeatCauseAlert, inserted[0].id)
    roles = [*pack.improvement.cause_owners.get(cause.dimension, []), *rule.notify]
    users = list(
        session.scalars(
            select(User.id)
            .where(
                User.org_id.in_(escalation_service.scope_of(session, alert)),
                User.role.in_(roles),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )
    if users:
        category = next((c for c in pack.category_list() if c.key == cause.category), None)
        site = session.get(Organisation, cause.site_id) if cause.site_id else None

        def matter(loc: str) -> str:
            parts = (pick(category.name, loc) if category else "", site.name if site else "")
            return translate("web.sep.list", loc).join(p for p in parts if p) or "—"

        params = {
            "cause": improvement_service.cause_label(pack, cause.dimension),
            "matter": improvement_service.in_each(matter),
            "count": len(found),
            "since": improvement_service.local(pack, start),
        }
        # each recipient reads the numbers of the complaints they may see (回避: never one
        # about them); the group's channels get the shortest list, sent first
        for numbers, told in sorted(
            _numbers_seen(session, users, found).items(), key=lambda kv: (len(kv[0]), kv[1])
        ):
            notify_service.notify_users(
                session,
                now=now,
                user_ids=told,
                template="improvement_repeat_cause",
                params=params
                | {"numbers": improvement_service.listed(list(numbers[:10])) if numbers else "—"},
                dedupe_key=f"repeat:{key}",
            )
    return 1


def _numbers_seen(
    session: Session, user_ids: list[int], found: list[Complaint]
) -> dict[tuple[str, ...], list[int]]:
    """The users grouped by the numbers of `found` each may see (`access.rules.can`)."""
    views = [(c.number, access_service.view_of(c)) for c in found]
    grouped: dict[tuple[str, ...], list[int]] = {}
    for user in session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)):
        p = access_service.principal(session, user)
        seen = tuple(n for n, v in views if access_rules.can(p, "view", v))
        grouped.setdefault(seen, []).append(user.id)
    return grouped
