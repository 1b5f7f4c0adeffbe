"""JSON API under /api/v1: thin endpoints — parse, authorise, call one service, commit, render."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text

from kesu import __version__
from kesu.access import service as access_service
from kesu.access.models import Token, User
from kesu.complaint import evidence as evidence_service
from kesu.complaint import lifecycle, queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complainant
from kesu.complaint.schemas import (
    CommandIn,
    ComplainantOut,
    ComplaintCreate,
    ComplaintDetail,
    ComplaintOut,
    ComplaintPage,
    EventOut,
    EvidenceOut,
)
from kesu.errors import Forbidden, NotFound
from kesu.org import service as org_service
from kesu.policy import loader
from kesu.policy import service as policy_service
from kesu.web.deps import (
    ActorDep,
    AdminUser,
    ClockDep,
    CurrentUser,
    Db,
    ReadDb,
    SettingsDep,
    bearer,
    visible_complaint,
)

router = APIRouter()


# --- health and auth -------------------------------------------------------------------------


@router.get("/health", tags=["system"])
def health(db: ReadDb) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    kind: str


@router.post("/auth/login", tags=["auth"])
def login(body: LoginIn, db: Db, clock: ClockDep, settings: SettingsDep) -> TokenOut:
    raw = access_service.login(db, clock, body.username, body.password, settings.session_hours)
    db.commit()
    return TokenOut(token=raw, kind="session")


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, user: CurrentUser, db: Db, clock: ClockDep) -> None:
    """Revoke the bearer token this request carries."""
    access_service.revoke(db, clock, bearer(request))
    db.commit()


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    org_id: int
    department_id: int | None
    active: bool


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        org_id=u.org_id,
        department_id=u.department_id,
        active=u.active,
    )


@router.get("/me", tags=["auth"])
def me(user: CurrentUser) -> UserOut:
    return _user_out(user)


# --- organisation, people, packs ------------------------------------------------------------


class OrgOut(BaseModel):
    id: int
    parent_id: int | None
    kind: str
    code: str
    name: str
    pack_key: str | None


class OrgIn(BaseModel):
    kind: str = Field(max_length=20)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = None
    pack_key: str | None = Field(None, max_length=60)


@router.get("/organisations", tags=["organisation"])
def organisations(db: ReadDb, user: CurrentUser) -> list[OrgOut]:
    group = org_service.group_of(db, user.org_id)
    ids = set(org_service.subtree_ids(db, group.id))
    return [
        OrgOut(
            id=o.id,
            parent_id=o.parent_id,
            kind=o.kind,
            code=o.code,
            name=o.name,
            pack_key=o.pack_key,
        )
        for o in org_service.all_orgs(db)
        if o.id in ids
    ]


@router.post("/organisations", status_code=201, tags=["organisation"])
def create_organisation(body: OrgIn, db: Db, clock: ClockDep, admin: AdminUser) -> OrgOut:
    if body.kind == "group":
        raise Forbidden("forbidden.admin_only")  # new groups come from the CLI (`kesu demo` …)
    group = org_service.group_of(db, admin.org_id)
    if body.parent_id is None or body.parent_id not in org_service.subtree_ids(db, group.id):
        raise NotFound("not_found.organisation", id=body.parent_id)
    o = org_service.create(db, clock, **body.model_dump())
    db.commit()
    return OrgOut(
        id=o.id, parent_id=o.parent_id, kind=o.kind, code=o.code, name=o.name, pack_key=o.pack_key
    )


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=40)
    org_id: int
    department_id: int | None = None
    password: str | None = Field(None, min_length=8, max_length=200)


@router.get("/users", tags=["organisation"])
def users(db: ReadDb, user: CurrentUser) -> list[UserOut]:
    group = org_service.group_of(db, user.org_id)
    ids = org_service.subtree_ids(db, group.id)
    rows = db.scalars(select(User).where(User.org_id.in_(ids)).order_by(User.id))
    return [_user_out(u) for u in rows]


@router.post("/users", status_code=201, tags=["organisation"])
def create_user(body: UserIn, db: Db, clock: ClockDep, admin: AdminUser) -> UserOut:
    group = org_service.group_of(db, admin.org_id)
    if body.org_id not in org_service.subtree_ids(db, group.id):
        raise NotFound("not_found.organisation", id=body.org_id)
    u = access_service.add_user(db, clock, **body.model_dump())
    db.commit()
    return _user_out(u)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ApiTokenOut(BaseModel):
    id: int
    name: str
    token: str | None = None
    created_at: datetime
    revoked_at: datetime | None


@router.post("/tokens", status_code=201, tags=["auth"])
def create_token(body: TokenIn, db: Db, clock: ClockDep, user: CurrentUser) -> ApiTokenOut:
    """An integration token for the caller; shown once, stored only as its hash."""
    raw = access_service.issue_token(db, clock, user, kind="api", name=body.name, hours=None)
    row = db.scalar(select(Token).where(Token.user_id == user.id).order_by(Token.id.desc()))
    db.commit()
    return ApiTokenOut(
        id=row.id, name=row.name, token=raw, created_at=row.created_at, revoked_at=None
    )


@router.get("/tokens", tags=["auth"])
def list_tokens(db: ReadDb, user: CurrentUser) -> list[ApiTokenOut]:
    rows = db.scalars(
        select(Token).where(Token.user_id == user.id, Token.kind == "api").order_by(Token.id)
    )
    return [
        ApiTokenOut(id=t.id, name=t.name, created_at=t.created_at, revoked_at=t.revoked_at)
        for t in rows
    ]


@router.delete("/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: int, db: Db, clock: ClockDep, user: CurrentUser) -> None:
    row = db.get(Token, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("not_found.token", id=token_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
    db.commit()


@router.get("/packs", tags=["policy"])
def packs(user: CurrentUser) -> list[dict[str, Any]]:
    out = []
    for key in loader.builtin_keys():
        pack = loader.parse_cached(loader.builtin_source(key))
        out.append({"key": pack.key, "version": pack.version, "name": pack.name})
    return out


@router.get("/packs/{key}", tags=["policy"])
def pack(key: str, db: ReadDb, user: CurrentUser) -> dict[str, Any]:
    """The pack version new complaints open under (as stored), in full."""
    row = policy_service.current(db, key)
    return {"digest": row.digest, **policy_service.pack_of(db, row.id).model_dump(mode="json")}


# --- complaints ---------------------------------------------------------------------------------


def _may_receive(db, user: User) -> None:
    role = access_service.pack_for_user(db, user).role(user.role)
    if role is None or not role.may("receive"):
        raise Forbidden("forbidden.role", command="receive", role=user.role)


@router.post("/complaints", status_code=201, tags=["complaints"])
def create_complaint(
    body: ComplaintCreate, db: Db, clock: ClockDep, user: CurrentUser, actor: ActorDep
) -> ComplaintOut:
    _may_receive(db, user)
    group = org_service.group_of(db, user.org_id)
    if org_service.group_of(db, body.site_id).id != group.id:
        raise NotFound("not_found.organisation", id=body.site_id)
    complaint = complaint_service.receive(db, clock, actor, body)
    db.commit()
    return ComplaintOut.model_validate(complaint)


@router.get("/complaints", tags=["complaints"])
def list_complaints(
    db: ReadDb,
    user: CurrentUser,
    state: str | None = None,
    level: str | None = None,
    category: str | None = None,
    site_id: int | None = None,
    department_id: int | None = None,
    assignee_id: int | None = None,
    channel: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ComplaintPage:
    filters = queries.Filters(
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
    rows, nxt = queries.page(db, user, filters, limit=limit, cursor=cursor)
    return ComplaintPage(items=[ComplaintOut.model_validate(r) for r in rows], next_cursor=nxt)


def _detail(db, user: User, complaint) -> ComplaintDetail:
    pack = complaint_service.pack_of(db, complaint)
    case = complaint_service.case_of(db, pack, complaint)
    person = db.get(Complainant, complaint.complainant_id)
    return ComplaintDetail(
        **ComplaintOut.model_validate(complaint).model_dump(),
        complainant=ComplainantOut(
            id=person.id,
            name=person.name,
            phone=person.phone,
            other_contact=person.other_contact,
            address=person.address,
            member_id=person.member_id,
        ),
        timeline=[
            EventOut(
                seq=e.seq,
                command=e.command,
                actor_kind=e.actor_kind,
                actor_id=e.actor_id,
                actor_label=e.actor_label,
                at=e.at,
                payload=e.payload,
            )
            for e in queries.timeline(db, complaint.id)
        ],
        evidence=[
            EvidenceOut(
                id=e.id,
                filename=e.filename,
                content_type=e.content_type,
                size=e.size,
                sha256=e.sha256,
                uploaded_at=e.uploaded_at,
            )
            for e in queries.evidence(db, complaint.id)
        ],
        allowed_commands=lifecycle.allowed_commands(pack, case, complaint_service.actor_of(user)),
    )


@router.get("/complaints/{complaint_id}", tags=["complaints"])
def get_complaint(complaint_id: int, db: ReadDb, user: CurrentUser) -> ComplaintDetail:
    return _detail(db, user, visible_complaint(db, user, complaint_id))


@router.post("/complaints/{complaint_id}/commands/{command}", tags=["complaints"])
def run_command(
    complaint_id: int,
    command: str,
    body: CommandIn,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    actor: ActorDep,
) -> ComplaintDetail:
    """Every lifecycle command: `{"version": <the version you saw>, "payload": {...}}`."""
    visible_complaint(db, user, complaint_id)
    complaint = complaint_service.execute(
        db, clock, complaint_id, actor, command, body.payload, body.version
    )
    db.commit()
    return _detail(db, user, complaint)


@router.post("/complaints/{complaint_id}/evidence", status_code=201, tags=["complaints"])
def upload_evidence(
    complaint_id: int,
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    user: CurrentUser,
    actor: ActorDep,
    file: Annotated[UploadFile, File()],
) -> EvidenceOut:
    complaint = visible_complaint(db, user, complaint_id)
    data = file.file.read(settings.max_upload_bytes + 1)
    row = evidence_service.attach(
        db,
        clock,
        settings.evidence_dir,
        complaint,
        actor,
        file.filename or "file",
        data,
        settings.max_upload_bytes,
    )
    db.commit()
    return EvidenceOut(
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
    )


@router.get("/complaints/{complaint_id}/evidence/{evidence_id}", tags=["complaints"])
def download_evidence(
    complaint_id: int, evidence_id: int, db: ReadDb, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    visible_complaint(db, user, complaint_id)
    row = evidence_service.get(db, evidence_id)
    if row.complaint_id != complaint_id:
        raise NotFound("not_found.evidence", id=evidence_id)
    return FileResponse(
        evidence_service.blob_path(settings.evidence_dir, row.sha256),
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )
