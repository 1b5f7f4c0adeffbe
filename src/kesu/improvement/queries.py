"""Reads of the improvement loop: actions in a person's reach, an action's complaints and record,
complaints of a cause (the target's figures), accountability, inspections and alerts.

The two databases differ only in how a JSON array is searched (a complaint's
`investigation.root_causes`), marked below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.complaint import queries as complaint_queries
from kesu.complaint.models import Complaint
from kesu.improvement import rules
from kesu.improvement.models import (
    Accountability,
    ActionComplaint,
    ActionEvent,
    CorrectiveAction,
    Inspection,
    RepeatCauseAlert,
)
from kesu.org import service as org_service

LIMIT = 200


# --- actions ------------------------------------------------------------------------------------


def visible_to(session: Session, viewer: User) -> Select:
    """Actions of the viewer's group their organisation node covers (its site or department),
    and always those they own or verify."""
    group = org_service.group_of(session, viewer.org_id)
    a = CorrectiveAction
    stmt = select(a).where(a.org_id == group.id)
    if viewer.org_id != group.id:
        scope = org_service.subtree_ids(session, viewer.org_id)
        stmt = stmt.where(
            or_(
                a.site_id.in_(scope),
                a.department_id.in_(scope),
                a.owner_id == viewer.id,
                a.verifier_id == viewer.id,
            )
        )
    return stmt


def listing(
    session: Session,
    viewer: User,
    *,
    state: str | None = None,
    mine: bool = False,
    overdue: bool = False,
    open_only: bool = False,
    cause_dimension: str | None = None,
    complaint_id: int | None = None,
    limit: int = LIMIT,
) -> list[CorrectiveAction]:
    """Newest first. `overdue`: past their deadline and not done yet (nor cancelled);
    `complaint_id`: the actions that complaint led to."""
    a = CorrectiveAction
    stmt = visible_to(session, viewer)
    if complaint_id is not None:
        stmt = stmt.join(ActionComplaint, ActionComplaint.action_id == a.id).where(
            ActionComplaint.complaint_id == complaint_id
        )
    if state:
        stmt = stmt.where(a.state == state)
    if mine:
        stmt = stmt.where(or_(a.owner_id == viewer.id, a.verifier_id == viewer.id))
    if overdue:
        stmt = stmt.where(
            a.breached_at.is_not(None), a.implemented_at.is_(None), a.state.not_in(rules.FINAL)
        )
    if open_only:
        stmt = stmt.where(a.state.not_in(rules.FINAL))
    if cause_dimension:
        stmt = stmt.where(a.cause_dimension == cause_dimension)
    return list(session.scalars(stmt.order_by(a.id.desc()).limit(limit)))


def for_complaint(session: Session, complaint_id: int) -> list[CorrectiveAction]:
    """The actions a complaint led to (the complaint page lists them)."""
    a = CorrectiveAction
    return list(
        session.scalars(
            select(a)
            .join(ActionComplaint, ActionComplaint.action_id == a.id)
            .where(ActionComplaint.complaint_id == complaint_id)
            .order_by(a.id)
        )
    )


def from_inspection(session: Session, inspection_id: int) -> list[CorrectiveAction]:
    """The preventive actions opened from an inspection's failed items."""
    a = CorrectiveAction
    return list(session.scalars(select(a).where(a.inspection_id == inspection_id).order_by(a.id)))


def seen_by(session: Session, viewer: User, complaint_ids: Iterable[int]) -> set[int]:
    """Which of these complaints `viewer` may see. An action reaches further than its
    complaints (a store's action names another region's complaints; the person a complaint
    is about may own the action), so scope and recusal are asked of each complaint."""
    ids = list(set(complaint_ids))
    if not ids:
        return set()
    return set(
        session.scalars(
            complaint_queries.visible_to(session, viewer)
            .with_only_columns(Complaint.id)
            .where(Complaint.id.in_(ids))
        )
    )


