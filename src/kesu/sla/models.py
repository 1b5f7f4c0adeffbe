"""SLA tables: each complaint's timers, penalties for breaches, and calendar overrides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base

_RUNNING_UNBREACHED = "state = 'running' AND breached_at IS NULL"
_WARNING_PENDING = "state = 'running' AND breached_at IS NULL AND warned_at IS NULL"


class Timer(Base):
    """时限: one clock of a complaint, started and met by events the pack names.

    `due_at` is stored when the timer starts and recomputed only when the clock changes
    (pause, resume, extension, level change); the worker sweeps `due_at <= now` over a
    partial index and claims a breach with a conditional UPDATE. A breached timer keeps
    running until it is met, so "met late" stays visible.
    """

    __tablename__ = "sla_timer"
    __table_args__ = (
        Index(
            "ix_sla_timer_due_open",
            "due_at",
            postgresql_where=text(_RUNNING_UNBREACHED),
            sqlite_where=text(_RUNNING_UNBREACHED),
        ),
        Index(
            "ix_sla_timer_warn_open",
            "warn_at",
            postgresql_where=text(_WARNING_PENDING),
            sqlite_where=text(_WARNING_PENDING),
        ),
        Index("ix_sla_timer_complaint_state", "complaint_id", "state"),
        # reports: timers due in a period, covering (migration 0009)
        Index("ix_sla_timer_due_report", "due_at", "complaint_id", "key", "met_at", "cancelled_at"),
        # the dashboard's breaches of the week: breach times only (migration 0011)
        Index(
            "ix_sla_timer_breached",
            "breached_at",
            "complaint_id",
            postgresql_where=text("breached_at IS NOT NULL"),
            sqlite_where=text("breached_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    key: Mapped[str] = mapped_column(String(40), doc="the pack's timer key")
    round: Mapped[int] = mapped_column(doc="the complaint's handling round when it started")
    level: Mapped[str] = mapped_column(String(40), doc="the level its duration is taken from")
    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), doc="running | met | cancelled")
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    opens_at: Mapped[datetime | None] = mapped_column(doc="start of a window (not_before)")
    warn_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    provisional: Mapped[bool] = mapped_column(
        default=False, server_default=false(), doc="due time counted on a provisional year"
    )
    pauses: Mapped[list[Any]] = mapped_column(default=list, doc="[{start, until, ended}]")
    extensions: Mapped[list[Any]] = mapped_column(
        default=list, doc="[{until, step, approved_by_id, at}] approved delays that extended it"
    )


class Penalty(Base):
    """扣罚 / 负激励: an amount charged once for a breached timer to the person responsible."""

    __tablename__ = "sla_penalty"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    timer_id: Mapped[int] = mapped_column(ForeignKey("sla_timer.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    timer_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(index=True)


class CalendarDay(Base):
    """A per-organisation exception to the official calendar: an extra closed or working day."""

    __tablename__ = "sla_calendar_day"
    __table_args__ = (UniqueConstraint("org_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    day: Mapped[date]
    working: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class OfficialYear(Base):
    """A year's official holiday schedule entered by an admin (the library lacks that year)."""

    __tablename__ = "sla_official_year"
    __table_args__ = (UniqueConstraint("org_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int]
    holidays: Mapped[list[Any]] = mapped_column(doc="ISO dates off that would be working days")
    makeup_workdays: Mapped[list[Any]] = mapped_column(doc="调休: weekend days that are worked")
    entered_at: Mapped[datetime]
