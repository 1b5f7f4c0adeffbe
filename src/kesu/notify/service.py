"""Enqueueing notifications. These only insert outbox rows in the caller's transaction (flush,
never commit), so a state change, its event and its messages commit together; the worker
(`kesu.notify.deliver`) sends them afterwards.

One row per recipient × channel, at most once per (dedupe_key, recipient, channel): calling
again with the same dedupe_key adds nothing (INSERT … ON CONFLICT DO NOTHING on both databases).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.access.rules import can
from kesu.complaint.models import Complainant, Complaint
from kesu.errors import IllegalTransition, InvalidInput, NotFound
from kesu.i18n import DEFAULT_LOCALE, LOCALES, catalogue, normalise
from kesu.notify import rules
from kesu.notify.models import (
    CHANNEL_KINDS,
    STATES,
    DeliveryAttempt,
    NotificationChannel,
    Outbox,
)
from kesu.org import service as org_service

_DEDUPE = ["dedupe_key", "recipient_kind", "recipient_id", "channel"]
FORGOTTEN = "-"
"""The address of a row whose recipient was anonymised."""


def notify_users(
    session: Session,
    *,
    now: datetime,
    user_ids: list[int],
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    complaint_id: int | None = None,
) -> int:
    """Staff: an e-mail to each active user with an address, and one message to each enabled
    channel of the complaint's (or the users') organisations subscribed to `template`.
    Phone params are masked unless `params["reveal_phone"]` (channels: always masked)."""
    batch = Batch(session, now)
    batch.users(
        user_ids=user_ids,
        template=template,
        params=params,
        dedupe_key=dedupe_key,
        complaint_id=complaint_id,
    )
    return batch.flush()


def notify_customer(
    session: Session,
    *,
    now: datetime,
    complainant_id: int,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    complaint_id: int | None = None,
    locale: str | None = None,
) -> int:
    """The complainant: an SMS (logged only; no gateway) to their phone and an e-mail if
    `other_contact` holds an address. `locale` defaults to Simplified Chinese."""
    batch = Batch(session, now)
    batch.customer(
        complainant_id=complainant_id,
        template=template,
        params=params,
        dedupe_key=dedupe_key,
        complaint_id=complaint_id,
        locale=locale,
    )
    return batch.flush()


class Batch:
    """Messages of one unit of work, inserted together by `flush` (ON CONFLICT DO NOTHING, so
    the dedupe rule is the same as one call at a time). Users, what each may see, the
    organisations above a site and their channels are looked up once per batch: the worker's
    sweep enqueues thousands of messages to the same few people in one pass."""

    CHUNK = 500
    """Rows per INSERT statement."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now
        self.rows: list[dict[str, Any]] = []
        self._flushed = False
        self._checked: set[tuple[str, frozenset[str]]] = set()
        self._users: dict[int, User | None] = {}
        self._principals: dict[int, Any] = {}
        self._seen: dict[tuple[int, Any], bool] = {}
        self._ancestors: dict[int, set[int]] = {}
        self._channels: list[NotificationChannel] | None = None

    def users(
        self,
        *,
        user_ids: list[int],
        template: str,
        params: dict[str, Any],
        dedupe_key: str,
        complaint_id: int | None = None,
        complaint: Complaint | None = None,
    ) -> None:
        """What `notify_users` enqueues, added to the batch. `complaint`: the row of
        `complaint_id` when the caller holds it (saves looking it up)."""
        session, now = self.session, self.now
        self._check(template, params)
        self._flush_session()
        if complaint is None or complaint.id != complaint_id:
            complaint = _complaint(session, complaint_id)
        users = self._load(user_ids)
        if complaint is not None:  # recusal and scope: nobody hears of a complaint they may not see
            view = access_service.view_of(complaint)
            users = [u for u in users if self._may_see(u, view)]
        for user in users:
            if user.active and user.email:
                self.rows.append(
                    _row(
                        now,
                        org_id=complaint.org_id if complaint else _group_id(session, user.org_id),
                        recipient=("user", user.id),
                        channel="email",
                        address=user.email,
                        locale=user.locale,
                        template=template,
                        params=params,
                        dedupe_key=dedupe_key,
                        complaint_id=complaint_id,
                    )
                )
        if complaint is not None:
            scope = self._above(complaint.site_id or complaint.org_id)
        else:
            scope = {oid for user in users for oid in self._above(user.org_id)}
        for ch in self._channels_for(scope, template):
            self.rows.append(
                _row(
                    now,
                    org_id=complaint.org_id if complaint else _group_id(session, ch.org_id),
                    recipient=("channel", ch.id),
                    channel="email" if ch.kind == "email" else "webhook",
                    address=ch.target,
                    locale=ch.locale,
                    template=template,
                    params=params,
                    dedupe_key=dedupe_key,
                    complaint_id=complaint_id,
                )
            )

    def customer(
        self,
        *,
        complainant_id: int,
        template: str,
        params: dict[str, Any],
        dedupe_key: str,
        complaint_id: int | None = None,
        locale: str | None = None,
    ) -> None:
        """What `notify_customer` enqueues, added to the batch."""
        session, now = self.session, self.now
        self._check(template, params)
        self._flush_session()
        person = session.get(Complainant, complainant_id)
        if person is None:
            raise NotFound("notify.not_found.complainant", id=complainant_id)
        common = dict(
            org_id=_group_id(session, person.org_id),
            locale=normalise(locale),
            template=template,
            params=params,
            dedupe_key=dedupe_key,
            complaint_id=complaint_id,
        )
        if person.phone:
            self.rows.append(
                _row(
                    now,
                    recipient=("customer", person.id),
                    channel="sms-log",
                    address=person.phone,
                    **common,
                )
            )
        email = rules.email_in(person.other_contact)
        if email:
            self.rows.append(
                _row(
                    now, recipient=("customer", person.id), channel="email", address=email, **common
                )
            )

    def know(self, user_ids: list[int]) -> None:
        """Read these users at once: the ones the caller may message (the sweep: every staff
        member its pass covers, in one query rather than one per new name)."""
        self._load(user_ids)

    def flush(self) -> int:
        """Insert the batch's rows; returns how many were new."""
        rows, self.rows = self.rows, []
        return sum(
            _insert(self.session, rows[i : i + self.CHUNK]) for i in range(0, len(rows), self.CHUNK)
        )

    def _check(self, template: str, params: dict[str, Any]) -> None:
        key = (template, frozenset(params))
        if key not in self._checked:
            check_template(template, params)
            self._checked.add(key)

    def _flush_session(self) -> None:
        # the complaint's and the users' pending changes decide who may see it (once per batch:
        # a batch's caller flushes its own changes before adding messages)
        if not self._flushed:
            self.session.flush()
            self._flushed = True

    def _load(self, user_ids: list[int]) -> list[User]:
        missing = [uid for uid in user_ids if uid not in self._users]
        if missing:
            self._users.update(dict.fromkeys(missing))
            for user in self.session.scalars(select(User).where(User.id.in_(missing))):
                self._users[user.id] = user
        return sorted(
            (u for u in (self._users[uid] for uid in set(user_ids)) if u is not None),
            key=lambda u: u.id,
        )

    def _may_see(self, user: User, view) -> bool:
        key = (user.id, view)
        if key not in self._seen:
            if user.id not in self._principals:
                self._principals[user.id] = access_service.principal(self.session, user)
            self._seen[key] = can(self._principals[user.id], "view", view)
        return self._seen[key]

    def _above(self, org_id: int) -> set[int]:
        if org_id not in self._ancestors:
            self._ancestors[org_id] = set(org_service.ancestors(self.session, org_id)) or {org_id}
        return self._ancestors[org_id]

    def _channels_for(self, scope: set[int], template: str) -> list[NotificationChannel]:
        if self._channels is None:  # every enabled channel, once: there are a handful
            self._channels = list(
                self.session.scalars(
                    select(NotificationChannel)
                    .where(NotificationChannel.enabled.is_(True))
                    .order_by(NotificationChannel.id)
                )
            )
        return [
            ch
            for ch in self._channels
            if ch.org_id in scope and (not ch.events or template in ch.events)
        ]


