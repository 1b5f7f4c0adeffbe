"""The delivery job: claim due outbox rows, send them, record every attempt, back off, give up.

Claiming is a conditional UPDATE (`state IN ('pending', 'failed') AND next_attempt_at <= now`)
that counts the attempt and moves `next_attempt_at` one lease ahead; only rows that UPDATE
returns are sent. On PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent
workers take different rows instead of waiting; on SQLite `BEGIN IMMEDIATE` serialises claims.
Two workers therefore never send one row in the same round.

No network I/O happens inside a transaction: the claim commits (with an attempt row marked
`started`) before anything is sent, then each result commits on its own.

Guarantee: at least once. A worker that dies after sending but before recording leaves its
attempt `started`; after the lease (`rules.LEASE`) the row is claimed again, the old attempt is
recorded as `interrupted` and the message is sent again. Otherwise every message is sent exactly
once. Duplicates carry the same identity (the e-mail Message-ID, the webhook X-Kesu-Delivery
header) so receivers can drop them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kesu.clock import Clock
from kesu.complaint import tracking
from kesu.db.session import make_sessionmaker, transaction
from kesu.i18n import catalogue, translate
from kesu.notify import rules, senders
from kesu.notify.models import DeliveryAttempt, NotificationChannel, Outbox
from kesu.settings import Settings

log = logging.getLogger("kesu.notify")

DUE_STATES = ("pending", "failed")
BATCH = 100
"""Rows one job run sends at most."""
PASS_BUDGET = timedelta(minutes=1)
"""No new claims after this long, so a slow server does not hold up the worker's other jobs."""
CLAIM_SIZE = 10
"""Rows claimed at once: CLAIM_SIZE × senders.TIMEOUT stays within rules.LEASE."""

_warned_waiting = 0


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one row, read while claiming it."""

    outbox_id: int
    attempt: int
    channel: str
    address: str
    recipient_kind: str
    template: str
    params: dict[str, Any]
    locale: str
    complaint_id: int | None
    created_at: datetime
    claimed_at: datetime
    webhook_kind: str | None = None
    secret: str | None = None
    refused: str | None = None
    """An i18n key: the row cannot be sent as it stands (its channel was removed or disabled)."""


def deliver_due(
    sessions: sessionmaker[Session],
    clock: Clock,
    settings: Settings,
    *,
    limit: int = BATCH,
    only: list[int] | None = None,
) -> int:
    """Send up to `limit` due rows (`only`: among these ids), recording each result. Rows are
    claimed a few at a time so that each claim is sent well within its lease.
    Returns how many rows were attempted."""
    channels = ["webhook", "sms-log"] + (["email"] if settings.smtp_host else [])
    if not settings.smtp_host:
        _warn_waiting(sessions, clock)
    done, stop_at = 0, clock.now() + PASS_BUDGET
    while done < limit and clock.now() < stop_at:
        size = min(CLAIM_SIZE, limit - done)
        with transaction(sessions) as session:
            claims = claim_due(session, clock.now(), channels=channels, limit=size, only=only)
        if not claims:
            break
        for claim in claims:
            _attempt(sessions, clock, settings, claim)
        done += len(claims)
    return done


def _warn_waiting(sessions: sessionmaker[Session], clock: Clock) -> None:
    """Log the e-mails held back for want of a mail server (again only when the count changes)."""
    global _warned_waiting
    with transaction(sessions) as session:
        waiting = waiting_for_smtp(session, clock.now())
    if waiting and waiting != _warned_waiting:
        log.warning(translate("notify.smtp_not_configured", "en", count=waiting))
    _warned_waiting = waiting


def _attempt(sessions: sessionmaker[Session], clock: Clock, settings: Settings, claim: Claim):
    failure: senders.SendFailed | None = None
    response = None
    if clock.now() + senders.TIMEOUT >= claim.claimed_at + rules.LEASE:
        # another worker may take the row over any moment now: do not risk a second copy
        failure = senders.SendFailed("lease ran out before sending; not sent")
    else:
        try:
            response = send(claim, settings, clock.now())
        except senders.SendFailed as exc:
            failure = exc
    with transaction(sessions) as session:
        record(session, clock.now(), claim, response=response, failure=failure)


def job(session: Session, clock: Clock) -> int:
    """The worker's entry (`kesu.worker.JOBS`). It runs its own short transactions; the
    worker's session only lends its engine and, in `info["settings"]`, the settings (a bare
    `run_pass` in a test falls back to the environment's)."""
    settings = session.info.get("settings") or Settings()
    return deliver_due(make_sessionmaker(session.get_bind()), clock, settings)


