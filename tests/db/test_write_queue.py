"""SQLite file databases queue their writers (a lock per process, `flock` across processes):
taken at `BEGIN IMMEDIATE`, given back after commit, rollback or an error; reads never take it."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import text

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
