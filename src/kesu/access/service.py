"""Users, password login with lockout, bearer tokens (sessions and scoped API tokens).

Tokens are long random strings; only their SHA-256 is stored and looked up, so checking
a request is one indexed query. The password KDF (argon2) runs only at login and password
change. Every change to users, roles and API tokens goes on the configuration trail.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kesu.access import rules, throttle
from kesu.access.models import Token, User
from kesu.audit import service as audit
from kesu.clock import Clock
from kesu.complaint.models import Complaint
from kesu.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from kesu.i18n import LOCALES
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack

_hasher = PasswordHash.recommended()


@functools.cache
def _dummy_hash() -> str:
    """What an unknown username is verified against, so it costs a login the same time.
    Hashed on first use, not at import (argon2 takes tens of milliseconds)."""
    return _hasher.hash("timing-equaliser")


def pack_for_org(session: Session, org_id: int) -> Pack:
    group = org_service.group_of(session, org_id)
    return policy_service.pack_of(session, policy_service.current(session, group.pack_key).id)


def pack_for_user(session: Session, user: User) -> Pack:
    return pack_for_org(session, user.org_id)


def principal(session: Session, user: User, token_scope: str = "full") -> rules.Principal:
    """The user as `rules.can` sees them: pack role, group, the org ids their node covers."""
    group = org_service.group_of(session, user.org_id)
    pack = pack_for_org(session, group.id)
    scope = None
    if user.org_id != group.id:
        scope = frozenset(org_service.subtree_ids(session, user.org_id))
    return rules.Principal(
        user_id=user.id,
        role=pack.role(user.role),
        group_id=group.id,
        scope_ids=scope,
        token_scope=token_scope,
        active=user.active,
        group_ids=frozenset(org_service.subtree_ids(session, group.id)),
    )


def org_named(session: Session, p: rules.Principal, code: str) -> Organisation:
    """The organisation of the caller's group with this code (HX, SH-NJ). Another group's is
    not found, like a code nobody uses: a caller never learns which codes other groups have."""
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None or org_service.group_of(session, org.id).id != p.group_id:
        raise NotFound("not_found.organisation", id=code)
    return org


def view_of(c: Complaint) -> rules.ComplaintView:
    """What `rules.can` reads of a complaint."""
    return rules.ComplaintView(
        org_id=c.org_id,
        site_id=c.site_id,
        department_id=c.department_id,
        staff_complained_id=c.staff_complained_id,
        assignee_id=c.assignee_id,
        received_by_id=c.received_by_id,
    )


def require(
    session: Session, user: User, action: str, target: rules.ComplaintView | int | None = None
) -> None:
    """`rules.require` for a signed-in staff member (a console session: full scope)."""
    rules.require(principal(session, user), action, target)


def may(
    session: Session, user: User, action: str, target: rules.ComplaintView | int | None = None
) -> bool:
    """`rules.can` for a signed-in staff member (a console session: full scope)."""
    return rules.can(principal(session, user), action, target)


def _check_password(password: str, username: str, field: str = "password") -> None:
    problem = rules.password_problem(password, username)
    if problem:
        raise InvalidInput(problem, field=field, min=rules.MIN_PASSWORD, max=rules.MAX_PASSWORD)


def _check_placement(
    session: Session, pack: Pack, role: str, org_id: int, department_id: int | None
) -> None:
    if pack.role(role) is None:
        allowed = ", ".join(sorted(pack.keys("roles")))
        raise InvalidInput("invalid.unknown_key", field="role", value=role, allowed=allowed)
    org = org_service.get(session, org_id)
    if org.kind == "department":
        raise InvalidInput("invalid.scope_is_department", field="org_id")
    if department_id is not None:
        dept = org_service.get(session, department_id)
        if dept.kind != "department":
            raise InvalidInput("invalid.not_a_department", field="department_id")
        if org_service.group_of(session, dept.id).id != org_service.group_of(session, org_id).id:
            raise InvalidInput("invalid.department_other_group", field="department_id")


USERNAME = re.compile(r"[A-Za-z0-9_.\-]{2,60}")
"""A sign-in name: what people type and the record shows (wangxl, store.01)."""


def _display_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise InvalidInput("invalid.required", field="display_name")
    if len(name) > 100:
        raise InvalidInput("invalid.text_too_long", field="display_name", max=100)
    return name


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
    locale: str | None = None,
    by: User | None = None,
) -> User:
    """A staff member; `org_id` is their scope node (group = head office, region, site);
    `locale`: the language of their messages (until they switch the console's)."""
    if not USERNAME.fullmatch(username):
        raise InvalidInput("invalid.username", field="username", value=username)
    display_name = _display_name(display_name)
    if session.scalar(select(User.id).where(User.username == username)):
        raise InvalidInput("invalid.duplicate", field="username", value=username)
    _check_placement(session, pack_for_org(session, org_id), role, org_id, department_id)
    if password is not None:
        _check_password(password, username)
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
    if locale is not None:
        set_locale(session, user, locale)
    session.add(user)
    session.flush()
    audit.record_config(
        session,
        clock,
        by,
        "user.add",
        "user",
        user.id,
        {"username": username, "role": role, "org_id": org_id, "department_id": department_id},
    )
    return user


EDITABLE = ("display_name", "role", "org_id", "department_id", "locale")


def update_user(session: Session, clock: Clock, by: User | None, user: User, **changes) -> User:
    """Change a user's name, role, scope node, department or message language (the trail keeps
    before/after)."""
    if changes.get("display_name") is not None:
        changes["display_name"] = _display_name(changes["display_name"])
    if "locale" in changes and changes["locale"] not in LOCALES:
        raise InvalidInput(
            "invalid.not_one_of",
            field="locale",
            value=changes["locale"],
            allowed=", ".join(LOCALES),
        )
    changes = {k: v for k, v in changes.items() if k in EDITABLE and v != getattr(user, k)}
    if not changes:
        return user
    after = {k: changes.get(k, getattr(user, k)) for k in EDITABLE}
    pack = pack_for_org(session, after["org_id"])
    if (
        org_service.group_of(session, after["org_id"]).id
        != org_service.group_of(session, user.org_id).id
    ):
        raise InvalidInput("invalid.other_group", field="org_id")
    _check_placement(session, pack, after["role"], after["org_id"], after["department_id"])
    before = {k: getattr(user, k) for k in changes}
    for k, v in changes.items():
        setattr(user, k, v)
    session.flush()
    action = "user.role" if "role" in changes else "user.update"
    audit.record_config(
        session, clock, by, action, "user", user.id, {"before": before, "after": changes}
    )
    return user


def set_active(session: Session, clock: Clock, by: User | None, user: User, active: bool) -> User:
    """Deactivate (every token revoked; history kept: events still name them) or reactivate."""
    if user.active == active:
        return user
    user.active = active
    if not active:
        _revoke_where(session, clock, Token.user_id == user.id)
    session.flush()
    audit.record_config(
        session, clock, by, "user.activate" if active else "user.deactivate", "user", user.id
    )
    return user


def set_locale(session: Session, user: User, locale: str) -> User:
    """The language a staff member reads: their messages (e-mail, notifications) use it."""
    if locale not in LOCALES:
        raise InvalidInput(
            "invalid.not_one_of", field="locale", value=locale, allowed=", ".join(LOCALES)
        )
    user.locale = locale
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


# --- passwords ------------------------------------------------------------------------------


def _keys_for(username: str, client: str | None) -> list[str]:
    keys = [f"login-user:{username.lower()[:60]}"]
    if client:
        keys.append(f"login-ip:{client[:64]}")
    return keys


def login(
    session: Session,
    clock: Clock,
    username: str,
    password: str,
    hours: int,
    *,
    client: str | None = None,
) -> str:
    """A session token, or Unauthenticated / TooManyAttempts.

    Failures count per username (whether or not it exists, so a lockout reveals nothing) and
    per client address; past the limit the key is locked with a doubling wait. The caller
    commits after a failure too, so the count holds across processes.
    """
    now = clock.now()
    keys = _keys_for(username, client)
    throttle.refuse_if_locked(session, now, *keys)
    user = session.scalar(select(User).where(User.username == username))
    hashed = user.password_hash if user and user.password_hash else _dummy_hash()
    ok = _hasher.verify(password, hashed)
    if not (ok and user and user.active and user.password_hash):
        throttle.fail(session, clock, keys[0], rules.LOGIN_PER_USER)
        if client:
            throttle.fail(session, clock, keys[1], rules.LOGIN_PER_IP)
        raise Unauthenticated("auth.bad_credentials")
    throttle.clear(session, keys[0])
    return issue_token(session, clock, user, kind="session", name="login", hours=hours)


def change_password(
    session: Session,
    clock: Clock,
    user: User,
    current: str,
    new: str,
    *,
    keep_token: str | None = None,
) -> int:
    """The user's own change: the current password is checked (and counted like a login);
    every other session ends. Returns how many sessions were ended."""
    now = clock.now()
    key = _keys_for(user.username, None)[0]
    throttle.refuse_if_locked(session, now, key)
    if not (user.password_hash and _hasher.verify(current, user.password_hash)):
        throttle.fail(session, clock, key, rules.LOGIN_PER_USER)
        raise InvalidInput("invalid.current_password", field="current_password")
    _check_password(new, user.username, "new_password")
    user.password_hash = _hasher.hash(new)
    condition = (Token.user_id == user.id) & (Token.kind == "session")
    if keep_token:
        condition &= Token.token_hash != _hash(keep_token)
    ended = _revoke_where(session, clock, condition)
    session.flush()
    audit.record_config(session, clock, user, "user.password", "user", user.id)
    return ended


def reset_password(session: Session, clock: Clock, by: User | None, user: User, new: str) -> None:
    """An administrator sets a new password: every session of the user ends, lockout lifted."""
    _check_password(new, user.username)
    user.password_hash = _hasher.hash(new)
    _revoke_where(session, clock, (Token.user_id == user.id) & (Token.kind == "session"))
    throttle.clear(session, _keys_for(user.username, None)[0])
    session.flush()
    audit.record_config(session, clock, by, "user.password_reset", "user", user.id)


def unlock(session: Session, clock: Clock, by: User | None, user: User) -> None:
    throttle.clear(session, _keys_for(user.username, None)[0])
    audit.record_config(session, clock, by, "user.unlock", "user", user.id)


# --- tokens ---------------------------------------------------------------------------------


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session,
    clock: Clock,
    user: User,
    *,
    kind: str,
    name: str,
    hours: int | None,
    scope: str = "full",
) -> str:
    """A new bearer token (shown once). API tokens carry a scope and go on the trail."""
    if not user.active:  # it would not work now, and would wake up on reactivation
        raise Forbidden("forbidden.inactive")
    if scope not in rules.SCOPES:
        raise InvalidInput(
            "invalid.not_one_of", field="scope", value=scope, allowed=", ".join(rules.SCOPES)
        )
    name = name.strip()
    if kind == "api" and not name:  # the list of tokens, and the trail, tell them apart by it
        raise InvalidInput("invalid.required", field="name")
    if len(name) > 100:
        raise InvalidInput("invalid.text_too_long", field="name", max=100)
    raw = ("ks_" if kind == "api" else "kss_") + secrets.token_urlsafe(32)
    now = clock.now()
    token = Token(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=_hash(raw),
        scope=scope if kind == "api" else "full",
        created_at=now,
        expires_at=now + timedelta(hours=hours) if hours else None,
    )
    session.add(token)
    session.flush()
    if kind == "api":
        audit.record_config(
            session,
            clock,
            user,
            "token.issue",
            "token",
            token.id,
            {"user_id": user.id, "name": token.name, "scope": scope, "hours": hours},
        )
    return raw


