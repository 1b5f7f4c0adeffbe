"""The personal-data access log, data-subject requests and retention rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base


class PersonalDataView(Base):
    """Every view of unmasked personal data: who, when, which complaint and fields (append-only)."""

    __tablename__ = "personal_data_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    complainant_id: Mapped[int] = mapped_column(ForeignKey("complainant.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    fields: Mapped[list[Any]]
    purpose: Mapped[str] = mapped_column(String(20), doc="view | subject_export")


class PrivacyRequest(Base):
    """A data-subject export or erasure, or a retention anonymisation (append-only trace)."""

    __tablename__ = "privacy_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(
        String(20), doc="export | erasure | retention | retention_run"
    )
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    complainant_id: Mapped[int | None] = mapped_column(ForeignKey("complainant.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class RetentionRule(Base):
    """How many years after closing an organisation keeps a complainant's personal data."""

    __tablename__ = "retention_rule"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    years: Mapped[int]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
