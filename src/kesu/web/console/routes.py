"""The staff console at `/`: sign in and out, the language switch, queues, hand-over, dashboard.

Thin entry points: parse, authorise, call one service or query, commit, render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from kesu.access import service as access_service
from kesu.errors import KesuError
from kesu.i18n import LOCALES, normalise, pick, translate
from kesu.web.console import complaint, intake, printing
from kesu.web.console import queries as console_queries
from kesu.web.console.forms import category_options
from kesu.web.console.staff import ConsoleUser, page
from kesu.web.deps import ClockDep, Db, ReadDb, SettingsDep
from kesu.web.pages import (
    LANG_COOKIE,
    NEXT_MAX,
    SESSION_COOKIE,
    checked_form,
    error_message,
    local_path,
    page_locale,
    render,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
router.include_router(intake.router)
router.include_router(complaint.router)
router.include_router(printing.router)

Form = Annotated[FormData, Depends(checked_form)]


# --- signing in and out, language ----------------------------------------------------------


@router.get("/login")
def login_page(
    request: Request, next: Annotated[str, Query(max_length=NEXT_MAX)] = "/"
) -> Response:
    return render(request, "console/login.html", {"next": local_path(next)})


@router.post("/login")
def login(request: Request, db: Db, clock: ClockDep, settings: SettingsDep, form: Form) -> Response:
    username = str(form.get("username") or "").strip()[:60]
    password = str(form.get("password") or "")[:200]
    target = local_path(str(form.get("next") or "/"))
    try:
        raw = access_service.login(db, clock, username, password, settings.session_hours)
    except KesuError as exc:
        db.commit()  # whatever the login service recorded about a failed attempt stays
        context = {
            "next": target,
            "username": username,
            "error": error_message(exc, page_locale(request)),
        }
        return render(request, "console/login.html", context, status=exc.status)
    db.commit()
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, raw, settings.session_hours * 3600)
    return response


@router.post("/logout")
def logout(request: Request, db: Db, clock: ClockDep, form: Form) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        access_service.revoke(db, clock, raw)
        db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(
    request: Request,
    code: str,
    db: Db,
    clock: ClockDep,
    next: Annotated[str, Query(max_length=300)] = "/",
) -> Response:
    """The language switch: remembered in a cookie for every screen, console and portal; for a
    signed-in staff member also as the language of their messages."""
    response = RedirectResponse(local_path(next), status_code=303)
    locale = normalise(code)
    if locale in LOCALES:
        set_cookie(request, response, LANG_COOKIE, locale, 60 * 60 * 24 * 365)
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                user = access_service.authenticate(db, clock, raw)
            except KesuError:
                return response  # signed out meanwhile: the cookie is enough
            if user.locale != locale:
                access_service.set_locale(db, user, locale)
                db.commit()
    return response


# --- queues ------------------------------------------------------------------------------


def _names(db, rows):
    users = console_queries.user_names(db, {c.assignee_id for c in rows})
    return users, console_queries.org_names(db)


def _desk_title(desk: int, user, orgs: dict[int, str], locale: str) -> str:
    """The team queue's name: 本部门 for the viewer's own desk, 未分配部门 for the complaints no
    desk owns (the team queue of head-office staff, who have none), else the desk's name."""
    if desk == user.department_id:
        return translate("web.queue.team", locale)
    if desk == console_queries.NO_DESK:
        return translate("web.handover.no_desk", locale)
    return orgs.get(desk) or translate("web.queue.team", locale)


@router.get("/")
def queues(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    queue: Annotated[str, Query(max_length=20)] = "mine",
    level: Annotated[str, Query(max_length=40)] = "",
    state: Annotated[str, Query(max_length=40)] = "",
    category: Annotated[str, Query(max_length=40)] = "",
    channel: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    department: int | None = None,
) -> Response:
    pack = access_service.pack_for_user(db, user)
    name = queue if queue in console_queries.QUEUES else "mine"
    filters = console_queries.QueueFilters(
        level=level or None,
        state=state or None,
        category=category or None,
        channel=channel or None,
        text=q.strip() or None,
        department=department if name == "team" else None,
    )
    rows = console_queries.queue(db, user, pack, name, filters, clock.now())
    users, orgs = _names(db, rows)
    locale = page_locale(request)
    no_filter = console_queries.QueueFilters()
    return page(
        request,
        db,
        user,
        "console/queue.html",
        {
            "queue": name,
            "queues": console_queries.QUEUES,
            # 本部门 is the viewer's own desk; another one (from the hand-over) reads as its name
            "team_tab": _desk_title(console_queries.team_of(user, no_filter), user, orgs, locale),
            "team_title": _desk_title(console_queries.team_of(user, filters), user, orgs, locale),
            "rows": rows,
            "limit": console_queries.LIMIT,
            "users": users,
            "orgs": orgs,
            "filters": filters,
            "categories": category_options(pack, locale),
            "warns": console_queries.warnings(db, {c.id for c in rows}),
            "wrote": console_queries.customers_waiting(db, {c.id for c in rows}),
        },
        pack=pack,
    )


@router.get("/handover")
def handover(request: Request, db: ReadDb, clock: ClockDep, user: ConsoleUser) -> Response:
    """交接班: what the next shift takes over, per desk."""
    pack = access_service.pack_for_user(db, user)
    desks = console_queries.handover(db, user, clock.now(), pack.timezone)
    listed = {c.id for d in desks for c, _ in d.items or []}
    users = console_queries.user_names(db, {c.assignee_id for d in desks for c, _ in d.items or []})
    return page(
        request,
        db,
        user,
        "console/handover.html",
        {
            "desks": desks,
            "users": users,
            "orgs": console_queries.org_names(db),
            "warns": console_queries.warnings(db, listed),
            "wrote": console_queries.customers_waiting(db, listed),
        },
        pack=pack,
    )


@router.get("/dashboard")
def dashboard(request: Request, db: ReadDb, clock: ClockDep, user: ConsoleUser) -> Response:
    pack = access_service.pack_for_user(db, user)
    locale = page_locale(request)
    data = console_queries.dashboard(db, user, pack, clock.now())
    categories = dict(category_options(pack, locale))
    chart = {
        "levels": [[pick(pack.level(k).name, locale), n] for k, n in data.open_by_level],
        "satisfaction": [
            [f"{v} {pick(pack.grade(v).name, locale)}", n] for v, n in data.satisfaction
        ],
        "categories": [
            [categories.get(k, "—").strip() if k else "—", n] for k, n in data.top_categories
        ],
    }
    return page(
        request,
        db,
        user,
        "console/dashboard.html",
        {
            "data": data,
            "chart": chart,
            "weekly_title": translate(f"web.form.{printing.weekly_form(pack)}", locale),
        },
        pack=pack,
    )
