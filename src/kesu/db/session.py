"""Engine and session factory. SQLite gets WAL, foreign keys, a busy timeout and
`BEGIN IMMEDIATE` (so two writers queue instead of failing on a lock upgrade).

On a SQLite file, write transactions also queue in front of SQLite's own lock: a lock per
process (threads) and an `flock` on `<database>.writelock` (processes), taken before
`BEGIN IMMEDIATE` and released once the commit or rollback is done. A waiting writer then
sleeps until the lock is free instead of polling in SQLite's busy handler (1, 2, 5 … 100 ms
naps, which lets late arrivals overtake and gives seconds of tail latency under load)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "kesu_read_only"
"""Execution option: a read-only unit of work (SQLite then takes no write lock)."""


WAIT_SECONDS = 60
"""How long a writer waits for the lock in this process (SQLite's busy timeout too)."""


class WriteQueue:
    """The write lock of one SQLite file for this process and, through `flock`, for every
    process on the machine. Held by one DBAPI connection from its `BEGIN IMMEDIATE` until its
    commit or rollback has finished."""

    def __init__(self, database: str) -> None:
        self.path = f"{Path(database).resolve()}.writelock"
        self.lock = threading.Lock()
        self.holder: object | None = None
        self.fd: int | None = None

    def acquire(self, dbapi_conn: object) -> None:
        dbapi_conn = getattr(dbapi_conn, "dbapi_connection", dbapi_conn)  # the pool's proxy
        if not self.lock.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (write queue)")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            self.lock.release()
            raise
        self.fd, self.holder = fd, dbapi_conn

    def release(self, dbapi_conn: object) -> None:
        dbapi_conn = getattr(dbapi_conn, "dbapi_connection", dbapi_conn)
        if self.holder is None or self.holder is not dbapi_conn:
            return
        fd, self.fd, self.holder = self.fd, None, None
        try:
            os.close(fd)  # gives the flock back
        finally:
            self.lock.release()


_queues: weakref.WeakValueDictionary[str, WriteQueue] = weakref.WeakValueDictionary()
_queues_lock = threading.Lock()


def write_queue(database: str) -> WriteQueue:
    """The one queue of this process for a database file."""
    key = str(Path(database).resolve())
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = WriteQueue(database)
        return queue


def _queue_writers(engine: Engine, queue: WriteQueue) -> None:
    """Release the queue after the DBAPI commit/rollback/close itself (the engine's `commit`
    and `rollback` events fire before it), including when that raises."""
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        done = getattr(dialect, name)

        def finish(dbapi_conn, _done=done):
            try:
                _done(dbapi_conn)
            finally:
                queue.release(dbapi_conn)

        setattr(dialect, name, finish)


def database_key(session: Session) -> object:
    """What identifies the session's database in this process, for caches kept per process
    and database: its engine's pool (shared by the engine's execution-option copies)."""
    bind = session.get_bind()
    return getattr(bind, "pool", None) or bind.engine.pool


def make_engine(url: str, **kw) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        on_file = bool(parsed.database) and parsed.database != ":memory:"
        if on_file:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": WAIT_SECONDS, "check_same_thread": False}, **kw
        )
        queue = write_queue(parsed.database) if on_file else None
        if queue is not None:
            _queue_writers(engine, queue)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            if conn.get_execution_options().get(READ_ONLY, False):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_conn = conn.connection.dbapi_connection
            if queue is not None:
                queue.acquire(dbapi_conn)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if queue is not None:
                    queue.release(dbapi_conn)
                raise

        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kw)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for an entry point: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only unit of work."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        yield session