def claim_due(
    session: Session,
    now: datetime,
    *,
    channels: list[str],
    limit: int,
    only: list[int] | None = None,
) -> list[Claim]:
    candidates = (
        select(Outbox.id)
        .where(
            Outbox.next_attempt_at <= now,
            Outbox.state.in_(DUE_STATES),
            Outbox.channel.in_(channels),
        )
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if only is not None:
        candidates = candidates.where(Outbox.id.in_(only))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    claimed = session.execute(
        update(Outbox)
        .where(
            Outbox.id.in_(ids),
            Outbox.state.in_(DUE_STATES),
            Outbox.next_attempt_at <= now,
        )
        .values(attempts=Outbox.attempts + 1, next_attempt_at=now + rules.LEASE)
        .returning(Outbox.id),
        execution_options={"synchronize_session": False},
    )
    ids = sorted(claimed.scalars())
    if not ids:
        return []
    # an attempt still `started` belongs to a worker that died mid-send
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.outbox_id.in_(ids), DeliveryAttempt.result == "started")
        .values(result="interrupted", finished_at=now, error="worker stopped mid-send")
        .execution_options(synchronize_session=False)
    )
    rows = list(
        session.scalars(
            select(Outbox)
            .where(Outbox.id.in_(ids))
            .order_by(Outbox.id)
            .execution_options(populate_existing=True)
        )
    )
    channel_ids = [r.recipient_id for r in rows if r.recipient_kind == "channel"]
    configs = {
        ch.id: ch
        for ch in session.scalars(
            select(NotificationChannel).where(NotificationChannel.id.in_(channel_ids))
        )
    }
    claims = []
    for row in rows:
        session.add(
            DeliveryAttempt(outbox_id=row.id, number=row.attempts, started_at=now, result="started")
        )
        claims.append(_claim(row, configs.get(row.recipient_id), now))
    session.flush()
    return claims


def _claim(row: Outbox, config: NotificationChannel | None, now: datetime) -> Claim:
    claim = Claim(
        outbox_id=row.id,
        attempt=row.attempts,
        channel=row.channel,
        address=row.address,
        recipient_kind=row.recipient_kind,
        template=row.template,
        params=rules.localised(row.params, row.locale),
        locale=row.locale,
        complaint_id=row.complaint_id,
        created_at=row.created_at,
        claimed_at=now,
    )
    if row.recipient_kind != "channel":
        return claim
    if config is None:
        return replace(claim, refused="notify.error.channel_removed")
    if not config.enabled:
        return replace(claim, refused="notify.error.channel_disabled")
    if row.channel == "email":
        return claim
    # webhooks follow the channel's current URL and secret, so a fix applies to retries
    return replace(claim, address=config.target, webhook_kind=config.kind, secret=config.secret)


def _about_their_complaint(claim: Claim) -> bool:
    """A message to a customer about their complaint ends with its tracking link (where the
    deployment has a public address): the link is made at sending, never stored."""
    return claim.recipient_kind == "customer" and claim.complaint_id is not None


