"""The SQL behind reports: every figure is aggregated in the database (GROUP BY / COUNT / SUM
over indexed ranges of `received_at`, `closed_at` and event `at`), so a year of a million
complaints returns a few thousand rows at most. Each function takes a `Scope` and a period
[start, end) of UTC instants and returns plain values; `kesu.report.rules` turns them into
figures. The two dialects differ in date arithmetic, JSON arrays, percentiles and a few
lookups (marked below)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from queue import SimpleQueue
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session, aliased

from kesu.access.models import User
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.db.session import read_only, same_snapshot
from kesu.report.models import (
    ComplaintFacts,
    EventCopy,
    OrgVolume,
    SolutionProposal,
    TimerCopy,
)
from kesu.report.rules import Durations, VolumeRecord, durations
from kesu.sla.models import Penalty, Timer


@dataclass(frozen=True)
class Scope:
    """Complaints of one group; `org_ids` narrows to those whose site or department is one of
    these organisations (a region, a site, a department and what lies under it)."""

    group_id: int
    org_ids: tuple[int, ...] | None = None

    def where(self, c=Complaint) -> ColumnElement[bool]:
        clause = c.org_id == self.group_id
        if self.org_ids is not None:
            clause = and_(
                clause, or_(c.site_id.in_(self.org_ids), c.department_id.in_(self.org_ids))
            )
        return clause


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def without_jit(session: Session) -> None:
    """PostgreSQL, for the rest of the transaction: no JIT compilation, and room to hash and
    sort in memory. The planner compiles every report query whose estimated cost passes
    `jit_above_cost`, which the correlated lookups always do, and the compilation (10-50 ms per
    statement) costs more than it saves on queries of tens of milliseconds: the annual report at
    50,000 complaints took 3.9 s with it, 2.8 s without. With the default 4 MB of `work_mem`,
    a year of the biggest group (half a million complaints) hashes the group's complaint ids
    in batches and sorts its aggregates on disk. That room would let the planner put a cache
    (Memoize) before the per-row lookups, whose keys (a complaint, an event) never repeat:
    half a million misses cost a third of the compensation query, so it is off."""
    if not _sqlite(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL enable_memoize = off"))


READERS = min(os.cpu_count() or 1, 4)
"""Sessions (and threads) a report's reads are split across: one per core, at most four."""


def read_all(session: Session, reads: dict[str, Callable[[Session], Any]]) -> dict[str, Any]:
    """Every read's result, by name, all of one state of the database. When `session` is a
    read-only unit of work of its own on a database file or server, the reads are split across
    `READERS` sessions that share one snapshot (`db.session.same_snapshot`), one thread each,
    taken in the order given (the longest first keeps the cores busy to the end): the database
    does the work with the GIL released, so a year's report takes about half the time on two
    cores. Otherwise (a session that has written, or may write) they run in `session`, one
    after another."""
    database = session.get_bind().url.database
    if READERS < 2 or not read_only(session) or database in (None, "", ":memory:"):
        without_jit(session)
        return {name: read(session) for name, read in reads.items()}
    with same_snapshot(session.get_bind(), READERS) as sessions:
        for s in sessions:
            without_jit(s)
            if not _sqlite(s):  # the cores are taken by the sessions: no parallel workers on
                s.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # top (-10 %)
        free: SimpleQueue[Session] = SimpleQueue()  # as many sessions as threads
        for s in sessions:
            free.put(s)

        def run(read: Callable[[Session], Any]) -> Any:
            s = free.get()
            try:
                return read(s)
            finally:
                free.put(s)

        with ThreadPoolExecutor(READERS, thread_name_prefix="kesu-report") as pool:
            futures = {name: pool.submit(run, read) for name, read in reads.items()}
            return {name: future.result() for name, future in futures.items()}