def enqueue_test_email(session: Session, *, now: datetime, address: str) -> Outbox:
    """A test message to a bare address (`kesu notify test-email`), due at once."""
    check_template("test", {})
    rows = [
        _row(
            now,
            org_id=None,
            recipient=("address", None),
            channel="email",
            address=address,
            locale=DEFAULT_LOCALE,
            template="test",
            params={},
            dedupe_key=f"test:{address}:{now.isoformat()}",
            complaint_id=None,
        )
    ]
    session.flush()
    _insert(session, rows)
    return session.scalars(select(Outbox).where(Outbox.dedupe_key == rows[0]["dedupe_key"])).one()


def give_up(session: Session, outbox_id: int) -> None:
    """A failed row that is not to be tried again: a test e-mail whose failure its sender has
    just been shown (the worker would otherwise send it hours later)."""
    session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.state == "failed")
        .values(state="dead", next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )


def check_template(template: str, params: dict[str, Any]) -> None:
    """Fail at enqueue time, in the caller's test, rather than at delivery."""
    for locale in LOCALES:
        texts = catalogue(locale)
        if not all(key in texts for key in rules.template_keys(template)):
            raise InvalidInput("notify.template_unknown", field="template", template=template)
        missing = rules.missing_params(texts, template, params)
        if missing:
            raise InvalidInput(
                "notify.param_missing", field="params", names=", ".join(sorted(missing))
            )


