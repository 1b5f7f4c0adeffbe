"""reports: the proposed solutions' type and amount, copied out of the event log

`report_proposal` (complaint_id, seq, solution_type, amount): one row per `propose_solution`
event, filled by an AFTER INSERT trigger on `complaint_event` (so every writer of events keeps
it: commands, ledger imports, the bench generator) and here from the events already recorded.
The compensation section prices each implementation at the last proposal before it; it seeks
this narrow table (SQLite: WITHOUT ROWID, the key holds the row) instead of reading each
proposal event's wide row for its payload. The event log is append-only (0005), so an insert
trigger is all it takes to keep the copy exact.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = "complaint_id, seq, solution_type, amount"
SQLITE_VALUES = (
    "{t}.complaint_id, {t}.seq,"
    " json_extract({t}.payload, '$.solution_type'), json_extract({t}.payload, '$.amount')"
)
PG_VALUES = "{t}.complaint_id, {t}.seq, {t}.payload ->> 'solution_type', {t}.payload ->> 'amount'"


def upgrade() -> None:
    op.create_table(
        "report_proposal",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("solution_type", sa.Text(), nullable=True),
        sa.Column("amount", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_report_proposal_complaint_id_complaint"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", "seq", name=op.f("pk_report_proposal")),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION report_proposal_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.command = 'propose_solution' THEN"
            f" INSERT INTO report_proposal ({COLUMNS}) VALUES ({PG_VALUES.format(t='NEW')});"
            " END IF; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER report_proposal_copy AFTER INSERT ON complaint_event"
            " FOR EACH ROW EXECUTE FUNCTION report_proposal_copy()"
        )
        values = PG_VALUES.format(t="e")
    else:
        op.execute(
            "CREATE TRIGGER report_proposal_copy AFTER INSERT ON complaint_event"
            " WHEN new.command = 'propose_solution'"
            f" BEGIN INSERT INTO report_proposal ({COLUMNS})"
            f" VALUES ({SQLITE_VALUES.format(t='new')}); END"
        )
        values = SQLITE_VALUES.format(t="e")
    op.execute(
        f"INSERT INTO report_proposal ({COLUMNS}) SELECT {values}"
        " FROM complaint_event AS e WHERE e.command = 'propose_solution'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_proposal_copy ON complaint_event")
        op.execute("DROP FUNCTION IF EXISTS report_proposal_copy()")
    else:
        op.execute("DROP TRIGGER IF EXISTS report_proposal_copy")
    op.drop_table("report_proposal")
