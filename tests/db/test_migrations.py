"""`alembic upgrade head` builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

import time

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from kesu import cli
from kesu.db import migrate
from kesu.db.session import make_engine
from kesu.settings import Settings


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


def test_an_upgrade_on_postgresql_leaves_the_tables_it_filled_vacuumed(empty_pg_database, tmp_path):
    """Migrations copy millions of rows into new tables (0013, 0014): `kesu db upgrade` vacuums
    them, so reports read them index-only from the start instead of after autovacuum."""
    engine = make_engine(empty_pg_database)
    migrate.upgrade(engine, "0013")
    cli.prepare(Settings(database_url=empty_pg_database, data_dir=tmp_path, _env_file=None))
    vacuumed = None
    for _ in range(20):  # statistics reach other sessions within a second
        with engine.connect() as conn:
            vacuumed = conn.scalar(
                text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = :t"),
                {"t": "report_timer"},
            )
        if vacuumed:
            break
        time.sleep(0.1)
    engine.dispose()
    assert vacuumed == 1


def test_submission_keys_held_before_0019_are_still_honoured(empty_db_url):
    """0019 moves the complaint keys to `submission_key`: a client retrying across the upgrade
    still gets its first complaint, and new keys take new ids after the copied ones."""
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0018")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO intake_key (id, scope, key, digest, created_at) "
                "VALUES (7, 'user:1', 'k-1', :d, '2026-11-27 08:00:00+00:00')"
            ),
            {"d": "a" * 64},
        )
    migrate.upgrade(engine)
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT id, scope, key, digest FROM submission_key")).all()
        conn.execute(
            text(
                "INSERT INTO submission_key (scope, key, digest, created_at) "
                "VALUES ('user:1', 'k-2', :d, '2026-11-27 08:00:00+00:00')"
            ),
            {"d": "b" * 64},
        )
        after = conn.scalar(text("SELECT id FROM submission_key WHERE key = 'k-2'"))
    engine.dispose()
    assert kept == [(7, "user:1", "k-1", "a" * 64)]
    assert after > 7
