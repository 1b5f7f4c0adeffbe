"""Bulk data: a year of realistic Chinese complaints with genuine timelines and hash chains.

Every complaint is walked through the real pure lifecycle (`lifecycle.open_complaint` and
`lifecycle.decide`) by the people a procedure names, so states, levels, tiers, assignees,
solutions and sign-offs are what the service would have stored; each step's event is
hash-chained with `kesu.audit.chain` exactly as `complaint.service._record` does, so
`kesu audit verify` passes on the result. Rows go in through SQLAlchemy Core `insert()`
batches on the tables of `kesu.db.migrate.metadata()` (column defaults of newer columns
apply by themselves); no HTTP, no ORM unit of work.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, column, create_engine, func, insert, inspect, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import make_url

from kesu.access import service as access_service
from kesu.audit.chain import GENESIS, event_hash, hashed_fields
from kesu.clock import FrozenClock
from kesu.complaint import lifecycle
from kesu.complaint import service as complaint_service
from kesu.complaint.commands import COMMANDS
from kesu.complaint.numbering import format_number, period_key
from kesu.complaint.schemas import ComplaintCreate
from kesu.db import migrate
from kesu.db.session import make_engine, make_sessionmaker, transaction
from kesu.errors import KesuError
from kesu.org import service as org_service
from kesu.policy import loader
from kesu.policy import service as policy_service
from kesu.policy.schema import Pack

try:
    import kesu.sla.rules  # noqa: F401

    HAS_SLA = True
except ModuleNotFoundError:  # trees before the SLA work
    HAS_SLA = False

stuck: Counter[str] = Counter()
"""Steps no one under a pack could take (the complaint stays where it stood): reported."""

BATCH = 2000
"""Complaints per insert batch (their complainants and events go in the same transaction)."""

GROUP_NAMES = ["华夏家居集团", "锦程连锁超市", "东方电器连锁", "悦享餐饮集团", "安途物流"]
REGIONS = {
    "华东大区": ["上海", "杭州", "南京", "苏州", "宁波", "合肥"],
    "华南大区": ["广州", "深圳", "东莞", "佛山", "厦门", "南宁"],
    "华北大区": ["北京", "天津", "石家庄", "太原", "济南", "青岛"],
    "西南大区": ["成都", "重庆", "昆明", "贵阳", "西安"],
    "华中大区": ["武汉", "长沙", "郑州", "南昌"],
}
STORE_SUFFIX = ["万达店", "中心店", "旗舰店"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰秀梅鑫宇浩然子涵欣怡"
PRODUCTS = [
    ("北欧布艺沙发", "SF-2031"),
    ("实木餐桌", "DT-1180"),
    ("记忆棉床垫", "MT-0960"),
    ("儿童书桌", "KD-0412"),
    ("电动升降桌", "ED-7730"),
    ("真皮办公椅", "OC-5521"),
    ("变频空调", "AC-3520"),
    ("滚筒洗衣机", "WM-1010"),
    ("有机鲜牛奶", "MK-0250"),
    ("进口车厘子礼盒", "FR-8801"),
]
# (text, demand text, demand keys): the complaint's own words, by what it is about
STORIES: dict[str, list[tuple[str, str, list[str]]]] = {
    "quality": [
        ("使用不到一个月就出现明显塌陷和异响", "要求上门检测并更换", ["repair", "exchange"]),
        ("收货后发现表面有划痕和裂缝，安装师傅说是出厂问题", "要求换货", ["exchange"]),
        ("同批次多位顾客反映椅腿断裂，已向12315投诉", "要求全额退款并赔偿", ["refund"]),
        ("商品过期两天仍在货架销售，孩子喝了以后腹泻", "要求退款并赔偿医药费", ["refund"]),
    ],
    "service": [
        ("门店店员态度冷淡，询问价格时不耐烦，还说买不起就别看", "要求道歉", ["apology"]),
        ("向大区客服反映问题三次均无回复，这是第二次投诉同一件事", "要求给出处理时间", []),
        ("安装师傅迟到三个小时且没有提前通知，安装后也不清理现场", "要求道歉并补偿", []),
    ],
    "logistics": [
        ("加盟店本周到货比订单少了6件，影响周末促销", "要求尽快补发", ["explanation"]),
        ("物流延误五天，客户已经多次催问", "要求赔偿运费", ["compensation"]),
        ("送货时外包装破损，里面的玻璃台面碎了", "要求重新配送", ["exchange"]),
    ],
    "repair": [
        ("保修期内出现故障，报修一周无人上门", "要求尽快维修", ["repair"]),
        ("维修后同样的问题一个月内又出现了两次", "要求换新机", ["exchange"]),
    ],
    "policy": [
        ("新的加盟返利政策看不懂，与招商时承诺的不一致", "要求书面解释", ["explanation"]),
        ("会员积分突然清零，事先没有任何通知", "要求恢复积分并解释", ["explanation"]),
    ],
    "other": [
        ("停车场收费标准与门口公示不一致，多收了二十元", "要求退还多收费用", ["refund"]),
        ("发票开错抬头，多次联系仍未重开", "要求尽快重开发票", ["explanation"]),
    ],
}
STORY_OF_CATEGORY = {
    "product": "quality",
    "product_quality": "quality",
    "safety": "quality",
    "facility": "other",
    "service": "service",
    "attitude": "service",
    "store_attitude": "service",
    "regional_cs": "service",
    "installation": "service",
    "department_inaction": "service",
    "logistics": "logistics",
    "delivery": "logistics",
    "delivery_quantity": "logistics",
    "delivery_quality": "logistics",
    "transport": "logistics",
    "repair": "repair",
    "policy": "policy",
    "price": "other",
}
FINDINGS = [
    "经核实，问题属实，系出厂质检遗漏及门店跟进不及时所致。",
    "调取监控并询问当班员工，确认服务过程存在不当言行。",
    "核对出库单与签收单，确认物流环节漏装。",
    "经技术人员检测，属于产品设计缺陷，同批次需排查。",
]


@dataclass
class Person:
    id: int
    role: str
    label: str
    department_id: int | None

    def actor(self) -> lifecycle.Actor:
        return lifecycle.Actor(
            kind="staff",
            user_id=self.id,
            role=self.role,
            department_id=self.department_id,
            label=self.label,
        )


@dataclass
class Group:
    """One organisation (集团) under one pack, with its sites and staff."""

    id: int
    pack: Pack
    policy_version_id: int
    sites: list[int]
    departments: list[int]
    staff: dict[str, list[Person]]  # role -> people
    clerk: Person  # a store clerk some complaints are about; never acts on them
    tier_of: dict[str, str | None] = field(default_factory=dict)  # role -> tier
    calendar: Any = None  # the pack's working calendar, once timers are replayed
    memo: dict[Any, Any] = field(default_factory=dict)  # lookups that never change


def _memo(group: Group, key: Any, make) -> Any:
    """A group's pack never changes during generation: look each thing up once."""
    try:
        return group.memo[key]
    except KeyError:
        group.memo[key] = value = make()
        return value


