"""Pack versions in the database: register a pack's text once, read it back by id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kesu.clock import Clock
from kesu.errors import NotFound
from kesu.policy import loader
from kesu.policy.models import PolicyVersion
from kesu.policy.schema import Pack


def register(session: Session, clock: Clock, text: str, filename: str = "<pack>") -> PolicyVersion:
    """Store this pack text if it is new (validated first); return its version row."""
    pack = loader.parse_pack(text, filename)
    dig = loader.digest(text)
    row = session.scalar(
        select(PolicyVersion).where(PolicyVersion.key == pack.key, PolicyVersion.digest == dig)
    )
    if row is None:
        row = PolicyVersion(
            key=pack.key, version=pack.version, digest=dig, source=text, loaded_at=clock.now()
        )
        session.add(row)
        session.flush()
    return row


def current(session: Session, key: str) -> PolicyVersion:
    """The newest stored version of a pack (what new complaints open under)."""
    row = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.key == key)
        .order_by(PolicyVersion.version.desc(), PolicyVersion.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("not_found.pack", key=key)
    return row


def pack_of(session: Session, policy_version_id: int) -> Pack:
    row = session.get(PolicyVersion, policy_version_id)
    if row is None:
        raise NotFound("not_found.pack", key=str(policy_version_id))
    return loader.parse_cached(row.source)
