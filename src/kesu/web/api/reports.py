"""Reports, the case library and ledger import over HTTP (under /api/v1): thin endpoints that
authorise, call the one service for the use case, commit when they write, and render."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, computed_field

from kesu.access import rules
from kesu.access import service as access_service
from kesu.caselib import export as caselib_export
from kesu.caselib import queries as caselib
from kesu.caselib.rules import terms
from kesu.errors import Forbidden, InvalidInput, NotFound
from kesu.ledger import service as ledger_service
from kesu.org import service as org_service
from kesu.report import register as register_export
from kesu.report import rules as report_rules
from kesu.report import service as report_service
from kesu.report.models import ReportDelivery
from kesu.report.schemas import Report
from kesu.web.deps import (
    ActorDep,
    ClockDep,
    CurrentUser,
    Db,
    ListFilters,
    Locale,
    PrincipalDep,
    ReadDb,
    SettingsDep,
)
from kesu.web.pages import attachment

router = APIRouter()
Kind = Literal["weekly", "monthly", "annual", "range", "staff_review"]
Format = Literal["json", "xlsx", "pdf", "csv"]


def _scope_org(db, user, principal: rules.Principal, org: str | None) -> int:
    """The organisation a report is about: the one named (by code) if the caller's node covers
    it, else the caller's own node."""
    if org is None:
        return user.org_id
    found = access_service.org_named(db, principal, org)
    if not rules.in_scope(principal, principal.group_id, found.id):
        raise Forbidden("report.out_of_scope")
    return found.id