@dataclass
class Summary:
    url: str
    rows: int
    events: int
    open: int
    seconds: float
    groups: list[dict[str, Any]]
    by_state: dict[str, int]
    timers: int
    stuck: dict[str, int]
    until: str  # the end of the data: every timer due before it was swept


# --- the database ---------------------------------------------------------------------------


def reset(url: str) -> None:
    """Start from an empty database: delete the SQLite file, or drop and create the PG db."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        from pathlib import Path

        base = Path(parsed.database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)
        base.parent.mkdir(parents=True, exist_ok=True)
        return
    admin = create_engine(
        parsed.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def prepare(engine: Engine) -> None:
    """What `kesu db upgrade` does: migrate to head and register the built-in packs."""
    migrate.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        for key in loader.builtin_keys():
            policy_service.register(session, FrozenClock(_now()), loader.builtin_source(key), key)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- organisations and staff -------------------------------------------------------------------


def _role_people(pack: Pack) -> dict[str, int]:
    """How many people hold each role: many front-line receivers, a few of everything else."""
    counts = {}
    for role in pack.roles:
        if role.admin:
            counts[role.key] = 1
        elif pack.tier_rank(role.tier) == 1:
            counts[role.key] = 12
        else:
            counts[role.key] = 3
    return counts


def build_groups(engine: Engine, now: datetime) -> list[Group]:
    clock = FrozenClock(now)
    groups = []
    with transaction(make_sessionmaker(engine)) as session:
        for gi, key in enumerate(loader.builtin_keys()):
            version = policy_service.current(session, key)
            pack = policy_service.pack_of(session, version.id)
            code = f"G{gi + 1}"
            group = org_service.create(
                session,
                clock,
                kind="group",
                code=code,
                name=GROUP_NAMES[gi % len(GROUP_NAMES)],
                pack_key=key,
            )
            departments = [
                org_service.create(
                    session,
                    clock,
                    kind="department",
                    code=f"{code}-{dcode}",
                    name=dname,
                    parent_id=group.id,
                ).id
                for dcode, dname in (("CS", "综合服务部"), ("LOG", "物流部"), ("QA", "质量管理部"))
            ]
            sites = []
            for ri, (rname, cities) in enumerate(REGIONS.items()):
                region = org_service.create(
                    session,
                    clock,
                    kind="region",
                    code=f"{code}-R{ri + 1}",
                    name=rname,
                    parent_id=group.id,
                )
                for ci, city in enumerate(cities):
                    for si, suffix in enumerate(STORE_SUFFIX):
                        sites.append(
                            org_service.create(
                                session,
                                clock,
                                kind="site",
                                code=f"{code}-R{ri + 1}-{ci + 1}{si + 1}",
                                name=f"{city}{suffix}",
                                parent_id=region.id,
                            ).id
                        )
            staff: dict[str, list[Person]] = {}
            rng = random.Random(gi)
            for role, n in _role_people(pack).items():
                for i in range(n):
                    name = _name(rng)
                    user = access_service.add_user(
                        session,
                        clock,
                        username=f"{code.lower()}-{role}-{i + 1}",
                        display_name=name,
                        role=role,
                        org_id=group.id,
                        department_id=departments[0],
                    )
                    staff.setdefault(role, []).append(Person(user.id, role, name, departments[0]))
            receiver = next(r.key for r in pack.roles if r.may("receive") and not r.admin)
            clerk_user = access_service.add_user(
                session,
                clock,
                username=f"{code.lower()}-clerk",
                display_name=_name(rng),
                role=receiver,
                org_id=group.id,
                department_id=departments[0],
            )
            groups.append(
                Group(
                    id=group.id,
                    pack=pack,
                    policy_version_id=version.id,
                    sites=sites,
                    departments=departments,
                    staff=staff,
                    clerk=Person(clerk_user.id, receiver, clerk_user.display_name, departments[0]),
                    tier_of={r.key: r.tier for r in pack.roles},
                )
            )
    return groups


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


# --- who does what under a pack --------------------------------------------------------------


def _lowest(group: Group, command: str, min_tier: str | None) -> list[Person]:
    """People of the lowest-tier role that may issue `command` at `min_tier` or above."""
    return _memo(
        group, ("lowest", command, min_tier), lambda: _find_lowest(group, command, min_tier)
    )


def _find_lowest(group: Group, command: str, min_tier: str | None) -> list[Person]:
    pack = group.pack
    floor = pack.tier_rank(min_tier)
    roles = [
        r
        for r in pack.roles
        if r.may(command)
        and not r.admin
        and r.tier
        and pack.tier_rank(r.tier) >= floor
        and group.staff.get(r.key)
    ]
    roles.sort(key=lambda r: (pack.tier_rank(r.tier), "*" in r.commands))
    return group.staff[roles[0].key] if roles else []


def _role(group: Group, key: str | None):
    return _memo(group, ("role", key), lambda: group.pack.role(key))


def _keys(group: Group, name: str) -> list[str]:
    return _memo(group, ("keys", name), lambda: sorted(group.pack.keys(name)))


def _pick(rng: random.Random, people: list[Person], avoid: Person | None = None) -> Person | None:
    options = [p for p in people if p is not avoid]
    return rng.choice(options) if options else None


def _of_roles(group: Group, roles: list[str], command: str) -> list[Person]:
    return _memo(
        group, ("of", tuple(roles), command), lambda: _find_of_roles(group, roles, command)
    )


def _find_of_roles(group: Group, roles: list[str], command: str) -> list[Person]:
    pack = group.pack
    return [
        p
        for key in roles
        if (role := pack.role(key)) is not None and role.may(command)
        for p in group.staff.get(key, [])
    ]


def _reviewers(group: Group, step) -> list[Person]:
    if step.role is not None:
        return _of_roles(group, [step.role], "sign_off")
    return _lowest(group, "sign_off", step.tier)


CASE_FIELDS = (
    "state",
    "level",
    "current_tier",
    "classification",
    "category",
    "department_id",
    "assignee_id",
    "staff_complained_id",
    "pending_transfer",
    "investigation",
    "solution",
    "review_step",
    "delay_status",
    "round",
)


def _case(group: Group, row: dict[str, Any], assignee: Person | None) -> lifecycle.Case:
    return lifecycle.Case(
        **{k: row[k] for k in CASE_FIELDS},
        assignee_tier=group.tier_of.get(assignee.role) if assignee else None,
    )


def _apply(row: dict[str, Any], fields: dict[str, Any]) -> None:
    """What `complaint.service._apply` does to the row."""
    for name, value in fields.items():
        if name == "first_contact_at":
            row["first_contact_at"] = row["first_contact_at"] or value
        elif name == "unreachable_attempts":
            row["unreachable_attempts"] += value
        elif name == "solution":
            row["solution"] = value
            row["solution_amount"] = Decimal(str(value["amount"])) if value else None
        else:
            row[name] = value


def _next_step(
    rng: random.Random, group: Group, row: dict[str, Any], people: dict[str, Person], request: bool
) -> tuple[str, Person | None, dict[str, Any]] | None:
    """The next thing someone does on this complaint under its procedure, or None when done.

    Each step is done by someone whose role the pack lets do it: the handler where their role
    may, else the lowest tier that may at the complaint's tier (None: nobody can; it stops)."""
    pack = group.pack
    state = row["state"]
    tier = row["current_tier"]
    handler = people.get("handler")

    def doer(command: str, min_tier: str | None = tier) -> Person | None:
        role = _role(group, handler.role) if handler else None
        if (
            role is not None
            and role.may(command)
            and pack.tier_rank(role.tier) >= pack.tier_rank(min_tier)
        ):
            return handler
        return _pick(rng, _lowest(group, command, min_tier))

    if state == "new":
        return "acknowledge", doer("acknowledge", None), {"message": "您的投诉已受理。"}
    level = _memo(group, ("level", row["level"]), lambda: pack.level(row["level"]))
    closers = _of_roles(group, level.closer_roles, "close")
    if row["classification"] is None and request and state != "closed":
        kind = rng.choice(["enquiry", "help", "invalid"])
        return "classify", doer("classify"), {"classification": kind, "reason": "经核实属咨询。"}
    if row["classification"] not in (None, "valid") and state != "closed":
        return "close", _pick(rng, closers), {"summary": "非有效投诉，已答复客户并归档。"}
    if state in ("acknowledged", "in_progress"):
        if handler is None or pack.tier_rank(group.tier_of[handler.role]) < pack.tier_rank(tier):
            people["handler"] = _pick(rng, _lowest(group, "record_investigation", tier))
            if people["handler"] is None:
                return None
            return "assign", doer("assign", None), {"assignee_id": people["handler"].id}
        if row["first_contact_at"] is None:
            return (
                "record_contact",
                doer("record_contact"),
                {"reached": True, "summary": "已联系。"},
            )
        if state == "acknowledged":
            return "classify", doer("classify"), {"classification": "valid", "reason": "情况属实。"}
        if row["investigation"] is None:
            dims = _keys(group, "root_cause_dimensions")
            return (
                "record_investigation",
                doer("record_investigation"),
                {
                    "findings": rng.choice(FINDINGS),
                    "root_causes": rng.sample(dims, min(2, len(dims))),
                    "responsibility": [
                        {"party": "质量管理部", "share": 60},
                        {"party": "门店", "share": 40},
                    ],
                    "founded": True,
                },
            )
        amount = rng.choice([0, 0, 50, 100, 150, 300, 500, 1500, 3000, 8000])
        return (
            "propose_solution",
            doer("propose_solution"),
            {
                "solution_type": rng.choice(_keys(group, "solution_types")),
                "amount": amount,
                "description": "上门处理并补偿代金券。" if amount else "向客户当面道歉并说明情况。",
            },
        )
    if state == "awaiting_approval":
        needed = row["solution"]["approval_tier"]
        return "approve_solution", doer("approve_solution", needed), {"comment": "同意。"}
    if state == "solution_agreed":
        return "implement", doer("implement"), {"notes": "已按方案处理完毕。"}
    if state == "implemented":
        happy = [g.value for g in pack.satisfaction if g.outcome == "accept"]
        unhappy = [g.value for g in pack.satisfaction if g.outcome != "accept"]
        upset = unhappy and row["round"] == 1 and rng.random() < 0.05
        grade = rng.choice(unhappy) if upset else rng.choice(happy)
        doing = doer("record_response", None)
        return "record_response", doing, {"satisfaction": grade, "comment": "客户回复"}
    if state == "reviewing":
        if row["review_step"] < len(level.review_chain):
            step = level.review_chain[row["review_step"]]
            reviewer = _pick(rng, _reviewers(group, step), avoid=handler)
            return "sign_off", reviewer, {"opinion": "处理得当，同意结案。"}
        return "close", _pick(rng, closers), {"summary": "资料齐全，归档。"}
    if state == "closed" and row["followed_up_at"] is None and rng.random() < 0.6:
        done = {"result": "回访客户，对结果满意。", "satisfaction": 1}
        return "follow_up", doer("follow_up", None), done
    return None


