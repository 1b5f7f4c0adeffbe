"""Reads: filtered lists with stable cursor pagination, and one complaint with its timeline.

The text search (`Filters.text`) is a substring match over number, title and description (a
number read out with spaces, "FS 2026 11 0085", is searched without them); a
character index (migration 0008) finds the few complaints that can hold a rare word, so a
word found nowhere costs one index probe instead of reading the organisation."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.complaint.models import Complaint, ComplaintEvent, Evidence
from kesu.complaint.numbering import unspaced
from kesu.errors import InvalidInput
from kesu.org import service as org_service

OPEN = Complaint.state != literal_column("'closed'")
"""Not closed, with 'closed' written into the SQL: SQLite uses a partial index (here
`ix_complaint_assignee_open`) only when the query states its condition literally."""


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    level: str | None = None
    category: str | None = None
    site_id: int | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    channel: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str | None = None
    open_only: bool = False


def visible_to(session: Session, viewer: User) -> Select:
    """Complaints the viewer's organisation scope covers, never those about the viewer (回避)."""
    return _visible(session, viewer)[0]


def _visible(session: Session, viewer: User) -> tuple[Select, int]:
    """`visible_to`, and the viewer's group (the organisation complaints are stored under)."""
    scope = org_service.subtree_ids(session, viewer.org_id)
    group = org_service.group_of(session, viewer.org_id)
    stmt = select(Complaint).where(
        Complaint.org_id == group.id,
        or_(Complaint.staff_complained_id.is_(None), Complaint.staff_complained_id != viewer.id),
    )
    if viewer.org_id != group.id:
        stmt = stmt.where(or_(Complaint.site_id.in_(scope), Complaint.department_id.in_(scope)))
    return stmt, group.id


CANDIDATES = 2000
"""Past this many index matches in the group a word is common: reading the newest complaints
until a page of them holds it is then cheaper than looking up every match."""

SQLITE_FTS = table("complaint_fts", column("rowid"))
PG_FTS = table("complaint_fts", column("complaint_id"), column("org_id"), column("grams"))


def grams(word: str) -> list[str]:
    """What the PostgreSQL index holds for every text containing `word`: its one character,
    or each pair of adjacent characters."""
    if len(word) == 1:
        return [word]
    return sorted({word[i : i + 2] for i in range(len(word) - 1)})


def char_phrase(word: str) -> str:
    """An FTS5 phrase of the word's characters, for the SQLite character indexes (migration
    0008 stores text with a space between every two characters)."""
    return '"' + " ".join(word).replace('"', '""') + '"'


def candidates(session: Session, group_id: int, word: str) -> Select | None:
    """A select of the ids of the group's complaints whose number, title or description may
    contain `word` (a superset: the caller keeps its `LIKE`), from the character index of
    migration 0008; None when the word is common (more than `CANDIDATES`) or the index cannot
    look it up."""
    if not any(ch.isalnum() for ch in word):
        return None  # only separators: the index holds no term for them
    if session.get_bind().dialect.name == "sqlite":
        phrase = char_phrase(word)
        stmt = (
            select(SQLITE_FTS.c.rowid)
            .join(Complaint, Complaint.id == SQLITE_FTS.c.rowid)
            .where(literal_column("complaint_fts").op("MATCH")(phrase))
            .where(Complaint.org_id == group_id)
        )
    else:
        wanted = bindparam("grams", grams(word.lower()), type_=postgresql.ARRAY(Text))
        stmt = select(PG_FTS.c.complaint_id).where(
            PG_FTS.c.org_id == group_id, PG_FTS.c.grams.op("@>")(wanted)
        )
    found = session.scalar(select(func.count()).select_from(stmt.limit(CANDIDATES + 1).subquery()))
    return None if found > CANDIDATES else stmt


def _encode(received_at: datetime, cid: int) -> str:
    raw = json.dumps([received_at.isoformat(), cid]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, cid = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), int(cid)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("invalid.cursor", field="cursor") from exc