def _row(
    now: datetime,
    *,
    org_id: int | None,
    recipient: tuple[str, int | None],
    channel: str,
    address: str,
    locale: str,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    complaint_id: int | None,
) -> dict[str, Any]:
    kind, recipient_id = recipient
    return {
        "org_id": org_id,
        "recipient_kind": kind,
        "recipient_id": recipient_id,
        "channel": channel,
        "address": address,
        "template": template,
        "params": rules.params_for(kind, params),
        "locale": normalise(locale),
        "complaint_id": complaint_id,
        "dedupe_key": dedupe_key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Outbox).on_conflict_do_nothing(index_elements=_DEDUPE).returning(Outbox.id)
    return len(session.execute(stmt, rows).all())  # one statement, compiled once and cached


def _complaint(session: Session, complaint_id: int | None) -> Complaint | None:
    if complaint_id is None:
        return None
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("not_found.complaint", id=complaint_id)
    return complaint


def _group_id(session: Session, org_id: int) -> int:
    return org_service.group_of(session, org_id).id


# --- administration: the outbox and the organisation's channels ----------------------------


def list_outbox(
    session: Session,
    *,
    org_id: int | None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Outbox]:
    """Newest first. `org_id`: the group's rows; None: every row (the command line)."""
    stmt = select(Outbox).order_by(Outbox.id.desc()).limit(limit).offset(offset)
    if org_id is not None:
        stmt = stmt.where(Outbox.org_id == org_id)
    if state is not None:
        if state not in STATES:
            raise InvalidInput("invalid.unknown_key", field="state", value=state)
        stmt = stmt.where(Outbox.state == state)
    return list(session.scalars(stmt))


def attempts_of(session: Session, outbox_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {oid: [] for oid in outbox_ids}
    for attempt in session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.outbox_id.in_(outbox_ids))
        .order_by(DeliveryAttempt.outbox_id, DeliveryAttempt.number)
    ):
        found[attempt.outbox_id].append(attempt)
    return found


def get_outbox(session: Session, outbox_id: int, *, org_id: int | None) -> Outbox:
    row = session.get(Outbox, outbox_id)
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFound("notify.not_found.outbox", id=outbox_id)
    return row


def retry(session: Session, *, now: datetime, outbox_id: int, org_id: int | None) -> Outbox:
    """Make a failed or dead row due now. A dead row that had used all its attempts gets one
    more; if that fails too it is dead again."""
    row = get_outbox(session, outbox_id, org_id=org_id)
    if row.state not in ("failed", "dead"):
        raise IllegalTransition("notify.retry_not_allowed", field="state", state=row.state)
    if row.address == FORGOTTEN:
        raise IllegalTransition("notify.retry_forgotten", field="address")
    row.state = "failed"
    row.next_attempt_at = now
    session.flush()
    return row


def retry_failed(session: Session, *, now: datetime) -> list[Outbox]:
    """Every failed row (waiting for its next retry) due now: once the mail server or a webhook
    is back after an outage, rather than over the next 12 hours of back-off. Dead rows are left:
    most were refused for good (an address, a 4xx) and are retried one by one after fixing the
    cause. A row a worker is sending this moment (an attempt started) is left to that worker."""
    sending = select(DeliveryAttempt.outbox_id).where(DeliveryAttempt.result == "started")
    stmt = (
        select(Outbox)
        .where(
            Outbox.state == "failed",
            Outbox.address != FORGOTTEN,
            Outbox.id.not_in(sending),
        )
        .order_by(Outbox.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.next_attempt_at = now
    session.flush()
    return rows


def list_channels(session: Session, *, org_ids: list[int]) -> list[NotificationChannel]:
    return list(
        session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.org_id.in_(org_ids))
            .order_by(NotificationChannel.id)
        )
    )


