"""Import a historical ledger: read the sheet, plan every row (a dry run stops there), then
register each good row as a complaint through `complaint.service.receive` — numbered, on the
record, with its SLA timers — and record its ledger outcome (closed, result, satisfaction) as
an `import_ledger` event. A row already imported (same ledger number, or the same content when
the ledger has no numbers) is skipped, so importing the same ledger twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kesu.clock import Clock, FrozenClock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.schemas import ComplainantIn, ComplaintCreate, SubjectIn
from kesu.errors import InvalidInput, NotFound
from kesu.ledger import rules
from kesu.ledger.models import LedgerBatch, LedgerMapping, LedgerRow
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack
from kesu.report import snapshots
from kesu.sla import service as sla_service

MAX_ROWS = 100_000


# --- reading the file ---------------------------------------------------------------------------


def read_sheets(filename: str, content: bytes) -> list[tuple[str, list[list[Any]]]]:
    """Every sheet of an .xlsx (merged cells filled with their value) or the one table of a
    .csv (UTF-8 or GB18030), as (sheet name, rows of cell values). A workbook's sheet names
    are kept only when it has several; a .csv's is empty."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            sheets = load_workbook(io.BytesIO(content), data_only=True).worksheets
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise InvalidInput("ledger.unreadable", field="file", name=filename) from exc
        return [(ws.title if len(sheets) > 1 else "", _sheet_rows(ws)) for ws in sheets]
    if filename.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput("ledger.unreadable", field="file", name=filename)
        return [("", [list(r) for r in csv.reader(io.StringIO(text))])]
    raise InvalidInput("ledger.file_type", field="file", name=filename)


def _sheet_rows(ws: Any) -> list[list[Any]]:
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        value = rows[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, merged.max_row):
            for c in range(merged.min_col - 1, merged.max_col):
                rows[r][c] = value
    return rows


def read_table(filename: str, content: bytes) -> list[list[Any]]:
    """The first sheet's rows (see `read_sheets`)."""
    return read_sheets(filename, content)[0][1]


# --- mappings -----------------------------------------------------------------------------------


def get_mapping(session: Session, org_id: int, name: str) -> LedgerMapping:
    group = org_service.group_of(session, org_id)
    row = session.scalar(
        select(LedgerMapping).where(LedgerMapping.org_id == group.id, LedgerMapping.name == name)
    )
    if row is None:
        raise NotFound("ledger.no_mapping", name=name)
    return row


def save_mapping(
    session: Session,
    clock: Clock,
    *,
    org_id: int,
    name: str,
    columns: dict[str, str],
    values: dict[str, dict[str, str]] | None = None,
    defaults: dict[str, str] | None = None,
) -> LedgerMapping:
    """Save (or replace) how this organisation's ledgers map to complaint fields."""
    for header, target in columns.items():
        if target not in rules.FIELDS:
            raise InvalidInput("ledger.unknown_field", field=f"columns.{header}", value=target)
    for target in [*(values or {}), *(defaults or {})]:
        if target not in rules.FIELDS:
            raise InvalidInput("ledger.unknown_field", field="values", value=target)
    values = _checked_values(_Context(session, org_id, None), values or {}, defaults or {})
    group = org_service.group_of(session, org_id)
    row = session.scalar(
        select(LedgerMapping).where(LedgerMapping.org_id == group.id, LedgerMapping.name == name)
    )
    if row is None:
        row = LedgerMapping(org_id=group.id, name=name)
        session.add(row)
    row.columns, row.values, row.defaults = dict(columns), dict(values or {}), dict(defaults or {})
    row.updated_at = clock.now()
    session.flush()
    return row


_CHOICES = {
    "channel": "channels",
    "category": "categories",
    "level": "levels",
    "complainant_type": "complainant_types",
}
"""Fields whose ledger words become one of the pack's keys."""
_PLACES = {"site": ("site", "region", "group"), "department": ("department",)}
"""Fields whose ledger words name an organisation of the group, and of which kinds."""


