"""Pydantic I/O for complaints: what intake accepts and what readers get back."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from kesu.complaint.commands import Key, LongText, ShortText
from kesu.sla.schemas import TimerOut


def _half_width(value: object) -> object:
    """Full-width digits and signs from a Chinese input method (１３８－…) as ASCII."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


Phone = Annotated[
    str,
    BeforeValidator(_half_width),
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 \-]{5,19}$"),
]


class ComplainantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    phone: Phone | None = None
    other_contact: ShortText | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    member_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None


class SubjectIn(BaseModel):
    """What is complained about. All optional; give what the caller knows."""

    model_config = ConfigDict(extra="forbid")

    product: ShortText | None = None
    sku: ShortText | None = None
    batch: ShortText | None = None
    order_no: ShortText | None = None
    invoice_no: ShortText | None = None
    delivery_no: ShortText | None = None
    store: ShortText | None = None
    merchant: ShortText | None = None
    facility: ShortText | None = None
    staff_name: ShortText | None = None


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: int = Field(description="the store/site the complaint is about (or the group)")
    channel: Key
    complainant: ComplainantIn
    complainant_type: Key
    title: ShortText
    description: LongText
    demands: list[Key] = Field(default_factory=list, max_length=10)
    category: Key | None = None
    level: Key | None = None
    subject: SubjectIn = Field(default_factory=SubjectIn)
    staff_complained_id: int | None = None
    occurred_at: datetime | None = None
    occurred_place: ShortText | None = None
    department_id: int | None = None
    locale: Literal["zh_Hans", "zh_Hant", "en"] | None = Field(
        None, description="the language the complainant reads (default: Simplified Chinese)"
    )


class EventOut(BaseModel):
    seq: int
    command: str
    actor_kind: str
    actor_id: int | None
    actor_label: str
    at: datetime
    payload: dict[str, Any]


class EvidenceOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ComplainantOut(BaseModel):
    id: int
    name: str
    phone: str | None
    other_contact: str | None
    address: str | None
    member_id: str | None
    masked: bool = Field(False, description="phone, address and ids masked for this viewer")


class ComplaintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    org_id: int
    site_id: int | None
    channel: str
    complainant_id: int
    complainant_type: str
    locale: str | None
    title: str
    description: str
    demands: list[str]
    subject: dict[str, Any]
    staff_complained_id: int | None
    occurred_at: datetime | None
    occurred_place: str | None
    category: str | None
    level: str
    classification: str | None
    urgent_keywords: list[str]
    state: str
    department_id: int | None
    assignee_id: int | None
    current_tier: str
    pending_transfer: dict[str, Any] | None
    investigation: dict[str, Any] | None
    solution: dict[str, Any] | None
    solution_amount: Decimal | None
    satisfaction: int | None
    review_step: int
    round: int
    gm_agenda: bool
    delay_status: str | None
    delay_until: datetime | None
    unreachable_attempts: int
    received_by_id: int | None
    received_at: datetime
    acknowledged_at: datetime | None
    first_contact_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    followed_up_at: datetime | None
    next_due_at: datetime | None = Field(None, description="the earliest due time of its timers")
    deadline_provisional: bool = Field(False, description="counted on a year without official data")
    updated_at: datetime
    version: int
    policy_version_id: int
    imported: bool = Field(False, description="brought in from an Excel ledger (kesu.ledger)")
    original_number: str | None = Field(None, description="the ledger's own number, if any")


class ComplaintDetail(ComplaintOut):
    complainant: ComplainantOut
    timeline: list[EventOut]
    evidence: list[EvidenceOut]
    allowed_commands: list[str]
    timers: list[TimerOut] = Field(default_factory=list)


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    next_cursor: str | None


class CommandIn(BaseModel):
    """A lifecycle command: the complaint version the client saw, and the command's fields."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    payload: dict[str, Any] = Field(default_factory=dict)
