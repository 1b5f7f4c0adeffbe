"""The worker job: warn about timers that are nearly due, and breach the ones that are due.

Set-based, a chunk of timers per pass and kind, in the pass's one transaction:
1. pick due timers over a partial index (`due_at <= now`), locking their complaints with SKIP
   LOCKED (PostgreSQL): a complaint a person's command or another worker is writing is
   skipped whole, its timers stay due for a later pass, and two workers take different
   complaints. The complaint's row lock guards its timers, as for a command (which claims the
   complaint first): a worker that locked a timer of a complaint it then could not take held
   that timer while the worker holding the complaint re-timed it, and two such workers
   deadlocked;
2. read the complaints fresh;
3. claim the timers with one conditional UPDATE (`... AND breached_at IS NULL`) RETURNING the
   ones claimed;
4. read the running timers of those complaints at once, run each breach's consequences in
   memory (the pack's penalty, escalation, re-timing the other clocks, auto-assignment), chain
   one event per breach onto each complaint's last hash (read for all of them in one query),
   and write it all at the end of the pass: one flush, complaint versions bumped with one
   executemany, penalties, events and outbox rows inserted in batches.
A command that read a complaint before the sweep locked it fails its conditional version
UPDATE afterwards (409), exactly as against another person's write. A worker killed mid-pass
commits nothing, so every breach, penalty, event and message happens exactly once.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, bindparam, column, func, insert, select, update, values
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from kesu.audit.chain import GENESIS
from kesu.calendar.workdays import deadline_text
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.escalation import rules as escalation_rules
from kesu.escalation import service as escalation_service
from kesu.escalation.service import Alert
from kesu.notify import service as notify_service
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack, TimerRule
from kesu.sla import service as sla_service
from kesu.sla.models import Penalty, Timer

log = logging.getLogger("kesu.sla")

BATCH = 500
"""Timers handled per pass and kind (one transaction); the rest wait for the next pass."""

_RUNNING = (Timer.state == "running", Timer.breached_at.is_(None))
_UNREAD = [
    defer(getattr(Complaint, name))
    for name in (
        *("description", "demands", "pending_transfer", "investigation", "solution"),
        *("solution_amount", "occurred_at", "occurred_place", "satisfaction", "review_step"),
        *("unreachable_attempts", "delay_status", "acknowledged_at", "first_contact_at"),
        *("resolved_at", "closed_at", "followed_up_at", "imported", "original_number"),
        "import_batch_id",
    )
]
"""Columns of a complaint no breach or warning reads (loaded on access if one ever does)."""


def sweep(session: Session, clock: Clock) -> int:
    """One pass: breaches first, then warnings. Returns how many timers it acted on."""
    with _no_cycle_collection():
        return _sweep(session, clock)


@contextmanager
def _no_cycle_collection():
    """A full pass makes tens of thousands of short-lived objects (ORM rows, events, messages)
    while hundreds of complaints and timers stay alive until its end, so the cycle collector
    would walk them again and again (1M, 10,000 due: 0.9 s of 7.8 s CPU, most of it in six
    full collections); reference counting frees them as before, and the collector resumes
    after the pass (unless it was off already). Process-wide: under `kesu serve` the web
    threads go without it for the length of a pass too."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _sweep(session: Session, clock: Clock) -> int:
    now = clock.now()
    done = 0
    picked = _pick(
        session,
        select(Timer.id, Timer.complaint_id)
        .where(*_RUNNING, Timer.due_at <= now)
        .order_by(Timer.due_at),
    )
    if picked:
        done += _breach_all(session, clock, picked)
    picked = _pick(
        session,
        select(Timer.id, Timer.complaint_id)
        .where(
            *_RUNNING,
            Timer.warned_at.is_(None),
            Timer.warn_at <= now,
            Timer.due_at > now,  # already due: a breach, not a warning
        )
        .order_by(Timer.warn_at),
    )
    if picked:
        done += _warn_all(session, clock, picked)
    return done


def _pick(session: Session, stmt) -> list[tuple[int, int]]:
    """(timer id, complaint id) of up to `BATCH` timers, their complaints locked (see above)."""
    locked = (
        stmt.join(Complaint, Complaint.id == Timer.complaint_id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Complaint)
    )
    return [tuple(r) for r in session.execute(locked)]


def _lock(session: Session, complaint_ids: set[int]) -> dict[int, Complaint]:
    """The complaints `_pick` locked, read fresh (on PostgreSQL, locking them again is a no-op
    for this transaction and leaves out any another one holds)."""
    found = session.scalars(
        select(Complaint)
        .where(Complaint.id.in_(complaint_ids))
        .options(*_UNREAD)
        .with_for_update(skip_locked=True, of=Complaint)
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in found}


