"""SQLite file databases queue their writers (a lock per process, `flock` across processes):
taken at `BEGIN IMMEDIATE`, given back after commit, rollback or an error; reads never take it."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from kesu.db import session as session_module
from kesu.db.session import make_engine, make_sessionmaker, reading, transaction, write_queue


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "q.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
    yield engine, write_queue(str(path)), f"{path}.writelock"
    engine.dispose()


def _other_process_could_lock(lock_file: str) -> bool:
    """What another process's `flock` would get (a second open file is a separate lock)."""
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_writer_holds_the_queue_until_commit(db):
    engine, queue, lock_file = db
    with transaction(make_sessionmaker(engine)) as s:
        s.execute(text("INSERT INTO t (v) VALUES (1)"))
        assert queue.lock.locked()
        assert not _other_process_could_lock(lock_file)
    assert not queue.lock.locked()
    assert _other_process_could_lock(lock_file)


def test_an_error_gives_the_queue_back(db):
    engine, queue, lock_file = db
    with pytest.raises(RuntimeError), transaction(make_sessionmaker(engine)) as s:
        s.execute(text("INSERT INTO t (v) VALUES (1)"))
        raise RuntimeError("boom")
    assert not queue.lock.locked()
    assert _other_process_could_lock(lock_file)
    with engine.connect() as conn:  # closed without commit: the pool's rollback gives it back
        conn.execute(text("INSERT INTO t (v) VALUES (2)"))
        assert queue.lock.locked()
    assert not queue.lock.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_reads_do_not_queue(db):
    engine, queue, _ = db
    with reading(make_sessionmaker(engine)) as s:
        s.execute(text("SELECT count(*) FROM t"))
        assert not queue.lock.locked()


def test_concurrent_writers_all_get_through(db):
    engine, queue, _ = db
    sessions = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(10):
                with transaction(sessions) as s:
                    s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 80
    assert not queue.lock.locked()


def _blobs(engine, n: int) -> int:
    """`n` commits of 100 kB each; the largest the WAL file grew."""
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS blob (id INTEGER PRIMARY KEY, b BLOB)")
        conn.commit()
    sessions = make_sessionmaker(engine)
    wal = Path(f"{engine.url.database}-wal")
    largest = 0
    for _ in range(n):
        with transaction(sessions) as s:
            s.execute(text("INSERT INTO blob (b) VALUES (randomblob(100000))"))
        largest = max(largest, wal.stat().st_size)
    return largest


def test_the_wal_is_copied_back_beside_the_writers_not_in_their_commits(db, tmp_path):
    """A commit never copies the WAL back (SQLite's automatic checkpoint ran inside the
    commit that crossed its threshold, with the writers queued behind it); a thread does,
    while nobody writes: the database file takes the rows with no further commit."""
    engine, _, _ = db
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    _blobs(engine, 60)  # 6 MB: past the threshold
    main = tmp_path / "q.db"
    for _ in range(100):
        if main.stat().st_size > 5_000_000:
            break
        time.sleep(0.05)
    assert main.stat().st_size > 5_000_000
    engine.dispose()
    again = make_engine(f"sqlite:///{main}")
    with again.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM blob").scalar() == 60
    again.dispose()


def test_back_to_back_writers_still_keep_the_wal_bounded(db, monkeypatch):
    """Writers one after another leave the thread no moment to start the WAL over: past
    RESTART_BYTES the next writer does, so 40 MB never make a 40 MB WAL."""
    monkeypatch.setattr(session_module, "RESTART_BYTES", 8 * 1024 * 1024)
    engine, _, _ = db
    assert _blobs(engine, 400) < 12 * 1024 * 1024
