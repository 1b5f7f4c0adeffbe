"""The worker job: warn about timers that are nearly due, and breach the ones that are due.

It asks only `due_at <= now` (and `warn_at <= now`) over partial indexes, locks the rows it
picks with SKIP LOCKED (PostgreSQL), and claims each with a conditional UPDATE (`... AND
breached_at IS NULL`): of two workers only one gets the row, and a worker killed mid-pass
commits nothing, so every breach, penalty, event and message happens exactly once. Each timer
runs in its own savepoint: one complaint that a person is editing at that moment (a 409)
waits for the next pass without undoing the others.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint
from kesu.errors import StaleVersion
from kesu.escalation import rules as escalation_rules
from kesu.escalation import service as escalation_service
from kesu.escalation.service import Alert
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack, TimerRule
from kesu.sla import service as sla_service
from kesu.sla.models import Penalty, Timer

log = logging.getLogger("kesu.sla")

BATCH = 200
"""Timers handled per pass and kind (one transaction); the rest wait for the next pass."""


def sweep(session: Session, clock: Clock) -> int:
    """One pass: breaches first, then warnings. Returns how many timers it acted on."""
    now = clock.now()
    done = 0
    for timer_id in _due(session, now):
        done += _one(session, clock, timer_id, _breach)
    for timer_id in _warnable(session, now):
        done += _one(session, clock, timer_id, _warn)
    return done


def _due(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Timer.id)
            .where(Timer.state == "running", Timer.breached_at.is_(None), Timer.due_at <= now)
            .order_by(Timer.due_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )


def _warnable(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Timer.id)
            .where(
                Timer.state == "running",
                Timer.breached_at.is_(None),
                Timer.warned_at.is_(None),
                Timer.warn_at <= now,
                Timer.due_at > now,  # already due: a breach, not a warning
            )
            .order_by(Timer.warn_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )


def _one(session: Session, clock: Clock, timer_id: int, act) -> int:
    try:
        with session.begin_nested():
            return act(session, clock, timer_id)
    except (StaleVersion, StaleDataError, IntegrityError):
        log.info("timer %s: its complaint changed meanwhile; next pass", timer_id)
        return 0


def _local(pack: Pack, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(pack.timezone)).strftime("%Y-%m-%d %H:%M")


def _context(session: Session, timer_id: int):
    timer = session.get(Timer, timer_id, populate_existing=True)
    complaint = session.get(Complaint, timer.complaint_id, populate_existing=True)
    pack = policy_service.pack_of(session, complaint.policy_version_id)
    return timer, complaint, pack, pack.timer(timer.key)


def _breach(session: Session, clock: Clock, timer_id: int) -> int:
    now = clock.now()
    claimed = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.state == "running", Timer.breached_at.is_(None))
        .values(breached_at=now)
    ).rowcount
    if claimed != 1:
        return 0  # another worker got there first, or it was met meanwhile
    timer, complaint, pack, rule = _context(session, timer_id)
    payload: dict = {"timer": timer.key, "due_at": timer.due_at.isoformat(), "round": timer.round}
    alerts: list[Alert] = []
    if rule is not None:
        alerts = _consequences(session, pack, complaint, timer, rule, payload, now)
    alerts += sla_service.update(
        session, pack, complaint, lifecycle.SYSTEM, "sla_breach", payload, now
    )
    complaint_service.record_event(
        session, clock, complaint, lifecycle.SYSTEM, "sla_breach", payload
    )
    escalation_service.send(session, pack, complaint, alerts, f"sla:{timer.id}:breach", now)
    return 1


def _consequences(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    timer: Timer,
    rule: TimerRule,
    payload: dict,
    now: datetime,
) -> list[Alert]:
    """What the pack says a breach costs: a penalty, a level raise, messages to whom."""
    name = rule.name["zh_Hans"]
    params = escalation_service.params_of(
        pack, complaint, timer=name, due_at=_local(pack, timer.due_at)
    )
    # told as things stand at the breach: the handler then and the tier above them
    told = escalation_service.recipients(session, pack, complaint, rule.on_breach.notify)
    alerts = [Alert("notice", "sla_breach", params, user_ids=told)]
    handler = complaint.assignee_id or complaint.received_by_id
    amount = rule.penalty_for(timer.level)
    if amount:
        person = (
            complaint.received_by_id
            if rule.on_breach.penalty_to == "receiver"
            else complaint.assignee_id or complaint.received_by_id
        )
        session.add(
            Penalty(
                complaint_id=complaint.id,
                timer_id=timer.id,
                user_id=person,
                amount=Decimal(amount),
                timer_key=timer.key,
                level=timer.level,
                created_at=now,
            )
        )
        payload["penalty"] = {"amount": str(amount), "user_id": person}
        if person is not None:
            alerts.append(
                Alert(
                    "penalty",
                    "sla_penalty",
                    escalation_service.params_of(pack, complaint, timer=name, amount=str(amount)),
                    user_ids=[person],
                )
            )
    top = escalation_rules.top_level(pack)
    if rule.on_breach.escalate and complaint.level != top and complaint.state != "closed":
        higher = pack.levels[pack.level_index(complaint.level) + 1].key
        if escalation_service.raise_level(
            session, pack, complaint, higher, f"{timer.key} overdue", now
        ):
            payload["escalated_to"] = higher
            alerts.append(
                Alert(
                    "escalated",
                    "complaint_escalated",
                    escalation_service.params_of(pack, complaint, reason=f"“{name}”超时"),
                    user_ids=[handler] if handler else [],
                    to=["assignee"],  # the new handler of the higher level
                )
            )
    return alerts


def _warn(session: Session, clock: Clock, timer_id: int) -> int:
    now = clock.now()
    claimed = session.execute(
        update(Timer)
        .where(
            Timer.id == timer_id,
            Timer.state == "running",
            Timer.breached_at.is_(None),
            Timer.warned_at.is_(None),
        )
        .values(warned_at=now)
    ).rowcount
    if claimed != 1:
        return 0
    timer, complaint, pack, rule = _context(session, timer_id)
    if rule is None:
        return 1
    payload = {"timer": timer.key, "due_at": timer.due_at.isoformat(), "round": timer.round}
    params = escalation_service.params_of(
        pack, complaint, timer=rule.name["zh_Hans"], due_at=_local(pack, timer.due_at)
    )
    complaint_service.record_event(
        session, clock, complaint, lifecycle.SYSTEM, "sla_warning", payload
    )
    escalation_service.send(
        session,
        pack,
        complaint,
        [Alert("notice", "sla_warning", params, to=rule.warn)],
        f"sla:{timer.id}:warning",
        now,
    )
    return 1