class Clocks:
    """A complaint's SLA timers replayed with the pure rules (`kesu.sla.rules`), event by event,
    as `sla.service` keeps them: started, met and cancelled by the pack's triggers, due times
    on the pack's working calendar, the complaint's `next_due_at` the earliest running one.
    Not replayed: delays (pauses, extensions) and escalation's automatic changes. Timers
    already past due when the data ends are stored as breached and warned on time (the worker
    would have swept them), so a sweep at the end of the data finds nothing due.
    """

    def __init__(self, group: Group, row: dict[str, Any]) -> None:
        from kesu.sla import rules as sla_rules

        self.rules = sla_rules
        self.group, self.row = group, row
        self.timers: list[dict[str, Any]] = []
        if group.calendar is None:
            group.calendar = sla_rules.calendar(group.pack)

    def step(self, actor: lifecycle.Actor, command: str, payload: dict[str, Any], at: datetime):
        pack, row, r, group = self.group.pack, self.row, self.rules, self.group
        role = _role(group, actor.role)
        rank = pack.tier_rank(role.tier) if role else 0
        facts: dict[str, Any] = {}

        def fired(triggers) -> bool:
            if not any(t.event == command for t in triggers):
                return False
            if not facts:
                facts.update(r.facts_of(SimpleNamespace(**row), payload))
            return any(
                r.matches(t, command, facts, actor_role=actor.role, actor_rank=rank, pack=pack)
                for t in triggers
            )

        report: dict[str, list[str]] = {}
        running = [t for t in self.timers if t["state"] == "running"]
        for t in running:
            rule = _memo(group, ("timer", t["key"]), lambda key=t["key"]: pack.timer(key))
            if rule is None:
                continue
            if fired(rule.met_by):
                t["state"], t["met_at"] = "met", at
                report.setdefault("met", []).append(t["key"])
            elif fired(rule.cancel_on) or not rule.applies_to(row["level"]):
                t["state"], t["cancelled_at"] = "cancelled", at
                report.setdefault("cancelled", []).append(t["key"])
        keys = {t["key"] for t in self.timers if t["state"] == "running"}
        for rule in pack.timers:
            if rule.key in keys or not rule.applies_to(row["level"]) or not fired(rule.start):
                continue
            within = rule.within_for(row["level"])
            due = r.due_at(self.group.calendar, at, within)
            opens = (
                r.opens_at(self.group.calendar, at, rule.not_before) if rule.not_before else None
            )
            self.timers.append(
                {
                    "complaint_id": row["id"],
                    "key": rule.key,
                    "round": row["round"],
                    "level": row["level"],
                    "unit": within.unit,
                    "amount": within.amount,
                    "state": "running",
                    "started_at": at,
                    "due_at": due.at,
                    "opens_at": opens.at if opens else None,
                    "warn_at": opens.at if opens else r.warn_at(at, due.at, rule.warn_at_percent),
                    "warned_at": None,
                    "breached_at": None,
                    "met_at": None,
                    "cancelled_at": None,
                    "provisional": due.provisional or bool(opens and opens.provisional),
                    "pauses": [],
                    "extensions": [],
                }
            )
            report.setdefault("started", []).append(rule.key)
        live = [t for t in self.timers if t["state"] == "running"]
        row["next_due_at"] = min((t["due_at"] for t in live), default=None)
        row["deadline_provisional"] = any(t["provisional"] for t in live)
        if report:
            payload["sla"] = report

    def finish(self, now: datetime) -> list[dict[str, Any]]:
        for t in self.timers:
            if t["state"] == "running" and t["due_at"] <= now:
                t["breached_at"] = t["due_at"]
            if t["warn_at"] is not None and t["warn_at"] <= now and t["breached_at"] is None:
                t["warned_at"] = t["warn_at"]
        return self.timers