def _claim(session: Session, picked, complaints, **values) -> list[int]:
    """Set `values` on the picked timers of locked complaints that still qualify (the
    conditional UPDATE); the ids claimed, in the order picked."""
    ids = [tid for tid, cid in picked if cid in complaints]
    skipped = len(picked) - len(ids)
    if skipped:
        log.info("%d timers: their complaint is being changed; next pass", skipped)
    if not ids:
        return []
    unset = [getattr(Timer, name).is_(None) for name in values]
    claimed = set(
        session.scalars(
            update(Timer)
            .where(Timer.id.in_(ids), *_RUNNING, *unset)
            .values(**values)
            .returning(Timer.id),
            execution_options={"synchronize_session": False},
        )
    )
    return [tid for tid in ids if tid in claimed]


@dataclass
class _Pass:
    """What one pass writes, collected in memory and inserted in batches at the end."""

    session: Session
    now: datetime
    complaints: dict[int, Complaint]
    outbox: notify_service.Batch
    links: dict[int, tuple[int, str]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    penalties: list[dict[str, Any]] = field(default_factory=list)
    packs: dict[int, Pack] = field(default_factory=dict)
    load: dict[int, int] = field(default_factory=dict)
    bumps: Counter[int] = field(default_factory=Counter)
    here: Counter[int | None] = field(default_factory=Counter)
    seen: dict[int, tuple[int | None, bool]] = field(default_factory=dict)
    staff: list[int] = field(default_factory=list)
    keys: dict[int, list[tuple[str, int]]] | None = None

    @classmethod
    def start(cls, session: Session, now: datetime, complaints: dict[int, Complaint]) -> _Pass:
        work = cls(session, now, complaints, notify_service.Batch(session, now))
        work.staff = escalation_service.prefetch_staff(session, list(complaints.values()))
        work.outbox.know(work.staff)
        for complaint in complaints.values():
            work.counted(complaint)
        last = (
            select(ComplaintEvent.complaint_id, func.max(ComplaintEvent.seq).label("seq"))
            .where(ComplaintEvent.complaint_id.in_(complaints))
            .group_by(ComplaintEvent.complaint_id)
            .subquery()
        )
        rows = session.execute(
            select(ComplaintEvent.complaint_id, ComplaintEvent.seq, ComplaintEvent.hash).join(
                last,
                and_(
                    ComplaintEvent.complaint_id == last.c.complaint_id,
                    ComplaintEvent.seq == last.c.seq,
                ),
            )
        )
        work.links = {cid: (seq, h) for cid, seq, h in rows}
        return work

    def pack(self, complaint: Complaint) -> Pack:
        vid = complaint.policy_version_id
        if vid not in self.packs:
            self.packs[vid] = policy_service.pack_of(self.session, vid)
        return self.packs[vid]

    def open_cases(self, user_ids: list[int]) -> dict[int, int]:
        """Open complaints per handler for auto-assignment, as if every change of the pass so
        far were flushed: the database's count without the pass's complaints (once per
        handler and pass: the first time, for every staff member the pass read), plus those
        complaints as they are in memory (`counted`)."""
        missing = [u for u in user_ids if u not in self.load]
        if missing:
            missing += [u for u in self.staff if u not in self.load]
            missing = list(dict.fromkeys(missing))
            found = escalation_service.open_cases_of(
                self.session, missing, excluding=sorted(self.complaints)
            )
            self.load.update({u: found.get(u, 0) for u in missing})
        return {u: self.load[u] + self.here[u] for u in user_ids}

    def rounds(self, complaint_id: int) -> list[tuple[str, int]]:
        """(key, round) of each timer of a complaint of the pass in the database, read for
        all of them the first time a level change asks (`sla_service.update`): what the pass
        starts later is in its own timer lists, and the only flush before the end of the
        pass comes with its first message."""
        if self.keys is None:
            self.keys = defaultdict(list)
            for cid, key, round_ in self.session.execute(
                select(Timer.complaint_id, Timer.key, Timer.round).where(
                    Timer.complaint_id.in_(self.complaints)
                )
            ):
                self.keys[cid].append((key, round_))
        return self.keys.get(complaint_id, [])

    def counted(self, complaint: Complaint) -> None:
        """Bring `here` (the pass's open complaints per handler) up to date with this one."""
        now = (complaint.assignee_id, complaint.state in lifecycle.OPEN)
        before = self.seen.get(complaint.id)
        if before != now:
            if before is not None and before[1]:
                self.here[before[0]] -= 1
            if now[1]:
                self.here[now[0]] += 1
            self.seen[complaint.id] = now

    def record(self, complaint: Complaint, command: str, payload: dict[str, Any]) -> None:
        """What `complaint_service.record_event` does for the system, chained in memory: the
        complaint's next version and its next event on the hash chain."""
        seq, prev = self.links.get(complaint.id, (0, GENESIS))
        row = complaint_service.event_row(
            complaint, lifecycle.SYSTEM, command, payload, self.now, seq + 1, prev
        )
        self.events.append(row)
        self.links[complaint.id] = (row["seq"], row["hash"])
        self.bumps[complaint.id] += 1

    def send(self, pack: Pack, complaint: Complaint, alerts: list[Alert], dedupe: str) -> None:
        escalation_service.send(
            self.session, pack, complaint, alerts, dedupe, self.now, batch=self.outbox
        )

    def finish(self) -> None:
        with self.session.no_autoflush:  # the complaints first, then the flush: the timers
            self._write_complaints()
        self.session.flush()
        if self.penalties:
            self.session.execute(insert(Penalty), self.penalties)
        if self.events:
            self.session.execute(insert(ComplaintEvent), self.events)
        self.outbox.flush()

    def _write_complaints(self) -> None:
        """Each complaint of the pass written once: what the pass changed on it in memory
        (level, owner, next deadline …) and one version more per event, as `_claim` does per
        command (`UPDATE … SET …, version = v + n WHERE id = … AND version = v`). Complaints
        that changed the same columns share one statement (the ORM's flush would send one
        UPDATE per versioned row): an executemany on SQLite, one UPDATE … FROM (VALUES …) on
        PostgreSQL, where every statement is a round trip."""
        if not self.bumps:
            return
        table = Complaint.__table__
        columns = Complaint.__mapper__.attrs
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        changes: dict[int, dict[str, Any]] = {}
        for cid, n in self.bumps.items():
            complaint = self.complaints[cid]
            state = instance_state(complaint)
            changed = {}
            for key in list(state.committed_state):
                added = state.attrs[key].history.added
                if added:
                    changed[columns[key].columns[0].name] = added[0]
            changed["version"] = complaint.version + n
            changed["updated_at"] = self.now
            changes[cid] = changed
            row = {"b_id": cid, "b_old": complaint.version}
            row.update((f"c_{name}", value) for name, value in changed.items())
            groups[tuple(sorted(changed))].append(row)
        done = 0
        postgres = self.session.get_bind().dialect.name == "postgresql"
        for names, rows in groups.items():
            if postgres:
                data = values(
                    column("b_id", Integer),
                    column("b_old", Integer),
                    *(column(f"c_{name}", table.c[name].type) for name in names),
                    name="changed",
                ).data(
                    [
                        tuple(row[k] for k in ("b_id", "b_old", *map("c_{}".format, names)))
                        for row in rows
                    ]
                )
                stmt = (
                    update(table)
                    .where(table.c.id == data.c.b_id, table.c.version == data.c.b_old)
                    .values({name: data.c[f"c_{name}"] for name in names})
                )
                done += self.session.execute(stmt).rowcount
            else:
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_old"))
                    .values({name: bindparam(f"c_{name}") for name in names})
                )
                done += self.session.execute(stmt, rows).rowcount
        if done != len(changes):  # cannot happen while the rows are locked; never half a pass
            raise StaleDataError(f"complaints: {done} of {len(changes)} written")
        for cid, changed in changes.items():  # written: nothing left for the flush
            complaint = self.complaints[cid]
            for key in list(instance_state(complaint).committed_state):
                set_committed_value(complaint, key, getattr(complaint, key))
            set_committed_value(complaint, "version", changed["version"])
            set_committed_value(complaint, "updated_at", self.now)


