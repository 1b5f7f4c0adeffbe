"""reads: a handler's open work by deadline; a character index for the complaint search

`ix_complaint_assignee_open` (assignee_id, next_due_at) over open complaints only: "my queue"
(API and console) reads the handler's open complaints without walking their closed history,
which grows with every year kept (queries compare `state != 'closed'` as a literal so SQLite
may use the partial index).

Revision ID: 0008
Revises: 0006

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
The case library (closed complaints; title, description, findings, solution; migration 0004)
gets the same for words shorter than its trigrams: `caselib_fts_chars` (SQLite) and a
`grams` column on `caselib_fts` (PostgreSQL, lower-cased as its ILIKE is).
All are filters: `kesu.complaint.queries` and `kesu.caselib.queries` keep their exact match
(`LIKE`, `instr`, `ILIKE`) on the rows the index finds, so results are the substring matches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

SEQ_MAX = 100_000
"""Characters indexed per complaint: more than number + title + description can hold."""

SQLITE_TEXT = "{t}.number || char(10) || {t}.title || char(10) || {t}.description"
SQLITE_SPACED = (
    "(SELECT group_concat(ch, ' ') FROM (SELECT substr(s.t, q.i, 1) AS ch"
    " FROM (SELECT {text} AS t LIMIT 1) AS s JOIN complaint_fts_seq AS q ON q.i <= length(s.t)"
    " ORDER BY q.i))"
)
"""The text with a space between every two characters (`LIMIT 1` keeps the text computed once,
not once per character)."""
PG_TEXT = "{t}.number || chr(10) || {t}.title || chr(10) || {t}.description"
WATCHED = "number, title, description"


# the case library's text (as migration 0004 builds it) and the columns it comes from
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
CASE_WATCHED = "state, title, description, investigation, solution"


def _spaced(t: str, text: str = SQLITE_TEXT) -> str:
    return SQLITE_SPACED.format(text=text.format(t=t))


def _sqlite_cases() -> None:
    """`caselib_fts_chars`: the case library's text character by character (closed cases),
    for words too short for the trigram index (kesu.caselib.queries)."""
    op.execute(
        "CREATE VIRTUAL TABLE caselib_fts_chars USING fts5(text, content = '',"
        " tokenize = 'unicode61')"
    )
    new, old = _spaced("new", SQLITE_CASE_TEXT), _spaced("old", SQLITE_CASE_TEXT)
    op.execute(
        "CREATE TRIGGER caselib_fts_chars_insert AFTER INSERT ON complaint"
        " WHEN new.state = 'closed' BEGIN"
        f" INSERT INTO caselib_fts_chars (rowid, text) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER caselib_fts_chars_update AFTER UPDATE OF {CASE_WATCHED} ON complaint"
        " BEGIN INSERT INTO caselib_fts_chars (caselib_fts_chars, rowid, text)"
        f" SELECT 'delete', old.id, {old} WHERE old.state = 'closed';"
        " INSERT INTO caselib_fts_chars (rowid, text)"
        f" SELECT new.id, {new} WHERE new.state = 'closed'; END"
    )
    op.execute(
        "CREATE TRIGGER caselib_fts_chars_delete AFTER DELETE ON complaint"
        " WHEN old.state = 'closed' BEGIN"
        " INSERT INTO caselib_fts_chars (caselib_fts_chars, rowid, text)"
        f" VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        "INSERT INTO caselib_fts_chars (rowid, text) SELECT id,"
        f" {_spaced('complaint', SQLITE_CASE_TEXT)} FROM complaint WHERE state = 'closed'"
    )


def _pg_cases() -> None:
    """`caselib_fts.grams`: the characters and pairs of the lower-cased case text, GIN."""
    op.execute("ALTER TABLE caselib_fts ADD COLUMN grams text[]")
    new = PG_CASE_TEXT.format(t="NEW")
    op.execute(
        "CREATE OR REPLACE FUNCTION caselib_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN"
        " IF TG_OP = 'UPDATE' THEN DELETE FROM caselib_fts WHERE complaint_id = OLD.id; END IF;"
        " IF NEW.state = 'closed' THEN"
        f" INSERT INTO caselib_fts (complaint_id, text, grams) VALUES (NEW.id, {new},"
        f" complaint_fts_grams(lower({new}))); END IF;"
        " RETURN NULL; END $$"
    )
    op.execute("UPDATE caselib_fts SET grams = complaint_fts_grams(lower(text))")
    op.execute("ALTER TABLE caselib_fts ALTER COLUMN grams SET NOT NULL")
    op.execute("CREATE INDEX caselib_fts_grams_gin ON caselib_fts USING gin (grams)")


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
        _sqlite_cases()
    else:
        _pg()
        _pg_cases()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in (
            *("complaint_fts_insert", "complaint_fts_update", "complaint_fts_delete"),
            *("caselib_fts_chars_insert", "caselib_fts_chars_update", "caselib_fts_chars_delete"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS caselib_fts_chars")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
        op.execute("DROP TABLE IF EXISTS complaint_fts_seq")
    else:
        new = PG_CASE_TEXT.format(t="NEW")
        op.execute(
            "CREATE OR REPLACE FUNCTION caselib_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN"
            " IF TG_OP = 'UPDATE' THEN DELETE FROM caselib_fts WHERE complaint_id = OLD.id;"
            " END IF; IF NEW.state = 'closed' THEN"
            f" INSERT INTO caselib_fts (complaint_id, text) VALUES (NEW.id, {new}); END IF;"
            " RETURN NULL; END $$"
        )
        op.execute("DROP INDEX IF EXISTS caselib_fts_grams_gin")
        op.execute("ALTER TABLE caselib_fts DROP COLUMN IF EXISTS grams")
        op.execute("DROP TRIGGER IF EXISTS complaint_fts_sync ON complaint")
        op.execute("DROP FUNCTION IF EXISTS complaint_fts_sync()")
        op.execute("DROP TABLE IF EXISTS complaint_fts")
        op.execute("DROP FUNCTION IF EXISTS complaint_fts_grams(text)")
    op.drop_index("ix_complaint_assignee_open", table_name="complaint")