def _memoise_official_calendar() -> None:
    """Generation only: remember `chinese_calendar.is_workday` per day in this process (it
    validates its argument at length on every call, and a year of timers asks it millions of
    times). Answers are unchanged; the servers under test never run this."""
    from kesu.calendar import workdays

    lib = workdays.chinese_calendar
    if not hasattr(lib.is_workday, "cache_info"):
        lib.is_workday = functools.cache(lib.is_workday)


def _open_probability(age_days: float) -> float:
    """Recent complaints are mostly still open; a year-old one almost never is."""
    if age_days < 3:
        return 0.8
    if age_days < 14:
        return 0.3
    if age_days < 60:
        return 0.04
    return 0.005


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(payload, default=str, ensure_ascii=False))


def intake_body(rng: random.Random, group: Group) -> dict[str, Any]:
    """A complaint as a receiver would type it (also what the intake benchmark POSTs)."""
    pack = group.pack
    categories = _keys(group, "categories")
    category = rng.choice(categories)
    story = STORIES[STORY_OF_CATEGORY.get(category, "other")]
    words, wish, demands = rng.choice(story)
    product, sku = rng.choice(PRODUCTS)
    weights = [0.7, 0.22, 0.08][: len(pack.levels)] + [0.0] * max(0, len(pack.levels) - 3)
    level = rng.choices([lv.key for lv in pack.levels], weights=weights)[0]
    known_demands = set(_keys(group, "demands"))
    return {
        "site_id": rng.choice(group.sites),
        "channel": rng.choice(_keys(group, "channels")),
        "complainant": {"name": _name(rng), "phone": _phone(rng)},
        "complainant_type": rng.choice(_keys(group, "complainant_types")),
        "title": f"{product}：{words[:16]}",
        "description": f"顾客反映：{product}（{sku}）{words}。{wish}。",
        "demands": [d for d in demands if d in known_demands],
        "category": category,
        "level": level,
        "subject": {"product": product, "sku": sku, "order_no": f"SO{rng.randint(100000, 999999)}"},
        "department_id": group.departments[0],
    }