def token_of(session: Session, raw: str) -> Token | None:
    return session.scalar(select(Token).where(Token.token_hash == _hash(raw)))


def authenticate_token(session: Session, clock: Clock, raw: str) -> tuple[User, Token]:
    token = token_of(session, raw)
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
    return user, token


def authenticate(session: Session, clock: Clock, raw: str) -> User:
    """The staff member of a console session cookie: a login session only. An API token carries
    a scope (read, intake) that the console's forms do not check, so it is refused here."""
    user, token = authenticate_token(session, clock, raw)
    if token.kind != "session":
        raise Unauthenticated("auth.bad_token")
    return user


def revoke(session: Session, clock: Clock, raw: str) -> None:
    """Sign out: the token this request carries stops working (an API token signing itself
    out goes on the configuration trail like any revoked API token)."""
    token = token_of(session, raw)
    if token is not None and token.revoked_at is None:
        revoke_token(session, clock, session.get(User, token.user_id), token)


def revoke_token(session: Session, clock: Clock, by: User, token: Token) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
        if token.kind == "api":
            audit.record_config(
                session, clock, by, "token.revoke", "token", token.id, {"user_id": token.user_id}
            )


def revoke_all(
    session: Session, clock: Clock, by: User | None, user: User, *, api_tokens: bool
) -> int:
    """End every session of `user` (and revoke their API tokens too when asked)."""
    condition = Token.user_id == user.id
    if not api_tokens:
        condition &= Token.kind == "session"
    count = _revoke_where(session, clock, condition)
    audit.record_config(
        session,
        clock,
        by,
        "token.revoke_all",
        "user",
        user.id,
        {"count": count, "api_tokens": api_tokens},
    )
    return count


def _revoke_where(session: Session, clock: Clock, condition) -> int:
    result = session.execute(
        update(Token)
        .where(condition, Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
