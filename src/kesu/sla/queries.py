"""Reads: a complaint's timers, the overdue list, penalties, provisional-calendar warnings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.calendar import YearSchedule, provisional_years
from kesu.complaint import queries as complaint_queries
from kesu.complaint.models import Complaint
from kesu.policy.schema import Duration, Pack
from kesu.sla import rules
from kesu.sla.models import OfficialYear, Penalty, Timer
from kesu.sla.schemas import OverdueItem, PenaltyOut, PenaltyPage, TimerOut


def timers_of(session: Session, pack: Pack, complaint_id: int) -> list[TimerOut]:
    """Every timer of a complaint, oldest first, as the pack names them."""
    rows = session.scalars(
        select(Timer).where(Timer.complaint_id == complaint_id).order_by(Timer.id)
    )
    return [_timer_out(pack, t) for t in rows]


def _timer_out(pack: Pack, t: Timer) -> TimerOut:
    rule = pack.timer(t.key)
    return TimerOut(
        id=t.id,
        key=t.key,
        name=dict(rule.name) if rule else {"zh_Hans": t.key},
        basis=rule.basis if rule else None,
        round=t.round,
        level=t.level,
        within=str(Duration(**{t.unit: t.amount})),
        state=t.state,
        overdue=t.state == "running" and t.breached_at is not None,
        started_at=t.started_at,
        due_at=t.due_at,
        opens_at=t.opens_at,
        warn_at=t.warn_at,
        warned_at=t.warned_at,
        breached_at=t.breached_at,
        met_at=t.met_at,
        cancelled_at=t.cancelled_at,
        provisional=t.provisional,
        pauses=list(t.pauses),
        extensions=list(t.extensions),
    )


def overdue(
    session: Session, viewer: User, pack: Pack, now: datetime, *, limit: int = 200
) -> list[OverdueItem]:
    """Running timers past their due time on complaints the viewer may see, most overdue first."""
    visible = complaint_queries.visible_to(session, viewer).subquery()
    rows = session.execute(
        select(
            Timer,
            visible.c.number,
            visible.c.title,
            visible.c.level,
            visible.c.state,
            visible.c.assignee_id,
        )
        .join(visible, visible.c.id == Timer.complaint_id)
        .where(Timer.state == "running", Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
    ).all()
    out = []
    for timer, number, title, level, state, assignee_id in rows:
        rule = pack.timer(timer.key)
        out.append(
            OverdueItem(
                complaint_id=timer.complaint_id,
                number=number,
                title=title,
                level=level,
                state=state,
                assignee_id=assignee_id,
                timer=timer.key,
                timer_name=dict(rule.name) if rule else {"zh_Hans": timer.key},
                due_at=timer.due_at,
                breached_at=timer.breached_at,
            )
        )
    return out


def penalties(
    session: Session,
    viewer: User,
    *,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PenaltyPage:
    """Penalties on complaints the viewer may see, newest first, with their total."""
    visible = complaint_queries.visible_to(session, viewer).subquery()
    stmt = select(Penalty, visible.c.number).join(visible, visible.c.id == Penalty.complaint_id)
    if user_id is not None:
        stmt = stmt.where(Penalty.user_id == user_id)
    if since is not None:
        stmt = stmt.where(Penalty.created_at >= since)
    if until is not None:
        stmt = stmt.where(Penalty.created_at < until)
    rows = session.execute(stmt.order_by(Penalty.created_at.desc(), Penalty.id.desc())).all()
    items = [
        PenaltyOut(
            id=p.id,
            complaint_id=p.complaint_id,
            number=number,
            user_id=p.user_id,
            amount=p.amount,
            timer_key=p.timer_key,
            level=p.level,
            created_at=p.created_at,
        )
        for p, number in rows
    ]
    return PenaltyPage(items=items, total=sum((i.amount for i in items), Decimal(0)))


def provisional_complaints(session: Session, group_id: int) -> int:
    """Open complaints of a group whose next deadline was counted on a provisional year."""
    return (
        session.scalar(
            select(func.count(Complaint.id)).where(
                Complaint.org_id == group_id, Complaint.deadline_provisional.is_(True)
            )
        )
        or 0
    )


def provisional_years_ahead(
    session: Session, pack: Pack, group_id: int, today: date, *, years: int = 2
) -> list[int]:
    """Years from today up to `years` ahead (and any year a running timer falls due in)
    without official holiday data for this group."""
    latest_due = session.scalar(
        select(func.max(Timer.due_at))
        .join(Complaint, Complaint.id == Timer.complaint_id)
        .where(Complaint.org_id == group_id, Timer.state == "running")
    )
    end = today + timedelta(days=366 * years)
    if latest_due is not None and latest_due.date() > end:
        end = latest_due.date()
    entered = session.scalars(select(OfficialYear).where(OfficialYear.org_id == group_id))
    cal = rules.calendar(pack, schedules=[YearSchedule(y.year) for y in entered])
    return provisional_years(cal, today, end)
