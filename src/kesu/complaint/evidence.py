"""证据: evidence files, stored on disk under their SHA-256, checked by content, not by name."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, Evidence
from kesu.errors import InvalidInput, NotFound

# magic bytes → content type; anything else (HTML, scripts, executables …) is refused
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xff\xfb", 0, "audio/mpeg"),
    (b"#!AMR", 0, "audio/amr"),
    (b"ftyp", 4, "video/mp4"),
]


def sniff(data: bytes) -> str | None:
    for magic, offset, ctype in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    return None


def _safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "file"
    return "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')[:200] or "file"


def attach(
    session: Session,
    clock: Clock,
    evidence_dir: Path,
    complaint: Complaint,
    actor: lifecycle.Actor,
    filename: str,
    data: bytes,
    max_bytes: int,
) -> Evidence:
    if len(data) == 0:
        raise InvalidInput("invalid.empty_file", field="file")
    if len(data) > max_bytes:
        raise InvalidInput("invalid.file_too_large", field="file", max_mb=max_bytes // 1048576)
    ctype = sniff(data)
    if ctype is None:
        raise InvalidInput("invalid.file_type", field="file")
    digest = hashlib.sha256(data).hexdigest()
    same = session.scalar(
        select(Evidence).where(Evidence.complaint_id == complaint.id, Evidence.sha256 == digest)
    )
    if same is not None:  # the same file again (a second click, a resent form): on record once
        return same
    path = blob_path(evidence_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp" + os.urandom(4).hex())
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a crash never leaves a half file under the real name
    row = Evidence(
        complaint_id=complaint.id,
        sha256=digest,
        filename=_safe_name(filename),
        content_type=ctype,
        size=len(data),
        uploaded_by_id=actor.user_id,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    complaint_service.record_event(
        session,
        clock,
        complaint,
        actor,
        "attach_evidence",
        {"evidence_id": row.id, "sha256": digest, "filename": row.filename, "size": len(data)},
    )
    return row


def blob_path(evidence_dir: Path, digest: str) -> Path:
    return evidence_dir / digest[:2] / digest


def get(session: Session, evidence_id: int) -> Evidence:
    row = session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound("not_found.evidence", id=evidence_id)
    return row
