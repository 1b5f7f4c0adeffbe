"""Tampering as an attacker with the database owner's rights would: around the triggers."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

APPEND_ONLY = ("complaint_event", "config_audit", "audit_anchor")


@pytest.fixture
def tamper(engine):
    """`with tamper() as s:` writes that the append-only triggers would otherwise refuse.

    PostgreSQL: triggers off for this transaction only (superuser). SQLite: the test's own
    copy of the database loses its triggers.
    """

    @contextmanager
    def _tamper():
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                for table in APPEND_ONLY:
                    for verb in ("update", "delete"):
                        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
            session = Session(bind=conn)
            yield session
            session.flush()

    return _tamper
