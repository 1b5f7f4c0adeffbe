"""Who sits at the console: the session cookie → the staff member, their pack, their page.

The cookie holds a session token from `access.service.login` (HttpOnly, SameSite=Lax, Secure in
production); every request resolves it with `access.service.authenticate`, so lockout, expiry
and revocation apply here exactly as on the API.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.errors import Forbidden, Unauthenticated
from kesu.health import service as health_service
from kesu.i18n import label
from kesu.policy.schema import Pack
from kesu.privacy import rules as privacy_rules
from kesu.web.deps import ClockDep, Shared, identifying
from kesu.web.pages import SESSION_COOKIE, local_time, render

NAV = [
    ("/", "web.nav.queues"),
    ("/intake", "web.nav.intake"),
    ("/handover", "web.nav.handover"),
    ("/dashboard", "web.nav.dashboard"),
]
"""The console's menu: (path, i18n key). Other capabilities append their own page here."""
NAV_NEEDS = {"/intake": "receive"}
"""Menu pages only for roles that may issue a command (the page itself refuses the others)."""


def console_user(request: Request, clock: ClockDep, session: Shared) -> User:
    """The cookie's staff member, read in the request's own session (`deps.identifying`)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise Unauthenticated("auth.required")
    with identifying(session):
        return access_service.authenticate(session, clock, raw)


ConsoleUser = Annotated[User, Depends(console_user)]


def require_command(pack: Pack, user: User, command: str) -> None:
    role = pack.role(user.role)
    if role is None or not role.may(command):
        # the page says it in words: 您的角色（事务文员）无权执行「受理登记」
        raise Forbidden(
            "forbidden.role",
            command=label(f"command.{command}"),
            role=role.name if role else user.role,
        )


def _worker_alert(request: Request, db, pack: Pack) -> tuple[str, dict[str, Any]] | None:
    """For administrators, what is wrong with the background workers (`kesu.health`), as an
    i18n key and its parameters; None while they run."""
    found = health_service.worker_status(
        db, request.app.state.clock.now(), request.app.state.settings.worker_interval_seconds
    )
    status = found["status"]
    if status == "ok":
        return None
    params: dict[str, Any] = {}
    if status == "stopped":
        params["minutes"] = found["seconds_since_last_pass"] // 60
    elif status == "failing":
        params["jobs"] = ", ".join(found["failing"])
    elif status == "behind":
        since = datetime.fromisoformat(found["oldest_unswept_due_at"])
        params["since"] = local_time(since, pack.timezone)
    elif status == "undelivered":
        params["count"] = found["undelivered"]
        params["minutes"] = health_service.minutes_since(
            found["undelivered_since"], request.app.state.clock.now()
        )
    return f"health.worker.{status}", params


def page(
    request: Request,
    db,
    user: User,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    pack: Pack | None = None,
) -> HTMLResponse:
    """A console page: the staff member, their role and their pack's time zone in context."""
    pack = pack or access_service.pack_for_user(db, user)
    role = pack.role(user.role)
    principal = functools.cache(lambda: access_service.principal(db, user))

    def title_of(c) -> str:
        """A complaint's title in a list: numbers and e-mails in it masked unless the viewer
        may see its complainant's personal data (as the API's lists)."""
        plain = rules.can(principal(), "unmask", access_service.view_of(c))
        return c.title if plain else privacy_rules.mask_text(c.title)

    ctx = {
        "user": user,
        "title_of": title_of,
        "pack": pack,
        "role_name": role.name if role else {"zh_Hans": user.role},
        "tz": pack.timezone,
        "nav": [
            (path, key)
            for path, key in NAV
            if path not in NAV_NEEDS or (role is not None and role.may(NAV_NEEDS[path]))
        ],
        "worker_alert": _worker_alert(request, db, pack) if role and role.admin else None,
    }
    ctx.update(context or {})
    return render(request, name, ctx, status=status)
