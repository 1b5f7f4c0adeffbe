"""A known year and a half of complaints, inserted in bulk: realistic states, levels, sites,
repeat complainants and hash-chained events (receive → … → close, with dissatisfied second
rounds, escalations, transfers, reopenings and cases still open), plus SLA timers and
penalties. Deterministic (fixed seed) so failures reproduce.

`load(session, org)` returns the number of complaints. The tests recompute every figure from
the rows it wrote, with plain Python, and compare with the report.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text

from kesu.access.models import User
from kesu.audit.chain import GENESIS, event_hash, hashed_fields
from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.policy import service as policy_service
from kesu.sla.models import Penalty, Timer

FIRST = datetime(2024, 10, 1, tzinfo=UTC)
LAST = datetime(2026, 3, 31, tzinfo=UTC)
SITES = ["SH-NJ", "HZ-XH", "NJ-XJ", "GZ-TH", "SZ-FT"]
DEPARTMENTS = ["CS", "LOG", "QA"]
LEVELS = ["L1", "L1", "L1", "L2", "L2", "L3"]
CATEGORIES = [
    "product_quality",
    "product_quality",
    "repair",
    "store_attitude",
    "regional_cs",
    "delivery_quantity",
    "delivery_quality",
    "transport",
    "policy",
    None,
]
CHANNELS = ["phone", "phone", "phone", "wechat", "web", "onsite", "letter", "sms"]
MERCHANTS = [None, None, None, "宜家配送", "顺丰物流", "美凯龙商户A"]
CAUSES = ["people", "process", "finance", "material", "information"]
SOLUTIONS = ["apology", "repair", "exchange", "compensation", "return_refund"]
AMOUNTS = [0, 0, 50, 100, 150, 300, 1500, 5000]
GRADES = [1, 2, 2, 2, 3, 3, 4, 5]
NEXT_LEVEL = {"L1": "L2", "L2": "L3"}
TIER = {"L1": "T1", "L2": "T2", "L3": "T2"}


class _Case:
    def __init__(self, cid: int, row: dict[str, Any], pv: int) -> None:
        self.cid, self.row, self.pv = cid, row, pv
        self.events: list[dict[str, Any]] = []
        self.prev = GENESIS
        self.at: datetime = row["received_at"]

    def step(self, rng: random.Random, lo: int = 5, hi: int = 600) -> datetime:
        self.at = self.at + timedelta(minutes=rng.randint(lo, hi))
        return self.at

    def event(self, command: str, actor: int | None, payload: dict[str, Any]) -> None:
        seq = len(self.events) + 1
        fields = hashed_fields(
            complaint_id=self.cid,
            seq=seq,
            command=command,
            actor_kind="staff" if actor else "system",
            actor_id=actor,
            at=self.at,
            payload=payload,
            policy_version_id=self.pv,
        )
        digest = event_hash(self.prev, fields)
        self.events.append(
            {
                "complaint_id": self.cid,
                "seq": seq,
                "command": command,
                "actor_kind": "staff" if actor else "system",
                "actor_id": actor,
                "actor_label": "test",
                "at": self.at,
                "payload": payload,
                "policy_version_id": self.pv,
                "prev_hash": self.prev,
                "hash": digest,
            }
        )
        self.prev = digest


def _life(case: _Case, rng: random.Random, staff: dict[str, int], depth: int) -> None:
    """Drive one complaint as far as `depth` steps allow, writing its events and final row."""
    r = case.row
    receiver, handler = rng.choice([staff["receiver1"], staff["receiver2"]]), None
    case.event("receive", receiver, {"level": r["level"], "title": r["title"]})
    steps = 0

    def go() -> bool:
        nonlocal steps
        steps += 1
        return steps <= depth

    if not go():
        return
    case.step(rng, 5, 240)
    case.event("acknowledge", receiver, {"message": "已受理"})
    r.update(state="acknowledged", acknowledged_at=case.at)
    if rng.random() < 0.15:
        case.step(rng, 30, 300)
        case.event("record_contact", receiver, {"reached": False})
        r["unreachable_attempts"] += 1
    if not go():
        return
    case.step(rng, 10, 1500)
    contact = rng.choice([receiver, staff["receiver3"], staff["supervisor"]])
    case.event("record_contact", contact, {"reached": True, "summary": "已联系"})
    r["first_contact_at"] = case.at
    if not go():
        return
    case.step(rng)
    kind = rng.choices(["valid", "help", "enquiry", "invalid"], [88, 5, 4, 3])[0]
    case.event("classify", receiver, {"classification": kind, "reason": "核实"})
    r["classification"] = kind
    if kind != "valid":
        if not go():
            return
        case.step(rng, 30, 600)
        case.event("close", staff["archivist"], {"summary": "非有效投诉，已解释"})
        r.update(state="closed", closed_at=case.at)
        return
    r["state"] = "in_progress"
    if rng.random() < 0.1 and r["level"] in NEXT_LEVEL:
        case.step(rng)
        up = NEXT_LEVEL[r["level"]]
        case.event("escalate", staff["supervisor"], {"reason": "情绪激动", "to_level": up})
        r.update(level=up, current_tier=TIER[up])
    if rng.random() < 0.1:
        case.step(rng)
        dept = rng.choice(DEPARTMENTS)
        case.event("transfer", receiver, {"to_department_id": staff[dept], "reason": "转交"})
        case.step(rng)
        case.event("accept_transfer", staff["supervisor2"], {"comment": "接收"})
        r["department_id"] = staff[dept]
    handler = (
        staff["receiver1"]
        if r["level"] == "L1"
        else rng.choice([staff["supervisor"], staff["supervisor2"]])
    )
    r["assignee_id"] = handler
    while True:  # one handling round
        if not go():
            return
        case.step(rng, 60, 2000)
        causes = rng.sample(CAUSES, rng.randint(1, 3))
        investigation = {
            "findings": "经核实问题属实",
            "root_causes": causes,
            "responsibility": [{"party": "门店", "share": 100}],
            "founded": True,
        }
        case.event("record_investigation", handler, investigation)
        r["investigation"] = investigation
        if not go():
            return
        case.step(rng)
        amount = Decimal(rng.choice(AMOUNTS))
        solution = {
            "solution_type": rng.choice(SOLUTIONS),
            "amount": str(amount),
            "description": "上门处理",
            "approval_tier": "T1",
            "approved": True,
        }
        case.event("propose_solution", handler, solution)
        r.update(solution=solution, solution_amount=amount, state="solution_agreed")
        if not go():
            return
        case.step(rng, 60, 3000)
        case.event("implement", handler, {"notes": "已处理"})
        r.update(state="implemented", resolved_at=case.at)
        if not go():
            return
        case.step(rng, 30, 1500)
        grade = rng.choice(GRADES)
        case.event("record_response", staff["receiver2"], {"satisfaction": grade})
        r["satisfaction"] = grade
        if grade <= 3:
            r.update(state="reviewing", review_step=0)
            break
        r.update(state="in_progress", solution=None, solution_amount=None)
        r["round"] += 1
        if r["level"] in NEXT_LEVEL:
            up = NEXT_LEVEL[r["level"]]
            r.update(level=up, current_tier=TIER[up])
        else:
            r["gm_agenda"] = True
    if not go():
        return
    case.step(rng)
    case.event("sign_off", staff["director"], {"opinion": "同意"})
    r["review_step"] = 1
    if not go():
        return
    case.step(rng, 30, 2000)
    case.event("close", staff["archivist"], {"summary": "归档"})
    r.update(state="closed", closed_at=case.at)
    if rng.random() < 0.05:
        case.step(rng, 600, 10000)
        case.event("reopen", staff["supervisor"], {"reason": "客户再次反映"})
        r.update(state="in_progress", closed_at=None, review_step=0, solution=None)
        r["round"] += 1
        if rng.random() < 0.6:
            case.step(rng, 600, 5000)
            case.event("implement", handler, {"notes": "再次处理"})
            r["resolved_at"] = case.at
            case.step(rng, 60, 600)
            case.event("close", staff["archivist"], {"summary": "再次归档"})
            r.update(state="closed", closed_at=case.at)


def _timers(case: _Case, rng: random.Random, staff: dict[str, int]) -> list[dict[str, Any]]:
    """A first-contact timer per complaint (1 day) and a resolution timer (5 days)."""
    r = case.row
    out = []
    for key, hours, met_at in (
        ("first_contact", 24, r["first_contact_at"]),
        ("resolution", 120, r["resolved_at"]),
    ):
        due = r["received_at"] + timedelta(hours=hours)
        cancelled = r["closed_at"] if met_at is None and r["closed_at"] else None
        breached = (
            due if (met_at is None and cancelled is None) or (met_at and met_at > due) else None
        )
        out.append(
            {
                "complaint_id": case.cid,
                "key": key,
                "round": 1,
                "level": r["level"],
                "unit": "hours",
                "amount": hours,
                "state": "met" if met_at else "cancelled" if cancelled else "running",
                "started_at": r["received_at"],
                "due_at": due,
                "breached_at": breached,
                "met_at": met_at,
                "cancelled_at": cancelled,
                "pauses": [],
                "extensions": [],
            }
        )
    return out


def load(session, org: dict[str, int], *, count: int = 4000, seed: int = 2026) -> int:
    rng = random.Random(seed)
    staff = {u.username: u.id for u in session.scalars(select(User))}
    staff.update({code: org[code] for code in DEPARTMENTS})
    pv = policy_service.current(session, "franchise-sales-center").id
    people = []
    for i in range(900):
        people.append(
            {
                "id": i + 1,
                "org_id": org["HX"],
                "name": f"客户{i + 1}",
                "created_at": FIRST,
            }
        )
    session.execute(insert(Complainant.__table__), people)
    span = (LAST - FIRST).total_seconds()
    complaints, events, timers = [], [], []
    for cid in range(1, count + 1):
        received = FIRST + timedelta(seconds=int(rng.random() * span))
        # busier in the afternoon (local time = UTC + 8)
        received = received.replace(hour=rng.choice([1, 2, 3, 5, 6, 6, 7, 7, 8, 11, 13]))
        level = rng.choice(LEVELS)
        row: dict[str, Any] = {
            "id": cid,
            "number": f"T{cid:06d}",
            "org_id": org["HX"],
            "site_id": org[rng.choice(SITES)],
            "policy_version_id": pv,
            "channel": rng.choice(CHANNELS),
            "complainant_id": rng.randint(1, 900),
            "complainant_type": "consumer",
            "subject": {"merchant": m} if (m := rng.choice(MERCHANTS)) else {},
            "title": "沙发坐垫塌陷",
            "description": "使用一个月后坐垫塌陷",
            "demands": ["repair"],
            "category": rng.choice(CATEGORIES),
            "level": level,
            "classification": None,
            "urgent_keywords": [],
            "state": "new",
            "department_id": org[rng.choice(DEPARTMENTS)],
            "assignee_id": None,
            "current_tier": TIER[level],
            "pending_transfer": None,
            "investigation": None,
            "solution": None,
            "solution_amount": None,
            "satisfaction": None,
            "review_step": 0,
            "round": 1,
            "gm_agenda": False,
            "delay_status": None,
            "delay_until": None,
            "unreachable_attempts": 0,
            "received_by_id": None,
            "received_at": received,
            "acknowledged_at": None,
            "first_contact_at": None,
            "resolved_at": None,
            "closed_at": None,
            "followed_up_at": None,
            "imported": False,
        }
        case = _Case(cid, row, pv)
        depth = 99 if rng.random() < 0.85 else rng.randint(0, 9)
        _life(case, rng, staff, depth)
        row["received_by_id"] = case.events[0]["actor_id"]
        row["updated_at"] = case.at
        row["version"] = len(case.events)
        complaints.append(row)
        events.extend(case.events)
        timers.extend(_timers(case, rng, staff))
    session.execute(insert(Complaint.__table__), complaints)
    for i in range(0, len(events), 5000):
        session.execute(insert(ComplaintEvent.__table__), events[i : i + 5000])
    session.execute(insert(Timer.__table__), timers)
    breached = session.execute(
        select(Timer.id, Timer.complaint_id, Timer.key, Timer.level, Timer.breached_at).where(
            Timer.breached_at.is_not(None)
        )
    ).all()
    owner = {c["id"]: c["assignee_id"] or c["received_by_id"] for c in complaints}
    penalties = [
        {
            "complaint_id": cid,
            "timer_id": tid,
            "user_id": owner[cid],
            "amount": Decimal({"L1": 20, "L2": 30, "L3": 50}[level]),
            "timer_key": key,
            "level": level,
            "created_at": at,
        }
        for tid, cid, key, level, at in breached
    ]
    if penalties:
        session.execute(insert(Penalty.__table__), penalties)
    if session.get_bind().dialect.name == "postgresql":
        for table in ("complainant", "complaint", "complaint_event"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )
    return count
