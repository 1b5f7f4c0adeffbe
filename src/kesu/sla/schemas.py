"""Pydantic I/O for timers, penalties and the overdue list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class CalendarDayOut(BaseModel):
    """A day an organisation keeps differently from the official calendar."""

    org: str = Field(description="the organisation's code")
    org_name: str
    day: date
    working: bool = Field(
        description="false: closed (e.g. stocktaking); true: an extra working day"
    )
    note: str | None


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: bool
    note: str | None = Field(None, max_length=200)


class CalendarDayChanged(BaseModel):
    moved: int = Field(description="running deadlines of the group that moved")
