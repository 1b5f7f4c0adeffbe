"""投诉台账: the complaints a staff member may see, one row each, as the Excel ledger they kept
before Kesu (XLSX or CSV), for the filters of the complaint list.

The rows are the list's (`complaint.queries.page`: the viewer's scope, never the complaints
about them), newest first. The complainant's name and phone are not in it, and numbers in the
title are masked unless the viewer may see that complaint's personal data, as in the list.
Headers use the names the ledger import recognises where it has one (投诉编号, 受理日期, 类别 …).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from kesu.access import rules
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.complaint import queries
from kesu.complaint import service as complaint_service
from kesu.errors import InvalidInput
from kesu.i18n import pick, translate
from kesu.org import service as org_service
from kesu.policy.schema import Pack
from kesu.privacy import rules as privacy_rules
from kesu.report import render_csv, render_xlsx
from kesu.report.queries import user_names
from kesu.report.rules import defuse

COLUMNS = (
    "number",
    "original_number",
    "received_at",
    "channel",
    "site",
    "department",
    "category",
    "level",
    "title",
    "state",
    "received_by",
    "assignee",
    "next_due_at",
    "closed_at",
    "satisfaction",
    "amount",
)
LIMIT = 100_000
"""Rows in one download at most (the ledger import's limit): more asks for narrower filters."""
PAGE = 1000


@dataclass(frozen=True)
class Register:
    header: list[str]
    rows: Iterator[list[Any]]
    """Read a page of complaints at a time while the file is written."""


def build(session: Session, viewer: User, filters: queries.Filters, locale: str) -> Register:
    """The register for `viewer` under `filters`, labelled in `locale`; InvalidInput (on
    `received_from`) when more than `LIMIT` complaints match."""
    if queries.count(session, viewer, filters, up_to=LIMIT) > LIMIT:
        raise InvalidInput("register.too_many", field="received_from", limit=LIMIT)
    header = [translate(f"register.column.{name}", locale) for name in COLUMNS]
    return Register(header, _rows(session, viewer, filters, locale))


def _rows(
    session: Session, viewer: User, filters: queries.Filters, locale: str
) -> Iterator[list[Any]]:
    principal = access_service.principal(session, viewer)
    timezone = access_service.pack_for_user(session, viewer).timezone
    orgs = {o.id: o.name for o in org_service.all_orgs(session)}
    people: dict[int, str] = {}
    packs: dict[int, Pack] = {}
    cursor = None
    while True:
        page, cursor = queries.page(session, viewer, filters, limit=PAGE, cursor=cursor)
        wanted = {i for c in page for i in (c.received_by_id, c.assignee_id) if i} - people.keys()
        people.update(user_names(session, wanted))
        for c in page:
            if c.policy_version_id not in packs:
                packs[c.policy_version_id] = complaint_service.pack_of(session, c)
            pack = packs[c.policy_version_id]
            plain = rules.can(principal, "unmask", access_service.view_of(c))
            grade = pack.grade(c.satisfaction) if c.satisfaction is not None else None
            yield [
                c.number,
                c.original_number or "",
                _local(c.received_at, timezone),
                _named(pack.channels, c.channel, locale),
                orgs.get(c.site_id, "") if c.site_id else "",
                orgs.get(c.department_id, "") if c.department_id else "",
                _named(pack.category_list(), c.category, locale),
                _named(pack.levels, c.level, locale),
                c.title if plain else privacy_rules.mask_value(c.title),
                translate(f"state.{c.state}", locale),
                people.get(c.received_by_id, "") if c.received_by_id else "",
                people.get(c.assignee_id, "") if c.assignee_id else "",
                _local(c.next_due_at, timezone),
                _local(c.closed_at, timezone),
                pick(grade.name, locale) if grade else "",
                c.solution_amount,
            ]
        if cursor is None:  # (the session forgets a page's rows once they are written)
            return


def _named(items, key: str | None, locale: str) -> str:
    if not key:
        return ""
    found = next((i for i in items if i.key == key), None)
    return pick(found.name, locale) if found else key


def _local(moment: datetime | None, timezone: str) -> datetime | None:
    """Local wall time without a zone: what Excel shows (and CSV writes) as it is."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)


def download(
    session: Session, viewer: User, filters: queries.Filters, locale: str, fmt: str, now: datetime
) -> tuple[bytes, str, str]:
    """The register as a file: (content, media type, file name), XLSX unless `fmt` is csv."""
    found = build(session, viewer, filters, locale)
    title = translate("register.title", locale)
    name = f"{title}-{now.strftime('%Y%m%d-%H%M')}"
    if fmt == "csv":
        return to_csv(found), render_csv.MEDIA_TYPE, f"{name}.csv"
    return to_xlsx(found, title), render_xlsx.MEDIA_TYPE, f"{name}.xlsx"


def to_csv(register: Register) -> bytes:
    """UTF-8 with a byte-order mark, which Excel in China opens without garbling."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(register.header)
    for row in register.rows:
        writer.writerow(["" if v is None else defuse(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(register: Register, title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for i, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = WIDTHS.get(name, 12)
    bold = Font(bold=True)
    sheet.append([_cell(sheet, h, font=bold) for h in register.header])
    for row in register.rows:
        sheet.append([_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WIDTHS = {"number": 18, "original_number": 14, "title": 40, "site": 16, "department": 14}
WIDTHS.update({name: 17 for name in COLUMNS if name.endswith("_at")})


def _cell(sheet, value: Any, font: Font | None = None) -> WriteOnlyCell:
    """One value; text is defused (a title typed as `=HYPERLINK(…)` stays text, never a
    formula), as in the report exports."""
    cell = WriteOnlyCell(sheet, value=defuse(value))
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    if font is not None:
        cell.font = font
    return cell
