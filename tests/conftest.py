"""One suite, two databases: every test that uses `engine` runs on SQLite and on PostgreSQL.

PostgreSQL runs when KESU_TEST_POSTGRES_URL is set (CI sets it and KESU_REQUIRE_POSTGRES=1,
which turns "PostgreSQL unreachable" into a failure instead of a skip).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kesu.clock import FrozenClock, SystemClock
from kesu.db import migrate
from kesu.db.session import make_engine, make_sessionmaker, transaction
from kesu.policy import loader
from kesu.policy import service as policy_service

SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("KESU_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("KESU_REQUIRE_POSTGRES") == "1"


def _register_packs(engine) -> None:
    with transaction(make_sessionmaker(engine)) as session:
        for key in loader.builtin_keys():
            policy_service.register(session, SystemClock(), loader.builtin_source(key), key)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Argon2 with production cost takes ~0.1–1 s per hash; tests hash hundreds of passwords.
    Same algorithm and code path, minimal cost (login still verifies a real argon2 hash)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from kesu.access import service as access_service

    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(access_service, "_hasher", cheap)
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "kesu.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    _register_packs(engine)
    engine.dispose()
    return path


@contextmanager
def _throwaway_pg() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.exit("KESU_REQUIRE_POSTGRES=1 but KESU_TEST_POSTGRES_URL is not set", 3)
        pytest.skip("PostgreSQL tests off (set KESU_TEST_POSTGRES_URL)")
    name = f"kesu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE_PG:
            pytest.exit(f"PostgreSQL required but unreachable: {exc}", 3)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """A throwaway database for this test session, migrated once."""
    with _throwaway_pg() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        _register_packs(engine)
        engine.dispose()
        yield url


@pytest.fixture
def empty_pg_database():
    """A throwaway PostgreSQL database with nothing in it, for one test."""
    with _throwaway_pg() as url:
        yield url


_KEEP = ("alembic_version", "policy_version")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "kesu.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    tables = [t.name for t in migrate.metadata().sorted_tables if t.name not in _KEEP]
    builtin = [loader.digest(loader.builtin_source(key)) for key in loader.builtin_keys()]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # pack versions an earlier test loaded (a changed pack) would stay current for this one
        conn.execute(
            text("DELETE FROM policy_version WHERE NOT (digest = ANY(:kept))"), {"kept": builtin}
        )
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def clock():
    # Thursday 26 November 2026, 10:00 in Shanghai
    return FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def settings(db_url, tmp_path):
    from kesu.settings import Settings

    return Settings(data_dir=tmp_path / "data", database_url=db_url, _env_file=None)


@pytest.fixture
def org(sessions, clock):
    """The demo organisation (seed 002 pack) and its staff: {code: id}."""
    from kesu import demo

    with transaction(sessions) as session:
        return demo.build_org(session, clock)


@pytest.fixture
def app(settings, clock, org):
    from kesu.web.app import create_app

    application = create_app(settings, clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """A database with nothing in it, for one test (a migration's own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield request.getfixturevalue("empty_pg_database")
