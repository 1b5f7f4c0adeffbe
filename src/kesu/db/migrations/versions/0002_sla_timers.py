"""sla timers, penalties, calendar overrides; the complaint's next deadline

Revision ID: 0002
Revises: 0001

Tables: sla_timer (each complaint's clocks, swept by partial indexes on due_at and warn_at),
sla_penalty (one per breached timer at most), sla_calendar_day and sla_official_year
(per-organisation calendar overrides). complaint gets next_due_at (indexed: queues sort by it)
and deadline_provisional.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kesu.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
UTC = kesu.db.base.UTCDateTime(timezone=True)
RUNNING_UNBREACHED = "state = 'running' AND breached_at IS NULL"
WARNING_PENDING = "state = 'running' AND breached_at IS NULL AND warned_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "sla_timer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("opens_at", UTC, nullable=True),
        sa.Column("warn_at", UTC, nullable=True),
        sa.Column("warned_at", UTC, nullable=True),
        sa.Column("breached_at", UTC, nullable=True),
        sa.Column("met_at", UTC, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("pauses", JSON, nullable=False),
        sa.Column("extensions", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_sla_timer_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_timer")),
    )
    with op.batch_alter_table("sla_timer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_timer_due_open",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text(RUNNING_UNBREACHED),
            sqlite_where=sa.text(RUNNING_UNBREACHED),
        )
        batch_op.create_index(
            "ix_sla_timer_warn_open",
            ["warn_at"],
            unique=False,
            postgresql_where=sa.text(WARNING_PENDING),
            sqlite_where=sa.text(WARNING_PENDING),
        )
        batch_op.create_index(
            "ix_sla_timer_complaint_state", ["complaint_id", "state"], unique=False
        )

    op.create_table(
        "sla_penalty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("timer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("timer_key", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_sla_penalty_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["timer_id"], ["sla_timer.id"], name=op.f("fk_sla_penalty_timer_id_sla_timer")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_sla_penalty_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_penalty")),
        sa.UniqueConstraint("timer_id", name=op.f("uq_sla_penalty_timer_id")),
    )
    with op.batch_alter_table("sla_penalty", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_penalty_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sla_penalty_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sla_penalty_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sla_calendar_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_sla_calendar_day_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendar_day")),
        sa.UniqueConstraint("org_id", "day", name=op.f("uq_sla_calendar_day_org_id_day")),
    )
    op.create_table(
        "sla_official_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("holidays", JSON, nullable=False),
        sa.Column("makeup_workdays", JSON, nullable=False),
        sa.Column("entered_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_sla_official_year_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_official_year")),
        sa.UniqueConstraint("org_id", "year", name=op.f("uq_sla_official_year_org_id_year")),
    )

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", UTC, nullable=True))
        batch_op.add_column(
            sa.Column(
                "deadline_provisional", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.create_index(batch_op.f("ix_complaint_next_due_at"), ["next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_next_due_at"))
        batch_op.drop_column("deadline_provisional")
        batch_op.drop_column("next_due_at")
    op.drop_table("sla_official_year")
    op.drop_table("sla_calendar_day")
    with op.batch_alter_table("sla_penalty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_penalty_user_id"))
        batch_op.drop_index(batch_op.f("ix_sla_penalty_created_at"))
        batch_op.drop_index(batch_op.f("ix_sla_penalty_complaint_id"))
    op.drop_table("sla_penalty")
    with op.batch_alter_table("sla_timer", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_timer_complaint_state")
        batch_op.drop_index("ix_sla_timer_warn_open")
        batch_op.drop_index("ix_sla_timer_due_open")
    op.drop_table("sla_timer")