def _console_link(claim: Claim, settings: Settings) -> str | None:
    """A message to staff (or a channel) about a complaint ends with the complaint's console
    page, where the deployment has a public address: one click from the alert to the case
    (the console asks them to sign in and applies their permissions as always)."""
    if claim.recipient_kind == "customer" or claim.complaint_id is None:
        return None
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}/complaints/{claim.complaint_id}"


def send(claim: Claim, settings: Settings, now: datetime) -> str:
    """Render in the recipient's language and hand to the channel's sender."""
    if claim.refused:
        raise senders.SendFailed(translate(claim.refused, "en"), permanent=True)
    try:
        message = rules.render(catalogue(claim.locale), claim.template, claim.params)
    except KeyError as exc:
        raise senders.SendFailed(f"template cannot be rendered: {exc}", permanent=True) from exc
    link = (
        tracking.link(settings, claim.complaint_id, claim.locale)
        if _about_their_complaint(claim)
        else None
    )
    if link:
        more = translate("notify.customer_link", claim.locale, link=link)
        message = replace(message, body=f"{message.body}{more}")
    staff_link = _console_link(claim, settings)
    if staff_link:
        more = translate("notify.staff_link", claim.locale, link=staff_link)
        message = replace(message, body=f"{message.body}{more}")
    if claim.channel == "sms-log":
        return senders.log_sms(phone=claim.address, message=message)
    if claim.channel == "email":
        if not settings.smtp_host:
            raise senders.SendFailed("no mail server configured")
        config = senders.SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
        domain = settings.smtp_from.rpartition("@")[2] or "kesu.invalid"
        return senders.send_email(
            config,
            to=claim.address,
            message=message,
            message_id=f"<kesu.outbox.{claim.outbox_id}@{domain}>",
            date=now.timestamp(),
        )
    payload = {
        "delivery_id": claim.outbox_id,
        "event": claim.template,
        "complaint_id": claim.complaint_id,
        "url": staff_link,
        "locale": claim.locale,
        "subject": message.subject,
        "body": message.body,
        "params": claim.params,
        "created_at": claim.created_at.isoformat(),
    }
    return senders.post_webhook(
        kind=claim.webhook_kind or "webhook",
        url=claim.address,
        secret=claim.secret,
        message=message,
        payload=payload,
        delivery_id=claim.outbox_id,
        timestamp=now.timestamp(),
    )


def record(
    session: Session,
    now: datetime,
    claim: Claim,
    *,
    response: str | None = None,
    failure: senders.SendFailed | None = None,
) -> None:
    """Write the attempt's result and the row's next state (fenced by the attempt number, so a
    worker whose lease ran out cannot overwrite a newer attempt)."""
    session.execute(
        update(DeliveryAttempt)
        .where(
            DeliveryAttempt.outbox_id == claim.outbox_id,
            DeliveryAttempt.number == claim.attempt,
            DeliveryAttempt.result == "started",
        )
        .values(
            finished_at=now,
            result="failed" if failure else "sent",
            error=str(failure)[:2000] if failure else None,
            response=response[:2000] if response is not None else None,
        )
        .execution_options(synchronize_session=False)
    )
    if failure is None:
        values: dict[str, Any] = {"state": "sent", "sent_at": now, "next_attempt_at": None}
    else:
        retry = rules.retry_at(claim.attempt, now, permanent=failure.permanent)
        values = {"state": "failed" if retry else "dead", "next_attempt_at": retry}
    session.execute(
        update(Outbox)
        .where(
            Outbox.id == claim.outbox_id,
            Outbox.attempts == claim.attempt,
            Outbox.state.in_(DUE_STATES),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if failure is not None:
        log.warning("outbox %s attempt %s failed: %s", claim.outbox_id, claim.attempt, failure)


def waiting_for_smtp(session: Session, now: datetime) -> int:
    """Due e-mails that cannot leave because no mail server is configured."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.channel == "email",
                Outbox.state.in_(DUE_STATES),
                Outbox.next_attempt_at <= now,
            )
        )
        or 0
    )