@dataclass
class _Writable:
    """A model table cut down to the columns the migrated database has, with their defaults.

    The models may be ahead of the migrations while other work lands; rows carry every
    column the database has, the ones this generator does not know filled from the model's
    scalar defaults (a NOT NULL column without one stops the run with its name).
    """

    clause: Any
    defaults: dict[str, Any]

    @classmethod
    def of(cls, table: Table, engine: Engine, given: set[str]) -> _Writable:
        present = {c["name"] for c in inspect(engine).get_columns(table.name)}
        cols = [c for c in table.columns if c.name in present]
        defaults: dict[str, Any] = {}
        missing = []
        for c in cols:
            if c.name in given:
                continue
            if c.default is not None and c.default.is_scalar:
                defaults[c.name] = c.default.arg
            elif not (c.nullable or c.primary_key or c.server_default is not None):
                missing.append(c.name)
        if missing:
            raise SystemExit(f"bench data: table {table.name} has new required columns {missing}")
        return cls(table_clause(table.name, *(column(c.name, c.type) for c in cols)), defaults)

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.defaults:
            return rows
        return [{**self.defaults, **r} for r in rows]


ENV = {
    "KESU_ENVIRONMENT": "production",
    "KESU_SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
    "KESU_DATA_KEY": "bench-only-data-key-0123456789abcdef",
}
"""The settings the generator and the servers share (personal data is sealed with keys
derived from them, so both sides must agree)."""