def _checked_values(
    ctx: _Context, values: dict[str, dict[str, str]], defaults: dict[str, str]
) -> dict[str, dict[str, str]]:
    """A mapping's translations and defaults, checked when it is saved rather than row by row
    at the next import: each must name one of the pack's choices (its key or a name in any
    language; stored as the key) or an organisation of the group (its code or name)."""
    checked: dict[str, dict[str, str]] = {}
    for name, words in values.items():
        checked[name] = {}
        for text, target in words.items():
            found = _choice(ctx, name, target, {})
            if found is None:
                raise InvalidInput(
                    "ledger.mapped_unknown",
                    field=f"values.{name}",
                    text=text,
                    value=target,
                    allowed=_allowed(ctx, name),
                )
            checked[name][text] = found
    for name, text in defaults.items():
        if _choice(ctx, name, text, checked.get(name, {})) is None:
            raise InvalidInput(
                "ledger.default_unknown",
                field=f"defaults.{name}",
                value=text,
                allowed=_allowed(ctx, name),
            )
    return checked


def _choice(ctx: _Context, name: str, text: str, words: dict[str, str]) -> str | None:
    """What `text` stands for in field `name` (a pack key, an organisation's code, or the text
    itself for a free field); None when it stands for nothing the group has."""
    if name in _CHOICES:
        return rules.match_key(text, ctx.options(_CHOICES[name]), words)
    if name in _PLACES:
        return text if ctx.org_named(words.get(text, text), _PLACES[name]) else None
    return text


def _allowed(ctx: _Context, name: str) -> str:
    if name in _CHOICES:
        return ", ".join(ctx.options(_CHOICES[name]))
    return ", ".join(o.code for o in ctx.orgs if o.kind in _PLACES[name] and o.code)


# --- planning -----------------------------------------------------------------------------------


@dataclass
class Planned:
    row: rules.Row
    key: str | None = None
    data: ComplaintCreate | None = None
    status: str = "ready"  # ready | bad | duplicate | already | imported
    complaint_number: str | None = None


@dataclass
class Sheet:
    name: str  # "" for a .csv or a workbook of one sheet
    header_row: int | None  # 1-based; None: no header found, the sheet was not read
    columns: dict[str, str] = field(default_factory=dict)  # "C 投诉日期" → field


@dataclass
class Plan:
    filename: str
    sha256: str
    header_row: int  # 1-based, of the first sheet read
    columns: dict[str, str]  # "C 投诉日期" → field, of the first sheet read
    rows: list[Planned] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for p in self.rows if p.status == status)


class _Context:
    """What rows are checked against: the pack, the group's organisations, the saved mapping."""

    def __init__(self, session: Session, org_id: int, mapping: LedgerMapping | None) -> None:
        self.org = org_service.get(session, org_id)
        self.group = org_service.group_of(session, org_id)
        version = policy_service.current(session, self.group.pack_key)
        self.pack: Pack = policy_service.pack_of(session, version.id)
        self.zone = ZoneInfo(self.pack.timezone)
        ids = set(org_service.subtree_ids(session, self.group.id))
        self.orgs = [o for o in org_service.all_orgs(session) if o.id in ids]
        self.values: dict[str, dict[str, str]] = mapping.values if mapping else {}
        self.defaults: dict[str, str] = mapping.defaults if mapping else {}

    def options(self, kind: str) -> dict[str, dict[str, str]]:
        items = self.pack.category_list() if kind == "categories" else getattr(self.pack, kind)
        return {i.key: dict(i.name) for i in items}

    def org_named(self, text: str | None, kinds: tuple[str, ...]) -> Organisation | None:
        if text is None:
            return None
        code = self.values.get("site" if "site" in kinds else "department", {}).get(text, text)
        wanted = rules.normalise(code)
        for o in self.orgs:
            if o.kind in kinds and wanted in (rules.normalise(o.code), rules.normalise(o.name)):
                return o
        return None


