"""Ledger import records: saved column mappings, import batches and the rows already taken."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base


class LedgerMapping(Base):
    """How one organisation's ledger columns map to complaint fields, saved under a name.

    `columns`: ledger header → field; `values`: field → {ledger text → pack key};
    `defaults`: field → value used when a row leaves the field empty."""

    __tablename__ = "ledger_mapping"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(60))
    columns: Mapped[dict[str, Any]]
    values: Mapped[dict[str, Any]]
    defaults: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class LedgerBatch(Base):
    """One import run of one file (dry runs are not recorded)."""

    __tablename__ = "ledger_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    mapping_name: Mapped[str | None] = mapped_column(String(60))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    rows_bad: Mapped[int] = mapped_column(default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    imported_at: Mapped[datetime]


class LedgerRow(Base):
    """A ledger row already imported into a group, by its identity (the ledger's own number, or
    a fingerprint of the row when it has none): importing the same ledger again adds nothing."""

    __tablename__ = "ledger_row"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    key: Mapped[str] = mapped_column(String(100))
    batch_id: Mapped[int] = mapped_column(ForeignKey("ledger_batch.id"), index=True)
    row_number: Mapped[int]
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
