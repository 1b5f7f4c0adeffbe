"""Request dependencies: the unit of work, the caller, the locale, load-or-404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import Clock
from kesu.complaint import lifecycle, queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint
from kesu.db.session import READ_ONLY
from kesu.errors import NotFound, Unauthenticated
from kesu.policy.schema import Pack
from kesu.settings import Settings
from kesu.web.errors import locale_of


def request_session(request: Request) -> Iterator[Session]:
    """The request's session, shared by authentication and the endpoint's unit of work (one
    session and one pooled connection at a time per request). Errors roll back."""
    with request.app.state.sessions() as session:
        yield session


Shared = Annotated[Session, Depends(request_session)]


def get_db(request: Request, shared: Shared) -> Iterator[Session]:
    """A write unit of work. The endpoint commits before it responds; errors roll back."""
    if not shared.info.get(READ_ONLY):
        shared.info["kesu.writes"] = True
        yield shared
        return
    with request.app.state.sessions() as session:  # the request also reads apart (ReadDb)
        yield session


def get_read_db(request: Request, shared: Shared) -> Iterator[Session]:
    """A read-only unit of work. Its connection is taken at its first query (authentication's
    own short read has ended by then): a request never holds two pooled connections at once
    (holding one while waiting for another deadlocks the pool under concurrent load)."""
    engine = request.app.state.engine.execution_options(**{READ_ONLY: True})
    if not shared.info.get("kesu.writes") and not shared.in_transaction():
        shared.bind = engine
        shared.info[READ_ONLY] = True
        yield shared
        return
    with request.app.state.sessions(bind=engine) as session:  # the request also writes (Db)
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


@contextmanager
def identifying(session: Session) -> Iterator[None]:
    """Who is asking, read in the request's own session (API bearer or console cookie): a
    read-only start, ended afterwards unless the endpoint only reads, so a writing endpoint's
    unit of work starts afresh (on SQLite the write lock is then taken only by its own work)."""
    started = not session.in_transaction()
    if started:
        session.connection(execution_options={READ_ONLY: True})
    yield
    if started and not session.info.get(READ_ONLY):
        session.commit()


def authenticated(
    request: Request, clock: ClockDep, session: Shared
) -> tuple[User, rules.Principal]:
    """The bearer's user and principal (role, scope node, token scope), read in the request's
    session. Unless the endpoint only reads, that read is ended here so its unit of work starts
    afresh (on SQLite the write lock is then taken only by the endpoint's own work)."""
    raw = bearer(request)
    with identifying(session):
        user, token = access_service.authenticate_token(session, clock, raw)
        principal = access_service.principal(session, user, token.scope)
    return user, principal


Authenticated = Annotated[tuple[User, rules.Principal], Depends(authenticated)]


def current_user(auth: Authenticated) -> User:
    return auth[0]


def current_principal(auth: Authenticated) -> rules.Principal:
    return auth[1]


CurrentUser = Annotated[User, Depends(current_user)]
PrincipalDep = Annotated[rules.Principal, Depends(current_principal)]


def staff_actor(user: CurrentUser) -> lifecycle.Actor:
    return complaint_service.actor_of(user)


ActorDep = Annotated[lifecycle.Actor, Depends(staff_actor)]


def user_pack(db: ReadDb, user: CurrentUser) -> Pack:
    return access_service.pack_for_user(db, user)


def require_admin(user: CurrentUser, principal: PrincipalDep) -> User:
    """An administrator of the group (a region's administrator: of the region), with a session
    or a full-scope token."""
    rules.require(principal, "admin")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def account_user(user: CurrentUser, principal: PrincipalDep) -> User:
    """The caller acting on their own account (password, tokens): a session or full token."""
    rules.require(principal, "account")
    return user


AccountUser = Annotated[User, Depends(account_user)]


def visible_complaint(db: Session, user: User, complaint_id: int) -> Complaint:
    """Load-or-404 within the caller's scope; the person complained about gets 404 too.

    `complaint.queries.visible_to` is the SQL form of `rules.can(p, "view", …)` (scope and
    recusal); tests/security checks that the two agree for every user and complaint."""
    from kesu.complaint import queries

    stmt = queries.visible_to(db, user).where(Complaint.id == complaint_id)
    complaint = db.scalar(stmt)
    if complaint is None:
        raise NotFound("not_found.complaint", id=complaint_id)
    return complaint


def list_filters(
    state: Literal[lifecycle.STATES] | None = None,  # type: ignore[valid-type]
    level: Annotated[str | None, Query(max_length=40)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    site_id: int | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
    channel: Annotated[str | None, Query(max_length=40)] = None,
    received_from: AwareDatetime | None = None,
    received_to: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    open_only: bool = False,
) -> queries.Filters:
    """The complaint list's filters from the query string (`GET /complaints` and the register
    of the same complaints, `GET /register`)."""
    return queries.Filters(
        state=state,
        level=level,
        category=category,
        site_id=site_id,
        department_id=department_id,
        assignee_id=assignee_id,
        channel=channel,
        received_from=received_from,
        received_to=received_to,
        text=q,
        open_only=open_only,
    )


ListFilters = Annotated[queries.Filters, Depends(list_filters)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=100,
        description="your own id for this submission: sent again (a retry after a lost answer) "
        "it answers with what it made instead of making it again, marked "
        "`Idempotent-Replayed: true`; the same key with other content is refused",
    ),
]
"""The `Idempotency-Key` header of a POST that makes something (name the parameter
`idempotency_key`)."""


def mark_replayed(db: Session, response: Response) -> None:
    """`Idempotent-Replayed: true` on the answer to a submission or command that had already
    been carried out (the service noted it in `session.info`)."""
    if db.info.get(complaint_service.REPLAYED):
        response.headers["Idempotent-Replayed"] = "true"
