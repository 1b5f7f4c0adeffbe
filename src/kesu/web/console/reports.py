"""Console pages for reports (with ECharts) and the case library, and their downloads.

Thin entry points over the same services as the API and the CLI (`kesu.report.service`,
`kesu.caselib`): parse, authorise, call, render.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kesu.access import rules
from kesu.access import service as access_service
from kesu.caselib import export as caselib_export
from kesu.caselib import queries as caselib
from kesu.caselib.rules import terms
from kesu.errors import Forbidden
from kesu.i18n import pick
from kesu.org import service as org_service
from kesu.report import service as report_service
from kesu.web.console.staff import NAV, ConsoleUser, page
from kesu.web.deps import ClockDep, ReadDb
from kesu.web.pages import page_locale

router = APIRouter(include_in_schema=False)
NAV.append(("/reports", "report.nav"))
NAV.append(("/cases", "caselib.nav"))
KINDS = ("weekly", "monthly", "annual", "range", "staff_review")
Text = Annotated[str | None, Query(max_length=40)]


def _orgs(db, user):
    """The organisations the staff member may report on: their node and what lies under it."""
    ids = set(org_service.subtree_ids(db, user.org_id))
    return [o for o in org_service.all_orgs(db) if o.id in ids]


def _build(db, clock, user, locale, kind, org, period, first, last):
    orgs = {o.code: o for o in _orgs(db, user)}
    if org and org not in orgs:
        raise Forbidden("report.out_of_scope")
    org_id = orgs[org].id if org else user.org_id
    principal = access_service.principal(db, user)
    if not rules.in_scope(principal, org_service.group_of(db, org_id).id, org_id):
        raise Forbidden("report.out_of_scope")
    now = clock.now()
    today = report_service.today_of(report_service.target(db, org_id).pack, now)
    if kind == "staff_review":
        chosen = report_service.period_for("monthly", period or None, today)
        return report_service.staff_review(db, org_id=org_id, period=chosen, locale=locale, now=now)
    chosen = report_service.period_for(kind, period or None, today, first, last)
    return report_service.build(db, org_id=org_id, period=chosen, locale=locale, now=now)


@router.get("/reports")
def reports_page(
    request: Request,
    db: ReadDb,
    clock: ClockDep,
    user: ConsoleUser,
    kind: Annotated[str, Query(max_length=20)] = "weekly",
    org: Text = None,
    period: Text = None,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """报表: pick a kind, an organisation and a period; every section as a chart and a table."""
    locale = page_locale(request)
    kind = kind if kind in KINDS else "weekly"
    if kind == "range" and (first is None or last is None):
        report = None
    else:
        report = _build(db, clock, user, locale, kind, org, period, first, last)
    query = request.url.query
    return page(
        request,
        db,
        user,
        "console/reports.html",
        {
            "kinds": KINDS,
            "kind": kind,
            "orgs": _orgs(db, user),
            "org": org or "",
            "period": period or "",
            "first": first,
            "last": last,
            "report": report,
            "charts": report.model_dump(mode="json")["sections"] if report else [],
            "query": query,
        },
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
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
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
    filters = caselib.Filters(category=category or None, level=level or None)
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
            "categories": [(c.key, pick(c.name, locale)) for c in pack.category_list()],
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
    content, media, name = caselib_export.export(
        db,
        caselib.seen_by(db, user),
        access_service.pack_for_user(db, user),
        terms(q),
        caselib.Filters(category=category or None, level=level or None),
        fmt=format,
        locale=page_locale(request),
        now=clock.now(),
    )
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
