"""The tamper-evident record: verify every chain and anchor (`kesu audit verify`), keep the
configuration trail, and sign anchors (a worker job)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from kesu.access.models import Token, User
from kesu.audit.chain import (
    GENESIS,
    Break,
    anchor_body,
    config_fields,
    event_hash,
    verify_chain,
    verify_config_chain,
)
from kesu.audit.models import AuditAnchor, ConfigAudit
from kesu.clock import Clock
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.policy.models import PolicyVersion
from kesu.privacy.crypto import Keys, keys

ANCHOR_EVERY = timedelta(hours=1)
EVENTS_PER_ANCHOR = 50_000
"""An anchor covers at most this many events; a backlog is anchored on the following passes."""


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorProblem:
    anchor_id: int
    problem: str  # signature | other_key | gap | config_altered | config_missing


@dataclass
class Report:
    complaints: int = 0
    anchors: int = 0
    config_entries: int = 0
    breaks: list[Break] = field(default_factory=list)
    """complaint chains (complaint_id 0 is the configuration trail)"""
    anchor_problems: list[AnchorProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.anchor_problems


def verify_all(
    session: Session, batch: int = 2000, pins: dict[int, list[tuple[int, str]]] | None = None
) -> tuple[int, list[Break]]:
    """Returns (complaints checked, breaks). Events are streamed in (complaint, seq) order.

    Besides each link, the number of events must equal the complaint's version (each
    write adds exactly one event and one version), so a removed last event shows too.
    `pins` ({complaint id: [(seq, hash)]}, from the signed anchors) must still be there.
    """
    pins = pins or {}
    versions = dict(session.execute(select(Complaint.id, Complaint.version)).all())
    breaks: list[Break] = []
    seen: set[int] = set()
    rows = session.execute(
        select(ComplaintEvent).order_by(ComplaintEvent.complaint_id, ComplaintEvent.id)
    ).scalars()
    for cid, events in groupby(rows.yield_per(batch), key=lambda e: e.complaint_id):
        events = list(events)
        seen.add(cid)
        found = verify_chain(cid, events)
        if found is None and versions.get(cid) != len(events):
            last = events[-1]
            found = Break(cid, last.id, last.seq + 1, "missing")
        if found is None and cid in pins:
            found = _against_pins(cid, events, pins[cid])
        if found:
            breaks.append(found)
    for cid in sorted((set(versions) | set(pins)) - seen):
        breaks.append(Break(cid, None, 1, "missing"))
    return len(versions), breaks


def _against_pins(cid: int, events: list, pins: list[tuple[int, str]]) -> Break | None:
    by_seq = {e.seq: e for e in events}
    for seq, digest in sorted(pins):
        event = by_seq.get(seq)
        if event is None:
            return Break(cid, None, seq, "missing")
        if event.hash != digest:
            return Break(cid, event.id, seq, "altered")
    return None


def verify(session: Session, k: Keys | None = None) -> Report:
    """Every complaint chain, the configuration trail, and every signed anchor.

    An anchor pins the newest (seq, hash) of each complaint it covers: a chain rewritten from
    the start (every hash recomputed, so its links hold) still differs from the anchor, and so
    does a chain cut short together with its complaint's version.
    """
    k = k or keys()
    report = Report()
    pins: dict[int, list[tuple[int, str]]] = {}
    entries = list(session.scalars(select(ConfigAudit).order_by(ConfigAudit.id)))
    config_by_seq = {e.seq: e.hash for e in entries}
    prev_sig, prev_to = GENESIS, 0
    for a in session.scalars(select(AuditAnchor).order_by(AuditAnchor.id)):
        report.anchors += 1
        body = anchor_body(
            prev_signature=a.prev_signature,
            made_at=a.made_at,
            from_event_id=a.from_event_id,
            up_to_event_id=a.up_to_event_id,
            heads=a.heads,
            config_seq=a.config_seq,
            config_hash=a.config_hash,
        )
        if a.key_id != k.anchor_key_id:
            report.anchor_problems.append(AnchorProblem(a.id, "other_key"))
        elif k.sign(body) != a.signature:
            report.anchor_problems.append(AnchorProblem(a.id, "signature"))
        if a.prev_signature != prev_sig or a.from_event_id != prev_to:
            report.anchor_problems.append(AnchorProblem(a.id, "gap"))
        if a.config_seq and config_by_seq.get(a.config_seq) != a.config_hash:
            problem = "config_missing" if a.config_seq not in config_by_seq else "config_altered"
            report.anchor_problems.append(AnchorProblem(a.id, problem))
        for cid, (seq, digest) in a.heads.items():
            pins.setdefault(int(cid), []).append((seq, digest))
        prev_sig, prev_to = a.signature, a.up_to_event_id

    report.complaints, report.breaks = verify_all(session, pins=pins)
    report.config_entries = len(entries)
    config_break = verify_config_chain(entries)
    if config_break:
        report.breaks.insert(0, config_break)
    return report


# --- the configuration trail ------------------------------------------------------------------


def _serialise(session: Session) -> None:
    """One writer at a time appends to the single config chain (SQLite: BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(5005)"))


def record_config(
    session: Session,
    clock: Clock,
    by: User | None,
    action: str,
    target_kind: str,
    target_id: int | None,
    details: dict[str, Any] | None = None,
) -> ConfigAudit:
    """Append one configuration change (by None: the CLI or the system) to the trail."""
    _serialise(session)
    last = session.execute(
        select(ConfigAudit.seq, ConfigAudit.hash).order_by(ConfigAudit.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    now = clock.now()
    details = details or {}
    fields = config_fields(
        seq=seq,
        at=now,
        actor_id=by.id if by else None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        details=details,
    )
    row = ConfigAudit(
        seq=seq,
        at=now,
        actor_id=by.id if by else None,
        actor_label=(by.display_name if by else "system")[:100],
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        details=details,
        prev_hash=prev,
        hash=event_hash(prev, fields),
    )
    session.add(row)
    session.flush()
    return row


def config_trail(
    session: Session,
    *,
    limit: int = 100,
    before: int | None = None,
    org_ids: Collection[int] | None = None,
    pack_keys: Collection[str] = (),
) -> list:
    """Configuration changes, newest first. `org_ids`: only those about these organisations
    (an organisation, a user or an API token placed there, or made by someone placed there)
    and about the packs `pack_keys`: what an administrator of a group or region reads, not
    another group's people, tokens and stores. None: the whole trail (the CLI)."""
    stmt = select(ConfigAudit).order_by(ConfigAudit.seq.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(ConfigAudit.seq < before)
    if org_ids is not None:
        ids = sorted(org_ids)
        users = select(User.id).where(User.org_id.in_(ids))
        about = {
            "organisation": ConfigAudit.target_id.in_(ids),
            "user": ConfigAudit.target_id.in_(users),
            "token": ConfigAudit.target_id.in_(select(Token.id).where(Token.user_id.in_(users))),
            "pack": ConfigAudit.target_id.in_(
                select(PolicyVersion.id).where(PolicyVersion.key.in_(sorted(pack_keys)))
            ),
        }
        stmt = stmt.where(
            or_(
                ConfigAudit.actor_id.in_(users),
                *(and_(ConfigAudit.target_kind == k, c) for k, c in about.items()),
            )
        )
    return list(session.scalars(stmt))


# --- anchors ------------------------------------------------------------------------------------


def make_anchor(session: Session, clock: Clock, *, force: bool = False) -> int:
    """Worker job: sign the newest hashes once an hour (sooner while a backlog remains, at
    once when forced). Returns 1 when an anchor was made; nothing new, nothing signed."""
    _serialise(session)
    now = clock.now()
    last = session.scalar(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1))
    newest = session.scalar(select(func.max(ComplaintEvent.id))) or 0
    head = session.execute(
        select(ConfigAudit.seq, ConfigAudit.hash).order_by(ConfigAudit.seq.desc()).limit(1)
    ).first()
    config_seq, config_hash = (head.seq, head.hash) if head else (0, GENESIS)
    start = last.up_to_event_id if last else 0
    if last is not None:
        backlog = last.up_to_event_id - last.from_event_id >= EVENTS_PER_ANCHOR
        if now - last.made_at < ANCHOR_EVERY and not (backlog or force):
            return 0
        if newest == start and config_seq == last.config_seq:
            return 0
    up_to = min(newest, start + EVENTS_PER_ANCHOR)
    newest_in_range = (
        select(func.max(ComplaintEvent.id))
        .where(ComplaintEvent.id > start, ComplaintEvent.id <= up_to)
        .group_by(ComplaintEvent.complaint_id)
    )
    heads = {
        str(cid): [seq, digest]
        for cid, seq, digest in session.execute(
            select(ComplaintEvent.complaint_id, ComplaintEvent.seq, ComplaintEvent.hash).where(
                ComplaintEvent.id.in_(newest_in_range)
            )
        )
    }
    k = keys()
    prev_signature = last.signature if last else GENESIS
    body = anchor_body(
        prev_signature=prev_signature,
        made_at=now,
        from_event_id=start,
        up_to_event_id=up_to,
        heads=heads,
        config_seq=config_seq,
        config_hash=config_hash,
    )
    session.add(
        AuditAnchor(
            made_at=now,
            from_event_id=start,
            up_to_event_id=up_to,
            heads=heads,
            config_seq=config_seq,
            config_hash=config_hash,
            prev_signature=prev_signature,
            key_id=k.anchor_key_id,
            signature=k.sign(body),
        )
    )
    session.flush()
    return 1