def _unknown(row: rules.Row, header: rules.Header, name: str) -> None:
    value = str(row.values.get(name))
    row.problems.append(
        rules.Problem(row.number, rules.where_of(header, name), name, "unknown", value, row.sheet)
    )


def _prepare(
    ctx: _Context, header: rules.Header, row: rules.Row, now: datetime
) -> ComplaintCreate | None:
    v = row.values
    keys: dict[str, str | None] = {}
    for name, kind in _CHOICES.items():
        text = v.get(name) or ctx.defaults.get(name)
        keys[name] = rules.match_key(text, ctx.options(kind), ctx.values.get(name, {}))
        if text is not None and keys[name] is None:
            _unknown(row, header, name)
    site = ctx.org_named(v.get("site") or ctx.defaults.get("site"), _PLACES["site"])
    if site is None and (v.get("site") or ctx.defaults.get("site")):
        _unknown(row, header, "site")
    dept = ctx.org_named(
        v.get("department") or ctx.defaults.get("department"), _PLACES["department"]
    )
    if dept is None and (v.get("department") or ctx.defaults.get("department")):
        _unknown(row, header, "department")
    received = v.get("received_at")
    if received is not None and received.replace(tzinfo=ctx.zone) > now:
        row.problems.append(
            rules.Problem(
                row.number,
                rules.where_of(header, "received_at"),
                "received_at",
                "future",
                sheet=row.sheet,
            )
        )
    closed_at = v.get("closed_at")
    if closed_at is not None and received is not None and closed_at < _day_start(received):
        row.problems.append(
            rules.Problem(
                row.number,
                rules.where_of(header, "closed_at"),
                "closed_at",
                "before_received",
                sheet=row.sheet,
            )
        )
    if v.get("satisfaction") is not None and _grade(ctx.pack, v["satisfaction"]) is None:
        _unknown(row, header, "satisfaction")
    if row.problems:
        return None
    description = v["description"]
    try:
        return ComplaintCreate(
            site_id=(site or (ctx.org if ctx.org.kind != "department" else ctx.group)).id,
            channel=keys["channel"] or ctx.pack.channels[0].key,
            complainant=ComplainantIn(name=v["name"], phone=v.get("phone")),
            complainant_type=keys["complainant_type"] or ctx.pack.complainant_types[0].key,
            title=v.get("title") or description[:30],
            description=description,
            category=keys["category"],
            level=keys["level"],
            subject=SubjectIn(
                merchant=v.get("merchant"), product=v.get("product"), order_no=v.get("order_no")
            ),
            occurred_at=None,
            department_id=dept.id if dept else None,
        )
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][-1]) if e["loc"] else "row"
            row.problems.append(
                rules.Problem(
                    row.number, rules.where_of(header, name), name, e["type"], sheet=row.sheet
                )
            )
        return None