def get_channel(session: Session, channel_id: int, *, org_ids: list[int]) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or channel.org_id not in org_ids:
        raise NotFound("notify.not_found.channel", id=channel_id)
    return channel


def save_channel(
    session: Session,
    *,
    now: datetime,
    channel: NotificationChannel | None,
    org_id: int,
    kind: str,
    name: str,
    target: str,
    secret: str | None,
    locale: str,
    events: list[str],
    enabled: bool,
) -> NotificationChannel:
    """Create (`channel` None) or replace a channel's settings. A Kesu `webhook` without a
    secret gets a random one: the receiving system needs it to check signatures."""
    _check_channel(kind, target, events)
    if kind == "webhook" and not secret:
        secret = (channel.secret if channel and channel.kind == "webhook" else None) or (
            secrets.token_urlsafe(32)
        )
    if channel is None:
        channel = NotificationChannel(created_at=now)
        session.add(channel)
    channel.org_id = org_id
    channel.kind = kind
    channel.name = name
    channel.target = target
    channel.secret = secret or None
    channel.locale = normalise(locale)
    channel.events = list(events)
    channel.enabled = enabled
    channel.updated_at = now
    session.flush()
    return channel


def delete_channel(session: Session, channel: NotificationChannel) -> None:
    """Rows still waiting for it are given up at their next attempt (`channel_removed`)."""
    session.delete(channel)
    session.flush()


def _check_channel(kind: str, target: str, events: list[str]) -> None:
    if kind not in CHANNEL_KINDS:
        raise InvalidInput("notify.channel_kind", field="kind", kinds=", ".join(CHANNEL_KINDS))
    if kind == "email":
        if rules.email_in(target) != target:
            raise InvalidInput("notify.channel_target_email", field="target")
    elif urlsplit(target).scheme not in ("http", "https") or not urlsplit(target).netloc:
        raise InvalidInput("notify.channel_target_url", field="target", kind=kind)
    known = channel_events()
    for event in events:
        if event not in known:
            raise InvalidInput(
                "notify.channel_events", field="events", template=event, known=", ".join(known)
            )


def channel_events() -> list[str]:
    """The templates a channel may subscribe to: every staff notification. A customer's own
    messages never go to a channel, so a channel limited to them would stay silent: they are
    refused."""
    names = (
        key.removeprefix("notify.").removesuffix(".subject")
        for key in catalogue(DEFAULT_LOCALE)
        if key.startswith("notify.") and key.endswith(".subject") and key.count(".") == 2
    )
    return sorted(n for n in names if not n.startswith("customer_"))


def forget_complainant(session: Session, *, complainant_id: int, complaint_ids: list[int]) -> int:
    """When a complainant is anonymised (retention or erasure): the outbox keeps that messages
    were sent, but not to which phone or address nor with which names; messages still waiting
    to reach them are given up. Returns the rows touched."""
    to_them = and_(Outbox.recipient_kind == "customer", Outbox.recipient_id == complainant_id)
    about = or_(to_them, Outbox.complaint_id.in_(complaint_ids))
    ids = list(session.scalars(select(Outbox.id).where(about)))
    if not ids:
        return 0
    session.execute(
        update(Outbox).where(Outbox.id.in_(ids)).values(params={}),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Outbox).where(to_them).values(address=FORGOTTEN),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Outbox)
        .where(to_them, Outbox.state.in_(("pending", "failed")))
        .values(state="dead", next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(DeliveryAttempt).where(DeliveryAttempt.outbox_id.in_(ids)).values(response=None),
        execution_options={"synchronize_session": False},
    )
    return len(ids)


def set_user_email(session: Session, *, user: User, email: str | None) -> User:
    """Where a staff member's notifications go (None: none by e-mail)."""
    if email is not None and rules.email_in(email) != email:
        raise InvalidInput("notify.email_invalid", field="email")
    user.email = email
    session.flush()
    return user
