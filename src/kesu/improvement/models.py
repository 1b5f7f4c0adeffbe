"""The improvement loop's tables: corrective actions (整改) and their record, training and
accountability, prevention checklists, repeat-cause alerts.

Deadlines are stored, then swept (`due_at`, `warn_at`, `next_escalation_at`, `observe_until`,
an inspection's `next_due_at` and `due_at`), each over a partial index of the rows still waiting;
the worker claims a row with a conditional UPDATE on the column it is about to set.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base

_DEADLINE_OPEN = "implemented_at IS NULL AND breached_at IS NULL AND state <> 'cancelled'"
_WARNING_OPEN = (
    "implemented_at IS NULL AND breached_at IS NULL AND warned_at IS NULL AND state <> 'cancelled'"
)
_ESCALATING = "next_escalation_at IS NOT NULL"
_OBSERVING = "state = 'observing'"
_INSPECTION_DUE = "state = 'due'"


class CorrectiveAction(Base):
    """整改措施: a corrective (after complaints) or preventive (before any) action — its cause,
    owner, deadline, target, what was done and the check of its effect.

    States: open → in_progress → observing (done; the target is watched for the pack's
    observation period) → awaiting_verification (the figures are in; the verifier confirms)
    → effective. A missed target, or the verifier, sends it to reopened with a new deadline;
    a manager may cancel it. `round` counts the attempts.
    """

    __tablename__ = "improvement_action"
    __table_args__ = (
        Index(
            "ix_improvement_action_due_open",
            "due_at",
            postgresql_where=text(_DEADLINE_OPEN),
            sqlite_where=text(_DEADLINE_OPEN),
        ),
        Index(
            "ix_improvement_action_warn_open",
            "warn_at",
            postgresql_where=text(_WARNING_OPEN),
            sqlite_where=text(_WARNING_OPEN),
        ),
        Index(
            "ix_improvement_action_escalation",
            "next_escalation_at",
            postgresql_where=text(_ESCALATING),
            sqlite_where=text(_ESCALATING),
        ),
        Index(
            "ix_improvement_action_observing",
            "observe_until",
            postgresql_where=text(_OBSERVING),
            sqlite_where=text(_OBSERVING),
        ),
        Index("ix_improvement_action_org_state", "org_id", "state"),
        Index("ix_improvement_action_org_created", "org_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the pack's group")
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), doc="the site it concerns (None: the whole group)"
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    kind: Mapped[str] = mapped_column(String(20), doc="corrective | preventive")
    source: Mapped[str] = mapped_column(
        String(20), doc="complaint | complaints | pareto | inspection | manual"
    )
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_inspection.id"))
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text, doc="what was found")
    cause_dimension: Mapped[str] = mapped_column(String(40), doc="a root_cause_dimensions key")
    category: Mapped[str | None] = mapped_column(String(40), doc="narrows the cause (and target)")
    planned: Mapped[str] = mapped_column(Text, doc="the measures to take (措施)")
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    state: Mapped[str] = mapped_column(String(30))
    round: Mapped[int] = mapped_column(default=1)
    # the target: no more than N complaints of this cause per month, watched for some months
    target_per_month: Mapped[int | None]
    observation_months: Mapped[int]
    # the deadline timer (整改期限)
    started_at: Mapped[datetime] = mapped_column(doc="when the current deadline started")
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    escalation_step: Mapped[int] = mapped_column(default=0)
    next_escalation_at: Mapped[datetime | None]
    deadline_provisional: Mapped[bool] = mapped_column(default=False)
    # what was done, and its effect
    actions_taken: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list, doc="[{text, at, by}]")
    implemented_at: Mapped[datetime | None]
    observe_until: Mapped[datetime | None]
    verification: Mapped[dict[str, Any] | None] = mapped_column(doc="the figures at the check")
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(doc="effective or cancelled")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def number(self) -> str:
        """整改单号, readable over the phone."""
        return f"ZG{self.id:05d}"


class ActionComplaint(Base):
    """Which complaints an action answers (one complaint may lead to several actions)."""

    __tablename__ = "improvement_action_complaint"

    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_action.id"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id"), primary_key=True, index=True
    )
    linked_at: Mapped[datetime]
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ActionEvent(Base):
    """One step on an action's record (append-only): who, when, which command, what."""

    __tablename__ = "improvement_action_event"
    __table_args__ = (UniqueConstraint("action_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_action.id"))
    seq: Mapped[int]
    command: Mapped[str] = mapped_column(String(40))
    actor_kind: Mapped[str] = mapped_column(String(10), doc="staff | system")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class Accountability(Base):
    """培训 / 处分 / 奖励 (seed 003 六(一)3, 七): who was trained or disciplined after which
    complaint, or rewarded for a well-handled one."""

    __tablename__ = "improvement_accountability"
    __table_args__ = (Index("ix_improvement_accountability_org_on", "org_id", "occurred_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the group")
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), doc="training | discipline | reward")
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_action.id"), index=True)
    occurred_on: Mapped[date]
    measure: Mapped[str] = mapped_column(String(200), doc="e.g. 服务礼仪培训 2 学时, 警告, 奖金")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), doc="a fine or a bonus, yuan")
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]


class InspectionSchedule(Base):
    """When a pack's checklist next falls due at a site (issued by the worker)."""

    __tablename__ = "improvement_inspection_schedule"
    __table_args__ = (UniqueConstraint("site_id", "checklist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the group")
    site_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    checklist: Mapped[str] = mapped_column(String(40))
    next_due_at: Mapped[datetime] = mapped_column(index=True)


class Inspection(Base):
    """定期检查记录: one issued checklist at a site, and its findings per item once done."""

    __tablename__ = "improvement_inspection"
    __table_args__ = (
        UniqueConstraint("site_id", "checklist", "scheduled_for"),
        Index(
            "ix_improvement_inspection_due",
            "due_at",
            postgresql_where=text(_INSPECTION_DUE),
            sqlite_where=text(_INSPECTION_DUE),
        ),
        Index("ix_improvement_inspection_org_scheduled", "org_id", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the group")
    site_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    checklist: Mapped[str] = mapped_column(String(40))
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    scheduled_for: Mapped[datetime]
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(10), doc="due | done | missed")
    missed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    results: Mapped[list[Any]] = mapped_column(default=list, doc="[{item, ok, finding}]")
    failed: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)


class RepeatCauseAlert(Base):
    """重复原因预警: raised at most once per window for a cause. `key` (unique) names the cause
    and the alert before it, so of two workers that saw the same history only one raises it."""

    __tablename__ = "improvement_repeat_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(240), unique=True)
    cause_key: Mapped[str] = mapped_column(String(200), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), doc="the group")
    cause_dimension: Mapped[str] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    count: Mapped[int]
    window_start: Mapped[datetime]
    complaint_ids: Mapped[list[Any]]
    raised_at: Mapped[datetime] = mapped_column(index=True)


class SweepCursor(Base):
    """How far a worker job has read an append-only log (the repeat-cause job reads
    `record_investigation` events after `last_id`)."""

    __tablename__ = "improvement_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
