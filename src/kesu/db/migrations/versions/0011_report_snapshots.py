"""console: stored report snapshots, and an index of breach times

`report_snapshot` holds the report the console's report page shows (kesu.report.snapshots):
built by the worker for the default periods, or on the spot and on request, so a page view
reads one row instead of building the report over every complaint of the period.
`ix_sla_timer_breached` (partial: breached timers only) lets the dashboard count the week's
breaches from a range of breach times.

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kesu.db.base

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = kesu.db.base.UTCDateTime(timezone=True)
BREACHED = sa.text("breached_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "report_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("period_end", UTC, nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("built_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_report_snapshot_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot")),
        sa.UniqueConstraint(
            "org_id",
            "kind",
            "period",
            "locale",
            name=op.f("uq_report_snapshot_org_id_kind_period_locale"),
        ),
    )
    op.create_index(
        "ix_sla_timer_breached",
        "sla_timer",
        ["breached_at", "complaint_id"],
        sqlite_where=BREACHED,
        postgresql_where=BREACHED,
    )


def downgrade() -> None:
    op.drop_index("ix_sla_timer_breached", table_name="sla_timer")
    op.drop_table("report_snapshot")
