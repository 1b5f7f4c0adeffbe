"""The improvement loop driven through its real services on a FrozenClock, beside a `World`
(the scenarios' small organisation under one pack). Each call is one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kesu.access.models import User
from kesu.complaint.schemas import ComplainantIn
from kesu.db.session import transaction
from kesu.i18n import catalogue
from kesu.improvement import queries
from kesu.improvement import service as improvement_service
from kesu.improvement import sweep as improvement_sweep
from kesu.improvement.models import ActionEvent, CorrectiveAction, Inspection, RepeatCauseAlert
from kesu.improvement.schemas import ActionCreate
from kesu.notify import rules as notify_rules
from kesu.notify.models import Outbox
from scenarios.world import VALID, World, investigation, solution

CLUB_STAFF = [
    ("desk", "handler", "CS"),
    ("desk2", "handler", "CS"),
    ("eq_head", "supervisor", "EQ"),
    ("floor_head", "supervisor", "CS"),
    ("club_mgr", "club_manager", None),
]
"""A billiards club (seed 003): two of the daily team, the equipment and floor department heads,
the club manager."""
DONE = {"actions_taken": "厂家已校平8号台并更换台呢。", "evidence": ["维修单 WX-1126"]}


def club(sessions, clock) -> World:
    return World.build(sessions, clock, "billiards-club", CLUB_STAFF, departments=("CS", "EQ"))


def table_complaint(world: World, username: str = "desk", **over: Any) -> int:
    """A moderate complaint about a faulty table (seed 003 四(二): 球桌故障影响正常打球)."""
    body: dict[str, Any] = {
        "channel": "onsite",
        "complainant": ComplainantIn(name="周先生", phone="13900001111"),
        "complainant_type": "member",
        "title": "8号台台面不平，球总往一边跑",
        "description": "打到一半发现8号台明显不平，换台也要等，影响正常打球。",
        "category": "table_fault",
        "level": "moderate",
        "demands": ["repair", "refund"],
        "department_id": world.ids["EQ"],
    }
    body.update(over)
    return world.receive(username, **body)


def investigated(world: World, cid: int, cause: str = "material", by: str = "eq_head") -> None:
    """Classified valid and investigated, naming one root cause."""
    world.run(by, cid, "classify", VALID)
    world.run(by, cid, "record_investigation", investigation(cause))


@dataclass
class Loop:
    world: World

    def user(self, session, username: str) -> User:
        return session.get(User, self.world.ids[username])

    def open(self, username: str, **over: Any) -> int:
        body: dict[str, Any] = {
            "title": "球桌定期校平",
            "problem": "8号台台面不平，客人投诉。",
            "cause_dimension": "material",
            "category": "table_fault",
            "planned": "请厂家校平8号台，并把台面水平列入每日开店检查。",
            "owner_id": self.world.ids["eq_head"],
        }
        body.update(over)
        with transaction(self.world.sessions) as session:
            action = improvement_service.open_action(
                session, self.world.clock, self.user(session, username), ActionCreate(**body)
            )
            return action.id

    def run(self, username: str, action_id: int, command: str, payload: dict | None = None):
        with transaction(self.world.sessions) as session:
            version = improvement_service.get(session, action_id).version
            improvement_service.execute(
                session,
                self.world.clock,
                action_id,
                self.user(session, username),
                command,
                payload or {},
                version,
            )

    def sweep(self) -> dict[str, int]:
        done = {}
        for name, job in (
            ("actions", improvement_sweep.actions),
            ("inspections", improvement_sweep.inspections),
            ("repeat_causes", improvement_sweep.repeat_causes),
        ):
            with transaction(self.world.sessions) as session:
                done[name] = job(session, self.world.clock)
        return done

    def at(self, moment: datetime) -> dict[str, int]:
        self.world.clock.set(moment)
        return self.sweep()

    # --- reads -------------------------------------------------------------------------------

    def action(self, action_id: int) -> CorrectiveAction:
        with self.world.sessions() as session:
            return session.get(CorrectiveAction, action_id)

    def events(self, action_id: int) -> list[str]:
        with self.world.sessions() as session:
            return list(
                session.scalars(
                    select(ActionEvent.command)
                    .where(ActionEvent.action_id == action_id)
                    .order_by(ActionEvent.seq)
                )
            )

    def linked(self, complaint_id: int) -> list[int]:
        with self.world.sessions() as session:
            return [a.id for a in queries.for_complaint(session, complaint_id)]

    def alerts(self) -> list[RepeatCauseAlert]:
        with self.world.sessions() as session:
            return list(session.scalars(select(RepeatCauseAlert).order_by(RepeatCauseAlert.id)))

    def inspections(self) -> list[Inspection]:
        with self.world.sessions() as session:
            return list(session.scalars(select(Inspection).order_by(Inspection.id)))

    def messages(self, template: str) -> list[str]:
        """Who got an e-mail of this template (usernames, sorted; repeats kept)."""
        names = {v: k for k, v in self.world.ids.items()}
        with self.world.sessions() as session:
            rows = session.scalars(
                select(Outbox).where(Outbox.template == template, Outbox.channel == "email")
            )
            return sorted(names.get(r.recipient_id, "?") for r in rows)

    def said(self, template: str, locale: str) -> list[str]:
        """The bodies of this template's e-mails as a reader in `locale` gets them (each row's
        labels in that language, as delivery renders them)."""
        with self.world.sessions() as session:
            rows = session.scalars(
                select(Outbox)
                .where(Outbox.template == template, Outbox.channel == "email")
                .order_by(Outbox.id)
            ).all()
        texts = catalogue(locale)
        return [
            notify_rules.render(texts, r.template, notify_rules.localised(r.params, locale)).body
            for r in rows
        ]

    def message_params(self, template: str) -> list[dict]:
        with self.world.sessions() as session:
            rows = session.scalars(
                select(Outbox)
                .where(Outbox.template == template, Outbox.channel == "email")
                .order_by(Outbox.id)
            )
            return [r.params for r in rows]


def closed(world: World, cid: int) -> None:
    """An investigated moderate complaint carried to the end: solution, done, customer
    satisfied, the club manager's review and filing (seed 003 四(二), 六(二))."""
    world.run("eq_head", cid, "propose_solution", solution("fix"))
    world.run("eq_head", cid, "implement", {"notes": "已修复。"})
    world.run("eq_head", cid, "record_response", {"satisfaction": 1})
    world.run("club_mgr", cid, "sign_off", {"opinion": "同意结案。"})
    world.run("club_mgr", cid, "close", {"summary": "已修复并回访。"})
