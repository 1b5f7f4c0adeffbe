"""reports, case library search and ledger import

Revision ID: 0004
Revises: 0003

Tables: org_volume, report_delivery, ledger_mapping, ledger_batch, ledger_row; complaint gets
imported / original_number / import_batch_id and report indexes; complaint_event an index on
(command, at); sla_timer an index on due_at (timer compliance over any period).

Case library full text (not models; tests/db/test_migrations.py ignores `caselib_fts*`):
a table `caselib_fts` holding the searchable text of each closed complaint, kept by triggers on
`complaint`. SQLite: an FTS5 virtual table with the trigram tokenizer. PostgreSQL: a plain
table with a GIN pg_trgm index (if the database user may not create the pg_trgm extension,
the index is left out and search still works, by a sequential scan). See docs/reports.md.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kesu.db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
UTC = kesu.db.base.UTCDateTime(timezone=True)
log = logging.getLogger("alembic.runtime.migration")

# the searchable text of a case: title, description, investigation findings, solution
SQLITE_CASE_TEXT = (
    "{t}.title || char(10) || {t}.description"
    " || char(10) || coalesce(json_extract({t}.investigation, '$.findings'), '')"
    " || char(10) || coalesce(json_extract({t}.solution, '$.description'), '')"
)
PG_CASE_TEXT = (
    "{t}.title || chr(10) || {t}.description"
    " || chr(10) || coalesce({t}.investigation ->> 'findings', '')"
    " || chr(10) || coalesce({t}.solution ->> 'description', '')"
)
WATCHED = "state, title, description, investigation, solution"


def _sqlite_fts() -> None:
    op.execute("CREATE VIRTUAL TABLE caselib_fts USING fts5(text, tokenize = 'trigram')")
    new = SQLITE_CASE_TEXT.format(t="new")
    op.execute(
        "CREATE TRIGGER caselib_fts_insert AFTER INSERT ON complaint WHEN new.state = 'closed' "
        f"BEGIN INSERT INTO caselib_fts(rowid, text) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER caselib_fts_update AFTER UPDATE OF {WATCHED} ON complaint BEGIN"
        " DELETE FROM caselib_fts WHERE rowid = old.id;"
        f" INSERT INTO caselib_fts(rowid, text) SELECT new.id, {new} WHERE new.state = 'closed';"
        " END"
    )
    op.execute(
        "CREATE TRIGGER caselib_fts_delete AFTER DELETE ON complaint "
        "BEGIN DELETE FROM caselib_fts WHERE rowid = old.id; END"
    )
    op.execute(
        "INSERT INTO caselib_fts(rowid, text) SELECT id, "
        + SQLITE_CASE_TEXT.format(t="complaint")
        + " FROM complaint WHERE state = 'closed'"
    )


def _pg_fts() -> None:
    op.execute(
        "CREATE TABLE caselib_fts (complaint_id integer PRIMARY KEY"
        " REFERENCES complaint (id) ON DELETE CASCADE, text text NOT NULL)"
    )
    new = PG_CASE_TEXT.format(t="NEW")
    op.execute(
        "CREATE FUNCTION caselib_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'UPDATE' THEN DELETE FROM caselib_fts WHERE complaint_id = OLD.id; END IF;"
        " IF NEW.state = 'closed' THEN"
        f" INSERT INTO caselib_fts (complaint_id, text) VALUES (NEW.id, {new}); END IF;"
        " RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER caselib_fts_sync AFTER INSERT OR UPDATE OF {WATCHED} ON complaint"
        " FOR EACH ROW EXECUTE FUNCTION caselib_fts_sync()"
    )
    op.execute(
        "INSERT INTO caselib_fts (complaint_id, text) SELECT id, "
        + PG_CASE_TEXT.format(t="complaint")
        + " FROM complaint WHERE state = 'closed'"
    )
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm unavailable (%s): case search runs without its index", exc.orig)
        return
    op.execute("CREATE INDEX caselib_fts_text_trgm ON caselib_fts USING gin (text gin_trgm_ops)")


def upgrade() -> None:
    op.create_table(
        "org_volume",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_org_volume_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_volume")),
        sa.UniqueConstraint(
            "org_id", "first_day", "last_day", name=op.f("uq_org_volume_org_id_first_day_last_day")
        ),
    )
    op.create_table(
        "report_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("schedule_key", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("scope_org_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_report_delivery_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["scope_org_id"],
            ["organisation.id"],
            name=op.f("fk_report_delivery_scope_org_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_delivery")),
        sa.UniqueConstraint(
            "org_id",
            "schedule_key",
            "period",
            name=op.f("uq_report_delivery_org_id_schedule_key_period"),
        ),
    )
    op.create_table(
        "ledger_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("defaults", JSON, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_ledger_mapping_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_mapping")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_ledger_mapping_org_id_name")),
    )
    op.create_table(
        "ledger_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mapping_name", sa.String(length=60), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_bad", sa.Integer(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["app_user.id"],
            name=op.f("fk_ledger_batch_imported_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_ledger_batch_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_batch")),
    )
    with op.batch_alter_table("ledger_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_batch_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("imported", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("original_number", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("import_batch_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complaint_import_batch_id_ledger_batch"),
            "ledger_batch",
            ["import_batch_id"],
            ["id"],
        )
        batch_op.create_index("ix_complaint_org_received", ["org_id", "received_at"], unique=False)
        batch_op.create_index("ix_complaint_org_closed", ["org_id", "closed_at"], unique=False)
        batch_op.create_index(
            "ix_complaint_org_original_number", ["org_id", "original_number"], unique=False
        )
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_event_command_at", ["command", "at"], unique=False)
    with op.batch_alter_table("sla_timer", schema=None) as batch_op:
        batch_op.create_index("ix_sla_timer_due_at", ["due_at"], unique=False)

    op.create_table(
        "ledger_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["ledger_batch.id"], name=op.f("fk_ledger_row_batch_id_ledger_batch")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_ledger_row_complaint_id_complaint")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_ledger_row_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_row")),
        sa.UniqueConstraint("org_id", "key", name=op.f("uq_ledger_row_org_id_key")),
    )
    with op.batch_alter_table("ledger_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_row_batch_id"), ["batch_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fts()
    else:
        _pg_fts()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("caselib_fts_insert", "caselib_fts_update", "caselib_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP TRIGGER IF EXISTS caselib_fts_sync ON complaint")
        op.execute("DROP FUNCTION IF EXISTS caselib_fts_sync()")
    op.execute("DROP TABLE IF EXISTS caselib_fts")
    with op.batch_alter_table("ledger_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_row_batch_id"))
    op.drop_table("ledger_row")
    with op.batch_alter_table("sla_timer", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_timer_due_at")
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_event_command_at")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_org_original_number")
        batch_op.drop_index("ix_complaint_org_closed")
        batch_op.drop_index("ix_complaint_org_received")
        batch_op.drop_constraint(
            batch_op.f("fk_complaint_import_batch_id_ledger_batch"), type_="foreignkey"
        )
        batch_op.drop_column("import_batch_id")
        batch_op.drop_column("original_number")
        batch_op.drop_column("imported")
    with op.batch_alter_table("ledger_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_batch_org_id"))
    op.drop_table("ledger_batch")
    op.drop_table("ledger_mapping")
    op.drop_table("report_delivery")
    op.drop_table("org_volume")
