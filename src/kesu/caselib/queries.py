"""Search the case library: closed complaints whose text contains every word given.

The searchable text (title, description, investigation findings, solution) of each closed
complaint lives in `caselib_fts`, kept by database triggers (migration 0004):
- SQLite: an FTS5 table with the trigram tokenizer; words of 3+ characters go through its
  index (MATCH); shorter ones (most two-character Chinese words) through `caselib_fts_chars`
  (migration 0008: the text character by character), then `instr` on the text.
- PostgreSQL: a plain table with a pg_trgm GIN index; every word is an ILIKE '%word%', which
  the index serves for 3+ characters; shorter words also need their characters or pairs in
  `grams` (migration 0008, GIN). See docs/reports.md ("Case library") for the measurements.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.complaint import queries as complaint_queries
from kesu.complaint.models import Complainant, Complaint
from kesu.errors import InvalidInput
from kesu.policy.schema import Pack

SQLITE_FTS = table("caselib_fts", column("rowid"), column("text"))
SQLITE_CHARS = table("caselib_fts_chars", column("rowid"))
PG_FTS = table("caselib_fts", column("complaint_id"), column("text"), column("grams"))


CANDIDATES = 2000
"""Past this many matching cases in the library a word is common: checking the newest closed
cases one by one finds a page sooner than looking up (and sorting) every match."""


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    level: str | None = None
    site_id: int | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    founded: bool | None = None
    subcategories: tuple[str, ...] = ()
    """The categories under `category` (see `under`): their cases are of `category` too."""

    def under(self, pack: Pack) -> Filters:
        """These filters with `category` standing for itself and every category under it in
        the pack's tree, as a reader choosing it means: 产品 finds the cases of 产品质量 and
        维修 too, not only those filed under 产品 itself."""
        top = next((c for c in pack.category_list() if c.key == self.category), None)
        if top is None:
            return self
        below, stack = [], list(top.children)
        while stack:
            node = stack.pop()
            below.append(node.key)
            stack.extend(node.children)
        return replace(self, subcategories=tuple(below))


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(session: Session, words: list[str]):
    """A select of the ids of closed complaints whose text holds every word."""
    if session.get_bind().dialect.name == "sqlite":
        fts = SQLITE_FTS
        stmt = select(fts.c.rowid.label("id")).select_from(fts)
        long = [w for w in words if len(w) >= 3]
        if long:
            phrase = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
            stmt = stmt.where(literal_column("caselib_fts").op("MATCH")(phrase))
        for w in words:
            if len(w) < 3:
                if any(ch.isalnum() for ch in w):  # the character index finds the few rows
                    chars = complaint_queries.char_phrase(w)
                    stmt = stmt.where(
                        fts.c.rowid.in_(
                            select(SQLITE_CHARS.c.rowid).where(
                                literal_column("caselib_fts_chars").op("MATCH")(chars)
                            )
                        )
                    )
                stmt = stmt.where(func.instr(func.lower(fts.c.text), w.lower()) > 0)
        return stmt
    fts = PG_FTS
    stmt = select(fts.c.complaint_id.label("id")).where(
        *(fts.c.text.ilike(_like(w), escape="\\") for w in words)
    )
    short = sorted({g for w in words if len(w) < 3 for g in complaint_queries.grams(w.lower())})
    if short:  # pairs and single characters: the `grams` GIN index (pg_trgm needs three)
        stmt = stmt.where(fts.c.grams.op("@>")(bindparam("grams", short, type_=ARRAY(Text))))
    return stmt


def _holds(session: Session, words: list[str]):
    """The complaint's case text holds every word, checked on its own row (no index)."""
    if session.get_bind().dialect.name == "sqlite":
        fts = SQLITE_FTS
        own = select(fts.c.rowid).where(fts.c.rowid == Complaint.id)
        checks = [func.instr(func.lower(fts.c.text), w.lower()) > 0 for w in words]
    else:
        fts = PG_FTS
        own = select(fts.c.complaint_id).where(fts.c.complaint_id == Complaint.id)
        checks = [fts.c.text.ilike(_like(w), escape="\\") for w in words]
    return own.where(*checks).exists()


def _cursor(closed_at: datetime, cid: int) -> str:
    raw = json.dumps([closed_at.isoformat(), cid]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _uncursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, cid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), int(cid)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("invalid.cursor", field="cursor") from exc


def seen_by(session: Session, viewer: User) -> Select:
    """The complaints a staff member may see (never those about them)."""
    return complaint_queries.visible_to(session, viewer)


def of_group(group_id: int) -> Select:
    """Every complaint of a group (the command line: the operator sees all)."""
    return select(Complaint).where(Complaint.org_id == group_id)


def search(
    session: Session,
    scope: Select,
    words: list[str],
    f: Filters,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Complaint], str | None]:
    """Closed cases within `scope` holding every word, newest closed first."""
    stmt = scope.where(Complaint.state == "closed")
    if words:
        matching = _matching(session, words)
        found = session.scalar(
            select(func.count()).select_from(matching.limit(CANDIDATES + 1).subquery())
        )
        if found > CANDIDATES:  # common: the newest closed cases soon hold a page of them
            stmt = stmt.where(_holds(session, words))
        else:
            stmt = stmt.where(Complaint.id.in_(matching))
    if f.category is not None:
        stmt = stmt.where(Complaint.category.in_([f.category, *f.subcategories]))
    for name in ("level", "site_id"):
        value = getattr(f, name)
        if value is not None:
            stmt = stmt.where(getattr(Complaint, name) == value)
    if f.closed_from is not None:
        stmt = stmt.where(Complaint.closed_at >= f.closed_from)
    if f.closed_to is not None:
        stmt = stmt.where(Complaint.closed_at < f.closed_to)
    if f.founded is not None:
        founded = Complaint.investigation["founded"].as_boolean()
        stmt = stmt.where(founded == f.founded)
    if cursor:
        at, cid = _uncursor(cursor)
        stmt = stmt.where(
            or_(Complaint.closed_at < at, and_(Complaint.closed_at == at, Complaint.id < cid))
        )
    stmt = stmt.order_by(Complaint.closed_at.desc(), Complaint.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1].closed_at, rows[-1].id) if more and rows else None)


def complainant_names(session: Session, cases: list[Complaint]) -> dict[int, str]:
    ids = {c.complainant_id for c in cases}
    if not ids:
        return {}
    rows = session.execute(
        select(Complainant.id, Complainant.name).where(Complainant.id.in_(ids))
    ).all()
    return dict(rows)


def as_case(c: Complaint, names: dict[int, str]) -> dict[str, Any]:
    """A case as the library shows and exports it: the matter, with personal data removed."""
    from kesu.caselib.rules import redact

    who = [names.get(c.complainant_id, "")]
    inv, sol = c.investigation or {}, c.solution or {}
    return {
        "id": c.id,
        "number": c.number,
        "title": redact(c.title, who),
        "description": redact(c.description, who),
        "category": c.category,
        "level": c.level,
        "channel": c.channel,
        "site_id": c.site_id,
        "received_at": c.received_at,
        "closed_at": c.closed_at,
        "findings": redact(inv.get("findings"), who),
        "root_causes": list(inv.get("root_causes", [])),
        "founded": inv.get("founded"),
        "solution_type": sol.get("solution_type"),
        "solution": redact(sol.get("description"), who),
        "amount": sol.get("amount"),
        "satisfaction": c.satisfaction,
        "imported": c.imported,
    }
