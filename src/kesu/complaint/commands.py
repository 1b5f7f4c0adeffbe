"""The lifecycle commands and the payload each one takes (validated before the engine runs).

Field limits here are the hostile-input limits for every door (API, console, CLI).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]

CLASSIFICATIONS = ("valid", "help", "enquiry", "venting", "invalid", "malicious")
"""valid; requests (需求): 求助 help, 咨询 enquiry, 发泄 venting; invalid; 恶意 malicious."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Acknowledge(Payload):
    message: LongText | None = None


class RecordContact(Payload):
    reached: bool
    method: Key = "phone"
    summary: LongText | None = None
    locale: Literal["zh_Hans", "zh_Hant", "en"] | None = None
    """The language the customer asked to be written to in (messages from now on use it)."""


class Classify(Payload):
    classification: Literal["valid", "help", "enquiry", "venting", "invalid", "malicious"]
    reason: LongText


class Categorize(Payload):
    category: Key | None = None
    level: Key | None = None
    reason: LongText | None = None


class Assign(Payload):
    assignee_id: int | None = None
    department_id: int | None = None


class Transfer(Payload):
    to_department_id: int
    to_user_id: int | None = None
    reason: LongText


class AnswerTransfer(Payload):
    comment: LongText | None = None


class Responsibility(Payload):
    party: ShortText
    share: Annotated[int, Field(ge=0, le=100)]


class RecordInvestigation(Payload):
    findings: LongText
    root_causes: list[Key] = Field(min_length=1, max_length=10)
    responsibility: list[Responsibility] = Field(min_length=1, max_length=10)
    founded: bool


class ProposeSolution(Payload):
    solution_type: Key
    amount: Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)] = Decimal(0)
    description: LongText


class Decision(Payload):
    comment: LongText | None = None


class Rejection(Payload):
    reason: LongText


class Implement(Payload):
    notes: LongText | None = None


class RecordResponse(Payload):
    satisfaction: int
    comment: LongText | None = None


class SignOff(Payload):
    opinion: LongText | None = None


class Close(Payload):
    summary: LongText | None = None


class Reopen(Payload):
    reason: LongText


class Escalate(Payload):
    reason: LongText


class RequestDelay(Payload):
    reason: LongText
    until: datetime


class FollowUp(Payload):
    result: LongText
    satisfaction: int | None = None


class Note(Payload):
    text: LongText


COMMANDS: dict[str, type[Payload]] = {
    "acknowledge": Acknowledge,
    "record_contact": RecordContact,
    "classify": Classify,
    "categorize": Categorize,
    "assign": Assign,
    "transfer": Transfer,
    "accept_transfer": AnswerTransfer,
    "decline_transfer": AnswerTransfer,
    "withdraw_transfer": AnswerTransfer,
    "record_investigation": RecordInvestigation,
    "propose_solution": ProposeSolution,
    "approve_solution": Decision,
    "reject_solution": Rejection,
    "implement": Implement,
    "record_response": RecordResponse,
    "sign_off": SignOff,
    "close": Close,
    "reopen": Reopen,
    "escalate": Escalate,
    "request_delay": RequestDelay,
    "approve_delay": Decision,
    "reject_delay": Rejection,
    "follow_up": FollowUp,
    "note": Note,
}
"""Every command after `receive` (which creates the complaint)."""
