"""Users, password login and bearer tokens.

Tokens are long random strings; only their SHA-256 is stored and looked up, so checking
a request is one indexed query. The password KDF (argon2) runs only at login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from kesu.access.models import Token, User
from kesu.clock import Clock
from kesu.errors import InvalidInput, NotFound, Unauthenticated
from kesu.org import service as org_service
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack

_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("timing-equaliser")
MIN_PASSWORD = 8


def pack_for_org(session: Session, org_id: int) -> Pack:
    group = org_service.group_of(session, org_id)
    return policy_service.pack_of(session, policy_service.current(session, group.pack_key).id)


def pack_for_user(session: Session, user: User) -> Pack:
    return pack_for_org(session, user.org_id)


def add_user(
    session: Session,
    clock: Clock,
    *,
    username: str,
    display_name: str,
    role: str,
    org_id: int,
    department_id: int | None = None,
    password: str | None = None,
    phone: str | None = None,
) -> User:
    if session.scalar(select(User.id).where(User.username == username)):
        raise InvalidInput("invalid.duplicate", field="username", value=username)
    pack = pack_for_org(session, org_id)
    if pack.role(role) is None:
        allowed = ", ".join(sorted(pack.keys("roles")))
        raise InvalidInput("invalid.unknown_key", field="role", value=role, allowed=allowed)
    if department_id is not None:
        dept = org_service.get(session, department_id)
        if dept.kind != "department":
            raise InvalidInput("invalid.not_a_department", field="department_id")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput("invalid.password_short", field="password", min=MIN_PASSWORD)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        org_id=org_id,
        department_id=department_id,
        password_hash=_hasher.hash(password) if password else None,
        phone=phone,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("not_found.user", id=user_id)
    return user


def by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("not_found.user", id=username)
    return user


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session, clock: Clock, user: User, *, kind: str, name: str, hours: int | None
) -> str:
    raw = ("ks_" if kind == "api" else "kss_") + secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        Token(
            user_id=user.id,
            kind=kind,
            name=name[:100],
            token_hash=_hash(raw),
            created_at=now,
            expires_at=now + timedelta(hours=hours) if hours else None,
        )
    )
    session.flush()
    return raw


def login(session: Session, clock: Clock, username: str, password: str, hours: int) -> str:
    user = session.scalar(select(User).where(User.username == username))
    hashed = user.password_hash if user and user.password_hash else _DUMMY_HASH
    ok = _hasher.verify(password, hashed)
    if not (ok and user and user.active and user.password_hash):
        raise Unauthenticated("auth.bad_credentials")
    return issue_token(session, clock, user, kind="session", name="login", hours=hours)


def authenticate(session: Session, clock: Clock, raw: str) -> User:
    token = session.scalar(select(Token).where(Token.token_hash == _hash(raw)))
    now = clock.now()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise Unauthenticated("auth.bad_token")
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise Unauthenticated("auth.bad_token")
    return user


def revoke(session: Session, clock: Clock, raw: str) -> None:
    token = session.scalar(select(Token).where(Token.token_hash == _hash(raw)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
