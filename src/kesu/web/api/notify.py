"""Notification administration under /api/v1/notify (admins of the group only): the outbox
with every delivery attempt, retrying, the organisation's channels, staff e-mail addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kesu.access.models import User
from kesu.errors import InvalidInput, NotFound
from kesu.i18n import translate
from kesu.notify import deliver
from kesu.notify import service as notify_service
from kesu.notify.models import DeliveryAttempt, NotificationChannel, Outbox
from kesu.org import service as org_service
from kesu.privacy import rules as privacy_rules
from kesu.web.deps import AdminUser, ClockDep, Db, Locale, ReadDb, SettingsDep

router = APIRouter(prefix="/notify", tags=["notifications"])


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime | None
    result: str
    error: str | None
    response: str | None


class OutboxOut(BaseModel):
    id: int
    recipient_kind: str
    recipient_id: int | None
    channel: str
    address: str
    template: str
    params: dict[str, Any]
    locale: str
    complaint_id: int | None
    dedupe_key: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    history: list[AttemptOut]


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    warnings: list[str] = Field(description="e.g. e-mails waiting because no mail server is set")


def _attempt_out(row: Outbox, attempt: DeliveryAttempt) -> AttemptOut:
    out = AttemptOut.model_validate(attempt, from_attributes=True)
    if row.recipient_kind == "customer":  # the text sent, with any number in it masked
        out.response = privacy_rules.mask_text(out.response)
        out.error = privacy_rules.mask_text(out.error)
    return out


def _outbox_out(row: Outbox, attempts: list[DeliveryAttempt]) -> OutboxOut:
    customer = row.recipient_kind == "customer"
    # a complainant's phone or e-mail masked (138****5678): the outbox is no way round the
    # pack's personal_data rule
    address = privacy_rules.mask_address_of(row.channel, row.address) if customer else row.address
    return OutboxOut(
        id=row.id,
        recipient_kind=row.recipient_kind,
        recipient_id=row.recipient_id,
        channel=row.channel,
        address=address,
        template=row.template,
        params=privacy_rules.mask_value(row.params) if customer else row.params,
        locale=row.locale,
        complaint_id=row.complaint_id,
        dedupe_key=row.dedupe_key,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        sent_at=row.sent_at,
        history=[_attempt_out(row, a) for a in attempts],
    )


@router.get("/outbox")
def list_outbox(
    db: ReadDb,
    admin: AdminUser,
    clock: ClockDep,
    settings: SettingsDep,
    locale: Locale,
    state: Literal["pending", "sent", "failed", "dead"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> OutboxPage:
    group = org_service.group_of(db, admin.org_id)
    rows = notify_service.list_outbox(db, org_id=group.id, state=state, limit=limit, offset=offset)
    history = notify_service.attempts_of(db, [r.id for r in rows])
    warnings = []
    if not settings.smtp_host:
        waiting = deliver.waiting_for_smtp(db, clock.now())
        if waiting:
            warnings.append(translate("notify.smtp_not_configured", locale, count=waiting))
    return OutboxPage(items=[_outbox_out(r, history[r.id]) for r in rows], warnings=warnings)


@router.get("/outbox/{outbox_id}")
def get_outbox(outbox_id: int, db: ReadDb, admin: AdminUser) -> OutboxOut:
    group = org_service.group_of(db, admin.org_id)
    row = notify_service.get_outbox(db, outbox_id, org_id=group.id)
    return _outbox_out(row, notify_service.attempts_of(db, [row.id])[row.id])


@router.post("/outbox/{outbox_id}/retry")
def retry_outbox(outbox_id: int, db: Db, clock: ClockDep, admin: AdminUser) -> OutboxOut:
    group = org_service.group_of(db, admin.org_id)
    row = notify_service.retry(db, now=clock.now(), outbox_id=outbox_id, org_id=group.id)
    db.commit()
    return _outbox_out(row, notify_service.attempts_of(db, [row.id])[row.id])


ChannelKind = Literal["email", "webhook", "wecom", "dingtalk", "feishu"]


class ChannelIn(BaseModel):
    org_id: int | None = Field(None, description="default: the admin's group")
    kind: ChannelKind
    name: str = Field(min_length=1, max_length=100)
    target: str = Field(min_length=3, max_length=500, description="e-mail address or URL")
    secret: str | None = Field(
        None, max_length=200, description="webhook: generated when empty; robots: their 加签 key"
    )
    locale: Literal["zh_Hans", "zh_Hant", "en"] = "zh_Hans"
    events: list[str] = Field(default_factory=list, description="template names; empty: all")
    enabled: bool = True


class ChannelOut(BaseModel):
    id: int
    org_id: int
    kind: str
    name: str
    target: str
    secret: str | None
    locale: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


def _channel_out(channel: NotificationChannel) -> ChannelOut:
    return ChannelOut.model_validate(channel, from_attributes=True)


def _scope(db, admin: User) -> tuple[int, list[int]]:
    group = org_service.group_of(db, admin.org_id)
    return group.id, org_service.subtree_ids(db, group.id)


@router.get("/channels")
def list_channels(db: ReadDb, admin: AdminUser) -> list[ChannelOut]:
    _, org_ids = _scope(db, admin)
    return [_channel_out(c) for c in notify_service.list_channels(db, org_ids=org_ids)]


def _save(db, clock, admin: User, body: ChannelIn, channel_id: int | None) -> ChannelOut:
    group_id, org_ids = _scope(db, admin)
    org_id = body.org_id or group_id
    if org_id not in org_ids:
        raise InvalidInput("invalid.unknown_id", field="org_id", value=org_id)
    channel = None
    if channel_id is not None:
        channel = notify_service.get_channel(db, channel_id, org_ids=org_ids)
    saved = notify_service.save_channel(
        db, now=clock.now(), channel=channel, **(body.model_dump() | {"org_id": org_id})
    )
    db.commit()
    return _channel_out(saved)


@router.post("/channels", status_code=201)
def create_channel(body: ChannelIn, db: Db, clock: ClockDep, admin: AdminUser) -> ChannelOut:
    return _save(db, clock, admin, body, None)


@router.put("/channels/{channel_id}")
def update_channel(
    channel_id: int, body: ChannelIn, db: Db, clock: ClockDep, admin: AdminUser
) -> ChannelOut:
    return _save(db, clock, admin, body, channel_id)


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(channel_id: int, db: Db, admin: AdminUser) -> None:
    _, org_ids = _scope(db, admin)
    notify_service.delete_channel(db, notify_service.get_channel(db, channel_id, org_ids=org_ids))
    db.commit()


class EmailIn(BaseModel):
    email: str | None = Field(None, max_length=200)


@router.put("/users/{user_id}/email")
def set_user_email(user_id: int, body: EmailIn, db: Db, admin: AdminUser) -> dict[str, Any]:
    """Where this staff member's notifications are e-mailed (null: not by e-mail)."""
    _, org_ids = _scope(db, admin)
    user = db.get(User, user_id)
    if user is None or user.org_id not in org_ids:
        raise NotFound("not_found.user", id=user_id)
    notify_service.set_user_email(db, user=user, email=body.email)
    db.commit()
    return {"id": user.id, "username": user.username, "email": user.email}
