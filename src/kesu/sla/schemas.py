"""Pydantic I/O for timers, penalties and the overdue list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class TimerOut(BaseModel):
    """One clock of a complaint: started, due, met or breached, with its pauses and extensions."""

    id: int
    key: str
    name: dict[str, str]
    basis: str | None
    round: int
    level: str
    within: str
    state: str
    overdue: bool
    started_at: datetime
    due_at: datetime
    opens_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None
    cancelled_at: datetime | None
    provisional: bool
    pauses: list[dict[str, Any]]
    extensions: list[dict[str, Any]]


class OverdueItem(BaseModel):
    complaint_id: int
    number: str
    title: str
    level: str
    state: str
    assignee_id: int | None
    timer: str
    timer_name: dict[str, str]
    due_at: datetime
    breached_at: datetime | None


class PenaltyOut(BaseModel):
    id: int
    complaint_id: int
    number: str
    user_id: int | None
    amount: Decimal
    timer_key: str
    level: str
    created_at: datetime


class PenaltyPage(BaseModel):
    items: list[PenaltyOut]
    total: Decimal


class CalendarCheck(BaseModel):
    """Years without official holiday data that open deadlines fall in, and how many
    complaints carry a provisional deadline: an admin should enter those years."""

    provisional_years: list[int]
    provisional_complaints: int
