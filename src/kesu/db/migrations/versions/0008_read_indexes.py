"""reads: a handler's open work by deadline; a character index for the complaint search

`ix_complaint_assignee_open` (assignee_id, next_due_at) over open complaints only: "my queue"
(API and console) reads the handler's open complaints without walking their closed history,
which grows with every year kept (queries compare `state != 'closed'` as a literal so SQLite
may use the partial index).

Revision ID: 0008
Revises: 0007

The API's complaint search (`q=`) is a substring match over number, title and description.
A `LIKE '%…%'` reads every complaint of the organisation when the word is rare or absent, and
trigram indexes cannot serve one- or two-character words (most Chinese words). This revision
indexes the searchable text character by character (not models; tests/db/test_migrations.py
ignores `complaint_fts*`), kept by triggers on `complaint`:
- SQLite: `complaint_fts`, a contentless FTS5 table (unicode61 tokenizer) over the text with a
  space between every two characters, so each character is a token and a word is a phrase of
  adjacent characters; `complaint_fts_seq` (1..N) spells the characters out in the triggers
  (SQLite allows no recursive CTE in a trigger).
- PostgreSQL: `complaint_fts`, one row per complaint with the distinct characters and pairs of
  adjacent characters of its text (`text[]`) under a GIN index; a word is found by the array of
  its pairs (or its one character).
Both are filters: `kesu.complaint.queries` keeps the `LIKE` on the rows the index finds, so
results are exactly the substring matches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEQ_MAX = 100_000
"""Characters indexed per complaint: more than number + title + description can hold."""

SQLITE_TEXT = "{t}.number || char(10) || {t}.title || char(10) || {t}.description"
SQLITE_SPACED = (
    "(SELECT group_concat(ch, ' ') FROM (SELECT substr({text}, i, 1) AS ch"
    " FROM complaint_fts_seq WHERE i <= length({text}) ORDER BY i))"
)
PG_TEXT = "{t}.number || chr(10) || {t}.title || chr(10) || {t}.description"
WATCHED = "number, title, description"


def _spaced(t: str) -> str:
    text = SQLITE_TEXT.format(t=t)
    return SQLITE_SPACED.format(text=text)


def _sqlite() -> None:
    op.execute("CREATE TABLE complaint_fts_seq (i INTEGER PRIMARY KEY)")
    op.execute(
        "INSERT INTO complaint_fts_seq (i) WITH RECURSIVE n(i) AS"
        f" (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEQ_MAX}) SELECT i FROM n"
    )
    op.execute(
        "CREATE VIRTUAL TABLE complaint_fts USING fts5(text, content = '', tokenize = 'unicode61')"
    )
    new, old = _spaced("new"), _spaced("old")
    op.execute(
        "CREATE TRIGGER complaint_fts_insert AFTER INSERT ON complaint BEGIN"
        f" INSERT INTO complaint_fts (rowid, text) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER complaint_fts_update AFTER UPDATE OF {WATCHED} ON complaint BEGIN"
        " INSERT INTO complaint_fts (complaint_fts, rowid, text)"
        f" VALUES ('delete', old.id, {old});"
        f" INSERT INTO complaint_fts (rowid, text) VALUES (new.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER complaint_fts_delete AFTER DELETE ON complaint BEGIN"
        " INSERT INTO complaint_fts (complaint_fts, rowid, text)"
        f" VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"INSERT INTO complaint_fts (rowid, text) SELECT id, {_spaced('complaint')} FROM complaint"
    )


def _pg() -> None:
    op.execute(
        "CREATE FUNCTION complaint_fts_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$"
        " SELECT coalesce(array_agg(DISTINCT g), '{}') FROM ("
        " SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) AS i"
        " UNION ALL SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i) AS s $$"
    )
    op.execute(
        "CREATE TABLE complaint_fts (complaint_id integer PRIMARY KEY"
        " REFERENCES complaint (id) ON DELETE CASCADE, org_id integer NOT NULL,"
        " grams text[] NOT NULL)"
    )
    new = PG_TEXT.format(t="NEW")
    op.execute(
        "CREATE FUNCTION complaint_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO complaint_fts (complaint_id, org_id, grams)"
        f" VALUES (NEW.id, NEW.org_id, complaint_fts_grams({new}))"
        " ON CONFLICT (complaint_id) DO UPDATE SET org_id = EXCLUDED.org_id,"
        " grams = EXCLUDED.grams;"
        " RETURN NULL; END $$"
    )
    op.execute(
        f"CREATE TRIGGER complaint_fts_sync AFTER INSERT OR UPDATE OF {WATCHED}, org_id"
        " ON complaint FOR EACH ROW EXECUTE FUNCTION complaint_fts_sync()"
    )
    op.execute(
        "INSERT INTO complaint_fts (complaint_id, org_id, grams) SELECT id, org_id,"
        f" complaint_fts_grams({PG_TEXT.format(t='complaint')}) FROM complaint"
    )
    op.execute("CREATE INDEX complaint_fts_grams_gin ON complaint_fts USING gin (grams)")


OPEN = sa.text("state != 'closed'")


def upgrade() -> None:
    op.create_index(
        "ix_complaint_assignee_open",
        "complaint",
        ["assignee_id", "next_due_at"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite()
    else:
        _pg()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("complaint_fts_insert", "complaint_fts_update", "complaint_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
        op.execute("DROP TABLE IF EXISTS complaint_fts_seq")
    else:
        op.execute("DROP TRIGGER IF EXISTS complaint_fts_sync ON complaint")
        op.execute("DROP FUNCTION IF EXISTS complaint_fts_sync()")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
        op.execute("DROP FUNCTION IF EXISTS complaint_fts_grams(text)")
    op.drop_index("ix_complaint_assignee_open", table_name="complaint")
