"""Console pages for reports (with ECharts) and the case library, and their downloads.

Thin entry points over the same services as the API and the CLI (`kesu.report.service`,
`kesu.caselib`): parse, authorise, call, render.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BeforeValidator
from starlette.datastructures import FormData

from kesu.access import rules
from kesu.access import service as access_service
from kesu.caselib import export as caselib_export
from kesu.caselib import queries as caselib
from kesu.caselib.rules import terms
from kesu.complaint import lifecycle
from kesu.complaint import queries as complaint_queries
from kesu.errors import Forbidden, InvalidInput
from kesu.i18n import pick
from kesu.improvement import rules as improvement_rules
from kesu.org import service as org_service
from kesu.report import register as register_export
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from kesu.report import snapshots
from kesu.web.console.forms import category_options
from kesu.web.console.staff import NAV, ConsoleUser, page
from kesu.web.deps import ClockDep, Db, ReadDb
from kesu.web.pages import attachment, checked_form, error_message, page_locale

router = APIRouter(include_in_schema=False)
NAV.append(("/reports", "report.nav"))
NAV.append(("/cases", "caselib.nav"))
NAV.append(("/register", "register.nav"))
KINDS = ("weekly", "monthly", "annual", "range", "staff_review")
Text = Annotated[str | None, Query(max_length=40)]
# a form's empty date box is sent as "from=": no date, not a wrong one
Day = Annotated[date | None, BeforeValidator(lambda value: value or None)]
Form = Annotated[FormData, Depends(checked_form)]


def _orgs(db, user):
    """The organisations the staff member may report on: their node and what lies under it."""
    ids = set(org_service.subtree_ids(db, user.org_id))
    return [o for o in org_service.all_orgs(db) if o.id in ids]


def _resolve(db, clock, user, kind, org, period, first, last):
    """(scope organisation id, period) of a report request the user may see."""
    orgs = {o.code: o for o in _orgs(db, user)}
    if org and org not in orgs:
        raise Forbidden("report.out_of_scope")
    org_id = orgs[org].id if org else user.org_id
    principal = access_service.principal(db, user)
    if not rules.in_scope(principal, org_service.group_of(db, org_id).id, org_id):
        raise Forbidden("report.out_of_scope")
    pack = report_service.target(db, org_id).pack
    today = report_service.today_of(pack, clock.now())
    if kind == "staff_review":
        if not report_rules.reads_staff_review(pack, user.role):
            raise Forbidden("report.staff_review_readers")
        return org_id, report_service.period_for("monthly", period or None, today)
    return org_id, report_service.period_for(kind, period or None, today, first, last)


def _build(db, clock, user, locale, kind, org, period, first, last):
    org_id, chosen = _resolve(db, clock, user, kind, org, period, first, last)
    built = snapshots.make(db, snapshots.Key(kind, org_id, chosen, locale), clock.now())
    return report_service.for_viewer(db, built, user.id)


@router.get("/reports")
def reports_page(
    request: Request,
    read: ReadDb,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    kind: Annotated[str, Query(max_length=20)] = "weekly",
    org: Text = None,
    period: Text = None,
    first: Annotated[Day, Query(alias="from")] = None,
    last: Annotated[Day, Query(alias="to")] = None,
) -> Response:
    """报表: pick a kind, an organisation and a period; every section as a chart and a table.
    The report shown is the stored snapshot (kesu.report.snapshots), built now only if the
    period has none yet: built reading, then stored in a short write."""
    locale = page_locale(request)
    kind = kind if kind in KINDS else "weekly"
    shown = None
    if not (kind == "range" and (first is None or last is None)):
        try:
            org_id, chosen = _resolve(read, clock, user, kind, org, period, first, last)
        except InvalidInput as exc:  # a mistyped period: the form as typed, to correct
            error = error_message(exc, locale)
            return _page(request, read, user, kind, org, period, first, last, None, error, 422)
        key = snapshots.Key(kind, org_id, chosen, locale)
        shown, built = snapshots.shown(read, db, key, clock.now())
        if built:
            db.commit()
    return _page(request, read, user, kind, org, period, first, last, shown)


@router.post("/reports/rebuild")
def reports_rebuild(
    request: Request,
    read: ReadDb,
    db: Db,
    clock: ClockDep,
    user: ConsoleUser,
    form: Form,
) -> Response:
    """重新生成: build the report of the page now (reading) and store it, then show the page
    again."""
    kind = str(form.get("kind") or "weekly")
    kind = kind if kind in KINDS else "weekly"
    org = str(form.get("org") or "")[:40] or None
    period = str(form.get("period") or "")[:40] or None
    first = _date(form.get("from"))
    last = _date(form.get("to"))
    if kind == "range" and (first is None or last is None):
        raise InvalidInput("report.range_needs_dates", field="from")
    org_id, chosen = _resolve(read, clock, user, kind, org, period, first, last)
    key = snapshots.Key(kind, org_id, chosen, page_locale(request))
    now = clock.now()
    snapshots.store(db, key, snapshots.make(read, key, now), now)
    db.commit()
    query = {"kind": kind, "org": org, "period": period, "from": first, "to": last}
    target = "/reports?" + urlencode({k: v for k, v in query.items() if v})
    return RedirectResponse(target, status_code=303)


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError as exc:
        raise InvalidInput("report.range_needs_dates", field="from") from exc


def _page(
    request, db, user, kind, org, period, first, last, shown, error=None, status=200
) -> Response:
    report = report_service.for_viewer(db, shown.report, user.id) if shown else None
    built_at = None
    if shown:
        zone = ZoneInfo(report.timezone)
        built_at = shown.built_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    pack = access_service.pack_for_user(db, user)
    orgs = _orgs(db, user)
    names = {o.id: o.name for o in orgs}  # a delivery the viewer sees is of their subtree
    sent = [
        (d, names.get(d.scope_org_id, ""))
        for d in report_service.deliveries(db, access_service.principal(db, user))
    ]
    return page(
        request,
        db,
        user,
        "console/reports.html",
        {
            "sent": sent,
            "tz": pack.timezone,
            "kinds": [
                k
                for k in KINDS
                if k != "staff_review" or report_rules.reads_staff_review(pack, user.role)
            ],
            "kind": kind,
            "orgs": orgs,
            "org": org or "",
            "period": period or "",
            "first": first,
            "last": last,
            "report": report,
            "built_at": built_at,
            "charts": report.model_dump(mode="json")["sections"] if report else [],
            "query": request.url.query,
            # a Pareto bar opens a corrective action: offered to those who may open one
            "improvement_manager": user.role in improvement_rules.managers(pack),
            "error": error,
        },
        status=status,
    )


@router.get("/reports/download")
def report_download(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    kind: Annotated[str, Query(max_length=20)] = "weekly",
    org: Text = None,
    period: Text = None,
    first: Annotated[Day, Query(alias="from")] = None,
    last: Annotated[Day, Query(alias="to")] = None,
    format: Annotated[str, Query(pattern="^(xlsx|pdf|csv)$")] = "xlsx",
) -> Response:
    report = _build(
        db,
        clock,
        user,
        page_locale(request),
        kind if kind in KINDS else "weekly",
        org,
        period,
        first,
        last,
    )
    content, media, name = report_service.render(report, format)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/cases")
def cases_page(
    request: Request,
    db: ReadDb,
    user: ConsoleUser,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Text = None,
    level: Text = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """投诉案例库: closed cases by any words, personal data removed."""
    pack = access_service.pack_for_user(db, user)
    filters = caselib.Filters(category=category or None, level=level or None).under(pack)
    found, nxt = caselib.search(
        db, caselib.seen_by(db, user), terms(q), filters, limit=30, cursor=cursor
    )
    names = caselib.complainant_names(db, found)
    locale = page_locale(request)
    return page(
        request,
        db,
        user,
        "console/cases.html",
        {
            "q": q,
            "category": category or "",
            "level": level or "",
            "cases": [caselib.as_case(c, names) for c in found],
            "next_cursor": nxt,
            "categories": category_options(pack, locale),  # indented under their parents
            "levels": [(lv.key, pick(lv.name, locale)) for lv in pack.levels],
            "names": {
                **{c.key: pick(c.name, locale) for c in pack.category_list()},
                **{lv.key: pick(lv.name, locale) for lv in pack.levels},
            },
            "query": request.url.query,
        },
        pack=pack,
    )


@router.get("/cases/export")
def cases_export(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Text = None,
    level: Text = None,
    format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
) -> Response:
    pack = access_service.pack_for_user(db, user)
    content, media, name = caselib_export.export(
        db,
        caselib.seen_by(db, user),
        pack,
        terms(q),
        caselib.Filters(category=category or None, level=level or None).under(pack),
        fmt=format,
        locale=page_locale(request),
        now=clock.now(),
    )
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- 投诉台账 (the register download) -----------------------------------------------------------


@router.get("/register")
def register_page(request: Request, db: ReadDb, clock: ClockDep, user: ConsoleUser) -> Response:
    """台账: pick the received dates (this month so far by default) and filters, download the
    complaints as Excel or CSV."""
    pack = access_service.pack_for_user(db, user)
    today = clock.now().astimezone(ZoneInfo(pack.timezone)).date()
    return page(
        request,
        db,
        user,
        "console/register.html",
        {
            "first": today.replace(day=1).isoformat(),
            "last": today.isoformat(),
            "sites": [o for o in _orgs(db, user) if o.kind == "site"],
            "states": lifecycle.STATES,
            "categories": category_options(pack, page_locale(request)),
            "limit": register_export.LIMIT,
        },
        pack=pack,
    )


@router.get("/register/download")
def register_download(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    format: Annotated[str, Query(max_length=10)] = "xlsx",
    site: Annotated[str, Query(max_length=20)] = "",
    level: Text = None,
    state: Text = None,
    category: Text = None,
    channel: Text = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The register for the dates (both included, in the pack's time zone) and filters."""
    if last < first:
        raise InvalidInput("register.invalid_range", field="received_to")
    zone = ZoneInfo(access_service.pack_for_user(db, user).timezone)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    filters = complaint_queries.Filters(
        state=state or None,
        level=level or None,
        category=category or None,
        site_id=int(site) if site.isdigit() else None,
        channel=channel or None,
        received_from=start,
        received_to=end,
        text=q.strip() or None,
    )
    locale = page_locale(request)
    content, media, name = register_export.download(db, user, filters, locale, format, clock.now())
    return attachment(content, media, name)