def _timers_of(session: Session, complaint_ids) -> dict[int, list[Timer]]:
    """The running timers of these complaints, oldest first, read fresh."""
    out: dict[int, list[Timer]] = defaultdict(list)
    for timer in session.scalars(
        select(Timer)
        .where(Timer.complaint_id.in_(complaint_ids), Timer.state == "running")
        .order_by(Timer.id)
        .execution_options(populate_existing=True)
    ):
        out[timer.complaint_id].append(timer)
    return out


def _payload(timer: Timer) -> dict[str, Any]:
    return {"timer": timer.key, "due_at": timer.due_at.isoformat(), "round": timer.round}


def _breach_all(session: Session, clock: Clock, picked) -> int:
    now = clock.now()
    complaints = _lock(session, {cid for _, cid in picked})
    claimed = _claim(session, picked, complaints, breached_at=now)
    if not claimed:
        return 0
    timers = _timers_of(session, {cid for _, cid in picked if cid in complaints})
    by_id = {t.id: t for ts in timers.values() for t in ts}
    work = _Pass.start(session, now, complaints)
    sla_service.prefetch_calendars(session, list(complaints.values()))  # re-timing needs them
    with session.no_autoflush:  # flushed together at the end (see _Pass.open_cases)
        for timer in sorted((by_id[tid] for tid in claimed), key=lambda t: (t.due_at, t.id)):
            complaint = complaints[timer.complaint_id]
            pack = work.pack(complaint)
            rule = pack.timer(timer.key)
            payload = _payload(timer)
            alerts: list[Alert] = []
            if rule is not None:
                alerts = _consequences(work, pack, complaint, timer, rule, payload)
            work.counted(complaint)  # a level raise may have changed its handler
            alerts += sla_service.update(
                session,
                pack,
                complaint,
                lifecycle.SYSTEM,
                "sla_breach",
                payload,
                now,
                timers=timers[complaint.id],
                open_cases=work.open_cases,
                rounds=work.rounds,
            )
            work.counted(complaint)
            work.record(complaint, "sla_breach", payload)
            work.send(pack, complaint, alerts, f"sla:{timer.id}:breach")
    work.finish()
    return len(claimed)