def page(
    session: Session, viewer: User, f: Filters, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Complaint], str | None]:
    """Newest first; the cursor is the last row's (received_at, id), so pages never shift."""
    stmt, newest = _filtered(session, viewer, f)
    if cursor:
        at, cid = _decode(cursor)
        stmt = stmt.where(
            Complaint.received_at <= at,  # a range the index can seek to (the OR alone is not)
            or_(Complaint.received_at < at, (Complaint.received_at == at) & (Complaint.id < cid)),
        )
    stmt = stmt.order_by(newest, Complaint.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode(rows[-1].received_at, rows[-1].id) if more and rows else None)


def count(session: Session, viewer: User, f: Filters, *, up_to: int) -> int:
    """How many complaints `page` would list, counted up to `up_to` + 1 (enough to say
    "more than")."""
    stmt, _ = _filtered(session, viewer, f)
    found = stmt.with_only_columns(Complaint.id).limit(up_to + 1).subquery()
    return session.scalar(select(func.count()).select_from(found))


def _filtered(session: Session, viewer: User, f: Filters):
    """The viewer's complaints under the filters, and the newest-first ordering to use."""
    stmt, group_id = _visible(session, viewer)
    newest = Complaint.received_at.desc()
    for name in ("state", "level", "category", "site_id", "department_id", "assignee_id"):
        value = getattr(f, name)
        if value is not None:
            stmt = stmt.where(getattr(Complaint, name) == value)
    if f.channel is not None:
        stmt = stmt.where(Complaint.channel == f.channel)
    if f.open_only:
        stmt = stmt.where(OPEN)
    if f.received_from is not None:
        stmt = stmt.where(Complaint.received_at >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(Complaint.received_at < f.received_to)
    text = unspaced(f.text) if f.text else None
    if text:
        found = candidates(session, group_id, text)
        if found is not None:
            stmt = stmt.where(Complaint.id.in_(found))
            if session.get_bind().dialect.name == "sqlite":
                # look the few candidates up by id and sort them, rather than walk the
                # organisation's newest-first index (SQLite's choice for ORDER BY … LIMIT)
                newest = literal_column("+complaint.received_at").desc()
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # letter case ignored on both: SQLite's LIKE folds it already, PostgreSQL's ILIKE does
        # (and its index holds the lower-cased text, migration 0021); a word without letters
        # that have a case (Chinese, digits) keeps LIKE, a third cheaper there
        cased = text.lower() != text.upper()
        pg = session.get_bind().dialect.name == "postgresql"
        match = "ilike" if pg and cased else "like"
        stmt = stmt.where(
            or_(
                *(
                    getattr(column, match)(like, escape="\\")
                    for column in (Complaint.number, Complaint.title, Complaint.description)
                )
            )
        )
    return stmt, newest


def timeline(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(
        session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.seq)
        )
    )


def unseen_numbers(session: Session, viewer: User, events: list[ComplaintEvent]) -> set[str]:
    """Numbers of other complaints a timeline names (a repeat complaint names the earlier one,
    in its intake and in the escalation it caused) that `viewer` may not see: out of their
    scope, or about them."""
    named = {(e.payload.get("auto") or {}).get("repeat_of") for e in events}
    named = {n for n in named if isinstance(n, str) and n}
    if not named:
        return set()
    seen = session.scalars(
        visible_to(session, viewer)
        .with_only_columns(Complaint.number)
        .where(Complaint.number.in_(named))
    )
    return named - set(seen)


def without_numbers(value: Any, numbers: set[str]) -> Any:
    """`value` (text, or a JSON-like payload) with these complaint numbers blanked out."""
    if not numbers:
        return value
    if isinstance(value, str):
        for number in numbers:
            value = value.replace(number, "****")
        return value
    if isinstance(value, dict):
        return {k: without_numbers(v, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [without_numbers(v, numbers) for v in value]
    return value


def evidence(session: Session, complaint_id: int) -> list[Evidence]:
    return list(
        session.scalars(
            select(Evidence).where(Evidence.complaint_id == complaint_id).order_by(Evidence.id)
        )
    )
