"""Engine and session factory. SQLite gets WAL, foreign keys, a busy timeout and
`BEGIN IMMEDIATE` (so two writers queue instead of failing on a lock upgrade).

On a SQLite file, write transactions also queue in front of SQLite's own lock: a lock per
process (threads) and an `flock` on `<database>.writelock` (processes), taken before
`BEGIN IMMEDIATE` and released once the commit or rollback is done. A waiting writer then
sleeps until the lock is free instead of polling in SQLite's busy handler (1, 2, 5 … 100 ms
naps, which lets late arrivals overtake and gives seconds of tail latency under load).

The WAL is copied back into the database file by a thread of its own (`Checkpointer`), not by
the commit that happens to cross SQLite's threshold."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("kesu.db")

READ_ONLY = "kesu_read_only"
"""Execution option: a read-only unit of work (SQLite then takes no write lock)."""


WAIT_SECONDS = 60
"""How long a writer waits for the lock in this process (SQLite's busy timeout too)."""


CHECKPOINT_BYTES = 4 * 1024 * 1024
"""WAL size from which a commit wakes the checkpointer (SQLite's own default: 1,000 pages);
after the WAL starts over, its file is cut back to this size."""

RESTART_BYTES = 64 * 1024 * 1024
"""WAL size at which the next writer makes the WAL start over itself (see Checkpointer)."""


class Checkpointer:
    """Copies a SQLite file's WAL back into the database (`PRAGMA wal_checkpoint(PASSIVE)`),
    in a thread of its own, once commits have grown the WAL past `CHECKPOINT_BYTES`.

    SQLite does it inside the commit that crosses its threshold (`wal_autocheckpoint`): that
    writer, and every writer queued behind it, waited for the copy (a sweep pass at 100k: 70
    of its 80 ms of commit). Engines on a file switch that off; this thread does the work
    beside them: a PASSIVE checkpoint blocks neither readers nor writers, and one another
    process is running is left to it. Each process that writes has one per file, started by
    the commits and ended after `IDLE_SECONDS` without any.

    The WAL starts over only at a write that begins after everything in it was copied, which
    back-to-back writers may never leave room for; so a writer that finds the WAL past
    `RESTART_BYTES` copies the rest itself before it begins (`WriteQueue.acquire`)."""

    IDLE_SECONDS = 10.0

    def __init__(self, database: str) -> None:
        self.database = database
        self.wal = f"{database}-wal"
        self._fresh()

    def _fresh(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.running = False

    def wal_bytes(self) -> int:
        try:
            return os.stat(self.wal).st_size
        except OSError:
            return 0

    def committed(self) -> None:
        """After a commit: wake the thread (start it) if the WAL is past the threshold."""
        if self.wal_bytes() < CHECKPOINT_BYTES:
            return
        if self.pid != os.getpid():  # a forked child: the parent's thread is not here
            self._fresh()
        with self.lock:
            self.wake.set()
            if not self.running:
                self.running = True
                threading.Thread(target=self._run, name="kesu-checkpoint", daemon=True).start()

    def _run(self) -> None:
        conn = None
        try:
            while True:
                if not self.wake.wait(self.IDLE_SECONDS):
                    with self.lock:
                        if not self.wake.is_set():
                            self.running = False
                            return
                self.wake.clear()
                if conn is None:  # mode=rw: never create a file that has gone
                    conn = sqlite3.connect(
                        f"file:{self.database}?mode=rw", uri=True, isolation_level=None
                    )
                    conn.execute("PRAGMA synchronous=NORMAL")
                checkpoint(conn)
        except Exception:
            log.exception("WAL checkpoint of %s", self.database)
            with self.lock:
                self.running = False
        finally:
            if conn is not None:
                conn.close()


def checkpoint(dbapi_conn, wait: float = 0.0) -> None:
    """A PASSIVE checkpoint. While another connection runs one (SQLite answers busy), leave
    the work to it, or wait up to `wait` seconds for it to end and then copy what is left.
    Never raises: a database that cannot be checkpointed says so to its next statement."""
    deadline = time.monotonic() + wait
    while True:
        try:
            busy, _, _ = dbapi_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            busy = 1
        if not busy or time.monotonic() >= deadline:
            return
        time.sleep(0.002)


class WriteQueue:
    """The write lock of one SQLite file for this process and, through `flock`, for every
    process on the machine. Held by one DBAPI connection from its `BEGIN IMMEDIATE` until its
    commit or rollback has finished."""

    def __init__(self, database: str) -> None:
        self.path = f"{Path(database).resolve()}.writelock"
        self.checkpointer = Checkpointer(str(Path(database).resolve()))
        self.lock = threading.Lock()
        self.holder: object | None = None
        self.thread: int | None = None  # the holder's thread
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
        self.fd, self.holder, self.thread = fd, dbapi_conn, threading.get_ident()
        if self.checkpointer.wal_bytes() >= RESTART_BYTES:  # nobody commits until we begin
            checkpoint(dbapi_conn, wait=1.0)

    def release(self, dbapi_conn: object) -> None:
        dbapi_conn = getattr(dbapi_conn, "dbapi_connection", dbapi_conn)
        if self.holder is None or self.holder is not dbapi_conn:
            return
        fd, self.fd, self.holder, self.thread = self.fd, None, None, None
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
    and `rollback` events fire before it), including when that raises; after a commit, the
    checkpointer may have work."""
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        done = getattr(dialect, name)

        def finish(dbapi_conn, _done=done, _commit=name == "do_commit"):
            try:
                _done(dbapi_conn)
            finally:
                queue.release(dbapi_conn)
            if _commit:
                queue.checkpointer.committed()

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
            if queue is not None:  # the checkpointer's thread does it (see Checkpointer)
                cur.execute("PRAGMA wal_autocheckpoint=0")
                cur.execute(f"PRAGMA journal_size_limit={CHECKPOINT_BYTES}")
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
    """Sessions on `engine`, with every model mapped first: a process imports only the models
    its code reaches, and a flush meets foreign keys across domains (a complaint's
    `import_batch_id` names the ledger's table)."""
    from kesu.db import migrate  # imports every domain's models

    migrate.metadata()
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


def read_only(session: Session) -> bool:
    """Whether the session is a read-only unit of work of its own, on an engine (`reading`,
    a request's `ReadDb`): it has written nothing another session could not see."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):  # bound to a caller's connection (and its transaction)
        return False
    if session.in_transaction():
        return bool(session.connection().get_execution_options().get(READ_ONLY))
    return bool(bind.get_execution_options().get(READ_ONLY))


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@contextmanager
def same_snapshot(engine: Engine, n: int) -> Iterator[list[Session]]:
    """`n` read-only sessions that all see the database as it was at one instant, so one read
    can be split across threads (a session each) and still add up. PostgreSQL: the first
    exports its snapshot (`pg_export_snapshot`) and the others import it, all in REPEATABLE
    READ. SQLite (WAL): each starts its read transaction while a write lock is held (this
    process's write queue and `BEGIN IMMEDIATE`), so no commit can land in between; the lock
    is given back as soon as all have started (writers wait a few milliseconds at most)."""
    reader = engine.execution_options(**{READ_ONLY: True})
    with ExitStack() as stack:
        sessions = [stack.enter_context(Session(reader)) for _ in range(n)]
        if engine.dialect.name == "postgresql":
            for s in sessions:
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            snapshot = sessions[0].scalar(text("SELECT pg_export_snapshot()"))
            if not _SNAPSHOT_ID.fullmatch(snapshot):
                raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
            for s in sessions[1:]:  # the first statement of their transactions
                s.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        else:
            queue = write_queue(engine.url.database)
            if queue.thread == threading.get_ident():  # it would wait for itself
                raise RuntimeError("this thread holds the write lock: read before writing")
            for s in sessions:  # their connections first (BEGIN, no snapshot yet): holding
                s.connection()  # the lock while waiting for the pool could deadlock writers
            writer = engine.execution_options(**{READ_ONLY: False})
            with Session(writer) as lock, lock.begin():
                lock.connection()  # BEGIN IMMEDIATE: nobody commits until this ends
                for s in sessions:  # a read of the file starts the read transaction
                    s.execute(text("SELECT 1 FROM sqlite_master LIMIT 1"))
        yield sessions
