"""What the improvement loop takes in (every door: API, console, CLI) and gives out (API)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kesu.complaint.commands import Key, LongText, ShortText

Ids = Annotated[list[int], Field(max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionCreate(_In):
    """A corrective (整改) or preventive action: from one complaint, several sharing a cause,
    a report's Pareto bar (`period`), a failed inspection item, or on its own."""

    action_kind: Literal["corrective", "preventive"] = "corrective"
    title: ShortText
    problem: LongText
    cause_dimension: Key
    category: Key | None = None
    planned: LongText
    owner_id: int
    verifier_id: int | None = None
    site_id: int | None = None
    department_id: int | None = None
    due_at: datetime | None = Field(None, description="default: the pack's action deadline")
    target_per_month: int | None = Field(
        None, ge=0, le=100_000, description="no more than this many complaints of the cause a month"
    )
    complaint_ids: Ids = Field(default_factory=list)
    period: Annotated[str, Field(max_length=40)] | None = Field(
        None, description="the report period of the Pareto bar it was opened from"
    )


class Start(_In):
    note: LongText | None = None


class Progress(_In):
    text: LongText


class AddEvidence(_In):
    text: LongText


class Implement(_In):
    actions_taken: LongText
    evidence: Annotated[list[LongText], Field(max_length=20)] = Field(default_factory=list)


class LinkComplaints(_In):
    complaint_ids: Annotated[list[int], Field(min_length=1, max_length=200)]


class Reassign(_In):
    owner_id: int | None = None
    verifier_id: int | None = None
    due_at: datetime | None = None
    reason: LongText


class Confirm(_In):
    comment: LongText | None = None


class Reopen(_In):
    reason: LongText
    due_at: datetime | None = None


class Cancel(_In):
    reason: LongText


PAYLOADS: dict[str, type[_In]] = {
    "start": Start,
    "progress": Progress,
    "add_evidence": AddEvidence,
    "implement": Implement,
    "link_complaints": LinkComplaints,
    "reassign": Reassign,
    "confirm": Confirm,
    "reopen": Reopen,
    "cancel": Cancel,
}


class CommandIn(_In):
    version: int
    payload: dict[str, Any] = Field(default_factory=dict)


class AccountabilityCreate(_In):
    """培训 / 处分 / 奖励 of staff members after a complaint (or an action)."""

    record_kind: Literal["training", "discipline", "reward"]
    user_ids: Annotated[list[int], Field(min_length=1, max_length=100)]
    complaint_id: int | None = None
    action_id: int | None = None
    occurred_on: date
    measure: ShortText
    amount: Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)] | None = None
    note: LongText | None = None


class ItemIn(_In):
    ok: bool
    finding: Annotated[str, Field(max_length=2000)] | None = None


class InspectionIn(_In):
    items: dict[Key, ItemIn]
    note: LongText | None = None


class FromFinding(_In):
    """A preventive action from a failed checklist item."""

    owner_id: int
    planned: LongText
    target_per_month: int | None = Field(None, ge=0, le=100_000)
    due_at: datetime | None = None


# --- out ----------------------------------------------------------------------------------------


class ActionOut(BaseModel):
    id: int
    number: str
    kind: str
    source: str
    state: str
    round: int
    title: str
    problem: str
    cause_dimension: str
    category: str | None
    planned: str
    org_id: int
    site_id: int | None
    department_id: int | None
    owner_id: int
    verifier_id: int | None
    created_by_id: int | None
    target_per_month: int | None
    observation_months: int
    due_at: datetime
    breached_at: datetime | None
    escalation_step: int
    actions_taken: str | None
    evidence: list[Any]
    implemented_at: datetime | None
    observe_until: datetime | None
    verification: dict[str, Any] | None
    verified_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    version: int
    complaint_ids: list[int] = Field(default_factory=list)

    model_config = ConfigDict(from_attributes=True)


class ActionEventOut(BaseModel):
    seq: int
    command: str
    actor_kind: str
    actor_label: str
    at: datetime
    payload: dict[str, Any]

    model_config = ConfigDict(from_attributes=True)


class ActionDetail(ActionOut):
    events: list[ActionEventOut]
    allowed: list[str]


class AccountabilityOut(BaseModel):
    id: int
    user_id: int
    kind: str
    complaint_id: int | None
    action_id: int | None
    occurred_on: date
    measure: str
    amount: Decimal | None
    note: str | None
    recorded_at: datetime

    model_config = ConfigDict(from_attributes=True)


class InspectionOut(BaseModel):
    id: int
    site_id: int
    checklist: str
    scheduled_for: datetime
    due_at: datetime
    state: str
    done_at: datetime | None
    inspector_id: int | None
    results: list[Any]
    failed: int
    note: str | None

    model_config = ConfigDict(from_attributes=True)


class AlertOut(BaseModel):
    id: int
    cause_dimension: str
    category: str | None
    site_id: int | None
    department_id: int | None
    count: int
    window_start: datetime
    complaint_ids: list[Any]
    raised_at: datetime

    model_config = ConfigDict(from_attributes=True)
