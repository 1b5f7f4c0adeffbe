"""A small organisation under one pack, driven through the real services on a FrozenClock.

Each call is one unit of work (as an entry point would run it): `receive` and `run` go through
`kesu.complaint.service`, `sweep` is the worker's job, reads open their own session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import FrozenClock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, ComplaintEvent
from kesu.complaint.schemas import ComplainantIn, ComplaintCreate
from kesu.db.session import transaction
from kesu.i18n import catalogue
from kesu.notify import rules as notify_rules
from kesu.notify.models import Outbox
from kesu.org import service as org_service
from kesu.sla import sweep as sla_sweep
from kesu.sla.models import Penalty, Timer
from kesu.web.console.printing import FormView, complaint_form

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class World:
    sessions: Any
    clock: FrozenClock
    ids: dict[str, int] = field(default_factory=dict)  # organisation codes and usernames

    @classmethod
    def build(
        cls,
        sessions,
        clock: FrozenClock,
        pack_key: str,
        staff: list[tuple[str, str, str | None]],
        departments: tuple[str, ...] = ("CS", "OPS"),
    ) -> World:
        """A group under `pack_key`, departments, one site, and staff (username, role,
        department code); every staff member has an e-mail address so messages are queued."""
        world = cls(sessions, clock)
        with transaction(sessions) as session:
            group = org_service.create(
                session, clock, kind="group", code="G", name="测试集团", pack_key=pack_key
            )
            world.ids["G"] = group.id
            for code in departments:
                world.ids[code] = org_service.create(
                    session, clock, kind="department", code=code, name=code, parent_id=group.id
                ).id
            world.ids["SITE"] = org_service.create(
                session, clock, kind="site", code="SITE", name="一号门店", parent_id=group.id
            ).id
            for username, role, dept in staff:
                user = access_service.add_user(
                    session,
                    clock,
                    username=username,
                    display_name=username,
                    role=role,
                    org_id=group.id,
                    department_id=world.ids[dept] if dept else None,
                )
                user.email = f"{username}@example.com"
                world.ids[username] = user.id
        return world

    def actor(self, session, username: str):
        return complaint_service.actor_of(session.get(User, self.ids[username]))

    def receive(self, username: str, **over: Any) -> int:
        body: dict[str, Any] = {
            "site_id": self.ids["SITE"],
            "channel": "phone",
            "complainant": ComplainantIn(name="林女士", phone="13812345678"),
            "complainant_type": "consumer",
            "title": "服务不满",
            "description": "顾客对服务不满意，要求给出说法。",
            "department_id": self.ids["CS"],
        }
        body.update(over)
        with transaction(self.sessions) as session:
            complaint = complaint_service.receive(
                session, self.clock, self.actor(session, username), ComplaintCreate(**body)
            )
            return complaint.id

    def receive_online(self, **over: Any) -> int:
        """A complaint the customer files themselves (the portal): nobody registered it."""
        body: dict[str, Any] = {
            "site_id": self.ids["SITE"],
            "channel": "portal",
            "complainant": ComplainantIn(name="林女士", phone="13812345678"),
            "complainant_type": "consumer",
            "title": "服务不满",
            "description": "顾客对服务不满意，要求给出说法。",
        }
        body.update(over)
        customer = lifecycle.Actor(kind="customer", label="林女士")
        with transaction(self.sessions) as session:
            return complaint_service.receive(
                session, self.clock, customer, ComplaintCreate(**body)
            ).id

    def run(self, username: str, cid: int, command: str, payload: dict | None = None) -> None:
        with transaction(self.sessions) as session:
            version = complaint_service.get(session, cid).version
            complaint_service.execute(
                session,
                self.clock,
                cid,
                self.actor(session, username),
                command,
                payload or {},
                version,
            )

    def sweep(self) -> int:
        with transaction(self.sessions) as session:
            return sla_sweep.sweep(session, self.clock)

    def at(self, moment: datetime) -> None:
        """Move the clock to `moment` and let the worker run, as it would every few seconds."""
        self.clock.set(moment)
        self.sweep()

    # --- reads ---------------------------------------------------------------------------------

    def complaint(self, cid: int) -> Complaint:
        with self.sessions() as session:
            return session.get(Complaint, cid)

    def timers(self, cid: int) -> dict[str, Timer]:
        """The latest timer of each key."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Timer).where(Timer.complaint_id == cid).order_by(Timer.id)
            )
            return {t.key: t for t in rows}

    def all_timers(self, cid: int, key: str) -> list[Timer]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Timer)
                    .where(Timer.complaint_id == cid, Timer.key == key)
                    .order_by(Timer.id)
                )
            )

    def penalties(self, cid: int) -> list[tuple[str, Decimal]]:
        """(username, amount) of each penalty on the complaint."""
        names = {v: k for k, v in self.ids.items()}
        with self.sessions() as session:
            rows = session.scalars(select(Penalty).where(Penalty.complaint_id == cid))
            return [(names.get(p.user_id, "-"), p.amount) for p in rows]

    def events(self, cid: int) -> list[ComplaintEvent]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(ComplaintEvent)
                    .where(ComplaintEvent.complaint_id == cid)
                    .order_by(ComplaintEvent.seq)
                )
            )

    def form(self, cid: int, key: str, username: str) -> FormView:
        """The printed form `key` of the complaint, as `username` sees it in Chinese."""
        with self.sessions() as session:
            user = session.get(User, self.ids[username])
            return complaint_form(session, user, cid, key, "zh_Hans", self.clock.now())

    def messages(self, cid: int, template: str) -> list[str]:
        """Who got a message of this template about the complaint (usernames or 'customer')."""
        names = {v: k for k, v in self.ids.items()}
        with self.sessions() as session:
            rows = session.scalars(
                select(Outbox).where(Outbox.complaint_id == cid, Outbox.template == template)
            )
            return sorted(
                "customer" if r.recipient_kind == "customer" else names.get(r.recipient_id, "?")
                for r in rows
                if r.channel in ("email", "sms-log")
            )

    def said(self, cid: int, template: str, locale: str) -> list[str]:
        """The bodies of this template's messages about the complaint, as a reader in `locale`
        gets them (each row's labels rendered in that language, as delivery does)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Outbox)
                .where(Outbox.complaint_id == cid, Outbox.template == template)
                .order_by(Outbox.id)
            ).all()
        texts = catalogue(locale)
        return [
            notify_rules.render(texts, r.template, notify_rules.localised(r.params, locale)).body
            for r in rows
        ]


# --- command payloads with fixed, readable defaults -------------------------------------------

REACHED = {"reached": True, "summary": "已与客户通话，了解经过并致歉。"}
UNREACHED = {"reached": False, "summary": "电话无人接听。"}
VALID = {"classification": "valid", "reason": "情况属实。"}


def investigation(cause: str = "people") -> dict[str, Any]:
    return {
        "findings": "经核实，情况属实。",
        "root_causes": [cause],
        "responsibility": [{"party": "门店", "share": 100}],
        "founded": True,
    }


def solution(kind: str, amount: int = 0) -> dict[str, Any]:
    return {"solution_type": kind, "amount": amount, "description": "按方案处理。"}


def delay(until: datetime) -> dict[str, Any]:
    return {"reason": "客户暂时无法联系，申请延期处理。", "until": until.isoformat()}
