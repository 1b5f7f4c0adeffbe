"""Staff users and their tokens (login sessions and integration API tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base


class User(Base):
    """A staff member. `role` is a key of the organisation's pack (its tier comes from there)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200), doc="where notifications go")
    locale: Mapped[str] = mapped_column(String(10), default="zh_Hans")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Token(Base):
    """A bearer token, stored only as its SHA-256. kind: session (login) or api (integration)."""

    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(
        String(10), default="full", doc="read | intake | full (see access.rules.SCOPES)"
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Throttle(Base):
    """A counter per key (`login-user:<name>`, `login-ip:<addr>`, `portal-ip:<addr>` …) kept in
    the database, so a lockout or a rate limit holds across every web process."""

    __tablename__ = "access_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime]
    last_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