@router.get("/register", tags=["reports"], response_class=Response)
def register(
    db: ReadDb,
    clock: ClockDep,
    user: CurrentUser,
    locale: Locale,
    filters: ListFilters,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """投诉台账: the complaints `GET /complaints` lists for these filters, all of them (at most
    100,000), one row each, as XLSX or CSV; without the complainant's name and phone."""
    content, media, name = register_export.download(db, user, filters, locale, format, clock.now())
    return attachment(content, media, name)


class DeliveryOut(BaseModel):
    id: int
    schedule_key: str
    kind: str
    period: str
    scope_org_id: int
    filename: str
    recipients: int
    created_at: datetime

    @computed_field
    def file_url(self) -> str:
        return f"/api/v1/reports/deliveries/{self.id}/file"


@router.get("/reports/deliveries", tags=["reports"])
def delivery_list(
    db: ReadDb,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    """The scheduled reports sent (newest first) that the caller's scope covers, each with the
    link to the file as it was sent."""
    return [
        DeliveryOut.model_validate(d, from_attributes=True)
        for d in report_service.deliveries(db, principal, limit)
    ]


@router.get("/reports/{kind}", tags=["reports"], response_model=None)
def report(
    kind: Kind,
    db: ReadDb,
    clock: ClockDep,
    user: CurrentUser,
    principal: PrincipalDep,
    locale: Locale,
    org: Annotated[str | None, Query(max_length=40, description="organisation code")] = None,
    period: Annotated[str | None, Query(max_length=20, examples=["2026-W47"])] = None,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    format: Format = "json",
) -> Report | Response:
    """A report of an organisation (default: the caller's) for a period (default: the last
    complete one); `format` json (the figures) or a file: xlsx, pdf, csv."""
    org_id = _scope_org(db, user, principal, org)
    now = clock.now()
    pack = report_service.target(db, org_id).pack
    today = report_service.today_of(pack, now)
    if kind == "staff_review":
        if not report_rules.reads_staff_review(pack, user.role):
            raise Forbidden("report.staff_review_readers")
        chosen = report_service.period_for("monthly", period, today)
        built = report_service.staff_review(
            db, org_id=org_id, period=chosen, locale=locale, now=now
        )
    else:
        chosen = report_service.period_for(kind, period, today, first, last)
        built = report_service.build(db, org_id=org_id, period=chosen, locale=locale, now=now)
    built = report_service.for_viewer(db, built, user.id)
    if format == "json":
        return built
    return attachment(*report_service.render(built, format))


class VolumeIn(BaseModel):
    org: str = Field(max_length=40, description="organisation code")
    first_day: date
    last_day: date
    orders: int | None = Field(None, ge=0)
    visits: int | None = Field(None, ge=0)


@router.put("/reports/volume", status_code=204, tags=["reports"])
def record_volume(
    body: VolumeIn, db: Db, clock: ClockDep, user: CurrentUser, principal: PrincipalDep
) -> None:
    """Orders/visits of an organisation over some days (for complaints per 10,000)."""
    rules.require(principal, "admin")
    org_id = _scope_org(db, user, principal, body.org)
    report_service.record_volume(
        db,
        clock,
        org_id=org_id,
        first_day=body.first_day,
        last_day=body.last_day,
        orders=body.orders,
        visits=body.visits,
    )
    db.commit()


@router.get("/reports/deliveries/{delivery_id}/file", tags=["reports"])
def delivery_file(
    delivery_id: int, db: ReadDb, user: CurrentUser, principal: PrincipalDep
) -> Response:
    """A scheduled report as it was sent, without the complaints about the reader (回避)."""
    row = db.get(ReportDelivery, delivery_id)
    if row is None or not rules.in_scope(principal, row.org_id, row.scope_org_id):
        raise NotFound("report.no_delivery", id=delivery_id)
    return attachment(*report_service.delivered(db, row, user.id))


# --- the case library ----------------------------------------------------------------------------


class CaseOut(BaseModel):
    id: int
    number: str
    title: str
    description: str
    category: str | None
    level: str
    channel: str
    site_id: int | None
    received_at: datetime
    closed_at: datetime
    findings: str
    root_causes: list[str]
    founded: bool | None
    solution_type: str | None
    solution: str
    amount: str | None
    satisfaction: int | None
    imported: bool


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


def _case_filters(pack, category, level, site_id, closed_from, closed_to, founded):
    """A category stands for itself and the categories under it."""
    return caselib.Filters(
        category=category,
        level=level,
        site_id=site_id,
        closed_from=closed_from,
        closed_to=closed_to,
        founded=founded,
    ).under(pack)


@router.get("/cases", tags=["cases"])
def search_cases(
    db: ReadDb,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200, description="words, any Chinese substring")] = "",
    category: Annotated[str | None, Query(max_length=40)] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    site_id: int | None = None,
    closed_from: AwareDatetime | None = None,
    closed_to: AwareDatetime | None = None,
    founded: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CasePage:
    """The case library (投诉案例库): closed cases with every word, personal data removed."""
    pack = access_service.pack_for_user(db, user)
    filters = _case_filters(pack, category, level, site_id, closed_from, closed_to, founded)
    found, nxt = caselib.search(
        db, caselib.seen_by(db, user), terms(q), filters, limit=limit, cursor=cursor
    )
    names = caselib.complainant_names(db, found)
    return CasePage(items=[CaseOut(**caselib.as_case(c, names)) for c in found], next_cursor=nxt)


@router.get("/cases/export", tags=["cases"])
def export_cases(
    db: ReadDb,
    clock: ClockDep,
    user: CurrentUser,
    principal: PrincipalDep,
    locale: Locale,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str | None, Query(max_length=40)] = None,
    level: Annotated[str | None, Query(max_length=40)] = None,
    site_id: int | None = None,
    closed_from: AwareDatetime | None = None,
    closed_to: AwareDatetime | None = None,
    founded: bool | None = None,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """The matching cases as a spreadsheet for training, personal data removed."""
    pack = access_service.pack_for_user(db, user)
    filters = _case_filters(pack, category, level, site_id, closed_from, closed_to, founded)
    content, media, name = caselib_export.export(
        db,
        caselib.seen_by(db, user),
        pack,
        terms(q),
        filters,
        fmt=format,
        locale=locale,
        now=clock.now(),
    )
    return attachment(content, media, name)


# --- ledger import -------------------------------------------------------------------------------


class ProblemOut(BaseModel):
    sheet: str = Field(description="the worksheet, when the workbook has several")
    row: int
    column: str
    field: str
    rule: str
    value: str
    message: str


class LedgerRowOut(BaseModel):
    sheet: str = Field(description="the worksheet, when the workbook has several")
    row: int
    status: str
    original_number: str | None
    complaint_number: str | None
    problems: list[ProblemOut]


class LedgerSheetOut(BaseModel):
    name: str
    header_row: int | None = Field(description="null: no header found, the sheet was not read")
    columns: dict[str, str]


class LedgerOut(BaseModel):
    dry_run: bool
    filename: str
    header_row: int
    columns: dict[str, str]
    sheets: list[LedgerSheetOut] = Field(description="every sheet of the workbook, in order")
    total: int
    ready: int
    imported: int
    already: int
    duplicate: int
    bad: int
    batch_id: int | None
    rows: list[LedgerRowOut] = Field(description="every row that is not simply ready/imported")


@router.post("/ledger/imports", tags=["ledger"])
def import_ledger(
    db: Db,
    clock: ClockDep,
    settings: SettingsDep,
    user: CurrentUser,
    principal: PrincipalDep,
    actor: ActorDep,
    locale: Locale,
    file: Annotated[UploadFile, File(description=".xlsx or .csv")],
    org: Annotated[str, Form(max_length=40, description="organisation code")],
    mapping: Annotated[str | None, Form(max_length=60)] = None,
    dry_run: Annotated[bool, Form()] = True,
) -> LedgerOut:
    """Check (dry_run, the default) or import an old ledger. Bad rows are named by row and
    column; rows imported before are skipped."""
    org_id = _scope_org(db, user, principal, org)
    group = org_service.group_of(db, org_id)
    rules.require(principal, "receive", rules.ComplaintView(org_id=group.id, site_id=org_id))
    content = file.file.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        raise InvalidInput(
            "invalid.file_too_large", field="file", max_mb=settings.max_upload_bytes // 2**20
        )
    name = file.filename or "ledger.xlsx"
    batch_id = None
    if dry_run:
        result = ledger_service.plan(
            db, org_id=org_id, filename=name, content=content, mapping_name=mapping, now=clock.now()
        )
    else:
        result, batch = ledger_service.run(
            db, clock, actor, org_id=org_id, filename=name, content=content, mapping_name=mapping
        )
        batch_id = batch.id
        db.commit()
    return LedgerOut(
        dry_run=dry_run,
        filename=name,
        header_row=result.header_row,
        columns=result.columns,
        sheets=[
            LedgerSheetOut(name=x.name, header_row=x.header_row, columns=x.columns)
            for x in result.sheets
        ],
        total=len(result.rows),
        ready=result.count("ready"),
        imported=result.count("imported"),
        already=result.count("already"),
        duplicate=result.count("duplicate"),
        bad=result.count("bad"),
        batch_id=batch_id,
        rows=[
            LedgerRowOut(
                sheet=p.row.sheet,
                row=p.row.number,
                status=p.status,
                original_number=p.row.values.get("original_number"),
                complaint_number=p.complaint_number,
                problems=[
                    ProblemOut(
                        sheet=x.sheet,
                        row=x.row,
                        column=x.column,
                        field=x.field,
                        rule=x.rule,
                        value=x.value,
                        message=ledger_service.describe(x, locale),
                    )
                    for x in p.row.problems
                ],
            )
            for p in result.rows
            if p.status not in ("ready", "imported")
        ],
    )


class MappingIn(BaseModel):
    org: str = Field(max_length=40)
    columns: dict[str, str] = Field(description="ledger header → field")
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)


@router.put("/ledger/mappings/{name}", tags=["ledger"])
def save_mapping(
    name: Annotated[str, Path(max_length=60)],
    body: MappingIn,
    db: Db,
    clock: ClockDep,
    user: CurrentUser,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Save how this organisation's ledgers map to complaint fields, under a name."""
    org_id = _scope_org(db, user, principal, body.org)
    group = org_service.group_of(db, org_id)
    rules.require(principal, "receive", rules.ComplaintView(org_id=group.id, site_id=org_id))
    row = ledger_service.save_mapping(
        db,
        clock,
        org_id=org_id,
        name=name,
        columns=body.columns,
        values=body.values,
        defaults=body.defaults,
    )
    db.commit()
    return {
        "name": row.name,
        "columns": row.columns,
        "values": row.values,
        "defaults": row.defaults,
    }
