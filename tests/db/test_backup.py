"""`kesu db backup`: taken while complaints keep arriving, it restores to a database whose
hash chains hold, with every complaint its manifest counts and every evidence file."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select
from typer.testing import CliRunner

from helpers import receive
from kesu.access import service as access_service
from kesu.audit.service import verify_all
from kesu.complaint import evidence as evidence_service
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, Evidence
from kesu.db import backup
from kesu.db.session import make_engine, make_sessionmaker, reading, transaction

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _attach(settings, sessions, clock, cid: int, data: bytes) -> None:
    with transaction(sessions) as session:
        actor = complaint_service.actor_of(access_service.by_username(session, "receiver1"))
        complaint = session.get(Complaint, cid)
        evidence_service.attach(
            session, clock, settings.evidence_dir, complaint, actor, "photo.png", data, 1 << 20
        )


def _restore(request, made: backup.Manifest, into) -> str:
    """The backup as a database to open: the SQLite copy itself, or the dump restored into a
    new PostgreSQL database with pg_restore."""
    if made.kind == "sqlite":
        return f"sqlite:///{into / made.database}"
    url = request.getfixturevalue("empty_pg_database")
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={conninfo}", str(into / made.database)],
        check=True,
        capture_output=True,
    )
    return url


def test_a_backup_taken_during_intake_restores_what_it_counts(
    request, settings, sessions, clock, org, tmp_path
):
    first = receive(sessions, clock, org)
    _attach(settings, sessions, clock, first.id, PNG + b"one")
    _attach(settings, sessions, clock, receive(sessions, clock, org).id, PNG + b"two")

    stop, taken = threading.Event(), []

    def intake() -> None:  # a receiver keeps registering complaints meanwhile
        while not stop.is_set():
            taken.append(receive(sessions, clock, org).id)

    writer = threading.Thread(target=intake)
    writer.start()
    try:
        while len(taken) < 3:
            stop.wait(0.01)
        made = backup.backup(settings, tmp_path / "backups", datetime.now(UTC))
    finally:
        stop.set()
        writer.join(30)

    assert 2 + 3 <= made.complaints <= 2 + len(taken)
    assert made.revision is not None and made.events >= made.complaints
    assert (made.evidence_files, made.evidence_copied) == (2, 2)
    manifest = json.loads((tmp_path / "backups" / made.database).with_suffix(".json").read_text())
    assert manifest["complaints"] == made.complaints

    engine = make_engine(_restore(request, made, tmp_path / "backups"))
    try:
        with reading(make_sessionmaker(engine)) as session:
            assert session.scalar(select(func.count()).select_from(Complaint)) == made.complaints
            checked, breaks = verify_all(session)
            assert (checked, breaks) == (made.complaints, [])
            digests = list(session.scalars(select(Evidence.sha256)))
    finally:
        engine.dispose()
    assert len(digests) == 2
    for digest in digests:
        copy = evidence_service.blob_path(tmp_path / "backups" / "evidence", digest)
        assert (
            copy.read_bytes()
            == evidence_service.blob_path(settings.evidence_dir, digest).read_bytes()
        )

    clock.advance(seconds=1)
    again = backup.backup(settings, tmp_path / "backups", clock.now())
    assert (again.evidence_files, again.evidence_copied) == (2, 0)  # nothing copied twice


def test_kesu_db_backup_prints_what_it_copied_and_refuses_a_file_as_target(
    settings, sessions, clock, org, tmp_path, monkeypatch
):
    from kesu.cli import app

    receive(sessions, clock, org)
    monkeypatch.setenv("KESU_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("KESU_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()

    (tmp_path / "taken").write_text("not a directory")
    refused = runner.invoke(app, ["db", "backup", str(tmp_path / "taken")])
    assert refused.exit_code == 1
    assert "backup not made" in refused.output and "is a file" in refused.output
    assert (tmp_path / "taken").read_text() == "not a directory"

    done = runner.invoke(app, ["db", "backup", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "1 complaints" in done.output
    made = sorted(p.suffix for p in (tmp_path / "out").iterdir())
    assert made in ([".db", ".json"], [".dump", ".json"])  # and no ".part" left behind
