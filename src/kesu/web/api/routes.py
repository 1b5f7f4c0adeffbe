"""JSON API under /api/v1: thin endpoints — parse, authorise, call one service, commit, render."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text

from kesu import __version__
from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import Token, User
from kesu.audit import service as audit_service
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
    Phone,
)
from kesu.errors import Forbidden, InvalidInput, KesuError, NotFound
from kesu.health import service as health_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import loader
from kesu.policy import service as policy_service
from kesu.privacy import rules as privacy_rules
from kesu.privacy import service as privacy_service
from kesu.sla import queries as sla_queries
from kesu.web.deps import (
    AccountUser,
    ActorDep,
    AdminUser,
    ClockDep,
    CurrentUser,
    Db,
    IdempotencyKey,
    ListFilters,
    PrincipalDep,
    ReadDb,
    SettingsDep,
    bearer,
    mark_replayed,
    visible_complaint,
)
from kesu.web.security import SECURITY_HEADERS

router = APIRouter()


# --- health and auth -------------------------------------------------------------------------


@router.get("/health", tags=["system"])
def health(db: ReadDb) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/health/worker", tags=["system"])
def worker_health(
    db: ReadDb, clock: ClockDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    """Whether the background workers finish their passes (timers, messages, reports,
    anchors): 200 with `status: ok`, else 503 saying what is wrong (`kesu.health.service`).
    Public, like /health, for monitors: workers are counted, not named (`kesu health` on the
    server names their hosts)."""
    found = health_service.worker_status(db, clock.now(), settings.worker_interval_seconds)
    workers = found.pop("workers")
    found["workers_running"] = sum(w["running"] for w in workers)
    if found["status"] != "ok":
        response.status_code = 503
    return found


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    kind: str


@router.post("/auth/login", tags=["auth"])
def login(
    body: LoginIn, request: Request, db: Db, clock: ClockDep, settings: SettingsDep
) -> TokenOut:
    """A session token. Repeated failures lock the username and the client address out, with
    a doubling wait (HTTP 429 says how long)."""
    client = request.client.host if request.client else None
    try:
        raw = access_service.login(
            db, clock, body.username, body.password, settings.session_hours, client=client
        )
    except KesuError:
        db.commit()  # the failed attempt stays counted
        raise
    db.commit()
    return TokenOut(token=raw, kind="session")


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(request: Request, user: CurrentUser, db: Db, clock: ClockDep) -> None:
    """Revoke the bearer token this request carries."""
    access_service.revoke(db, clock, bearer(request))
    db.commit()


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class CountOut(BaseModel):
    count: int


@router.post("/auth/password", tags=["auth"])
def change_password(
    body: PasswordIn, request: Request, db: Db, clock: ClockDep, user: AccountUser
) -> CountOut:
    """Change your password; every other session of yours ends (the count is returned)."""
    me_ = access_service.get_user(db, user.id)
    ended = access_service.change_password(
        db, clock, me_, body.current_password, body.new_password, keep_token=bearer(request)
    )
    db.commit()
    return CountOut(count=ended)


@router.post("/auth/sessions/revoke", tags=["auth"])
def revoke_my_sessions(db: Db, clock: ClockDep, user: AccountUser) -> CountOut:
    """Sign out everywhere: every session of yours ends, this one included (API tokens stay)."""
    me_ = access_service.get_user(db, user.id)
    count = access_service.revoke_all(db, clock, me_, me_, api_tokens=False)
    db.commit()
    return CountOut(count=count)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    org_id: int
    department_id: int | None
    active: bool
    locale: str = Field(description="the language the user's messages are written in")


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        org_id=u.org_id,
        department_id=u.department_id,
        active=u.active,
        locale=u.locale,
    )


@router.get("/me", tags=["auth"])
def me(user: CurrentUser) -> UserOut:
    return _user_out(user)


class LocaleIn(BaseModel):
    locale: Literal["zh_Hans", "zh_Hant", "en"]


@router.put("/me/locale", tags=["auth"])
def set_my_locale(body: LocaleIn, db: Db, user: AccountUser) -> UserOut:
    """The language the caller's messages are written in (the console's language switch sets
    it too)."""
    access_service.set_locale(db, user, body.locale)
    db.commit()
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
def create_organisation(
    body: OrgIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> OrgOut:
    if body.kind == "group":
        raise Forbidden("forbidden.admin_only")  # new groups come from the CLI (`kesu demo` …)
    if body.parent_id is None or not rules.can(p, "admin", body.parent_id):
        # a field of the body, not the address: 422 naming it (the same for an organisation
        # that does not exist and one the caller does not administer)
        raise InvalidInput("invalid.parent_required", field="parent_id")
    o = org_service.create(db, clock, **body.model_dump())
    audit_service.record_config(
        db, clock, admin, "org.create", "organisation", o.id, body.model_dump(mode="json")
    )
    db.commit()
    return OrgOut(
        id=o.id, parent_id=o.parent_id, kind=o.kind, code=o.code, name=o.name, pack_key=o.pack_key
    )


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=40)
    org_id: int = Field(description="the user's scope: the group (head office), a region or a site")
    department_id: int | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    locale: Literal["zh_Hans", "zh_Hant", "en"] | None = Field(
        None, description="the language of their messages (default: Simplified Chinese)"
    )


class UserPatch(BaseModel):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    role: str | None = Field(None, min_length=1, max_length=40)
    org_id: int | None = None
    department_id: int | None = None
    locale: Literal["zh_Hans", "zh_Hant", "en"] | None = Field(
        None, description="the language of their messages"
    )


class NewPasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=200)


@router.get("/users", tags=["organisation"])
def users(db: ReadDb, user: CurrentUser) -> list[UserOut]:
    group = org_service.group_of(db, user.org_id)
    ids = org_service.subtree_ids(db, group.id)
    rows = db.scalars(select(User).where(User.org_id.in_(ids)).order_by(User.id))
    return [_user_out(u) for u in rows]


def _managed_user(db, p: rules.Principal, user_id: int) -> User:
    """A user the administrator's scope covers (404 otherwise: others are not disclosed)."""
    target = db.get(User, user_id)
    if target is None or not rules.can(p, "admin", target.org_id):
        raise NotFound("not_found.user", id=user_id)
    return target