def _consequences(
    work: _Pass,
    pack: Pack,
    complaint: Complaint,
    timer: Timer,
    rule: TimerRule,
    payload: dict,
) -> list[Alert]:
    """What the pack says a breach costs: a penalty, a level raise, messages to whom."""
    session, now = work.session, work.now
    params = escalation_service.params_of(
        pack, complaint, timer=rule.name, due_at=deadline_text(timer.due_at, pack.timezone)
    )
    # told as things stand at the breach: the handler then and the tier above them
    told = escalation_service.recipients(session, pack, complaint, rule.on_breach.notify)
    alerts = [Alert("notice", "sla_breach", params, user_ids=told)]
    handler = complaint.assignee_id or complaint.received_by_id
    amount = rule.penalty_for(timer.level)
    if amount:
        person = escalation_rules.responsible(
            rule.on_breach.penalty_to,
            assignee_id=complaint.assignee_id,
            received_by_id=complaint.received_by_id,
        )
        work.penalties.append(
            dict(
                complaint_id=complaint.id,
                timer_id=timer.id,
                user_id=person,
                amount=Decimal(amount),
                timer_key=timer.key,
                level=timer.level,
                created_at=now,
            )
        )
        payload["penalty"] = {"amount": str(amount), "user_id": person}
        if person is not None:
            alerts.append(
                Alert(
                    "penalty",
                    "sla_penalty",
                    escalation_service.params_of(
                        pack, complaint, timer=rule.name, amount=str(amount)
                    ),
                    user_ids=[person],
                )
            )
    top = escalation_rules.top_level(pack)
    if rule.on_breach.escalate and complaint.level != top and complaint.state != "closed":
        higher = pack.levels[pack.level_index(complaint.level) + 1].key
        if escalation_service.raise_level(
            session, pack, complaint, higher, f"{timer.key} overdue", now
        ):
            payload["escalated_to"] = higher
            alerts.append(
                Alert(
                    "escalated",
                    "complaint_escalated",
                    escalation_service.params_of(
                        pack,
                        complaint,
                        reason=escalation_service.reason_label("overdue", timer=rule.name),
                    ),
                    user_ids=[handler] if handler else [],
                    to=["assignee"],  # the new handler of the higher level
                )
            )
    return alerts


def _warn_all(session: Session, clock: Clock, picked) -> int:
    now = clock.now()
    complaints = _lock(session, {cid for _, cid in picked})
    claimed = _claim(session, picked, complaints, warned_at=now)
    if not claimed:
        return 0
    timers = session.scalars(
        select(Timer).where(Timer.id.in_(claimed)).execution_options(populate_existing=True)
    )
    work = _Pass.start(session, now, complaints)
    with session.no_autoflush:  # nothing read in the loop depends on what it changes
        _warn_each(work, sorted(timers, key=lambda t: (t.warn_at, t.id)))
    work.finish()
    return len(claimed)


def _warn_each(work: _Pass, timers: list[Timer]) -> None:
    for timer in timers:
        complaint = work.complaints[timer.complaint_id]
        pack = work.pack(complaint)
        rule = pack.timer(timer.key)
        if rule is None:
            continue
        params = escalation_service.params_of(
            pack,
            complaint,
            timer=rule.name,
            due_at=deadline_text(timer.due_at, pack.timezone),
        )
        work.record(complaint, "sla_warning", _payload(timer))
        work.send(
            pack,
            complaint,
            [Alert("notice", "sla_warning", params, to=rule.warn)],
            f"sla:{timer.id}:warning",
        )
