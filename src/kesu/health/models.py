"""What the background workers report about themselves (kesu.health.service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base


class WorkerBeat(Base):
    """One worker process (host and process id) and its last finished pass: when, how long it
    took, and the jobs that failed in it. Rows of workers that stopped stay until they are a
    week old, so a dead worker is seen as such rather than forgotten."""

    __tablename__ = "worker_beat"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    started_at: Mapped[datetime]
    last_pass_at: Mapped[datetime]
    last_pass_ms: Mapped[int]
    failing: Mapped[list[Any]]
    stopped_at: Mapped[datetime | None]
