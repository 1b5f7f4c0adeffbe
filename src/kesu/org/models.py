"""The organisation tree (集团 → 大区 → 门店/站点 → 部门)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base

KINDS = ("group", "region", "site", "department")


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    pack_key: Mapped[str | None] = mapped_column(String(60), doc="set on a group; inherited")
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")
    created_at: Mapped[datetime]
