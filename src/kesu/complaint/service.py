"""Writes to complaints. Every write appends one hash-chained event in the same transaction.

Services flush, never commit: the entry point that called them owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.audit.chain import GENESIS, event_hash, hashed_fields
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint.commands import COMMANDS
from kesu.complaint.models import (
    Complainant,
    Complaint,
    ComplaintEvent,
    NumberCounter,
    SubmissionKey,
)
from kesu.complaint.numbering import format_number, period_key
from kesu.complaint.schemas import ComplaintCreate
from kesu.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from kesu.escalation import service as escalation_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack
from kesu.privacy.crypto import keys
from kesu.sla import service as sla_service


def actor_of(user: User) -> lifecycle.Actor:
    return lifecycle.Actor(
        kind="staff",
        user_id=user.id,
        role=user.role,
        department_id=user.department_id,
        label=user.display_name,
    )


def invalid_from(exc: ValidationError, prefix: str = "") -> InvalidInput:
    """A Pydantic error as a KesuError that keeps every field problem for the edge to render."""
    problems = [
        {
            "field": prefix + ".".join(str(p) for p in e["loc"]),
            "rule": e["type"],
            "ctx": {k: str(v) for k, v in (e.get("ctx") or {}).items()},
        }
        for e in exc.errors()
    ]
    return InvalidInput("invalid.fields", field=problems[0]["field"], problems=problems)


# --- numbering ---------------------------------------------------------------------------


def next_number(session: Session, org_id: int, pack: Pack, now: datetime) -> str:
    """Draw the next number: a row-locked counter per organisation and period (both databases),
    created or counted up in one statement."""
    day = now.astimezone(ZoneInfo(pack.timezone)).date()
    period = period_key(pack.numbering.reset, day)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(NumberCounter).values(org_id=org_id, period=period, last_value=1)
    seq = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[NumberCounter.org_id, NumberCounter.period],
            set_={"last_value": NumberCounter.last_value + 1},
        ).returning(NumberCounter.last_value)
    ).scalar_one()
    return format_number(pack.numbering.pattern, day, seq)


# --- the event log -------------------------------------------------------------------------


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(payload, default=str, ensure_ascii=False))


def event_row(
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    at: datetime,
    seq: int,
    prev: str,
) -> dict[str, Any]:
    """The complaint's event number `seq`, chained on the hash `prev` (the columns of
    `complaint_event`): the one place an event and its hash are made."""
    payload = _jsonable(payload)
    fields = hashed_fields(
        complaint_id=complaint.id,
        seq=seq,
        command=command,
        actor_kind=actor.kind,
        actor_id=actor.user_id,
        at=at,
        payload=payload,
        policy_version_id=complaint.policy_version_id,
    )
    return dict(
        complaint_id=complaint.id,
        seq=seq,
        command=command,
        actor_kind=actor.kind,
        actor_id=actor.user_id,
        actor_label=actor.label[:100],
        at=at,
        payload=payload,
        policy_version_id=complaint.policy_version_id,
        prev_hash=prev,
        hash=event_hash(prev, fields),
    )


def _record(
    session: Session,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    now: datetime,
) -> ComplaintEvent:
    """Append the complaint's next event to its chain."""
    last = session.execute(
        select(ComplaintEvent.seq, ComplaintEvent.hash)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    event = ComplaintEvent(**event_row(complaint, actor, command, payload, now, seq, prev))
    session.add(event)
    return event


# --- intake ---------------------------------------------------------------------------------


def _check_key(pack: Pack, kind: str, value: str | None, field: str) -> None:
    if value is not None and value not in pack.keys(kind):
        allowed = ", ".join(sorted(pack.keys(kind)))
        raise InvalidInput("invalid.unknown_key", field=field, value=value, allowed=allowed)


def find_complainant(session: Session, org_id: int, phone: str | None) -> Complainant | None:
    """Repeat-complainant lookup by phone within the organisation."""
    if not phone:
        return None
    return session.scalar(
        select(Complainant)
        .where(Complainant.org_id == org_id, Complainant.phone_hash == phone_digest(phone))
        .order_by(Complainant.id.desc())
        .limit(1)
    )


def phone_digest(phone: str) -> str:
    """The keyed digest a sealed phone is looked up by (phones are encrypted at rest)."""
    return keys().lookup_digest(normalise_phone(phone))


def normalise_phone(phone: str) -> str:
    """Digits and a leading +, full-width ones (１３８…) read as ASCII."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch in "+0123456789")


def receive(
    session: Session,
    clock: Clock,
    actor: lifecycle.Actor,
    data: ComplaintCreate,
    *,
    announce: bool = True,
    key: str | None = None,
) -> Complaint:
    """受理/登记: register a complaint under its organisation's current pack and number it.
    `announce=False` (a ledger import of old complaints): no alert to staff or customer.
    `key`: the submission's own key (see `SubmissionKey`); the same key and content again
    return the complaint it made, unchanged (`REPLAYED` in `session.info` is then true)."""
    now = clock.now()
    session.info[REPLAYED] = False
    claimed = None
    if key is not None:
        claimed, earlier = claim_submission(session, now, actor, key, data.model_dump_json())
        if earlier is not None:
            session.info[REPLAYED] = True
            return session.get(Complaint, earlier.complaint_id)
    site = session.get(Organisation, data.site_id)
    if site is None:
        raise InvalidInput("invalid.unknown_id", field="site_id", value=data.site_id)
    group = org_service.group_of(session, site.id)
    version = policy_service.current(session, group.pack_key)
    pack = policy_service.pack_of(session, version.id)
    _check_key(pack, "channels", data.channel, "channel")
    _check_key(pack, "complainant_types", data.complainant_type, "complainant_type")
    _check_key(pack, "categories", data.category, "category")
    for i, demand in enumerate(data.demands):
        _check_key(pack, "demands", demand, f"demands.{i}")
    if data.occurred_at is not None and data.occurred_at.tzinfo is None:
        raise InvalidInput("invalid.no_timezone", field="occurred_at")
    if data.occurred_at is not None and data.occurred_at > now:
        raise InvalidInput("invalid.past_time", field="occurred_at")
    if data.department_id is not None:
        dept = session.get(Organisation, data.department_id)
        if dept is None or dept.kind != "department":
            raise InvalidInput("invalid.not_a_department", field="department_id")
        if not _in_group(session, dept.id, group.id):
            raise InvalidInput("invalid.unknown_id", field="department_id", value=dept.id)
    if data.staff_complained_id is not None:
        staff = session.get(User, data.staff_complained_id)
        if staff is None or not _in_group(session, staff.org_id, group.id):
            raise InvalidInput(
                "invalid.unknown_id", field="staff_complained_id", value=data.staff_complained_id
            )
        if actor.user_id == staff.id:
            raise Forbidden("forbidden.recused")
    initial = lifecycle.open_complaint(
        pack, level=data.level, text=f"{data.title}\n{data.description}"
    )

    person = find_complainant(session, group.id, data.complainant.phone)
    if person is None or person.name != data.complainant.name:
        person = Complainant(
            org_id=group.id,
            name=data.complainant.name,
            phone=normalise_phone(data.complainant.phone) if data.complainant.phone else None,
            phone_hash=phone_digest(data.complainant.phone) if data.complainant.phone else None,
            other_contact=data.complainant.other_contact,
            address=data.complainant.address,
            member_id=data.complainant.member_id,
            created_at=now,
        )
        session.add(person)
        session.flush()
    else:  # the same caller again: what they give now is how to reach them now
        for name in ("other_contact", "address", "member_id"):
            given = getattr(data.complainant, name)
            if given and given != getattr(person, name):
                setattr(person, name, given)

    complaint = Complaint(
        number=next_number(session, group.id, pack, now),
        org_id=group.id,
        site_id=site.id,
        policy_version_id=version.id,
        channel=data.channel,
        complainant_id=person.id,
        complainant_type=data.complainant_type,
        locale=data.locale,
        subject=data.subject.model_dump(exclude_none=True),
        staff_complained_id=data.staff_complained_id,
        occurred_at=data.occurred_at,
        occurred_place=data.occurred_place,
        title=data.title,
        description=data.description,
        demands=list(data.demands),
        category=data.category,
        department_id=data.department_id,
        received_by_id=actor.user_id,
        received_at=now,
        updated_at=now,
        version=1,
        **initial,
    )
    session.add(complaint)
    session.flush()
    payload = data.model_dump(mode="json", exclude={"complainant"})
    payload["complainant_id"] = person.id
    payload["level"] = complaint.level
    with session.no_autoflush:  # level, deadline and owner: one UPDATE with the messages
        sla_service.on_event(
            session, pack, complaint, actor, "receive", payload, now, announce=announce, timers=[]
        )
    session.flush()
    first = event_row(complaint, actor, "receive", payload, now, 1, GENESIS)  # a new chain
    session.execute(insert(ComplaintEvent), [first])
    if claimed is not None:
        claimed.complaint_id = complaint.id
        session.flush()
    return complaint


def forget_submissions(session: Session, complaint_ids: list[int]) -> None:
    """Drop the submission keys of these complaints (their digests derive from what the
    complainant gave): an anonymised complaint keeps nothing of it."""
    if complaint_ids:
        session.execute(delete(SubmissionKey).where(SubmissionKey.complaint_id.in_(complaint_ids)))


REPLAYED = "kesu.complaint.replayed"
"""session.info key: whether the last `receive` or `execute` answered a submission it had
already carried out (and so changed nothing)."""


def claim_submission(
    session: Session, now: datetime, actor: lifecycle.Actor, key: str, content: str
) -> tuple[SubmissionKey | None, SubmissionKey | None]:
    """Take `key` for this submission (the new row, None: make the thing, then note on the
    row what was made) or find the earlier submission that made it (None, its row: answer
    with what it made). `content`: what was submitted, as JSON (different kinds of things
    never share a shape). Two submissions with one key at once: the second waits on the
    unique index until the first commits, then finds its row (on SQLite writers queue
    anyway). The same key for other content, or for another kind of thing, is refused: a
    client's mistake, not a retry."""
    if not 1 <= len(key) <= 100:
        raise InvalidInput("intake.key_length", field="Idempotency-Key", max=100)
    scope = f"user:{actor.user_id}" if actor.user_id is not None else actor.kind
    digest = hashlib.sha256(content.encode()).hexdigest()
    find = select(SubmissionKey).where(SubmissionKey.scope == scope, SubmissionKey.key == key)
    row = session.scalar(find)
    if row is None:
        try:
            with session.begin_nested():
                row = SubmissionKey(scope=scope, key=key, digest=digest, created_at=now)
                session.add(row)
            return row, None
        except IntegrityError:
            row = session.scalar(find)
    if row is None or (row.complaint_id is None and row.made is None):
        raise StaleVersion("intake.key_in_flight")  # cannot be: committed with what it made
    if row.digest != digest:
        raise InvalidInput("intake.key_reused", field="Idempotency-Key")
    return None, row


# --- commands ------------------------------------------------------------------------------


def get(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("not_found.complaint", id=complaint_id)
    return complaint


def deactivate(
    session: Session, clock: Clock, by: User | None, user: User
) -> tuple[list[Complaint], list[Complaint]]:
    """A person leaves (`kesu user deactivate`, the API): they can no longer sign in, and the
    open complaints they handled go to whoever the pack's auto-assignment picks now, each as
    the system's `assign` (on its timeline, with the new handler told as for any
    assignment), so none is left with an owner nobody works for. Returns (handed over, still
    naming them: the pack assigns nobody by itself, or nobody fits; someone must take them)."""
    access_service.set_active(session, clock, by, user, False)
    moved, left = [], []
    for complaint in session.scalars(
        select(Complaint)
        .where(Complaint.assignee_id == user.id, Complaint.state.in_(lifecycle.OPEN))
        .order_by(Complaint.id)
    ).all():
        pack = pack_of(session, complaint)
        chosen = escalation_service.pick_owner(session, pack, complaint, lifecycle.SYSTEM)
        if chosen is None or chosen == user.id:
            left.append(complaint)
            continue
        version, payload = complaint.version, {"assignee_id": chosen}
        execute(session, clock, complaint.id, lifecycle.SYSTEM, "assign", payload, version)
        moved.append(complaint)
    return moved, left


def pack_of(session: Session, complaint: Complaint) -> Pack:
    return policy_service.pack_of(session, complaint.policy_version_id)


def case_of(session: Session, pack: Pack, c: Complaint) -> lifecycle.Case:
    assignee = session.get(User, c.assignee_id) if c.assignee_id else None
    role = pack.role(assignee.role) if assignee else None
    return lifecycle.Case(
        state=c.state,
        level=c.level,
        current_tier=c.current_tier,
        classification=c.classification,
        category=c.category,
        department_id=c.department_id,
        assignee_id=c.assignee_id,
        assignee_tier=role.tier if role else None,
        staff_complained_id=c.staff_complained_id,
        pending_transfer=c.pending_transfer,
        investigation=c.investigation,
        solution=c.solution,
        review_step=c.review_step,
        delay_status=c.delay_status,
        round=c.round,
    )


def _in_group(session: Session, org_id: int, group_id: int) -> bool:
    """Whether an organisation (a department, a user's site) belongs to the group."""
    return group_id in org_service.ancestors(session, org_id)


def _check_people(
    session: Session, pack: Pack, case: lifecycle.Case, command: str, p, group_id: int
) -> None:
    """The parts of a command's rules that need the database: who is named in the payload,
    and that they are of the complaint's own organisation (ids are unique across groups)."""
    if command == "assign" and p.assignee_id is not None:
        user = session.get(User, p.assignee_id)
        if user is None or not user.active or not _in_group(session, user.org_id, group_id):
            raise InvalidInput("invalid.unknown_id", field="assignee_id", value=p.assignee_id)
        if pack.tier_rank(_tier_of(pack, user.role)) < pack.tier_rank(case.current_tier):
            raise InvalidInput(
                "invalid.assignee_tier",
                field="assignee_id",
                tier=case.current_tier,
                tier_name=lifecycle.tier_name(pack, case.current_tier),
            )
    for field in ("department_id", "to_department_id"):
        value = getattr(p, field, None)
        if value is not None:
            dept = session.get(Organisation, value)
            if dept is None or dept.kind != "department":
                raise InvalidInput("invalid.not_a_department", field=field)
            if not _in_group(session, dept.id, group_id):
                raise InvalidInput("invalid.unknown_id", field=field, value=value)
    if command == "transfer" and p.to_user_id is None:
        # sent to a department: someone there must be able to accept it, or it waits for good
        roles = session.scalars(
            select(User.role).where(User.department_id == p.to_department_id, User.active)
        )
        need = pack.tier_rank(case.current_tier)
        if not any(pack.tier_rank(_tier_of(pack, role)) >= need for role in roles):
            raise InvalidInput(
                "invalid.department_nobody",
                field="to_department_id",
                tier=case.current_tier,
                tier_name=lifecycle.tier_name(pack, case.current_tier),
            )
    if command == "transfer" and p.to_user_id is not None:
        user = session.get(User, p.to_user_id)
        if user is None or not user.active or user.department_id != p.to_department_id:
            raise InvalidInput("invalid.user_not_in_department", field="to_user_id")
        if pack.tier_rank(_tier_of(pack, user.role)) < pack.tier_rank(case.current_tier):
            raise InvalidInput(
                "invalid.assignee_tier",
                field="to_user_id",
                tier=case.current_tier,
                tier_name=lifecycle.tier_name(pack, case.current_tier),
            )


def _tier_of(pack: Pack, role_key: str) -> str | None:
    role = pack.role(role_key)
    return role.tier if role else None


def execute(
    session: Session,
    clock: Clock,
    complaint_id: int,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    version: int,
) -> Complaint:
    """Run one lifecycle command: validate, decide, apply, record — or change nothing."""
    model = COMMANDS.get(command)
    if model is None:
        raise NotFound("not_found.command", command=command)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_from(exc, "payload.") from exc
    complaint = get(session, complaint_id)
    session.info[REPLAYED] = False
    if complaint.version != version:
        if _repeated(session, complaint, actor, command, parsed, version):
            session.info[REPLAYED] = True  # the same command sent twice: done once already
            return complaint
        raise StaleVersion("conflict.stale", current=complaint.version, given=version)
    pack = pack_of(session, complaint)
    case = case_of(session, pack, complaint)
    now = clock.now()
    change = lifecycle.decide(pack, case, actor, command, parsed, now)
    _check_people(session, pack, case, command, parsed, complaint.org_id)
    _apply(complaint, change.fields)
    _claim(session, complaint, version, now)
    sla_service.on_event(session, pack, complaint, actor, command, change.event, now)
    _record(session, complaint, actor, command, change.event, now)
    session.flush()
    return complaint


def _repeated(
    session: Session,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    parsed: Any,
    version: int,
) -> bool:
    """Whether the event that took the complaint past `version` is this very command, by this
    actor, with this payload: the same form or request sent twice (a second click, a retry
    after a lost answer), which finds the version moved on by its own first copy."""
    made = session.scalar(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.seq == version + 1
        )
    )
    if made is None or (made.command, made.actor_kind, made.actor_id) != (
        command,
        actor.kind,
        actor.user_id,
    ):
        return False
    return all(made.payload.get(k) == v for k, v in _jsonable(parsed.model_dump()).items())


def _apply(complaint: Complaint, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name == "first_contact_at":
            complaint.first_contact_at = complaint.first_contact_at or value
        elif name == "unreachable_attempts":
            complaint.unreachable_attempts += value
        elif name == "solution":
            complaint.solution = value
            complaint.solution_amount = value["amount"] if value else None
        else:
            setattr(complaint, name, value)


def _claim(session: Session, complaint: Complaint, version: int, now: datetime) -> None:
    """Write the complaint row first, as `UPDATE … SET version = v+1 WHERE version = v`.

    This takes the row (PostgreSQL locks it; SQLite already holds the write lock) before any
    other work, so a concurrent writer that got there first turns into 409 here, before
    anything else is written — never a half write and never a 500.
    """
    complaint.updated_at = now
    complaint.version = version + 1
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion("conflict.stale", current=version + 1, given=version) from exc


def record_event(
    session: Session,
    clock: Clock,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
) -> None:
    """An event that is not a lifecycle command (evidence attached): still versioned and chained."""
    if actor.user_id is not None and actor.user_id == complaint.staff_complained_id:
        raise Forbidden("forbidden.recused")
    if complaint.state == "closed" and actor.kind != "system":  # the system: follow-up timers
        raise InvalidInput("invalid.closed", field="complaint")
    _claim(session, complaint, complaint.version, clock.now())
    _record(session, complaint, actor, command, payload, complaint.updated_at)
    session.flush()


def count(session: Session) -> int:
    return session.scalar(select(func.count(Complaint.id))) or 0
