"""Time limits under /api/v1: a complaint's timers, the overdue list, penalties, and the
provisional-calendar warning. Reads only; timers change through complaint commands."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import AwareDatetime

from kesu.access import service as access_service
from kesu.complaint import service as complaint_service
from kesu.org import service as org_service
from kesu.sla import queries
from kesu.sla.schemas import CalendarCheck, OverdueItem, PenaltyPage, TimerOut
from kesu.web.deps import AdminUser, ClockDep, CurrentUser, ReadDb, visible_complaint

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