@router.post("/users", status_code=201, tags=["organisation"])
def create_user(
    body: UserIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    if not rules.can(p, "admin", body.org_id):
        raise InvalidInput("invalid.unknown_id", field="org_id", value=body.org_id)
    u = access_service.add_user(db, clock, **body.model_dump(), by=admin)
    db.commit()
    return _user_out(u)


@router.patch("/users/{user_id}", tags=["organisation"])
def update_user(
    user_id: int, body: UserPatch, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    """Change a user's name, role, scope node, department or message language (on the
    configuration trail)."""
    target = _managed_user(db, p, user_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("org_id") is not None and not rules.can(p, "admin", changes["org_id"]):
        raise InvalidInput("invalid.unknown_id", field="org_id", value=changes["org_id"])
    if target.id == admin.id and "role" in changes:
        raise Forbidden("forbidden.own_role")
    access_service.update_user(db, clock, admin, target, **changes)
    db.commit()
    return _user_out(target)


@router.post("/users/{user_id}/deactivate", tags=["organisation"])
def deactivate_user(
    user_id: int, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    """The user can no longer sign in and every token of theirs stops; history keeps them.
    The open complaints they handled go to whoever the pack's auto-assignment picks now."""
    target = _managed_user(db, p, user_id)
    if target.id == admin.id:
        raise Forbidden("forbidden.own_account")
    complaint_service.deactivate(db, clock, admin, target)
    db.commit()
    return _user_out(target)


@router.post("/users/{user_id}/activate", tags=["organisation"])
def activate_user(
    user_id: int, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    target = _managed_user(db, p, user_id)
    access_service.set_active(db, clock, admin, target, True)
    db.commit()
    return _user_out(target)


@router.post("/users/{user_id}/revoke-tokens", tags=["organisation"])
def revoke_user_tokens(
    user_id: int, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> CountOut:
    """End every session of the user and revoke their API tokens."""
    target = _managed_user(db, p, user_id)
    count = access_service.revoke_all(db, clock, admin, target, api_tokens=True)
    db.commit()
    return CountOut(count=count)


@router.post("/users/{user_id}/password", tags=["organisation"])
def reset_user_password(
    user_id: int, body: NewPasswordIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    """Set a new password for the user (their sessions end and any lockout is lifted)."""
    target = _managed_user(db, p, user_id)
    access_service.reset_password(db, clock, admin, target, body.password)
    db.commit()
    return _user_out(target)


@router.post("/users/{user_id}/unlock", tags=["organisation"])
def unlock_user(
    user_id: int, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> UserOut:
    """Lift a login lockout before it runs out."""
    target = _managed_user(db, p, user_id)
    access_service.unlock(db, clock, admin, target)
    db.commit()
    return _user_out(target)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "intake", "full"] = Field(
        "read", description="read; intake (read + register complaints and evidence); full"
    )
    expires_days: int | None = Field(None, ge=1, le=3650)


class ApiTokenOut(BaseModel):
    id: int
    name: str
    scope: str
    token: str | None = Field(None, description="shown once, at creation")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _token_out(t: Token, raw: str | None = None) -> ApiTokenOut:
    return ApiTokenOut(
        id=t.id,
        name=t.name,
        scope=t.scope,
        token=raw,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
    )


@router.post("/tokens", status_code=201, tags=["auth"])
def create_token(body: TokenIn, db: Db, clock: ClockDep, user: AccountUser) -> ApiTokenOut:
    """An integration token for the caller; shown once, stored only as its hash."""
    hours = body.expires_days * 24 if body.expires_days else None
    raw = access_service.issue_token(
        db, clock, user, kind="api", name=body.name, hours=hours, scope=body.scope
    )
    row = access_service.token_of(db, raw)
    db.commit()
    return _token_out(row, raw)


@router.get("/tokens", tags=["auth"])
def list_tokens(db: ReadDb, user: CurrentUser) -> list[ApiTokenOut]:
    rows = db.scalars(
        select(Token).where(Token.user_id == user.id, Token.kind == "api").order_by(Token.id)
    )
    return [_token_out(t) for t in rows]


@router.delete("/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: int, db: Db, clock: ClockDep, user: AccountUser) -> None:
    row = db.get(Token, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("not_found.token", id=token_id)
    access_service.revoke_token(db, clock, user, row)
    db.commit()


API_DOCS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kesu 客诉 API</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False)
def api_docs() -> HTMLResponse:
    """The interactive documentation of this API (Swagger UI) from Kesu's own static files: it
    works without an internet connection and under the pages' CSP (FastAPI's default page
    loads its script from a CDN and starts it inline, which the CSP blocks). Swagger UI's
    stylesheet draws its icons as data: images, which this page alone allows."""
    csp = SECURITY_HEADERS["Content-Security-Policy"] + "; img-src 'self' data:"
    return HTMLResponse(API_DOCS, headers={"Content-Security-Policy": csp})


@router.get("/packs", tags=["policy"])
def packs(db: ReadDb, user: CurrentUser) -> list[dict[str, Any]]:
    """The built-in packs and the one the caller's group runs (its own, once loaded: `POST
    /api/v1/packs`), each at the version new complaints open under; `in_use` marks the
    group's."""
    own = org_service.group_of(db, user.org_id).pack_key
    out = []
    for key in sorted({*loader.builtin_keys(), own} - {None}):
        try:
            row = policy_service.current(db, key)
            pack, version = policy_service.pack_of(db, row.id), row.version
        except NotFound:  # a built-in pack not registered yet (`kesu db upgrade`)
            pack = loader.parse_cached(loader.builtin_source(key))
            version = pack.version
        out.append({"key": key, "version": version, "name": pack.name, "in_use": key == own})
    return out


class PackIn(BaseModel):
    source: str = Field(min_length=1, max_length=1_000_000, description="the pack file (YAML)")


class PackLoaded(BaseModel):
    key: str
    version: int
    digest: str
    new: bool = Field(description="false: this very text was stored before")
    in_use: bool = Field(description="new complaints open under it (no higher version stored)")


@router.post("/packs", status_code=201, tags=["policy"])
def load_pack(
    body: PackIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> PackLoaded:
    """Put a pack into use (`kesu policy load`): checked (422 naming line, path and rule of
    each problem), stored as a new version; the groups under its key open new complaints
    under it. Only an administrator of every group that runs the key may change it."""
    pack = loader.parse_pack(body.source, "pack.yaml")
    groups = db.scalars(
        select(Organisation.id).where(
            Organisation.kind == "group", Organisation.pack_key == pack.key
        )
    )
    if not all(rules.can(p, "admin", g) for g in groups):
        raise Forbidden("policy.other_groups")
    row, new = policy_service.install(db, clock, body.source, "pack.yaml", admin)
    db.commit()
    in_use = policy_service.current(db, row.key).id == row.id
    return PackLoaded(key=row.key, version=row.version, digest=row.digest, new=new, in_use=in_use)


@router.get("/packs/{key}", tags=["policy"])
def pack(
    key: Annotated[str, Path(max_length=60)], db: ReadDb, user: CurrentUser, response: Response
) -> dict[str, Any]:
    """The pack version new complaints open under (as stored), in full: a pack file as it
    is (JSON is YAML), to edit and load again. Its digest is the `ETag`. Another group's own
    procedure is theirs: a pack is read by the groups that run it, or by anyone while it is
    built in or run by no group yet (loaded, not set); else it is not found."""
    runs = set(db.scalars(select(Organisation.id).where(Organisation.pack_key == key)))
    own = org_service.group_of(db, user.org_id).id
    if runs and own not in runs and key not in loader.builtin_keys():
        raise NotFound("not_found.pack", key=key)
    row = policy_service.current(db, key)
    response.headers["ETag"] = f'"{row.digest}"'
    return policy_service.pack_of(db, row.id).model_dump(mode="json")


# --- complaints ---------------------------------------------------------------------------------


def _out(p: rules.Principal, complaint) -> ComplaintOut:
    """A complaint as this viewer may see it: free text with numbers masked unless unmasked."""
    out = ComplaintOut.model_validate(complaint)
    if rules.can(p, "unmask", access_service.view_of(complaint)):
        return out
    masked = {f: privacy_rules.mask_value(getattr(out, f)) for f in privacy_rules.COMPLAINT_TEXT}
    return out.model_copy(update=masked)


@router.post("/complaints", status_code=201, tags=["complaints"])
def create_complaint(
    body: ComplaintCreate,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    actor: ActorDep,
    p: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintOut:
    site = db.get(Organisation, body.site_id)
    if site is None or org_service.group_of(db, site.id).id != p.group_id:  # none of yours
        raise InvalidInput("invalid.unknown_id", field="site_id", value=body.site_id)
    target = rules.ComplaintView(
        org_id=p.group_id,
        site_id=body.site_id,
        department_id=body.department_id,
        staff_complained_id=body.staff_complained_id,
        received_by_id=user.id,
    )
    rules.require(p, "receive", target)
    complaint = complaint_service.receive(db, clock, actor, body, key=idempotency_key)
    mark_replayed(db, response)
    db.commit()
    return _out(p, complaint)


@router.get("/complaints", tags=["complaints"])
def list_complaints(
    db: ReadDb,
    user: CurrentUser,
    p: PrincipalDep,
    filters: ListFilters,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ComplaintPage:
    """Complaints in your scope, newest first (never those about you). Numbers in free text
    are masked unless you may see the complainant's personal data."""
    rows, nxt = queries.page(db, user, filters, limit=limit, cursor=cursor)
    return ComplaintPage(items=[_out(p, r) for r in rows], next_cursor=nxt)


def _detail(db, user: User, p: rules.Principal, complaint) -> ComplaintDetail:
    """The complaint with its complainant masked (`GET …/complainant` reveals, on record)."""
    pack = complaint_service.pack_of(db, complaint)
    case = complaint_service.case_of(db, pack, complaint)
    person = db.get(Complainant, complaint.complainant_id)
    plain = rules.can(p, "unmask", access_service.view_of(complaint))
    events = queries.timeline(db, complaint.id)
    unseen = queries.unseen_numbers(db, user, events)  # an earlier complaint not theirs to see
    return ComplaintDetail(
        **_out(p, complaint).model_dump(),
        complainant=ComplainantOut(**privacy_service.shown(person, False)),
        timeline=[
            EventOut(
                seq=e.seq,
                command=e.command,
                actor_kind=e.actor_kind,
                actor_id=e.actor_id,
                actor_label=e.actor_label,
                at=e.at,
                payload=queries.without_numbers(
                    e.payload if plain else privacy_rules.mask_value(e.payload), unseen
                ),
            )
            for e in events
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
        allowed_commands=lifecycle.allowed_commands(pack, case, complaint_service.actor_of(user))
        if rules.can(p, "command", access_service.view_of(complaint))
        else [],
        timers=sla_queries.timers_of(db, pack, complaint.id),
    )


@router.get("/complaints/{complaint_id}", tags=["complaints"])
def get_complaint(
    complaint_id: int, db: ReadDb, user: CurrentUser, p: PrincipalDep
) -> ComplaintDetail:
    return _detail(db, user, p, visible_complaint(db, user, complaint_id))


@router.get("/complaints/{complaint_id}/complainant", tags=["complaints"])
def reveal_complainant(
    complaint_id: int, db: Db, clock: ClockDep, user: CurrentUser, p: PrincipalDep
) -> ComplainantOut:
    """The complainant's phone, address and ids unmasked — for those whose role may see them
    (the pack's `personal_data`) — and the view is logged (who, when, which fields)."""
    complaint = visible_complaint(db, user, complaint_id)
    out = privacy_service.reveal(db, clock, p, complaint)
    db.commit()
    return ComplainantOut(**out)


@router.post("/complaints/{complaint_id}/commands/{command}", tags=["complaints"])
def run_command(
    complaint_id: int,
    command: Annotated[str, Path(max_length=40)],
    body: CommandIn,
    response: Response,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    actor: ActorDep,
    p: PrincipalDep,
) -> ComplaintDetail:
    """Every lifecycle command: `{"version": <the version you saw>, "payload": {...}}`. The
    same command sent again by the same caller with the same version and payload (a retry
    after a lost answer) is done once: the retry answers with the complaint as it is now,
    marked `Idempotent-Replayed: true`; anything else on a stale version is 409."""
    target = visible_complaint(db, user, complaint_id)
    rules.require(p, "command", access_service.view_of(target))
    complaint = complaint_service.execute(
        db, clock, complaint_id, actor, command, body.payload, body.version
    )
    mark_replayed(db, response)
    db.commit()
    return _detail(db, user, p, complaint)


@router.post("/complaints/{complaint_id}/evidence", status_code=201, tags=["complaints"])
def upload_evidence(
    complaint_id: int,
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    user: CurrentUser,
    actor: ActorDep,
    p: PrincipalDep,
    file: Annotated[UploadFile, File()],
) -> EvidenceOut:
    complaint = visible_complaint(db, user, complaint_id)
    rules.require(p, "attach_evidence", access_service.view_of(complaint))
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


@router.get(
    "/complaints/{complaint_id}/evidence/{evidence_id}",
    tags=["complaints"],
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_evidence(
    complaint_id: int, evidence_id: int, db: ReadDb, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """The file as an attachment (never rendered inline), with its sniffed content type."""
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


# --- audit and personal data (administrators) ------------------------------------------------


class ConfigAuditOut(BaseModel):
    seq: int
    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_kind: str
    target_id: int | None
    details: dict[str, Any]
    hash: str


@router.get("/audit/config", tags=["audit"])
def config_trail(
    db: ReadDb,
    admin: AdminUser,
    p: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> list[ConfigAuditOut]:
    """Configuration changes within the caller's scope (their group, a region's administrator:
    the region), newest first: users, roles, tokens, organisations, packs, retention
    (hash-chained; `kesu audit verify` checks the whole chain)."""
    org_ids = p.group_ids if p.scope_ids is None else p.scope_ids
    pack_key = org_service.group_of(db, admin.org_id).pack_key
    rows = audit_service.config_trail(
        db, limit=limit, before=before, org_ids=org_ids, pack_keys=[pack_key] if pack_key else []
    )
    return [ConfigAuditOut.model_validate(e, from_attributes=True) for e in rows]


class DataViewOut(BaseModel):
    at: datetime
    user_id: int
    complainant_id: int
    complaint_id: int | None
    fields: list[str]
    purpose: str


@router.get("/privacy/views", tags=["privacy"])
def personal_data_views(
    db: ReadDb,
    admin: AdminUser,
    p: PrincipalDep,
    complaint_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DataViewOut]:
    """Who saw which complainant's personal data unmasked, when, and why."""
    if complaint_id is not None:
        visible_complaint(db, admin, complaint_id)
    rows = privacy_service.views(db, group_id=p.group_id, complaint_id=complaint_id, limit=limit)
    return [DataViewOut.model_validate(v, from_attributes=True) for v in rows]


class SubjectIn(BaseModel):
    phone: Phone
    reason: str = Field(min_length=1, max_length=500, description="the request and how it came")


@router.post("/privacy/subject-export", tags=["privacy"])
def subject_export(
    body: SubjectIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> dict[str, Any]:
    """Everything held about the person with this phone number (a data-subject access request),
    on record in the privacy log."""
    rules.require(p, "admin", p.group_id)
    out = privacy_service.subject_export(db, clock, admin, p.group_id, body.phone, body.reason)
    db.commit()
    return out


class ErasureOut(BaseModel):
    complaints: list[str] = Field(description="numbers of the complaints now anonymised")


@router.post("/privacy/subject-erasure", tags=["privacy"])
def subject_erasure(
    body: SubjectIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> ErasureOut:
    """Erase the person with this phone number: their personal data is anonymised (refused
    while one of their complaints is open); the complaints and their record stay."""
    rules.require(p, "admin", p.group_id)
    numbers = privacy_service.erase(db, clock, admin, p.group_id, body.phone, body.reason)
    db.commit()
    return ErasureOut(complaints=numbers)


class PrivacyRequestOut(BaseModel):
    at: datetime
    kind: str
    complainant_id: int | None
    requested_by_id: int | None
    reason: str
    details: dict[str, Any]


@router.get("/privacy/requests", tags=["privacy"])
def privacy_requests(
    db: ReadDb,
    admin: AdminUser,
    p: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PrivacyRequestOut]:
    """Data-subject exports and erasures and retention anonymisations, newest first."""
    rows = privacy_service.requests(db, p.group_id, limit=limit)
    return [PrivacyRequestOut.model_validate(r, from_attributes=True) for r in rows]


class RetentionIn(BaseModel):
    years: int = Field(ge=1, le=30)


class RetentionOut(BaseModel):
    org_id: int
    years: int
    default: bool


@router.get("/privacy/retention/{org_id}", tags=["privacy"])
def get_retention(org_id: int, db: ReadDb, admin: AdminUser, p: PrincipalDep) -> RetentionOut:
    """How long closed complaints of this organisation keep personal data."""
    if not rules.can(p, "admin", org_id):
        raise NotFound("not_found.organisation", id=org_id)
    years, default = privacy_service.retention_for(db, org_id)
    return RetentionOut(org_id=org_id, years=years, default=default)


@router.put("/privacy/retention/{org_id}", tags=["privacy"])
def set_retention(
    org_id: int, body: RetentionIn, db: Db, clock: ClockDep, admin: AdminUser, p: PrincipalDep
) -> RetentionOut:
    if not rules.can(p, "admin", org_id) or db.get(Organisation, org_id) is None:
        raise NotFound("not_found.organisation", id=org_id)
    privacy_service.set_retention(db, clock, admin, org_id, body.years)
    db.commit()
    return RetentionOut(org_id=org_id, years=body.years, default=False)
