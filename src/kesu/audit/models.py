"""The configuration audit trail and the signed anchors over the event log (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base


class ConfigAudit(Base):
    """One configuration change (users, roles, tokens, organisations, packs, retention,
    personal-data requests): who, when, what, before and after. Hash-chained like events."""

    __tablename__ = "config_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_kind: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None]
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """A signature (HMAC with a key derived from KESU_SECRET_KEY) over the newest hash of every
    complaint changed since the previous anchor and over the config trail's head. Someone who
    can write the database but does not hold the secret cannot rewrite a chain to match."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    made_at: Mapped[datetime]
    from_event_id: Mapped[int] = mapped_column(doc="covers events with from < id <= up_to")
    up_to_event_id: Mapped[int]
    heads: Mapped[dict[str, Any]] = mapped_column(doc="{complaint id: [seq, hash]}")
    config_seq: Mapped[int]
    config_hash: Mapped[str] = mapped_column(String(64))
    prev_signature: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(8))
    signature: Mapped[str] = mapped_column(String(64))