def _day_start(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _closing(received: datetime, closed_at: datetime | None) -> datetime:
    """A close date without a time on the receiving day means "closed that day": not before."""
    return received if closed_at is None else max(closed_at, received)


def _grade(pack: Pack, value: Any) -> int | None:
    text = str(value).strip()
    for g in pack.satisfaction:
        if text == str(g.value) or any(
            rules.normalise(text) == rules.normalise(n) for n in g.name.values()
        ):
            return g.value
    return None


def plan(
    session: Session,
    *,
    org_id: int,
    filename: str,
    content: bytes,
    mapping_name: str | None = None,
    now: datetime,
) -> Plan:
    """The dry run: every row read and checked, nothing written."""
    mapping = get_mapping(session, org_id, mapping_name) if mapping_name else None
    ctx = _Context(session, org_id, mapping)
    sheets = read_sheets(filename, content)
    if sum(len(rows) for _name, rows in sheets) > MAX_ROWS:
        raise InvalidInput("ledger.too_many_rows", field="file", max=MAX_ROWS)
    read: list[tuple[str, rules.Header, list[list[Any]]]] = []
    infos: list[Sheet] = []
    for name, table in sheets:
        try:
            header = rules.find_header(table, mapping.columns if mapping else None)
        except ValueError:  # a sheet of notes or totals: said so, not read
            infos.append(Sheet(name, None))
            continue
        read.append((name, header, table))
        infos.append(Sheet(name, header.row + 1, _columns(header)))
    if not read:
        raise InvalidInput("ledger.no_header", field="file")
    first = next(i for i in infos if i.header_row is not None)
    result = Plan(
        filename=filename,
        sha256=hashlib.sha256(content).hexdigest(),
        header_row=first.header_row or 0,
        columns=first.columns,
        sheets=infos,
    )
    seen: dict[str, tuple[str, int]] = {}
    for name, header, table in read:
        for i, cells in enumerate(table[header.row + 1 :], start=header.row + 2):
            if rules.total_row(cells):  # 合计 under the rows: not a complaint
                continue
            row = rules.read_row(i, cells, header, name)
            if row.blank:
                continue
            rules.check_required(row, header)
            planned = Planned(row, data=_prepare(ctx, header, row, now))
            if row.problems:
                planned.status = "bad"
                if row.values.get("original_number"):  # its number is taken: a later row
                    seen.setdefault(rules.identity(row), (name, i))  # with it is a duplicate
            else:
                planned.key = rules.identity(row)
                if planned.key in seen:
                    planned.status = "duplicate"
                    where, earlier = seen[planned.key]
                    row.problems.append(
                        rules.Problem(
                            i,
                            rules.where_of(header, "original_number"),
                            "original_number",
                            "duplicate" if where == name else "duplicate_sheet",
                            str(earlier) if where == name else f"{where}\t{earlier}",
                            name,
                        )
                    )
                seen.setdefault(planned.key, (name, i))
            result.rows.append(planned)
    ready = [p.key for p in result.rows if p.status == "ready"]
    done = set()
    for k in range(0, len(ready), 500):
        done |= set(
            session.scalars(
                select(LedgerRow.key).where(
                    LedgerRow.org_id == ctx.group.id, LedgerRow.key.in_(ready[k : k + 500])
                )
            )
        )
    for p in result.rows:
        if p.status == "ready" and p.key in done:
            p.status = "already"
    return result


# --- importing ----------------------------------------------------------------------------------


def _claim(session: Session, group_id: int, key: str, batch_id: int, number: int) -> bool:
    """Take a row's identity for this group; False if another import already has it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    taken = session.execute(
        insert(LedgerRow)
        .values(org_id=group_id, key=key, batch_id=batch_id, row_number=number)
        .on_conflict_do_nothing(index_elements=["org_id", "key"])
        .returning(LedgerRow.id)
    ).first()
    return taken is not None


def run(
    session: Session,
    clock: Clock,
    actor: lifecycle.Actor,
    *,
    org_id: int,
    filename: str,
    content: bytes,
    mapping_name: str | None = None,
) -> tuple[Plan, LedgerBatch]:
    """Import the good rows (the bad ones are reported, as in the dry run)."""
    now = clock.now()
    result = plan(
        session,
        org_id=org_id,
        filename=filename,
        content=content,
        mapping_name=mapping_name,
        now=now,
    )
    ctx = _Context(session, org_id, None)
    batch = LedgerBatch(
        org_id=ctx.group.id,
        filename=filename[:200],
        sha256=result.sha256,
        mapping_name=mapping_name,
        imported_by_id=actor.user_id,
        imported_at=now,
    )
    session.add(batch)
    session.flush()
    recorder = lifecycle.Actor(
        kind="system", user_id=actor.user_id, label=f"{actor.label} 台账导入"
    )
    for p in result.rows:
        if p.status != "ready":
            continue
        if not _claim(session, ctx.group.id, p.key, batch.id, p.row.number):
            p.status = "already"
            continue
        complaint = _import_row(session, clock, actor, recorder, ctx, p, batch, result.filename)
        session.execute(
            LedgerRow.__table__.update()
            .where(LedgerRow.org_id == ctx.group.id, LedgerRow.key == p.key)
            .values(complaint_id=complaint.id)
        )
        p.status, p.complaint_number = "imported", complaint.number
    imported = [p.row.values["received_at"] for p in result.rows if p.status == "imported"]
    if imported:  # the group's stored reports of those periods are out of date
        snapshots.outdate(session, ctx.group.id, min(imported).replace(tzinfo=ctx.zone))
    batch.rows_total = len(result.rows)
    batch.rows_imported = result.count("imported")
    batch.rows_skipped = result.count("already") + result.count("duplicate")
    batch.rows_bad = result.count("bad")
    session.flush()
    return result, batch


def _columns(header: rules.Header) -> dict[str, str]:
    return {
        f"{rules.column_letter(j)} {header.columns.get(j, '')}".strip(): f
        for j, f in sorted(header.fields.items())
    }


def _import_row(
    session: Session,
    clock: Clock,
    actor: lifecycle.Actor,
    recorder: lifecycle.Actor,
    ctx: _Context,
    p: Planned,
    batch: LedgerBatch,
    filename: str,
):
    v = p.row.values
    received = v["received_at"].replace(tzinfo=ctx.zone)
    # an old complaint: received when the ledger says, without today's alerts
    complaint = complaint_service.receive(
        session, FrozenClock(received), actor, p.data, announce=False
    )
    closed = v.get("closed")
    if closed is None:
        closed = v.get("closed_at") is not None
    closed_at = _closing(v["received_at"], v.get("closed_at")).replace(tzinfo=ctx.zone)
    grade = _grade(ctx.pack, v["satisfaction"]) if v.get("satisfaction") is not None else None
    payload = {
        "batch_id": batch.id,
        "file": filename,
        **({"sheet": p.row.sheet} if p.row.sheet else {}),
        "row": p.row.number,
        "original_number": v.get("original_number"),
        "closed": closed,
        "closed_at": closed_at.isoformat() if closed else None,
        "result": v.get("result"),
        "satisfaction": grade,
        "amount": str(v["amount"]) if v.get("amount") is not None else None,
    }
    complaint.imported = True
    complaint.original_number = v.get("original_number")
    complaint.import_batch_id = batch.id
    if closed:
        # the ledger says it was settled: the case closes on its ledger date, its timers stop
        complaint.classification = complaint.classification or "valid"
        complaint.state, complaint.closed_at, complaint.resolved_at = "closed", closed_at, closed_at
        complaint.satisfaction = grade
        if v.get("result") or v.get("amount") is not None:
            complaint.solution = {
                "solution_type": None,
                "amount": str(v.get("amount") or 0),
                "description": v.get("result") or "",
                "approved": True,
                "approval_tier": None,
            }
            complaint.solution_amount = v.get("amount")
        sla_service.update(session, ctx.pack, complaint, recorder, "close", {}, closed_at)
    else:
        sla_service.restart_running(session, ctx.pack, complaint, clock.now())
    complaint_service.record_event(session, clock, complaint, recorder, "import_ledger", payload)
    return complaint


def describe(problem: rules.Problem, locale: str) -> str:
    """One problem in the reader's language: 第 12 行 B 投诉日期：无法识别的日期“2025-13-45”."""
    from kesu.i18n import translate

    sheet, _, row = problem.value.rpartition("\t")  # duplicate_sheet: the earlier row's sheet
    rule = translate(
        f"ledger.rule.{problem.rule}", locale, value=problem.value, sheet=sheet, row=row
    )
    if rule == f"ledger.rule.{problem.rule}":
        rule = translate("ledger.rule.other", locale, value=problem.rule)
    column = problem.column or translate(f"ledger.field.{problem.field}", locale)
    line = translate("ledger.problem", locale, row=problem.row, column=column, rule=rule)
    if problem.sheet:  # a workbook of several sheets: which one
        return translate("ledger.in_sheet", locale, sheet=problem.sheet, problem=line)
    return line
