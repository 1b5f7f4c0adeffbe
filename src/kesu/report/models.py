"""What reports need stored: business volume per organisation, scheduled deliveries, snapshots,
and narrow copies the database keeps by triggers of what the report would otherwise read out
of wide rows (proposals' type and amount, the counted events with their group, each
complaint's merchant and root causes; migration 0013; the timers with their group, 0014)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base, JSONType
from kesu.sla.models import Timer


class OrgVolume(Base):
    """业务量: orders and/or visits of one organisation over a date range (both days included),
    the denominator of "complaints per 10,000 orders/visits"."""

    __tablename__ = "org_volume"
    __table_args__ = (UniqueConstraint("org_id", "first_day", "last_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    orders: Mapped[int | None]
    visits: Mapped[int | None]
    recorded_at: Mapped[datetime]


class ReportDelivery(Base):
    """A scheduled report that was built and sent: one row per (group, schedule, period), so two
    workers or a restart never send the same period twice. The rendered file is kept, and the
    report it was rendered from (`report`, its sections as JSON; none before migration 0020), so
    a recipient a listed complaint is about gets the file without it (`service.delivered`)."""

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("org_id", "schedule_key", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    schedule_key: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    scope_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType, deferred=True)
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


class SolutionProposal(Base):
    """The type and amount of every proposed solution (方案), copied from the `propose_solution`
    event by the database when the event is recorded (trigger `report_proposal_copy`, migration
    0013), so whatever records events (commands, imports, the bench generator) keeps it. The
    compensation section prices each implementation at the last proposal before it: reading
    these two values from this narrow table instead of the event's payload saves a read of a
    wide event row per implementation. Values are the payload's text as it stands."""

    __tablename__ = "report_proposal"
    __table_args__ = {"sqlite_with_rowid": False}  # the key holds the row: one seek reads it

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, doc="the proposal event's seq")
    solution_type: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[str | None] = mapped_column(Text, doc="the payload's amount, as text")


class EventCopy(Base):
    """The events the report counts (`implement`, `close`, `reopen`, `record_contact`) with
    their complaint's group and who recorded them, copied by the database when the event is
    recorded (trigger `report_event_copy`, migrations 0013 and 0015): a group's events of a
    period are one range of this key, where the event log's own index holds every group's and
    each event's complaint had to be looked up for its group. A complaint's group never
    changes."""

    __tablename__ = "report_event"
    __table_args__ = {"sqlite_with_rowid": False}

    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    command: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(doc="who recorded it (migration 0015)")


class ComplaintFacts(Base):
    """What the merchant and root-cause sections read of each complaint, copied out of its
    wide row by the database (triggers `report_complaint_copy*`, migration 0013) when the
    complaint is inserted and whenever its `subject` or `investigation` changes: the merchant
    (`subject.merchant` as text) and the investigation's `root_causes` (JSON). The sections
    seek this narrow table by complaint id instead of reading each complaint's row."""

    __tablename__ = "report_complaint"

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True
    )
    merchant: Mapped[str | None] = mapped_column(Text)
    root_causes: Mapped[Any | None] = mapped_column(JSONType)


class TimerCopy(Base):
    """Each SLA timer's key, due time, meeting and cancellation with its complaint's group,
    copied by the database (triggers `report_timer_copy*`, migration 0014) when the timer is
    inserted and whenever one of those changes. Timer compliance reads a group's timers due in
    a period as one range of `ix_report_timer_due`, where `sla_timer`'s index holds every
    group's and each timer's complaint had to be looked up for its group."""

    __tablename__ = "report_timer"
    __table_args__ = (
        Index(
            "ix_report_timer_due",
            *("org_id", "due_at", "key", "met_at", "cancelled_at", "complaint_id"),
        ),
        {"sqlite_with_rowid": False},
    )

    timer_id: Mapped[int] = mapped_column(
        ForeignKey("sla_timer.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    complaint_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    met_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class ReportSnapshot(Base):
    """A report as last built, served by the console's report page (kesu.report.snapshots):
    one row per (scope organisation, kind, period, locale), since a built report carries its
    labels in one language. `period_end` is the period's end as a UTC instant: a snapshot built
    after it is final, one built before it is refreshed by the worker."""

    __tablename__ = "report_snapshot"
    __table_args__ = (UniqueConstraint("org_id", "kind", "period", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the report's scope")
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(40), doc="the period's label, e.g. 2026-W47")
    locale: Mapped[str] = mapped_column(String(10))
    period_end: Mapped[datetime]
    content: Mapped[str] = mapped_column(Text, doc="the built report (report.schemas.Report)")
    built_at: Mapped[datetime]


# Reports read timers by due time over any period (timer compliance); the SLA tables index only
# the open ones. The index belongs to the report domain that needs it.
Index("ix_sla_timer_due_at", Timer.__table__.c.due_at)
