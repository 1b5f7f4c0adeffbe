"""Personal data: masked views, logged reveals, data-subject export and erasure, retention.

《个人信息保护法》: the minimum necessary (masked unless the viewer needs it), every unmasked
view on record, a data subject may get their data or have it erased, and data is kept no
longer than needed — closed complaints are anonymised after the organisation's retention
period while the complaint rows (level, category, dates, outcome) keep the statistics.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kesu.access import rules as access_rules
from kesu.access.models import User
from kesu.access.service import view_of
from kesu.audit import service as audit
from kesu.clock import Clock
from kesu.complaint.models import Complainant, Complaint
from kesu.complaint.service import forget_submissions, phone_digest
from kesu.errors import IllegalTransition, InvalidInput, NotFound
from kesu.notify import service as notify_service
from kesu.org.models import Organisation
from kesu.privacy import rules
from kesu.privacy.models import PersonalDataView, PrivacyRequest, RetentionRule

RETENTION_EVERY = timedelta(days=1)


def person_fields(person: Complainant) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "phone": person.phone,
        "other_contact": person.other_contact,
        "address": person.address,
        "member_id": person.member_id,
    }


def shown(person: Complainant, unmasked: bool) -> dict[str, Any]:
    """The complainant as this viewer may see them (masked unless `unmasked`)."""
    fields = person_fields(person)
    return {**(fields if unmasked else rules.mask_person(fields)), "masked": not unmasked}


def log_view(
    session: Session,
    clock: Clock,
    user_id: int,
    person: Complainant,
    complaint_id: int | None,
    purpose: str,
) -> None:
    """One unmasked view on record: who, when, which complaint and which fields."""
    fields = [f for f in rules.PERSONAL_FIELDS if getattr(person, f)]
    session.add(
        PersonalDataView(
            at=clock.now(),
            user_id=user_id,
            complainant_id=person.id,
            complaint_id=complaint_id,
            fields=fields,
            purpose=purpose,
        )
    )
    session.flush()


def reveal(
    session: Session, clock: Clock, p: access_rules.Principal, complaint: Complaint
) -> dict[str, Any]:
    """The complainant unmasked for someone who may see it (Forbidden otherwise), logged."""
    access_rules.require(p, "unmask", view_of(complaint))
    person = session.get(Complainant, complaint.complainant_id)
    log_view(session, clock, p.user_id, person, complaint.id, "view")
    return shown(person, True)


def views(
    session: Session, *, group_id: int, complaint_id: int | None = None, limit: int = 100
) -> list[PersonalDataView]:
    stmt = (
        select(PersonalDataView)
        .join(Complainant, Complainant.id == PersonalDataView.complainant_id)
        .where(Complainant.org_id == group_id)
        .order_by(PersonalDataView.id.desc())
        .limit(limit)
    )
    if complaint_id is not None:
        stmt = stmt.where(PersonalDataView.complaint_id == complaint_id)
    return list(session.scalars(stmt))


# --- data-subject requests -------------------------------------------------------------------


def _subjects(session: Session, group_id: int, phone: str) -> list[Complainant]:
    people = list(
        session.scalars(
            select(Complainant)
            .where(Complainant.org_id == group_id, Complainant.phone_hash == phone_digest(phone))
            .order_by(Complainant.id)
        )
    )
    if not people:
        raise NotFound("not_found.subject")
    return people


def _complaints_of(session: Session, people: list[Complainant]) -> list[Complaint]:
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.complainant_id.in_([p.id for p in people]))
            .order_by(Complaint.received_at)
        )
    )


def subject_export(
    session: Session, clock: Clock, by: User, group_id: int, phone: str, reason: str
) -> dict[str, Any]:
    """Everything held about the person with this phone number (《个保法》第四十五条)."""
    people = _subjects(session, group_id, phone)
    complaints = _complaints_of(session, people)
    out = {
        "complainants": [person_fields(p) for p in people],
        "complaints": [
            {
                "number": c.number,
                "received_at": c.received_at.isoformat(),
                "channel": c.channel,
                "title": c.title,
                "description": c.description,
                "demands": c.demands,
                "state": c.state,
                "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                "solution": c.solution,
                "satisfaction": c.satisfaction,
            }
            for c in complaints
        ],
    }
    for p in people:
        log_view(session, clock, by.id, p, None, "subject_export")
        _request(
            session, clock, "export", group_id, p.id, by, reason, {"complaints": len(complaints)}
        )
    return out


def erase(
    session: Session, clock: Clock, by: User, group_id: int, phone: str, reason: str
) -> list[str]:
    """Erasure request (删除权): anonymise the person; refused while a complaint is open.

    The complaint rows and their event log stay (the record and the statistics); the person's
    name, phone, contacts, address and member id are gone. Returns the complaint numbers.
    """
    people = _subjects(session, group_id, phone)
    complaints = _complaints_of(session, people)
    still_open = [c.number for c in complaints if c.state != "closed"]
    if still_open:
        raise IllegalTransition("privacy.open_complaints", numbers=", ".join(still_open))
    numbers = [c.number for c in complaints]
    for p in people:
        _anonymise(session, p, clock.now(), [c.id for c in complaints if c.complainant_id == p.id])
        _request(session, clock, "erasure", group_id, p.id, by, reason, {"complaints": numbers})
    session.flush()
    return numbers


def _anonymise(
    session: Session, person: Complainant, now: datetime, complaint_ids: list[int]
) -> None:
    """The person's fields, and what the notification outbox kept of them (addresses, names in
    message parameters; messages still waiting to reach them are given up)."""
    for name, value in rules.anonymised_fields().items():
        setattr(person, name, value)
    person.anonymised_at = now
    notify_service.forget_complainant(
        session, complainant_id=person.id, complaint_ids=complaint_ids
    )
    forget_submissions(session, complaint_ids)


def _request(
    session: Session,
    clock: Clock,
    kind: str,
    org_id: int | None,
    complainant_id: int | None,
    by: User | None,
    reason: str,
    details: dict[str, Any],
) -> None:
    session.add(
        PrivacyRequest(
            at=clock.now(),
            kind=kind,
            org_id=org_id,
            complainant_id=complainant_id,
            requested_by_id=by.id if by else None,
            reason=reason,
            details=details,
        )
    )


def requests(session: Session, group_id: int, *, limit: int = 100) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.org_id == group_id)
            .order_by(PrivacyRequest.id.desc())
            .limit(limit)
        )
    )


# --- retention -------------------------------------------------------------------------------


def set_retention(session: Session, clock: Clock, by: User, org_id: int, years: int) -> None:
    if not 1 <= years <= 30:
        raise InvalidInput("invalid.retention_years", field="years", min=1, max=30)
    row = session.get(RetentionRule, org_id)
    before = row.years if row else None
    if row is None:
        row = RetentionRule(org_id=org_id, years=years, updated_at=clock.now())
        session.add(row)
    row.years = years
    row.updated_at = clock.now()
    row.updated_by_id = by.id
    session.flush()
    audit.record_config(
        session,
        clock,
        by,
        "retention.set",
        "organisation",
        org_id,
        {"before": before, "after": years},
    )


def retention_years(
    rules_by_org: dict[int, int], parents: dict[int, int | None], org_id: int
) -> int | None:
    """The rule of the organisation or its nearest ancestor (None: no rule, the default)."""
    node: int | None = org_id
    for _ in range(20):
        if node is None:
            break
        if node in rules_by_org:
            return rules_by_org[node]
        node = parents.get(node)
    return None


def _rules(session: Session) -> tuple[dict[int, int], dict[int, int | None]]:
    by_org = dict(session.execute(select(RetentionRule.org_id, RetentionRule.years)).all())
    parents = dict(session.execute(select(Organisation.id, Organisation.parent_id)).all())
    return by_org, parents


def retention_for(session: Session, org_id: int) -> tuple[int, bool]:
    """(years, whether that is the default) for an organisation."""
    years = retention_years(*_rules(session), org_id)
    return (rules.RETENTION_YEARS, True) if years is None else (years, False)


def anonymise_due(session: Session, clock: Clock) -> int:
    """Worker job, once a day: anonymise complainants whose complaints are all closed and past
    their organisation's retention period. Complaint rows are untouched: reports still count
    them by level, category, site, channel and outcome."""
    now = clock.now()
    last = session.scalar(
        select(func.max(PrivacyRequest.at)).where(PrivacyRequest.kind == "retention_run")
    )
    if last is not None and now - last < RETENTION_EVERY:
        return 0
    by_org, parents = _rules(session)
    earliest = rules.retention_cutoff(now, min([*by_org.values(), rules.RETENTION_YEARS]))
    candidates = (
        select(Complaint.complainant_id)
        .join(Complainant, Complainant.id == Complaint.complainant_id)
        .where(Complainant.anonymised_at.is_(None))
        .group_by(Complaint.complainant_id)
        .having(
            func.sum(case((Complaint.state != "closed", 1), else_=0)) == 0,
            func.max(Complaint.closed_at) <= earliest,
        )
    )
    done = 0
    ids = list(session.scalars(candidates))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        closed: dict[int, list[Complaint]] = {}
        for c in session.scalars(select(Complaint).where(Complaint.complainant_id.in_(chunk))):
            closed.setdefault(c.complainant_id, []).append(c)
        for person in session.scalars(select(Complainant).where(Complainant.id.in_(chunk))):
            complaints = closed.get(person.id, [])
            due = all(
                c.closed_at is not None
                and c.closed_at
                <= rules.retention_cutoff(
                    now,
                    retention_years(by_org, parents, c.site_id or c.org_id)
                    or rules.RETENTION_YEARS,
                )
                for c in complaints
            )
            if not (complaints and due):
                continue
            _anonymise(session, person, now, [c.id for c in complaints])
            _request(
                session,
                clock,
                "retention",
                person.org_id,
                person.id,
                None,
                "retention period over",
                {"complaints": [c.number for c in complaints]},
            )
            done += 1
    _request(
        session,
        clock,
        "retention_run",
        None,
        None,
        None,
        "daily retention pass",
        {"anonymised": done},
    )
    session.flush()
    return done
