"""reports: narrow copies of what the report reads out of wide rows

Three tables the database keeps by triggers, so every writer keeps them (commands, ledger
imports, the bench generator) and the report reads a narrow row instead of a wide one:

- `report_proposal` (complaint_id, seq, solution_type, amount): one row per `propose_solution`
  event, from an AFTER INSERT trigger on `complaint_event`. The compensation section prices
  each implementation at the last proposal before it by seeking this table (SQLite: WITHOUT
  ROWID, the key holds the row) instead of reading the proposal event's payload. The event log
  is append-only (0005), so an insert trigger is all it takes.
- `report_event` (org_id, command, at, complaint_id, seq): the `implement`, `close` and
  `reopen` events with their complaint's group (which never changes), from an AFTER INSERT
  trigger on `complaint_event`. Compensation and the reopen rate read a group's events of a
  period as one range of its key instead of every group's, each looked up for its group.
- `report_complaint` (complaint_id, merchant, root_causes): one row per complaint, written when
  the complaint is inserted and rewritten when its `subject` or `investigation` changes. The
  merchant and root-cause sections seek it instead of reading the complaint's row.

All three are filled here from the rows already recorded.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kesu.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = kesu.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")

PROPOSAL = "complaint_id, seq, solution_type, amount"
SQLITE_PROPOSAL = (
    "{t}.complaint_id, {t}.seq,"
    " json_extract({t}.payload, '$.solution_type'), json_extract({t}.payload, '$.amount')"
)
PG_PROPOSAL = "{t}.complaint_id, {t}.seq, {t}.payload ->> 'solution_type', {t}.payload ->> 'amount'"

EVENT = "org_id, command, at, complaint_id, seq"
EVENT_VALUES = (
    "(SELECT c.org_id FROM complaint AS c WHERE c.id = {t}.complaint_id),"
    " {t}.command, {t}.at, {t}.complaint_id, {t}.seq"
)
EVENT_COMMANDS = "{t}.command IN ('implement', 'close', 'reopen')"

FACTS = "complaint_id, merchant, root_causes"
# the same expressions the sections used on the complaint row
SQLITE_MERCHANT = "CAST(json_extract({t}.subject, '$.merchant') AS VARCHAR)"
SQLITE_CAUSES = "{t}.investigation -> '$.root_causes'"
SQLITE_FACTS = f"{{t}}.id, {SQLITE_MERCHANT}, {SQLITE_CAUSES}"
PG_FACTS = "{t}.id, {t}.subject ->> 'merchant', {t}.investigation -> 'root_causes'"


def _tables() -> None:
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
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", "seq", name=op.f("pk_report_proposal")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_event",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_report_event_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_report_event_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "command", "at", "complaint_id", "seq", name=op.f("pk_report_event")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_complaint",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("merchant", sa.Text(), nullable=True),
        sa.Column("root_causes", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_report_complaint_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_report_complaint")),
    )


def _pg_triggers() -> None:
    op.execute(
        "CREATE FUNCTION report_proposal_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.command = 'propose_solution' THEN"
        f" INSERT INTO report_proposal ({PROPOSAL}) VALUES ({PG_PROPOSAL.format(t='NEW')});"
        " END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER report_proposal_copy AFTER INSERT ON complaint_event"
        " FOR EACH ROW EXECUTE FUNCTION report_proposal_copy()"
    )
    op.execute(
        "CREATE FUNCTION report_event_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF {EVENT_COMMANDS.format(t='NEW')} THEN"
        f" INSERT INTO report_event ({EVENT}) VALUES ({EVENT_VALUES.format(t='NEW')});"
        " END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER report_event_copy AFTER INSERT ON complaint_event"
        " FOR EACH ROW EXECUTE FUNCTION report_event_copy()"
    )
    op.execute(
        "CREATE FUNCTION report_complaint_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'UPDATE' THEN DELETE FROM report_complaint WHERE complaint_id = OLD.id;"
        f" END IF; INSERT INTO report_complaint ({FACTS}) VALUES ({PG_FACTS.format(t='NEW')});"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER report_complaint_copy AFTER INSERT OR UPDATE OF subject, investigation"
        " ON complaint FOR EACH ROW EXECUTE FUNCTION report_complaint_copy()"
    )


def _sqlite_triggers() -> None:
    op.execute(
        "CREATE TRIGGER report_proposal_copy AFTER INSERT ON complaint_event"
        " WHEN new.command = 'propose_solution'"
        f" BEGIN INSERT INTO report_proposal ({PROPOSAL})"
        f" VALUES ({SQLITE_PROPOSAL.format(t='new')}); END"
    )
    op.execute(
        "CREATE TRIGGER report_event_copy AFTER INSERT ON complaint_event"
        f" WHEN {EVENT_COMMANDS.format(t='new')}"
        f" BEGIN INSERT INTO report_event ({EVENT}) VALUES ({EVENT_VALUES.format(t='new')}); END"
    )
    op.execute(
        "CREATE TRIGGER report_complaint_copy AFTER INSERT ON complaint"
        f" BEGIN INSERT INTO report_complaint ({FACTS}) VALUES ({SQLITE_FACTS.format(t='new')});"
        " END"
    )
    op.execute(
        "CREATE TRIGGER report_complaint_copy_update AFTER UPDATE OF subject, investigation"
        f" ON complaint BEGIN UPDATE report_complaint SET"
        f" merchant = {SQLITE_MERCHANT.format(t='new')},"
        f" root_causes = {SQLITE_CAUSES.format(t='new')} WHERE complaint_id = new.id; END"
    )


def upgrade() -> None:
    _tables()
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        _pg_triggers()
    else:
        _sqlite_triggers()
    proposal, facts = (PG_PROPOSAL, PG_FACTS) if pg else (SQLITE_PROPOSAL, SQLITE_FACTS)
    op.execute(
        f"INSERT INTO report_proposal ({PROPOSAL}) SELECT {proposal.format(t='e')}"
        " FROM complaint_event AS e WHERE e.command = 'propose_solution'"
    )
    op.execute(
        f"INSERT INTO report_event ({EVENT}) SELECT {EVENT_VALUES.format(t='e')}"
        f" FROM complaint_event AS e WHERE {EVENT_COMMANDS.format(t='e')}"
    )
    op.execute(
        f"INSERT INTO report_complaint ({FACTS}) SELECT {facts.format(t='c')} FROM complaint AS c"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_complaint_copy ON complaint")
        op.execute("DROP FUNCTION IF EXISTS report_complaint_copy()")
        op.execute("DROP TRIGGER IF EXISTS report_event_copy ON complaint_event")
        op.execute("DROP FUNCTION IF EXISTS report_event_copy()")
        op.execute("DROP TRIGGER IF EXISTS report_proposal_copy ON complaint_event")
        op.execute("DROP FUNCTION IF EXISTS report_proposal_copy()")
    else:
        for trigger in ("report_complaint_copy_update", "report_complaint_copy"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TRIGGER IF EXISTS report_proposal_copy")
        op.execute("DROP TRIGGER IF EXISTS report_event_copy")
    op.drop_table("report_complaint")
    op.drop_table("report_event")
    op.drop_table("report_proposal")