def _seconds(session: Session, later, earlier) -> ColumnElement[int]:
    """Whole seconds between two instants (each truncated to the second)."""
    if _sqlite(session):  # unixepoch(x) is strftime('%s', x) as an integer, at half the cost
        return func.unixepoch(later) - func.unixepoch(earlier)
    # PostgreSQL: floor(date_part('epoch', x)) is the epoch of date_trunc('second', x) (the
    # microseconds divided by a million, correctly rounded as a double, never cross a whole
    # second), in double precision instead of numeric: a third of the cost
    return cast(func.floor(func.date_part("epoch", later)), BigInteger) - cast(
        func.floor(func.date_part("epoch", earlier)), BigInteger
    )


def _utc_hour(session: Session, column) -> ColumnElement[Any]:
    if _sqlite(session):  # stored as "YYYY-MM-DD HH:MM:SS.ffffff": the hour is its first 13
        return func.substr(column, 1, 13)  # characters (a third of strftime's cost)
    return func.date_trunc("hour", func.timezone("UTC", column))


def _hour_value(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH"
        return datetime.fromisoformat(value)
    return value.replace(tzinfo=None)


def _received(scope: Scope, start: datetime, end: datetime, c=Complaint) -> ColumnElement[bool]:
    return and_(scope.where(c), c.received_at >= start, c.received_at < end)


def _closed(scope: Scope, start: datetime, end: datetime, c=Complaint) -> ColumnElement[bool]:
    return and_(scope.where(c), c.closed_at >= start, c.closed_at < end)


# --- complaints received ----------------------------------------------------------------------


@dataclass(frozen=True)
class CubeRow:
    level: str
    category: str | None
    channel: str
    site_id: int | None
    department_id: int | None
    received: int
    closed_by_end: int


def received_cube(session: Session, scope: Scope, start: datetime, end: datetime) -> list[CubeRow]:
    """Complaints received in the period, counted by every breakdown dimension at once (the
    report sums this small cube along each dimension), with how many were closed by `end`."""
    c = Complaint
    closed = func.sum(case((and_(c.closed_at.is_not(None), c.closed_at < end), 1), else_=0))
    dims = (c.level, c.category, c.channel, c.site_id, c.department_id)
    rows = session.execute(
        select(*dims, func.count(), closed).where(_received(scope, start, end)).group_by(*dims)
    )
    return [CubeRow(*r[:5], int(r[5]), int(r[6] or 0)) for r in rows]


def received_totals(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> tuple[int, int]:
    """(complaints received in the period, of which closed by `end`): the cube's two totals,
    for the previous period, which shows no breakdown."""
    c = Complaint
    closed = func.sum(case((and_(c.closed_at.is_not(None), c.closed_at < end), 1), else_=0))
    row = session.execute(select(func.count(), closed).where(_received(scope, start, end))).one()
    return int(row[0]), int(row[1] or 0)


def merchants(session: Session, scope: Scope, start: datetime, end: datetime) -> Counter[str]:
    """Complaints received in the period by the merchant/tenant named in `subject.merchant`
    (as copied into `report_complaint`)."""
    facts = ComplaintFacts
    rows = session.execute(
        select(facts.merchant, func.count())
        .select_from(Complaint)
        .join(facts, facts.complaint_id == Complaint.id)
        .where(_received(scope, start, end), facts.merchant.is_not(None))
        .group_by(facts.merchant)
    )
    return Counter({m: n for m, n in rows if m})


def received_hours(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Complaints received per UTC hour (naive UTC datetimes)."""
    hour = _utc_hour(session, Complaint.received_at)
    rows = session.execute(
        select(hour, func.count()).where(_received(scope, start, end)).group_by(hour)
    )
    return {_hour_value(h): n for h, n in rows}


def closed_hours(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> dict[datetime, int]:
    hour = _utc_hour(session, Complaint.closed_at)
    rows = session.execute(
        select(hour, func.count()).where(_closed(scope, start, end)).group_by(hour)
    )
    return {_hour_value(h): n for h, n in rows}


def open_at(session: Session, scope: Scope, end: datetime) -> int:
    """Complaints received before `end` and not closed by then (the open backlog)."""
    c = Complaint
    still_open = session.scalar(
        select(func.count()).where(scope.where(), c.received_at < end, c.closed_at.is_(None))
    )
    closed_later = session.scalar(
        select(func.count()).where(scope.where(), c.received_at < end, c.closed_at >= end)
    )
    return (still_open or 0) + (closed_later or 0)


def repeats(
    session: Session, scope: Scope, start: datetime, end: datetime, window_days: int
) -> tuple[int, int]:
    """(received, repeat complaints): a complaint is a repeat when the same complainant had
    another complaint of the same category (or both uncategorised) in the same group within
    `window_days` before it."""
    c, p = Complaint, aliased(Complaint)
    days = int(window_days)
    if _sqlite(session):
        since = func.strftime("%Y-%m-%d %H:%M:%f", c.received_at, f"-{days} days")
    else:
        since = c.received_at - literal_column(f"interval '{days} days'")
    earlier = (
        select(p.id)
        .where(
            p.complainant_id == c.complainant_id,
            p.org_id == c.org_id,
            p.received_at < c.received_at,
            p.received_at >= since,
            p.category.is_not_distinct_from(c.category),
        )
        .exists()
    )
    row = session.execute(
        select(func.count(), func.sum(case((earlier, 1), else_=0))).where(
            _received(scope, start, end)
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


# --- complaints closed ------------------------------------------------------------------------


def handling(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> dict[str | None, Durations]:
    """Handling time (seconds from receiving to closing) of the complaints closed in the period:
    per level, and over all of them (key None). PostgreSQL computes the count, total, median
    and nearest-rank 90th percentile itself (`percentile_cont(0.5)` is the mean of the two
    middle values; `percentile_disc(0.9)` is the value at ceil(0.9·n)); SQLite, in-process, hands
    over every complaint's integer, one comma-separated text per level (a row per complaint
    cost twice as much at half a million), and `rules.durations` does the same arithmetic."""
    c = Complaint
    seconds = _seconds(session, c.closed_at, c.received_at)
    if _sqlite(session):
        rows = session.execute(
            select(c.level, func.group_concat(seconds))
            .where(_closed(scope, start, end))
            .group_by(c.level)
        )
        values = {level: [int(v) for v in text.split(",")] for level, text in rows}
        out = {None: durations([v for level in values.values() for v in level])}
        out.update((level, durations(v)) for level, v in values.items())
        return out
    rows = session.execute(
        select(
            c.level,
            func.grouping(c.level),
            func.count(),
            func.sum(seconds),
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_disc(0.9).within_group(seconds),
        )
        .where(_closed(scope, start, end))
        .group_by(func.rollup(c.level))
    )
    out: dict[str | None, Durations] = {None: durations([])}
    for level, total_row, n, total, median, p90 in rows:
        if not n:  # ROLLUP's grand total over no rows
            continue
        out[None if total_row else level] = Durations(
            int(n), int(total) / int(n), float(median), int(p90)
        )
    return out


def first_contact_resolution(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> tuple[int, int]:
    """(valid complaints closed in the period, of which resolved at first contact): one round
    (never reopened, never answered dissatisfied), never escalated, never transferred.
    PostgreSQL joins the set of complaints ever escalated or transferred (read from the
    `(command, at, …)` index, hashed) instead of looking each complaint up; SQLite would build
    that set from the whole per-complaint index, so it keeps one lookup per complaint."""
    c, e = Complaint, ComplaintEvent
    handed_on_commands = e.command.in_(("escalate", "accept_transfer"))
    query = select(func.count())
    if _sqlite(session):
        handed_on = select(e.id).where(e.complaint_id == c.id, handed_on_commands).exists()
        query = query.add_columns(func.sum(case((and_(c.round == 1, ~handed_on), 1), else_=0)))
    else:
        ids = select(e.complaint_id).where(handed_on_commands).distinct().subquery("handed_on")
        once = and_(c.round == 1, ids.c.complaint_id.is_(None))
        query = query.add_columns(func.sum(case((once, 1), else_=0)))
        query = query.select_from(c).outerjoin(ids, ids.c.complaint_id == c.id)
    query = query.where(_closed(scope, start, end), c.classification == "valid")
    row = session.execute(query).one()
    return int(row[0]), int(row[1] or 0)


def satisfaction(session: Session, scope: Scope, start: datetime, end: datetime) -> Counter:
    """Complaints closed in the period by their last satisfaction grade (None: not asked)."""
    c = Complaint
    rows = session.execute(
        select(c.satisfaction, func.count())
        .where(_closed(scope, start, end))
        .group_by(c.satisfaction)
    )
    return Counter(dict(rows.all()))


def root_causes(session: Session, scope: Scope, start: datetime, end: datetime) -> Counter[str]:
    """Root-cause dimensions named by the investigations of complaints closed in the period
    (`investigation.root_causes`). SQLite reads them from `report_complaint` (a seek in a
    narrow table instead of the complaint's row: 1.4 -> 0.5 s CPU for a year of half a million);
    PostgreSQL from the complaint row, which it reads as fast, where it would hash the whole
    narrow table for a week's few thousand complaints."""
    c = Complaint
    if _sqlite(session):
        facts = ComplaintFacts
        cause = func.json_each(facts.root_causes).table_valued("value")
        query = (
            select(cause.c.value, func.count())
            .select_from(c)
            .join(facts, facts.complaint_id == c.id)
            .join(cause, true())
            .where(_closed(scope, start, end), facts.root_causes.is_not(None))
        )
    else:
        cause = func.jsonb_array_elements_text(c.investigation["root_causes"]).table_valued("value")
        query = (
            select(cause.c.value, func.count())
            .select_from(c)
            .join(cause, true())
            .where(_closed(scope, start, end), c.investigation.is_not(None))
        )
    rows = session.execute(query.group_by(cause.c.value))
    return Counter({str(k): n for k, n in rows})


# --- events in the period ---------------------------------------------------------------------


def _events(scope: Scope, start: datetime, end: datetime, *commands: str):
    """The scope's events of these commands in the period, from `report_event` (one range of
    its key per command for a whole group; a part of a group also checks each complaint's
    site and department)."""
    e = EventCopy
    query = (
        select()
        .select_from(e)
        .where(e.org_id == scope.group_id, e.command.in_(commands), e.at >= start, e.at < end)
    )
    if scope.org_ids is not None:
        query = query.join(Complaint, Complaint.id == e.complaint_id).where(scope.where())
    return query


def event_counts(
    session: Session, scope: Scope, start: datetime, end: datetime, commands: tuple[str, ...]
) -> Counter[str]:
    """Events in the period by command (those `report_event` copies: implement, close, reopen)."""
    if not set(commands) <= COPIED_COMMANDS:
        raise ValueError(f"report_event holds only {sorted(COPIED_COMMANDS)}")
    e = EventCopy
    query = _events(scope, start, end, *commands).add_columns(e.command, func.count())
    return Counter(dict(session.execute(query.group_by(e.command)).all()))


COPIED_COMMANDS = frozenset({"implement", "close", "reopen", "record_contact"})


def compensation(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> list[tuple[str | None, int, Decimal]]:
    """(solution type, solutions implemented, total amount) for every `implement` event in the
    period, each priced at the solution proposed last before it: one backward seek per event in
    the complaint's proposals, as copied into `report_proposal` (the type and amount of each
    `propose_solution` event, so the wide event rows are not read; an implement with no
    proposal before it is left out). The complaint row's `solution` is not used: it is the
    current proposal, not necessarily the one an earlier implement carried out."""
    impl, earlier = EventCopy, aliased(SolutionProposal)
    implemented = _events(scope, start, end, "implement")
    before = and_(earlier.complaint_id == impl.complaint_id, earlier.seq < impl.seq)
    if _sqlite(session):  # the proposal's seq, then its row by the key
        prop = SolutionProposal
        last = select(earlier.seq).where(before).order_by(earlier.seq.desc()).limit(1)
        on = and_(prop.complaint_id == impl.complaint_id, prop.seq == last.scalar_subquery())
        source, kind, text_amount = implemented.join(prop, on), prop.solution_type, prop.amount
    else:  # PostgreSQL: the proposal's row itself, one backward index scan per implement
        last = (
            select(earlier.solution_type, earlier.amount)
            .where(before)
            .order_by(earlier.seq.desc())
            .limit(1)
            .lateral("proposal")
        )
        source, kind, text_amount = (
            implemented.join(last, true()),
            last.c.solution_type,
            last.c.amount,
        )
    amount = cast(text_amount, Numeric(14, 2))
    rows = session.execute(source.add_columns(kind, func.count(), func.sum(amount)).group_by(kind))
    return [(k, int(n), Decimal(str(total or 0)).quantize(Decimal("0.01"))) for k, n, total in rows]


# --- staff ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffResponse:
    user_id: int
    contacts: int
    seconds: int  # total seconds from receiving to first contact


def staff_response(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> list[StaffResponse]:
    """Per staff member: complaints received in the period whose first successful contact they
    recorded, and the time it took. The contact events are read from `report_event` (the
    group's own, narrow) rather than the event log's index of every group's."""
    c, e = Complaint, EventCopy
    rows = session.execute(
        select(
            e.actor_id, func.count(), func.sum(_seconds(session, c.first_contact_at, c.received_at))
        )
        .join(c, c.id == e.complaint_id)
        .where(
            _received(scope, start, end),
            e.org_id == scope.group_id,
            e.command == "record_contact",
            e.at == c.first_contact_at,
            e.actor_id.is_not(None),
        )
        .group_by(e.actor_id)
    )
    return [StaffResponse(uid, int(n), int(total or 0)) for uid, n, total in rows]


@dataclass(frozen=True)
class StaffResolution:
    user_id: int
    resolved: int
    rated: int
    rating_sum: int
    accepted: int
    multi_round: int


def staff_resolution(
    session: Session, scope: Scope, start: datetime, end: datetime, accepting: tuple[int, ...]
) -> list[StaffResolution]:
    """Per staff member: complaints closed in the period whose (last) solution they implemented,
    with the satisfaction those customers gave and how many needed more than one round (the
    implementations read from `report_event`, as in `staff_response`)."""
    c, e = Complaint, EventCopy
    rows = session.execute(
        select(
            e.actor_id,
            func.count(),
            func.count(c.satisfaction),
            func.sum(c.satisfaction),
            func.sum(case((c.satisfaction.in_(accepting), 1), else_=0)),
            func.sum(case((c.round > 1, 1), else_=0)),
        )
        .join(c, c.id == e.complaint_id)
        .where(
            _closed(scope, start, end),
            e.org_id == scope.group_id,
            e.command == "implement",
            e.at == c.resolved_at,
            e.actor_id.is_not(None),
        )
        .group_by(e.actor_id)
    )
    return [StaffResolution(r[0], *(int(v or 0) for v in r[1:])) for r in rows]


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


# --- volume -----------------------------------------------------------------------------------


def volumes(session: Session, org_ids: list[int], kind: str) -> dict[int, list[VolumeRecord]]:
    """Recorded orders or visits per organisation."""
    column = OrgVolume.orders if kind == "orders" else OrgVolume.visits
    rows = session.execute(
        select(OrgVolume.org_id, OrgVolume.first_day, OrgVolume.last_day, column).where(
            OrgVolume.org_id.in_(org_ids), column.is_not(None)
        )
    )
    out: dict[int, list[VolumeRecord]] = {}
    for oid, first, last, amount in rows:
        out.setdefault(oid, []).append(VolumeRecord(first, last, amount))
    return out


# --- timers and penalties (kesu.sla) ------------------------------------------------------------


@dataclass(frozen=True)
class TimerRow:
    key: str
    due: int
    on_time: int
    late: int


def timer_compliance(
    session: Session, scope: Scope, start: datetime, end: datetime, cutoff: datetime
) -> list[TimerRow]:
    """Per timer: timers that fell due in the period (not cancelled before falling due), those
    met on time, and those late (met after their due time, or not met by `cutoff`). Read from
    `report_timer` (the timers with their group): one range of its index for a whole group; a
    part of a group also checks each complaint's site and department."""
    t = TimerCopy
    on_time = and_(t.met_at.is_not(None), t.met_at <= t.due_at)
    late = and_(~on_time, or_(t.met_at.is_not(None), t.due_at < cutoff))
    query = select(
        t.key,
        func.count(),
        func.sum(case((on_time, 1), else_=0)),
        func.sum(case((late, 1), else_=0)),
    ).where(
        t.org_id == scope.group_id,
        t.due_at >= start,
        t.due_at < end,
        or_(t.cancelled_at.is_(None), t.cancelled_at >= t.due_at),
    )
    if scope.org_ids is not None:
        query = query.join(Complaint, Complaint.id == t.complaint_id).where(scope.where())
    rows = session.execute(query.group_by(t.key))
    return [TimerRow(k, int(n), int(ok or 0), int(bad or 0)) for k, n, ok, bad in rows]


@dataclass(frozen=True)
class OverdueRow:
    complaint_id: int
    number: str
    title: str
    level: str
    site_id: int | None
    assignee_id: int | None
    timer_key: str
    due_at: datetime


def overdue(session: Session, scope: Scope, cutoff: datetime, limit: int) -> list[OverdueRow]:
    """Timers past due and not met at `cutoff`, of complaints still open then, oldest first."""
    c, t = Complaint, Timer
    # the two ranges of the closed-time index (still open; closed after the cutoff), each with
    # the group, so the history of closed complaints is not read
    open_then = or_(
        and_(scope.where(), c.closed_at.is_(None)), and_(scope.where(), c.closed_at > cutoff)
    )
    rows = session.execute(
        select(c.id, c.number, c.title, c.level, c.site_id, c.assignee_id, t.key, t.due_at)
        .join(t, t.complaint_id == c.id)
        .where(
            open_then,
            c.received_at < cutoff,
            t.started_at < cutoff,
            t.due_at < cutoff,
            or_(t.met_at.is_(None), t.met_at > cutoff),
            or_(t.cancelled_at.is_(None), t.cancelled_at > cutoff),
        )
        .order_by(t.due_at, c.id, t.key)
        .limit(limit)
    )
    return [OverdueRow(*r) for r in rows]


def penalties(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> list[tuple[int | None, int, Decimal]]:
    """(person charged, penalties, total yuan) for penalties recorded in the period."""
    p = Penalty
    rows = session.execute(
        select(p.user_id, func.count(), func.sum(p.amount))
        .join(Complaint, Complaint.id == p.complaint_id)
        .where(p.created_at >= start, p.created_at < end, scope.where())
        .group_by(p.user_id)
    )
    return [
        (uid, int(n), Decimal(str(total or 0)).quantize(Decimal("0.01"))) for uid, n, total in rows
    ]


# --- the monthly staff review (seed 001 art. 19) -------------------------------------------------


@dataclass(frozen=True)
class ReviewCase:
    complaint_id: int
    number: str
    original_number: str | None
    title: str
    level: str
    category: str | None
    site_id: int | None
    closed_at: datetime
    investigation: dict[str, Any] | None
    staff_complained_id: int | None
    resolver_id: int | None


def review_cases(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> list[ReviewCase]:
    """Complaints closed in the period with who resolved them (the last `implement`)."""
    c, e = Complaint, ComplaintEvent
    rows = session.execute(
        select(
            c.id,
            c.number,
            c.original_number,
            c.title,
            c.level,
            c.category,
            c.site_id,
            c.closed_at,
            c.investigation,
            c.staff_complained_id,
            e.actor_id,
        )
        .outerjoin(e, and_(e.complaint_id == c.id, e.command == "implement", e.at == c.resolved_at))
        .where(_closed(scope, start, end))
        .order_by(c.closed_at, c.id)
    )
    return [ReviewCase(*r) for r in rows]


def case_penalties(
    session: Session, complaint_ids: list[int]
) -> list[tuple[int, int | None, Decimal]]:
    """(complaint, person charged, amount) of every penalty on these complaints."""
    out: list[tuple[int, int | None, Decimal]] = []
    for i in range(0, len(complaint_ids), 1000):
        chunk = complaint_ids[i : i + 1000]
        out.extend(
            session.execute(
                select(Penalty.complaint_id, Penalty.user_id, Penalty.amount)
                .where(Penalty.complaint_id.in_(chunk))
                .order_by(Penalty.id)
            ).all()
        )
    return out
