"""improvement loop: corrective actions (整改), their record and complaints, accountability
(training, discipline, rewards), prevention checklists and inspections, repeat-cause alerts

Revision ID: 0006
Revises: 0005

improvement_action_event is append-only (the database refuses UPDATE and DELETE, as for
complaint_event).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kesu.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
UTC = kesu.db.base.UTCDateTime(timezone=True)
APPEND_ONLY = "improvement_action_event"
TABLES = (
    "improvement_action_event",
    "improvement_action_complaint",
    "improvement_accountability",
    "improvement_action",
    "improvement_inspection",
    "improvement_repeat_alert",
    "improvement_inspection_schedule",
    "improvement_cursor",
)


def upgrade() -> None:
    op.create_table(
        "improvement_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_improvement_cursor")),
    )
    op.create_table(
        "improvement_inspection_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.String(length=40), nullable=False),
        sa.Column("next_due_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_inspection_schedule_org_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_inspection_schedule_site_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_inspection_schedule")),
        sa.UniqueConstraint(
            "site_id",
            "checklist",
            name=op.f("uq_improvement_inspection_schedule_site_id_checklist"),
        ),
    )
    op.create_index(
        op.f("ix_improvement_inspection_schedule_next_due_at"),
        "improvement_inspection_schedule",
        ["next_due_at"],
        unique=False,
    )
    op.create_table(
        "improvement_repeat_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=240), nullable=False),
        sa.Column("cause_key", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("cause_dimension", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", UTC, nullable=False),
        sa.Column("complaint_ids", JSON, nullable=False),
        sa.Column("raised_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_repeat_alert_department_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_repeat_alert_org_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_repeat_alert_site_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_repeat_alert")),
        sa.UniqueConstraint("key", name=op.f("uq_improvement_repeat_alert_key")),
    )
    op.create_index(
        op.f("ix_improvement_repeat_alert_cause_key"),
        "improvement_repeat_alert",
        ["cause_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_improvement_repeat_alert_raised_at"),
        "improvement_repeat_alert",
        ["raised_at"],
        unique=False,
    )
    op.create_table(
        "improvement_inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.String(length=40), nullable=False),
        sa.Column("policy_version_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", UTC, nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("missed_at", UTC, nullable=True),
        sa.Column("done_at", UTC, nullable=True),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("results", JSON, nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_inspection_inspector_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_inspection_org_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_version.id"],
            name=op.f("fk_improvement_inspection_policy_version_id_policy_version"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_inspection_site_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_inspection")),
        sa.UniqueConstraint(
            "site_id",
            "checklist",
            "scheduled_for",
            name=op.f("uq_improvement_inspection_site_id_checklist_scheduled_for"),
        ),
    )
    op.create_index(
        "ix_improvement_inspection_due",
        "improvement_inspection",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("state = 'due'"),
        sqlite_where=sa.text("state = 'due'"),
    )
    op.create_index(
        "ix_improvement_inspection_org_scheduled",
        "improvement_inspection",
        ["org_id", "scheduled_for"],
        unique=False,
    )
    op.create_table(
        "improvement_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("policy_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("cause_dimension", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("planned", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("verifier_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("target_per_month", sa.Integer(), nullable=True),
        sa.Column("observation_months", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("warn_at", UTC, nullable=True),
        sa.Column("warned_at", UTC, nullable=True),
        sa.Column("breached_at", UTC, nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", UTC, nullable=True),
        sa.Column("deadline_provisional", sa.Boolean(), nullable=False),
        sa.Column("actions_taken", sa.Text(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("implemented_at", UTC, nullable=True),
        sa.Column("observe_until", UTC, nullable=True),
        sa.Column("verification", JSON, nullable=True),
        sa.Column("verified_at", UTC, nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_action_created_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_action_department_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["improvement_inspection.id"],
            name=op.f("fk_improvement_action_inspection_id_improvement_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_improvement_action_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["app_user.id"], name=op.f("fk_improvement_action_owner_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_version.id"],
            name=op.f("fk_improvement_action_policy_version_id_policy_version"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_action_site_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_action_verified_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_action_verifier_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_action")),
    )
    op.create_index(
        "ix_improvement_action_due_open",
        "improvement_action",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(
            "implemented_at IS NULL AND breached_at IS NULL AND state <> 'cancelled'"
        ),
        sqlite_where=sa.text(
            "implemented_at IS NULL AND breached_at IS NULL AND state <> 'cancelled'"
        ),
    )
    op.create_index(
        "ix_improvement_action_escalation",
        "improvement_action",
        ["next_escalation_at"],
        unique=False,
        postgresql_where=sa.text("next_escalation_at IS NOT NULL"),
        sqlite_where=sa.text("next_escalation_at IS NOT NULL"),
    )
    op.create_index(
        "ix_improvement_action_observing",
        "improvement_action",
        ["observe_until"],
        unique=False,
        postgresql_where=sa.text("state = 'observing'"),
        sqlite_where=sa.text("state = 'observing'"),
    )
    op.create_index(
        "ix_improvement_action_org_created",
        "improvement_action",
        ["org_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_improvement_action_org_state", "improvement_action", ["org_id", "state"], unique=False
    )
    op.create_index(
        op.f("ix_improvement_action_owner_id"), "improvement_action", ["owner_id"], unique=False
    )
    op.create_index(
        "ix_improvement_action_warn_open",
        "improvement_action",
        ["warn_at"],
        unique=False,
        postgresql_where=sa.text(
            "implemented_at IS NULL AND breached_at IS NULL AND warned_at IS NULL AND state <> 'cancelled'"
        ),
        sqlite_where=sa.text(
            "implemented_at IS NULL AND breached_at IS NULL AND warned_at IS NULL AND state <> 'cancelled'"
        ),
    )
    op.create_table(
        "improvement_accountability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_action.id"],
            name=op.f("fk_improvement_accountability_action_id_improvement_action"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_improvement_accountability_complaint_id_complaint"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_improvement_accountability_org_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_accountability_recorded_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_accountability_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_accountability")),
    )
    op.create_index(
        op.f("ix_improvement_accountability_action_id"),
        "improvement_accountability",
        ["action_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_improvement_accountability_complaint_id"),
        "improvement_accountability",
        ["complaint_id"],
        unique=False,
    )
    op.create_index(
        "ix_improvement_accountability_org_on",
        "improvement_accountability",
        ["org_id", "occurred_on"],
        unique=False,
    )
    op.create_index(
        op.f("ix_improvement_accountability_user_id"),
        "improvement_accountability",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "improvement_action_complaint",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTC, nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_action.id"],
            name=op.f("fk_improvement_action_complaint_action_id_improvement_action"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_improvement_action_complaint_complaint_id_complaint"),
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_action_complaint_linked_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint(
            "action_id", "complaint_id", name=op.f("pk_improvement_action_complaint")
        ),
    )
    op.create_index(
        op.f("ix_improvement_action_complaint_complaint_id"),
        "improvement_action_complaint",
        ["complaint_id"],
        unique=False,
    )
    op.create_table(
        "improvement_action_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_action.id"],
            name=op.f("fk_improvement_action_event_action_id_improvement_action"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
            name=op.f("fk_improvement_action_event_actor_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_action_event")),
        sa.UniqueConstraint(
            "action_id", "seq", name=op.f("uq_improvement_action_event_action_id_seq")
        ),
    )

    _append_only()


def _append_only() -> None:
    """UPDATE and DELETE on the action record are refused by the database itself (PostgreSQL
    reuses the function migration 0005 created)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY}_append_only BEFORE UPDATE OR DELETE ON {APPEND_ONLY} "
            "FOR EACH ROW EXECUTE FUNCTION kesu_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY}_no_{verb.lower()} BEFORE {verb} ON {APPEND_ONLY} "
            f"BEGIN SELECT RAISE(ABORT, 'kesu: {APPEND_ONLY} is append-only ({verb} refused)'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_append_only ON {APPEND_ONLY}")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_no_{verb}")
    for table in TABLES:
        op.drop_table(table)
