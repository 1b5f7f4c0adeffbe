"""`alembic upgrade head` builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kesu.db import migrate


def _ignored(diff) -> bool:
    """SQLite-only search tables created by raw SQL in migrations are not models."""
    kind = diff[0] if isinstance(diff, tuple) else None
    if kind in ("remove_table",):
        return diff[1].name.startswith(("complaint_fts", "caselib_fts"))
    if kind in ("remove_index",):
        return diff[1].table.name.startswith(("complaint_fts", "caselib_fts"))
    return False


def test_upgrading_to_head_yields_exactly_the_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, migrate.metadata()) if not _ignored(d)]
    assert diffs == []


def test_the_database_is_at_the_newest_revision(engine):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.config(engine)).get_current_head()
    assert migrate.current(engine) == head