def complaint_ids(
    session: Session, action_ids: Iterable[int], viewer: User | None = None
) -> dict[int, list[int]]:
    """Each action's complaints; only those `viewer` may see, when given."""
    found: dict[int, list[int]] = {i: [] for i in action_ids}
    rows = session.execute(
        select(ActionComplaint.action_id, ActionComplaint.complaint_id)
        .where(ActionComplaint.action_id.in_(list(found)))
        .order_by(ActionComplaint.complaint_id)
    ).all()
    seen = seen_by(session, viewer, (c for _, c in rows)) if viewer is not None else None
    for action_id, complaint_id in rows:
        if seen is None or complaint_id in seen:
            found[action_id].append(complaint_id)
    return found


def complaints_of(session: Session, action_id: int, viewer: User | None = None) -> list[Complaint]:
    """An action's complaints, first received first; only those `viewer` may see, when given."""
    linked = list(
        session.scalars(
            select(Complaint)
            .join(ActionComplaint, ActionComplaint.complaint_id == Complaint.id)
            .where(ActionComplaint.action_id == action_id)
            .order_by(Complaint.received_at)
        )
    )
    if viewer is None:
        return linked
    seen = seen_by(session, viewer, (c.id for c in linked))
    return [c for c in linked if c.id in seen]


def events(session: Session, action_id: int) -> list[ActionEvent]:
    return list(
        session.scalars(
            select(ActionEvent).where(ActionEvent.action_id == action_id).order_by(ActionEvent.seq)
        )
    )


# --- complaints of a cause ----------------------------------------------------------------------


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def names_cause(session: Session, dimension: str) -> ColumnElement[bool]:
    """The complaint's investigation names this root-cause dimension."""
    c = Complaint
    if _sqlite(session):
        each = func.json_each(c.investigation, "$.root_causes").table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == dimension))
    return type_coerce(c.investigation, JSONB)["root_causes"].contains([dimension])


def not_investigated(session: Session) -> ColumnElement[bool]:
    c = Complaint
    if _sqlite(session):
        return func.json_type(c.investigation, "$.root_causes").is_(None)
    return func.jsonb_typeof(type_coerce(c.investigation, JSONB)["root_causes"]).is_(None)


def _is_complaint() -> ColumnElement[bool]:
    c = Complaint
    return or_(c.classification.is_(None), c.classification.not_in(rules.NOT_COMPLAINTS))


def cause_counts(
    session: Session,
    *,
    group_id: int,
    site_id: int | None,
    dimension: str,
    categories: Sequence[str] | None,
    slices: Sequence[rules.Slice],
    target: int,
    action_id: int | None = None,
) -> rules.TargetResult:
    """Complaints of a cause received in each month of an observation period (one query).

    A complaint counts when its investigation names the dimension; with a category, also while
    a complaint of that category is not investigated yet (it counts until shown otherwise, and
    `pending` says how many such there are). The complaints the action answers never count
    against it."""
    c = Complaint
    named = names_cause(session, dimension)
    pending = not_investigated(session)
    where = [
        c.org_id == group_id,
        c.received_at >= slices[0].start,
        c.received_at < slices[-1].end,
        _is_complaint(),
    ]
    if site_id is not None:
        where.append(c.site_id == site_id)
    if action_id is not None:
        answered = select(ActionComplaint.complaint_id).where(
            ActionComplaint.action_id == action_id
        )
        where.append(c.id.not_in(answered))
    counted = named
    if categories:
        where.append(c.category.in_(list(categories)))
        counted = or_(named, pending)
    columns = [
        func.sum(case((and_(counted, c.received_at >= s.start, c.received_at < s.end), 1)))
        for s in slices
    ]
    columns.append(func.sum(case((pending, 1))) if categories else literal(0))
    row = session.execute(select(*columns).where(*where)).one()
    return rules.TargetResult(target, tuple(int(n or 0) for n in row[:-1]), int(row[-1] or 0))


