"""`kesu db backup DIR`: a consistent copy of a running deployment, checked before it counts.

- SQLite: SQLite's online backup (one step, inside one read transaction, so writers go on
  under WAL and the copy is one moment of the database), then `PRAGMA quick_check` on the copy.
  Copying `kesu.db` with `cp` while Kesu runs is not a backup: the newest commits live in the
  `-wal` file, and a copy paired with the wrong one is corrupt.
- PostgreSQL: `pg_dump --format=custom` on a snapshot exported from the transaction that
  counts the rows, so the counts in the manifest are the dump's; then `pg_restore --list`
  reads the archive back.
- Evidence files (stored under their SHA-256, never changed) are copied after the database, so
  every file the copy refers to is there; files already in DIR are not copied again.
- `kesu-<time>.json` beside the copy says what it holds. It is written last: a backup without
  its manifest did not finish. The keys (`KESU_SECRET_KEY`, `KESU_DATA_KEY`) are not copied:
  keep them elsewhere, since without `KESU_DATA_KEY` the sealed personal data cannot be read.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from kesu import __version__
from kesu.db.session import make_engine
from kesu.settings import Settings


class BackupFailed(Exception):
    """The backup could not be made or did not check out; nothing was left behind as done."""


@dataclass(frozen=True)
class Manifest:
    database: str
    kind: str
    made_at: str
    kesu_version: str
    revision: str | None
    complaints: int
    events: int
    bytes: int
    evidence_files: int
    evidence_copied: int
    seconds: float


REVISION = "SELECT version_num FROM alembic_version"
COUNTS = "SELECT (SELECT count(*) FROM complaint), (SELECT count(*) FROM complaint_event)"


def backup(settings: Settings, target: Path, now: datetime) -> Manifest:
    """Copy the database and the evidence into `target` (created if missing)."""
    if target.exists() and not target.is_dir():
        raise BackupFailed(f"{target} is a file, not a directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(f"cannot create {target}: {exc.strerror}") from exc
    started = time.perf_counter()
    stamp = now.strftime("%Y%m%d-%H%M%S")
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        dest = target / f"kesu-{stamp}.db"
        counts = _sqlite(Path(url.database or ""), dest)
    elif url.get_backend_name() == "postgresql":
        dest = target / f"kesu-{stamp}.dump"
        counts = _postgresql(settings.db_url, dest)
    else:
        raise BackupFailed(f"no backup for {url.get_backend_name()} databases")
    revision, complaints, events = counts
    files, copied = _evidence(settings.evidence_dir, target / "evidence")
    manifest = Manifest(
        database=dest.name,
        kind=url.get_backend_name(),
        made_at=now.isoformat(),
        kesu_version=__version__,
        revision=revision,
        complaints=complaints,
        events=events,
        bytes=dest.stat().st_size,
        evidence_files=files,
        evidence_copied=copied,
        seconds=round(time.perf_counter() - started, 2),
    )
    _write(
        target / f"kesu-{stamp}.json",
        json.dumps(asdict(manifest), ensure_ascii=False, indent=2).encode(),
    )
    return manifest


def _sqlite(source: Path, dest: Path) -> tuple[str | None, int, int]:
    if not source.is_file():
        raise BackupFailed(f"no SQLite database at {source}")
    partial = dest.with_name(dest.name + ".part")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one consistent moment
            problems = [r[0] for r in dst.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise BackupFailed(f"the copy failed its check: {'; '.join(problems[:5])}")
            revision = dst.execute(REVISION).fetchone()[0]
            complaints, events = dst.execute(COUNTS).fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, dest)
    return revision, complaints, events


def _postgresql(db_url: str, dest: Path) -> tuple[str | None, int, int]:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        raise BackupFailed("pg_dump and pg_restore are needed (the PostgreSQL client tools)")
    url = make_url(db_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    partial = dest.with_name(dest.name + ".part")
    partial.unlink(missing_ok=True)
    engine = make_engine(db_url)
    try:
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn:
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            revision = conn.scalar(text(REVISION))
            complaints, events = conn.execute(text(COUNTS)).one()
            dump = subprocess.run(
                [
                    *("pg_dump", "--format=custom", f"--snapshot={snapshot}"),
                    *(f"--file={partial}", f"--dbname={conninfo}"),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            conn.rollback()
    finally:
        engine.dispose()
    if dump.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump failed: {dump.stderr.strip()}")
    listed = subprocess.run(["pg_restore", "--list", str(partial)], capture_output=True, text=True)
    if listed.returncode != 0 or "TABLE DATA public complaint " not in listed.stdout:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"the dump does not read back: {listed.stderr.strip()}")
    os.replace(partial, dest)
    return revision, complaints, events


def _evidence(source: Path, dest: Path) -> tuple[int, int]:
    """Copy evidence files missing from `dest`; (files in the backup, files copied now). A file
    is named by its content's SHA-256, so one already there with the same size is the same."""
    if not source.is_dir():
        return 0, 0
    files = copied = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.endswith(".part"):
            continue
        into = dest / path.relative_to(source)
        files += 1
        if into.exists() and into.stat().st_size == path.stat().st_size:
            continue
        into.parent.mkdir(parents=True, exist_ok=True)
        _write(into, path)
        copied += 1
    return files, copied


def _write(path: Path, content: bytes | Path) -> None:
    """Whole or not at all: written beside (bytes, or a copy of a file), synced, renamed."""
    partial = path.with_name(path.name + ".part")
    if isinstance(content, Path):
        shutil.copyfile(content, partial)
    else:
        partial.write_bytes(content)
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, path)