def generate(
    url: str,
    rows: int,
    *,
    seed: int = 7,
    now: datetime | None = None,
    workers: int = os.cpu_count() or 1,
) -> Summary:
    """Reset the database at `url` and fill it with `rows` complaints spread over a year.

    `workers` processes build the rows (each batch from its own seeded generator, so the
    data does not depend on how many) while this one inserts them. Run with `ENV` in the
    environment (as `python -m bench` does).
    """
    started = time.perf_counter()
    now = now or _now()
    if HAS_SLA:
        _memoise_official_calendar()
    reset(url)
    engine = make_engine(url)
    prepare(engine)
    groups = build_groups(engine, now)
    md = migrate.metadata()
    tables: dict[str, _Writable] = {}
    with engine.connect() as conn:
        first = {
            name: (conn.scalar(select(func.max(md.tables[name].c.id))) or 0) + 1
            for name in ("complainant", "complaint")
        }
    plan, counters = _plan(random.Random(seed), groups, rows, now)
    jobs = [
        (seed, i, plan[i : i + BATCH], first["complaint"] + i, first["complainant"] + i)
        for i in range(0, rows, BATCH)
    ]
    stats: Counter[str] = Counter()
    _WORK.update(groups=groups, now=now)
    with contextlib.ExitStack() as stack:
        if workers > 0:
            pool = stack.enter_context(multiprocessing.get_context("fork").Pool(workers))
            batches = pool.imap(_batch, jobs)
        else:  # in this process (profiling)
            batches = map(_batch, jobs)
        for batch, states, stuck_here in batches:
            stuck.update(stuck_here)
            stats.update(states)
            batch = {name: values for name, values in batch.items() if values}
            for name, values in batch.items():
                if name not in tables:
                    tables[name] = _Writable.of(md.tables[name], engine, set(values[0]))
            with engine.begin() as conn:
                for name, values in batch.items():
                    conn.execute(insert(tables[name].clause), tables[name].rows(values))
            stats["events"] += len(batch.get("complaint_event", []))
            stats["timers"] += len(batch.get("sla_timer", []))
    counter_rows = [{"org_id": o, "period": p, "last_value": n} for (o, p), n in counters.items()]
    counter = _Writable.of(md.tables["number_counter"], engine, set(counter_rows[0]))
    with engine.begin() as conn:
        conn.execute(insert(counter.clause), counter.rows(counter_rows))
        if engine.dialect.name == "postgresql":
            for table in ("complainant", "complaint", "complaint_event"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
    if engine.dialect.name == "postgresql":
        # autovacuum would analyse the freshly loaded tables within minutes; do it now
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    events, timers = stats.pop("events", 0), stats.pop("timers", 0)
    return Summary(
        url=make_url(url).render_as_string(hide_password=True),
        rows=rows,
        events=events,
        open=sum(n for s, n in stats.items() if s != "closed"),
        seconds=round(time.perf_counter() - started, 1),
        groups=[
            {"id": g.id, "pack": g.pack.key, "sites": len(g.sites), "staff": _staff_count(g)}
            for g in groups
        ],
        by_state=dict(sorted(stats.items())),
        timers=timers,
        stuck=dict(stuck.most_common()),
        until=now.isoformat(),
    )


_WORK: dict[str, Any] = {}
"""What the forked row builders share: the groups and the end of the data (`now`)."""


def _plan(
    rng: random.Random, groups: list[Group], rows: int, now: datetime
) -> tuple[list[tuple[int, datetime, str]], Counter[tuple[int, str]]]:
    """Each complaint's group, time and number: drawn in time order, like a real counter."""
    times = sorted(now - timedelta(seconds=rng.uniform(60, 365 * 86400)) for _ in range(rows))
    counters: Counter[tuple[int, str]] = Counter()
    plan = []
    for received in times:
        # one national chain holds half the history; the other packs' groups share the rest
        gi = 0 if rng.random() < 0.5 else rng.randrange(len(groups))
        pack = groups[gi].pack
        day = received.astimezone(ZoneInfo(pack.timezone)).date()
        period = period_key(pack.numbering.reset, day)
        counters[(groups[gi].id, period)] += 1
        number = format_number(pack.numbering.pattern, day, counters[(groups[gi].id, period)])
        plan.append((gi, received, number))
    return plan, counters


def _batch(job) -> tuple[dict[str, list[dict[str, Any]]], Counter[str], Counter[str]]:
    """Build one batch of rows (in a worker process)."""
    seed, index, plan, complaint_id, complainant_id = job
    rng = random.Random(seed * 1_000_003 + index)
    groups, now = _WORK["groups"], _WORK["now"]
    stuck.clear()
    rows: dict[str, list[dict[str, Any]]] = {
        "complainant": [],
        "complaint": [],
        "complaint_event": [],
        "sla_timer": [],
    }
    states: Counter[str] = Counter()
    for k, (gi, received, number) in enumerate(plan):
        person, complaint, events, timers = _one(
            rng, groups[gi], received, number, now, complaint_id + k, complainant_id + k
        )
        rows["complainant"].append(person)
        rows["complaint"].append(complaint)
        rows["complaint_event"].extend(events)
        rows["sla_timer"].extend(timers)
        states[complaint["state"]] += 1
    return rows, states, Counter(stuck)


def _staff_count(group: Group) -> int:
    return sum(len(v) for v in group.staff.values()) + 1


def _one(
    rng: random.Random,
    group: Group,
    received: datetime,
    number: str,
    now: datetime,
    cid: int,
    pid: int,
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    pack = group.pack
    body = intake_body(rng, group)
    if body["category"] in ("attitude", "store_attitude") and rng.random() < 0.5:
        body["staff_complained_id"] = group.clerk.id
    data = ComplaintCreate.model_validate(body)
    receiver = rng.choice(_lowest(group, "receive", None))
    person = {
        "id": pid,
        "org_id": group.id,
        "name": data.complainant.name,
        "phone": complaint_service.normalise_phone(data.complainant.phone),
        "other_contact": None,
        "address": None,
        "member_id": None,
        "created_at": received,
    }
    if hasattr(complaint_service, "phone_digest"):  # phones sealed at rest, found by digest
        person["phone_hash"] = complaint_service.phone_digest(data.complainant.phone)
    initial = lifecycle.open_complaint(
        pack, level=data.level, text=f"{data.title}\n{data.description}"
    )
    row: dict[str, Any] = {
        "id": cid,
        "number": number,
        "org_id": group.id,
        "site_id": data.site_id,
        "policy_version_id": group.policy_version_id,
        "channel": data.channel,
        "complainant_id": pid,
        "complainant_type": data.complainant_type,
        "subject": data.subject.model_dump(exclude_none=True),
        "staff_complained_id": data.staff_complained_id,
        "occurred_at": None,
        "occurred_place": None,
        "title": data.title,
        "description": data.description,
        "demands": list(data.demands),
        "category": data.category,
        "classification": None,
        "department_id": data.department_id,
        "assignee_id": None,
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
        "received_by_id": receiver.id,
        "received_at": received,
        "acknowledged_at": None,
        "first_contact_at": None,
        "resolved_at": None,
        "closed_at": None,
        "followed_up_at": None,
        "updated_at": received,
        "version": 0,
        **initial,
    }
    payload = data.model_dump(mode="json", exclude={"complainant"})
    payload["complainant_id"] = pid
    payload["level"] = row["level"]
    events: list[dict[str, Any]] = []
    prev = GENESIS

    def record(actor: lifecycle.Actor, command: str, payload: dict[str, Any], at: datetime):
        nonlocal prev
        payload = _jsonable(payload)
        seq = len(events) + 1
        fields = hashed_fields(
            complaint_id=cid,
            seq=seq,
            command=command,
            actor_kind=actor.kind,
            actor_id=actor.user_id,
            at=at,
            payload=payload,
            policy_version_id=group.policy_version_id,
        )
        digest = event_hash(prev, fields)
        events.append(
            {
                "complaint_id": cid,
                "seq": seq,
                "command": command,
                "actor_kind": actor.kind,
                "actor_id": actor.user_id,
                "actor_label": actor.label[:100],
                "at": at,
                "payload": payload,
                "policy_version_id": group.policy_version_id,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
        row["version"] += 1
        row["updated_at"] = at

    clocks = Clocks(group, row) if HAS_SLA else None
    if clocks:
        row["next_due_at"], row["deadline_provisional"] = None, False
        clocks.step(receiver.actor(), "receive", payload, received)
    record(receiver.actor(), "receive", payload, received)
    age_days = (now - received).total_seconds() / 86400
    stays_open = rng.random() < _open_probability(age_days)
    # an open complaint stops somewhere along its way; a closed one goes all the way
    budget = rng.randint(0, 9) if stays_open else 40
    people: dict[str, Person] = {"receiver": receiver}
    request = rng.random() < 0.08
    at = received
    while budget > 0:
        step = _next_step(rng, group, row, people, request)
        if step is None:
            break
        command, who, raw = step
        if who is None:
            stuck[pack.key + ":" + command] += 1
            break
        if stays_open and command == "close":
            break
        gap = timedelta(minutes=rng.randint(10, 480))
        if at + gap >= now:
            break
        at += gap
        parsed = COMMANDS[command].model_validate(raw)
        handler = people.get("handler")
        assignee = handler if handler and handler.id == row["assignee_id"] else None
        case = _case(group, row, assignee)
        try:
            change = lifecycle.decide(pack, case, who.actor(), command, parsed, at)
        except KesuError as exc:
            stuck[f"{pack.key}:{command}:{exc.key}"] += 1
            break
        _apply(row, change.fields)
        if clocks:
            clocks.step(who.actor(), command, change.event, at)
        record(who.actor(), command, change.event, at)
        budget -= 1
    return person, row, events, clocks.finish(now) if clocks else []
