"""Time limits under /api/v1: a complaint's timers, the overdue list, penalties, the
provisional-calendar warning, and the days an organisation keeps differently from the official
calendar (the only writes here: timers otherwise change through complaint commands)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from kesu.access import rules
from kesu.access import service as access_service
from kesu.complaint import service as complaint_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.sla import queries
from kesu.sla import service as sla_service
from kesu.sla.schemas import (
    CalendarCheck,
    CalendarDayChanged,
    CalendarDayIn,
    CalendarDayOut,
    OverdueItem,
    PenaltyPage,
    TimerOut,
)
from kesu.web.deps import (
    AdminUser,
    ClockDep,
    CurrentUser,
    Db,
    PrincipalDep,
    ReadDb,
    visible_complaint,
)

router = APIRouter(tags=["time limits"])


@router.get("/complaints/{complaint_id}/timers")
def complaint_timers(complaint_id: int, db: ReadDb, user: CurrentUser) -> list[TimerOut]:
    """Every timer of the complaint: started, due, met or breached, paused and extended."""
    complaint = visible_complaint(db, user, complaint_id)
    return queries.timers_of(db, complaint_service.pack_of(db, complaint), complaint.id)


@router.get("/sla/overdue")
def overdue(db: ReadDb, user: CurrentUser, clock: ClockDep) -> list[OverdueItem]:
    """Running timers past due on complaints the caller may see, most overdue first."""
    pack = access_service.pack_for_user(db, user)
    return queries.overdue(db, user, pack, clock.now())


@router.get("/sla/penalties")
def penalties(
    db: ReadDb,
    user: CurrentUser,
    user_id: int | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> PenaltyPage:
    """Penalties for breached timers (扣罚), newest first, with their total."""
    return queries.penalties(db, user, user_id=user_id, since=since, until=until)


@router.get("/sla/calendar-check")
def calendar_check(db: ReadDb, admin: AdminUser, clock: ClockDep) -> CalendarCheck:
    """Years without official holiday data (deadlines there are provisional) — enter them with
    `kesu calendar year`."""
    group = org_service.group_of(db, admin.org_id)
    pack = access_service.pack_for_user(db, admin)
    today = clock.now().astimezone(ZoneInfo(pack.timezone)).date()
    return CalendarCheck(
        provisional_years=queries.provisional_years_ahead(db, pack, group.id, today),
        provisional_complaints=queries.provisional_complaints(db, group.id),
    )


# --- the organisations' own calendar days ----------------------------------------------------


def _administered(db, principal: rules.Principal, code: str) -> Organisation:
    """The organisation named by `code`, which the caller administers (its group and node)."""
    org = access_service.org_named(db, principal, code)
    rules.require(principal, "admin", org.id)
    return org


@router.get("/calendar/days")
def calendar_days(
    db: ReadDb,
    admin: AdminUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[CalendarDayOut]:
    """The closed days (stocktaking, renovation) and extra working days of the organisations
    the caller administers, by day; a deadline counts them as the official calendar's own."""
    orgs = {o.id: o for o in org_service.all_orgs(db)}
    scope = org_service.subtree_ids(db, admin.org_id)
    return [
        CalendarDayOut(
            org=orgs[d.org_id].code,
            org_name=orgs[d.org_id].name,
            day=d.day,
            working=d.working,
            note=d.note,
        )
        for d in sla_service.days_of(db, scope, year)
    ]


@router.put("/calendar/days/{org}/{day}")
def set_calendar_day(
    org: str,
    day: date,
    body: CalendarDayIn,
    db: Db,
    clock: ClockDep,
    admin: AdminUser,
    principal: PrincipalDep,
) -> CalendarDayChanged:
    """Close an organisation on a day, or make it an extra working day: the open complaints'
    deadlines there move at once (and the trail records who did it)."""
    target = _administered(db, principal, org)
    moved = sla_service.set_day(
        db, clock, target.id, day, working=body.working, note=body.note, by=admin
    )
    db.commit()
    return CalendarDayChanged(moved=moved)


@router.delete("/calendar/days/{org}/{day}")
def clear_calendar_day(
    org: str, day: date, db: Db, clock: ClockDep, admin: AdminUser, principal: PrincipalDep
) -> CalendarDayChanged:
    """Give a day back to the official calendar."""
    target = _administered(db, principal, org)
    moved = sla_service.clear_day(db, clock, target.id, day, by=admin)
    db.commit()
    return CalendarDayChanged(moved=moved)
