"""Who may do what (pure): the one authorisation rule for the API, console, portal and CLI.

`can(principal, action, target)` combines four things:
  * the token's scope (read < intake < full; a login session is full),
  * the pack role's permissions (admin flag, `receive`, `personal_data`),
  * the organisation scope: a user's `org_id` is their node — head office (the group) sees
    the whole group, a region its sites, a site itself; a department node sees complaints
    routed to it,
  * recusal (回避): the staff member complained about sees nothing of that complaint.
Lifecycle commands are decided by `kesu.complaint.lifecycle` (role, tier, state, recusal);
here `command` only says whether the complaint is within reach at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from kesu.errors import Forbidden
from kesu.i18n import label
from kesu.policy.schema import Role

SCOPES = ("read", "intake", "full")
"""API token scopes, weakest first: read; intake (read + register complaints and evidence);
full (everything the user may do)."""

ACTIONS: dict[str, str] = {
    "view": "read",  # a complaint in a list, a search result, its detail, a report row
    "export": "read",  # a complaint's row in an export (masked unless `unmask` too)
    "unmask": "full",  # its complainant's phone, address and ID numbers unmasked
    "receive": "intake",  # register a complaint at a site
    "attach_evidence": "intake",
    "command": "full",  # reach the complaint with a lifecycle command (the engine decides)
    "account": "full",  # own password, own API tokens, own sessions
    "admin": "full",  # users, roles, tokens of others, organisations, retention, privacy, audit
}


@dataclass(frozen=True)
class Principal:
    """The caller as the rules see them: built once per request from the user and token."""

    user_id: int
    role: Role | None
    group_id: int
    scope_ids: frozenset[int] | None
    """organisation ids the user's node covers; None at head office (the whole group)"""
    token_scope: str = "full"
    active: bool = True
    group_ids: frozenset[int] = frozenset()
    """every organisation id of the user's group: what head office administers"""


@dataclass(frozen=True)
class ComplaintView:
    """What the rules read of a complaint (or of a complaint about to be registered)."""

    org_id: int
    site_id: int | None = None
    department_id: int | None = None
    staff_complained_id: int | None = None
    assignee_id: int | None = None
    received_by_id: int | None = None


def in_scope(p: Principal, group_id: int, *org_ids: int | None) -> bool:
    if group_id != p.group_id:
        return False
    if p.scope_ids is None:
        return True
    return any(o is not None and o in p.scope_ids for o in org_ids)


def _reason(p: Principal, action: str, target: ComplaintView | int | None) -> str | None:
    """None when allowed, else the i18n key of the first rule that refuses."""
    needed = ACTIONS.get(action)
    if needed is None:
        raise ValueError(f"unknown action {action!r}")
    if not p.active:
        return "forbidden.inactive"
    if p.token_scope not in SCOPES or SCOPES.index(p.token_scope) < SCOPES.index(needed):
        return "forbidden.token_scope"
    role = p.role
    if action == "account":
        return None
    if action == "admin":
        if role is None or not role.admin:
            return "forbidden.admin_only"
        if isinstance(target, int) and target not in (
            p.group_ids if p.scope_ids is None else p.scope_ids
        ):
            return "forbidden.scope"  # an organisation outside the node, or of another group
        return None
    if not isinstance(target, ComplaintView):
        raise ValueError(f"{action!r} needs a ComplaintView")
    if not in_scope(p, target.org_id, target.site_id, target.department_id):
        return "forbidden.scope"
    if target.staff_complained_id is not None and target.staff_complained_id == p.user_id:
        return "forbidden.recused"
    if action == "receive":
        return None if role is not None and role.may("receive") else "forbidden.receive"
    if action == "attach_evidence":
        handles = role is not None and (role.tier is not None or role.may("receive"))
        return None if handles else "forbidden.evidence"
    if action == "unmask":
        mine = p.user_id in (target.assignee_id, target.received_by_id)
        if role is None or role.personal_data == "none":
            return "forbidden.personal_data"
        if role.personal_data == "assigned" and not mine:
            return "forbidden.personal_data"
    return None


def can(p: Principal, action: str, target: ComplaintView | int | None = None) -> bool:
    """May `p` do `action` on `target` (a complaint view, or an organisation id for admin)?"""
    return _reason(p, action, target) is None


def require(p: Principal, action: str, target: ComplaintView | int | None = None) -> None:
    """`can`, raising Forbidden with the key of the rule that refuses."""
    reason = _reason(p, action, target)
    if reason is not None:  # the action in the reader's words, not its key ("account")
        raise Forbidden(reason, action=label(f"access.action.{action}"))


# --- accounts -------------------------------------------------------------------------------

MIN_PASSWORD = 8
MAX_PASSWORD = 200
COMMON_PASSWORDS = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "11111111",
        "88888888",
        "66666666",
        "password",
        "password1",
        "qwerty123",
        "1qaz2wsx",
        "abc12345",
        "iloveyou",
        "woaini1314",
    }
)
"""The most common passwords in Chinese and international leak lists (refused outright)."""


def password_problem(password: str, username: str) -> str | None:
    """The i18n key of the first rule a new password breaks, or None."""
    if len(password) < MIN_PASSWORD:
        return "invalid.password_short"
    if len(password) > MAX_PASSWORD:
        return "invalid.password_long"
    if password.lower() == username.lower() or password.lower() in COMMON_PASSWORDS:
        return "invalid.password_guessable"
    if len(set(password)) < 4:
        return "invalid.password_guessable"
    return None


@dataclass(frozen=True)
class Limit:
    """At most `attempts` in `window_seconds`. Login failures past that lock the key with a
    doubling backoff; a plain rate limit refuses until the window ends."""

    attempts: int
    window_seconds: int
    base_lock_seconds: int = 60
    max_lock_seconds: int = 3600


LOGIN_PER_USER = Limit(attempts=5, window_seconds=900)
LOGIN_PER_IP = Limit(attempts=30, window_seconds=900)
PORTAL_PER_IP = Limit(attempts=60, window_seconds=600)
"""Portal look-ups and submissions per client address (the portal calls `throttle.hit`)."""


def lock_seconds(limit: Limit, count: int) -> int:
    """0 while within the limit; then base, 2×base, 4×base … capped (one more failure each)."""
    over = count - limit.attempts
    if over < 0:
        return 0
    return min(limit.base_lock_seconds * 2 ** min(over, 20), limit.max_lock_seconds)