def complaints_of_cause(
    session: Session,
    *,
    group_id: int,
    dimension: str,
    start: datetime,
    end: datetime,
    categories: Sequence[str] | None = None,
    site_id: int | None = None,
    department_id: int | None = None,
    closed: bool = False,
    within: Select | None = None,
    limit: int = LIMIT,
) -> list[Complaint]:
    """Investigated complaints received (or, `closed`, closed) in [start, end) whose root causes
    include `dimension`, newest first: the repeat-cause count, and the complaints behind a bar
    of the reports' cause Pareto (which counts complaints closed in the period). `within`:
    a select of the complaints a viewer may see (`complaint.queries.visible_to`)."""
    c = Complaint
    moment = c.closed_at if closed else c.received_at
    stmt = (select(c) if within is None else within).where(
        c.org_id == group_id,
        moment >= start,
        moment < end,
        names_cause(session, dimension),
        _is_complaint(),
    )
    if categories:
        stmt = stmt.where(c.category.in_(list(categories)))
    if site_id is not None:
        stmt = stmt.where(c.site_id == site_id)
    if department_id is not None:
        stmt = stmt.where(c.department_id == department_id)
    return list(session.scalars(stmt.order_by(moment.desc(), c.id.desc()).limit(limit)))


# --- accountability -----------------------------------------------------------------------------


def accountability(
    session: Session,
    viewer: User,
    *,
    manager: bool,
    user_id: int | None = None,
    complaint_id: int | None = None,
    action_id: int | None = None,
    limit: int = LIMIT,
) -> list[Accountability]:
    """Training, discipline and reward records of the viewer's group, newest first: for a
    manager of the pack, those of the people at their node and below (everyone's at head
    office) and those they recorded; only their own for anyone else (a disciplinary record is
    not for colleagues' eyes, nor for another store's manager)."""
    r = Accountability
    group = org_service.group_of(session, viewer.org_id)
    stmt = select(r).where(r.org_id == group.id)
    if not manager:
        stmt = stmt.where(r.user_id == viewer.id)
    elif viewer.org_id != group.id:
        people = people_within(org_service.subtree_ids(session, viewer.org_id))
        stmt = stmt.where(
            or_(r.user_id.in_(people), r.user_id == viewer.id, r.recorded_by_id == viewer.id)
        )
    if user_id is not None:
        stmt = stmt.where(r.user_id == user_id)
    if complaint_id is not None:
        stmt = stmt.where(r.complaint_id == complaint_id)
    if action_id is not None:
        stmt = stmt.where(r.action_id == action_id)
    return list(session.scalars(stmt.order_by(r.occurred_on.desc(), r.id.desc()).limit(limit)))


def people_within(scope_ids: Iterable[int]) -> Select:
    """The ids of the staff whose organisation or department is one of `scope_ids`."""
    ids = list(scope_ids)
    return select(User.id).where(or_(User.org_id.in_(ids), User.department_id.in_(ids)))


def accountability_by_person(
    session: Session,
    group_id: int,
    first_day: date,
    end_day: date,
    scope_ids: Sequence[int] | None = None,
) -> dict[int, Counter[str]]:
    """Training, discipline and reward records per person on days [first_day, end_day); with
    `scope_ids`, of the people of those organisations only."""
    r = Accountability
    stmt = select(r.user_id, r.kind, func.count()).where(
        r.org_id == group_id, r.occurred_on >= first_day, r.occurred_on < end_day
    )
    if scope_ids is not None:
        stmt = stmt.where(r.user_id.in_(people_within(scope_ids)))
    rows = session.execute(stmt.group_by(r.user_id, r.kind))
    found: dict[int, Counter[str]] = {}
    for user_id, kind, n in rows:
        found.setdefault(user_id, Counter())[kind] += n
    return found


# --- inspections and alerts ---------------------------------------------------------------------


