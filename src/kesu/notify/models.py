"""The outbox (one row per message and recipient channel), its delivery attempts, and the
organisation-level channels (a mailbox or a webhook such as a WeCom/DingTalk/Feishu robot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kesu.db.base import Base
from kesu.privacy.crypto import SealedText

RECIPIENT_KINDS = ("user", "customer", "channel", "address")
"""`address`: a bare address typed by an admin (the test e-mail); it has no recipient_id."""
CHANNELS = ("email", "webhook", "sms-log")
STATES = ("pending", "sent", "failed", "dead")
"""pending: not tried yet; failed: the last try failed, another is due; sent; dead: given up."""
CHANNEL_KINDS = ("email", "webhook", "wecom", "dingtalk", "feishu")
"""`webhook` posts Kesu's own signed JSON; the robots get their platform's message format."""


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "recipient_kind", "recipient_id", "channel"),
        Index("ix_outbox_org_state", "org_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), doc="the group whose admins see the row; None: system test"
    )
    recipient_kind: Mapped[str] = mapped_column(String(10))
    recipient_id: Mapped[int | None] = mapped_column(doc="user, complainant or channel id")
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(SealedText("outbox.address"), doc="sealed at rest")
    template: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    locale: Mapped[str] = mapped_column(String(10))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True, doc="None once final")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    """One try at sending a row. Written as `started` when claimed, then given its result;
    a `started` attempt that never finished means the worker died mid-send."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (UniqueConstraint("outbox_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    number: Mapped[int]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(
        String(20), doc="started | sent | failed | interrupted (the worker died mid-send)"
    )
    error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(
        SealedText("delivery_attempt.response"), doc="server reply, or the logged SMS text"
    )


class NotificationChannel(Base):
    """An organisation's extra destination for staff notifications (events = template names;
    an empty list means every event). `secret` signs Kesu webhooks / DingTalk / Feishu."""

    __tablename__ = "notification_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    # sealed at rest: a robot's URL carries its access key
    target: Mapped[str] = mapped_column(SealedText("notification_channel.target"))
    secret: Mapped[str | None] = mapped_column(SealedText("notification_channel.secret"))
    locale: Mapped[str] = mapped_column(String(10), default="zh_Hans")
    events: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
