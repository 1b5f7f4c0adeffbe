"""Request dependencies: the unit of work, the caller, the locale, load-or-404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint
from kesu.db.session import READ_ONLY
from kesu.errors import Forbidden, NotFound, Unauthenticated
from kesu.policy.schema import Pack
from kesu.settings import Settings
from kesu.web.errors import locale_of


def get_db(request: Request) -> Iterator[Session]:
    """A write unit of work. The endpoint commits before it responds; errors roll back."""
    with request.app.state.sessions() as session:
        yield session


def get_read_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        yield session


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


Db = Annotated[Session, Depends(get_db)]
ReadDb = Annotated[Session, Depends(get_read_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Locale = Annotated[str, Depends(locale_of)]


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthenticated("auth.required")
    return raw.strip()


def current_user(request: Request, clock: ClockDep) -> User:
    """Resolved with its own short read so any unit of work (read or write) can use it."""
    raw = bearer(request)
    with request.app.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        user = access_service.authenticate(session, clock, raw)
        session.expunge(user)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def staff_actor(user: CurrentUser) -> lifecycle.Actor:
    return complaint_service.actor_of(user)


ActorDep = Annotated[lifecycle.Actor, Depends(staff_actor)]


def user_pack(db: ReadDb, user: CurrentUser) -> Pack:
    return access_service.pack_for_user(db, user)


def require_admin(db: ReadDb, user: CurrentUser) -> User:
    role = access_service.pack_for_user(db, user).role(user.role)
    if role is None or not role.admin:
        raise Forbidden("forbidden.admin_only")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def visible_complaint(db: Session, user: User, complaint_id: int) -> Complaint:
    """Load-or-404 within the caller's scope; the person complained about gets 404 too."""
    from kesu.complaint import queries

    stmt = queries.visible_to(db, user).where(Complaint.id == complaint_id)
    complaint = db.scalar(stmt)
    if complaint is None:
        raise NotFound("not_found.complaint", id=complaint_id)
    return complaint
