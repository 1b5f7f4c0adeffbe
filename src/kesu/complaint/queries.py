"""Reads: filtered lists with stable cursor pagination, and one complaint with its timeline."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.complaint.models import Complaint, ComplaintEvent, Evidence
from kesu.errors import InvalidInput
from kesu.org import service as org_service


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    level: str | None = None
    category: str | None = None
    site_id: int | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    channel: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str | None = None
    open_only: bool = False


def visible_to(session: Session, viewer: User) -> Select:
    """Complaints the viewer's organisation scope covers, never those about the viewer (回避)."""
    scope = org_service.subtree_ids(session, viewer.org_id)
    group = org_service.group_of(session, viewer.org_id)
    stmt = select(Complaint).where(
        Complaint.org_id == group.id,
        or_(Complaint.staff_complained_id.is_(None), Complaint.staff_complained_id != viewer.id),
    )
    if viewer.org_id != group.id:
        stmt = stmt.where(or_(Complaint.site_id.in_(scope), Complaint.department_id.in_(scope)))
    return stmt


def _encode(received_at: datetime, cid: int) -> str:
    raw = json.dumps([received_at.isoformat(), cid]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, cid = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), int(cid)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("invalid.cursor", field="cursor") from exc


def page(
    session: Session, viewer: User, f: Filters, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Complaint], str | None]:
    """Newest first; the cursor is the last row's (received_at, id), so pages never shift."""
    stmt = visible_to(session, viewer)
    for column in ("state", "level", "category", "site_id", "department_id", "assignee_id"):
        value = getattr(f, column)
        if value is not None:
            stmt = stmt.where(getattr(Complaint, column) == value)
    if f.channel is not None:
        stmt = stmt.where(Complaint.channel == f.channel)
    if f.open_only:
        stmt = stmt.where(Complaint.state != "closed")
    if f.received_from is not None:
        stmt = stmt.where(Complaint.received_at >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(Complaint.received_at < f.received_to)
    if f.text:
        like = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Complaint.number.like(like, escape="\\"),
                Complaint.title.like(like, escape="\\"),
                Complaint.description.like(like, escape="\\"),
            )
        )
    if cursor:
        at, cid = _decode(cursor)
        stmt = stmt.where(
            or_(Complaint.received_at < at, (Complaint.received_at == at) & (Complaint.id < cid))
        )
    stmt = stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode(rows[-1].received_at, rows[-1].id) if more and rows else None)


def timeline(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(
        session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.seq)
        )
    )


def evidence(session: Session, complaint_id: int) -> list[Evidence]:
    return list(
        session.scalars(
            select(Evidence).where(Evidence.complaint_id == complaint_id).order_by(Evidence.id)
        )
    )
