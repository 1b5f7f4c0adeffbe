"""The complaint record: current state on `Complaint`, history in `ComplaintEvent`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base
from kesu.privacy.crypto import SealedText


class Complainant(Base):
    """投诉人: personal data kept apart so it can be masked, exported and anonymised."""

    __tablename__ = "complainant"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # sealed at rest (kesu.privacy.crypto); a phone is found by its keyed digest, never by value
    phone: Mapped[str | None] = mapped_column(SealedText("complainant.phone"))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    other_contact: Mapped[str | None] = mapped_column(SealedText("complainant.other_contact"))
    address: Mapped[str | None] = mapped_column(SealedText("complainant.address"))
    member_id: Mapped[str | None] = mapped_column(SealedText("complainant.member_id"))
    created_at: Mapped[datetime]
    anonymised_at: Mapped[datetime | None] = mapped_column(doc="retention or erasure request")


class Complaint(Base):
    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        Index("ix_complaint_org_state_received", "org_id", "state", "received_at"),
        Index("ix_complaint_assignee_state", "assignee_id", "state"),
        # reports (kesu.report.queries): a period of one group, by received and by closed time
        Index("ix_complaint_org_received", "org_id", "received_at"),
        Index("ix_complaint_org_closed", "org_id", "closed_at"),
        Index("ix_complaint_org_original_number", "org_id", "original_number"),
        # reports at scale (migration 0009): covering indexes of the received and closed ranges,
        # and (id, org_id) to check an event's or a timer's group without reading the row
        Index(
            "ix_complaint_report_received",
            *("org_id", "received_at", "level", "category", "channel", "site_id"),
            *("department_id", "closed_at", "complainant_id", "first_contact_at", "id"),
        ),
        Index(
            "ix_complaint_report_closed",
            *("org_id", "closed_at", "received_at", "level", "classification", "round"),
            *("satisfaction", "resolved_at", "id"),
        ),
        Index("ix_complaint_id_org", "id", "org_id"),
        # my queue (API and console): a handler's open complaints by deadline (migration 0008)
        Index(
            "ix_complaint_assignee_open",
            "assignee_id",
            "next_due_at",
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        # the same newest first: the API's list of a handler's open complaints (migration 0012)
        Index(
            "ix_complaint_assignee_open_received",
            "assignee_id",
            "received_at",
            sqlite_where=text("state != 'closed'"),
            postgresql_where=text("state != 'closed'"),
        ),
        Index("ix_complaint_repeat", "complainant_id", "org_id", "received_at", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the pack's group")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    channel: Mapped[str] = mapped_column(String(40))
    complainant_id: Mapped[int] = mapped_column(ForeignKey("complainant.id"), index=True)
    complainant_type: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(
        String(10), doc="the language the complainant reads: messages to them are written in it"
    )
    # what is complained about
    subject: Mapped[dict[str, Any]] = mapped_column(default=dict)
    staff_complained_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    occurred_at: Mapped[datetime | None]
    occurred_place: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    demands: Mapped[list[Any]] = mapped_column(default=list)
    # assessment
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(40), index=True)
    classification: Mapped[str | None] = mapped_column(String(20))
    urgent_keywords: Mapped[list[Any]] = mapped_column(default=list)
    # handling
    state: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    current_tier: Mapped[str] = mapped_column(String(40))
    pending_transfer: Mapped[dict[str, Any] | None]
    investigation: Mapped[dict[str, Any] | None]
    solution: Mapped[dict[str, Any] | None]
    solution_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    satisfaction: Mapped[int | None]
    review_step: Mapped[int] = mapped_column(default=0)
    round: Mapped[int] = mapped_column(default=1, doc="handling form number: +1 on upgrade/reopen")
    gm_agenda: Mapped[bool] = mapped_column(default=False)
    delay_status: Mapped[str | None] = mapped_column(String(20))
    delay_until: Mapped[datetime | None]
    unreachable_attempts: Mapped[int] = mapped_column(default=0)
    # times
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    # the earliest due time of its running timers (kept by kesu.sla.service; queues sort by it)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    deadline_provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime]
    # imported from an old Excel ledger (kesu.ledger): the ledger's own number is kept
    imported: Mapped[bool] = mapped_column(default=False, server_default=false())
    original_number: Mapped[str | None] = mapped_column(String(60))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_batch.id"))
    version: Mapped[int] = mapped_column(default=1)

    # the application sets version = old + 1 on every write (so a write with no other change
    # still bumps it); SQLAlchemy adds "WHERE version = old" to the UPDATE
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ComplaintEvent(Base):
    """One step on the record (append-only, hash-chained per complaint)."""

    __tablename__ = "complaint_event"
    __table_args__ = (
        UniqueConstraint("complaint_id", "seq"),
        # reports: events in a period (widened in migration 0009), a complaint's events by command
        Index("ix_complaint_event_command_at", "command", "at", "complaint_id", "seq"),
        Index(
            "ix_complaint_event_complaint_command",
            "complaint_id",
            "command",
            "seq",
            "at",
            "actor_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    seq: Mapped[int]
    command: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Evidence(Base):
    """证据: a file stored on disk by its SHA-256, never served inline."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]


class SubmissionKey(Base):
    """One submission under its submitter's key (the API's `Idempotency-Key`, a console or
    portal form's hidden submission id): sent again, after a lost answer or a second click,
    it answers with what it made (a complaint, a corrective action, accountability records)
    instead of making it again. The digest covers what was submitted and what it makes, so
    one key given to two different things is refused."""

    __tablename__ = "submission_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(60), doc="whose keys: user:<id>, or customer")
    key: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), doc="SHA-256 of what was submitted")
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaint.id"), doc="the complaint it registered (erasure drops the key)"
    )
    made: Mapped[list[Any] | None] = mapped_column(
        doc="the ids of anything else it made (an action, accountability records)"
    )
    created_at: Mapped[datetime]


class NumberCounter(Base):
    """The running count behind complaint numbers, one row per organisation and period."""

    __tablename__ = "number_counter"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
