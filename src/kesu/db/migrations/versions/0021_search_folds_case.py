"""the complaint search ignores letter case on PostgreSQL as on SQLite

The character index of migration 0008 held the text's pairs as written on PostgreSQL, and the
search's exact match was a `LIKE`: "sofa" or "fs2026110085" found nothing where SQLite (its
FTS5 tokenizer and `LIKE` fold ASCII case) found "Sofa" and "FS2026110085". The index now
holds the lower-cased text's pairs, as the case library's does; `kesu.complaint.queries` looks
up the lower-cased word and keeps an `ILIKE`. SQLite is unchanged.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TEXT = "{t}.number || chr(10) || {t}.title || chr(10) || {t}.description"  # as 0008's


def _sync(grams: str) -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION complaint_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN INSERT INTO complaint_fts (complaint_id, org_id, grams)"
        f" VALUES (NEW.id, NEW.org_id, complaint_fts_grams({grams.format(t='NEW')}))"
        " ON CONFLICT (complaint_id) DO UPDATE SET org_id = EXCLUDED.org_id,"
        " grams = EXCLUDED.grams;"
        " RETURN NULL; END $$"
    )
    text = grams.format(t="complaint")
    op.execute(
        f"UPDATE complaint_fts SET grams = complaint_fts_grams({text}) FROM complaint"
        f" WHERE complaint.id = complaint_fts.complaint_id AND {TEXT.format(t='complaint')}"
        f" <> lower({TEXT.format(t='complaint')})"  # only texts with a letter that folds
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _sync(f"lower({TEXT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _sync(TEXT)