def inspections(
    session: Session,
    viewer: User,
    *,
    state: str | None = None,
    limit: int = LIMIT,
) -> list[Inspection]:
    group = org_service.group_of(session, viewer.org_id)
    i = Inspection
    stmt = select(i).where(i.org_id == group.id)
    if viewer.org_id != group.id:
        stmt = stmt.where(i.site_id.in_(org_service.subtree_ids(session, viewer.org_id)))
    if state:
        stmt = stmt.where(i.state == state)
    return list(session.scalars(stmt.order_by(i.scheduled_for.desc(), i.id.desc()).limit(limit)))


def alerts(session: Session, viewer: User, *, limit: int = 50) -> list[RepeatCauseAlert]:
    group = org_service.group_of(session, viewer.org_id)
    r = RepeatCauseAlert
    stmt = select(r).where(r.org_id == group.id)
    if viewer.org_id != group.id:
        scope = org_service.subtree_ids(session, viewer.org_id)
        stmt = stmt.where(or_(r.site_id.is_(None), r.site_id.in_(scope)))
    return list(session.scalars(stmt.order_by(r.raised_at.desc(), r.id.desc()).limit(limit)))


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all()
    )


# --- the management review ----------------------------------------------------------------------


def _in_scope(scope_ids: Sequence[int] | None, site, department) -> ColumnElement[bool] | None:
    if scope_ids is None:
        return None
    return or_(site.in_(list(scope_ids)), department.in_(list(scope_ids)))


def review_actions(
    session: Session, group_id: int, scope_ids: Sequence[int] | None, start: datetime, end: datetime
) -> list[CorrectiveAction]:
    """Actions live at some time in [start, end): opened before its end, not closed before its
    start (oldest first)."""
    a = CorrectiveAction
    stmt = select(a).where(
        a.org_id == group_id,
        a.created_at < end,
        or_(a.closed_at.is_(None), a.closed_at >= start),
    )
    narrow = _in_scope(scope_ids, a.site_id, a.department_id)
    if narrow is not None:
        stmt = stmt.where(narrow)
    return list(session.scalars(stmt.order_by(a.id)))


def action_events(
    session: Session,
    group_id: int,
    scope_ids: Sequence[int] | None,
    start: datetime,
    end: datetime,
) -> list[tuple[int, str, dict]]:
    """(action id, command, payload) of the steps on actions' records in [start, end)."""
    a, e = CorrectiveAction, ActionEvent
    stmt = (
        select(e.action_id, e.command, e.payload)
        .join(a, a.id == e.action_id)
        .where(a.org_id == group_id, e.at >= start, e.at < end)
        .order_by(e.id)
    )
    narrow = _in_scope(scope_ids, a.site_id, a.department_id)
    if narrow is not None:
        stmt = stmt.where(narrow)
    return [(aid, cmd, payload) for aid, cmd, payload in session.execute(stmt)]


def inspection_counts(
    session: Session, group_id: int, scope_ids: Sequence[int] | None, start: datetime, end: datetime
) -> list[tuple[str, str, int, int]]:
    """(checklist, state, inspections, failed items) of inspections scheduled in [start, end)."""
    i = Inspection
    stmt = (
        select(i.checklist, i.state, func.count(), func.sum(i.failed))
        .where(i.org_id == group_id, i.scheduled_for >= start, i.scheduled_for < end)
        .group_by(i.checklist, i.state)
    )
    if scope_ids is not None:
        stmt = stmt.where(i.site_id.in_(list(scope_ids)))
    return [(cl, st, int(n), int(f or 0)) for cl, st, n, f in session.execute(stmt)]


def alerts_in(
    session: Session, group_id: int, scope_ids: Sequence[int] | None, start: datetime, end: datetime
) -> Counter[str]:
    """Repeat-cause alerts raised in [start, end), by cause dimension."""
    r = RepeatCauseAlert
    stmt = (
        select(r.cause_dimension, func.count())
        .where(r.org_id == group_id, r.raised_at >= start, r.raised_at < end)
        .group_by(r.cause_dimension)
    )
    if scope_ids is not None:
        stmt = stmt.where(or_(r.site_id.is_(None), r.site_id.in_(list(scope_ids))))
    return Counter(dict(session.execute(stmt).all()))
