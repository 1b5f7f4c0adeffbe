"""reports: a narrow copy of the timers, with their complaint's group

`report_timer` (timer_id, org_id, complaint_id, key, due_at, met_at, cancelled_at), kept by
triggers like the copies of 0013: a row is written when a timer is inserted (with its
complaint's group, which never changes) and rewritten when its key, due time, meeting or
cancellation changes. The timer-compliance section reads a group's timers due in a period as
one range of `ix_report_timer_due` (group, due time, and what it counts), where `sla_timer`'s
own index holds every group's timers and each had to be looked up for its group: 1.4 s of
the annual report at a million complaints. Filled here from the timers already recorded.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kesu.db.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = kesu.db.base.UTCDateTime(timezone=True)

COLUMNS = "timer_id, org_id, complaint_id, key, due_at, met_at, cancelled_at"
VALUES = (
    "{t}.id, (SELECT c.org_id FROM complaint AS c WHERE c.id = {t}.complaint_id),"
    " {t}.complaint_id, {t}.key, {t}.due_at, {t}.met_at, {t}.cancelled_at"
)
CHANGED = "key, due_at, met_at, cancelled_at"
SET = "key = {t}.key, due_at = {t}.due_at, met_at = {t}.met_at, cancelled_at = {t}.cancelled_at"


def upgrade() -> None:
    op.create_table(
        "report_timer",
        sa.Column("timer_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("met_at", UTC, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["timer_id"],
            ["sla_timer.id"],
            name=op.f("fk_report_timer_timer_id_sla_timer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_report_timer_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("timer_id", name=op.f("pk_report_timer")),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION report_timer_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF TG_OP = 'INSERT' THEN INSERT INTO report_timer ({COLUMNS})"
            f" VALUES ({VALUES.format(t='NEW')});"
            f" ELSE UPDATE report_timer SET {SET.format(t='NEW')} WHERE timer_id = NEW.id;"
            " END IF; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER report_timer_copy AFTER INSERT OR UPDATE OF {CHANGED}"
            " ON sla_timer FOR EACH ROW EXECUTE FUNCTION report_timer_copy()"
        )
    else:
        op.execute(
            "CREATE TRIGGER report_timer_copy AFTER INSERT ON sla_timer"
            f" BEGIN INSERT INTO report_timer ({COLUMNS}) VALUES ({VALUES.format(t='new')}); END"
        )
        op.execute(
            f"CREATE TRIGGER report_timer_copy_update AFTER UPDATE OF {CHANGED} ON sla_timer"
            f" BEGIN UPDATE report_timer SET {SET.format(t='new')} WHERE timer_id = new.id; END"
        )
    op.execute(
        f"INSERT INTO report_timer ({COLUMNS}) SELECT {VALUES.format(t='t')} FROM sla_timer AS t"
    )
    op.create_index(
        "ix_report_timer_due",
        "report_timer",
        ["org_id", "due_at", "key", "met_at", "cancelled_at", "complaint_id"],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_timer_copy ON sla_timer")
        op.execute("DROP FUNCTION IF EXISTS report_timer_copy()")
    else:
        op.execute("DROP TRIGGER IF EXISTS report_timer_copy_update")
        op.execute("DROP TRIGGER IF EXISTS report_timer_copy")
    op.drop_index("ix_report_timer_due", table_name="report_timer")
    op.drop_table("report_timer")
