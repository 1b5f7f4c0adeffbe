"""Bulk data: a year of realistic Chinese complaints with genuine timelines and hash chains.

Histories: for each organisation a pool of complaints is walked through the real pure
lifecycle (`lifecycle.open_complaint` and `lifecycle.decide`) by the people a procedure names,
with their SLA timers replayed by the pure `kesu.sla.rules`, so states, levels, tiers,
assignees, solutions and sign-offs are what the service would have stored. Every complaint of
the data then takes one history of its organisation (whole, or cut short where a complaint that
is still open stops, or where the data ends) under its own id, number, time, site, complainant
and order number; what depends on those is computed for each complaint: the hash chain of its
events (`kesu.audit.chain`, exactly as `complaint.service._record` does, so `kesu audit verify`
passes), its timers' due times on the pack's working calendar, what the worker would have
breached or warned by the end of the data, `next_due_at`. Replaying the lifecycle for every one
of a million complaints took hours; stamping histories takes a few microseconds per event.

Rows are built as tuples in worker processes and go in through the database driver (SQLite
`executemany` with the journal off, PostgreSQL `COPY`) while the secondary indexes and the
triggers that copy each new complaint into the full-text tables (case library, search) are
off; afterwards each such trigger's own statement runs once over all rows, the indexes are
built from their own definitions, then statistics (`ANALYZE`). See `SQLiteLoad`,
`PostgresLoad`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import random
import re
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
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
from kesu.privacy.crypto import keys
from kesu.sla import rules as sla_rules

BATCH = 2000
"""Complaints per insert batch (their complainants, events and timers go in one transaction)."""

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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase


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


def upgrade(url: str) -> str | None:
    """What `kesu db upgrade` does to a database generated earlier (migrations added since,
    built-in packs, ANALYZE on SQLite), and ANALYZE on PostgreSQL; returns the revision."""
    from kesu import cli
    from kesu.settings import Settings

    cli.prepare(Settings(database_url=url))
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        return migrate.current(engine)
    finally:
        engine.dispose()


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
    as `sla.service` keeps them: started, met and cancelled by the pack's triggers. Each timer
    remembers the event (seq) that started it and the one that ended it, so a history cut
    short after any event knows which were still running; due times, warnings and breaches
    depend on when the complaint came in and are computed when a history is stamped
    (`_stamp`). Not replayed: delays (pauses, extensions) and escalation's automatic changes.
    """

    def __init__(self, group: Group, row: dict[str, Any]) -> None:
        self.group, self.row = group, row
        self.timers: list[dict[str, Any]] = []

    def step(self, actor: lifecycle.Actor, command: str, payload: dict[str, Any], seq: int):
        pack, row, r, group = self.group.pack, self.row, sla_rules, self.group
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
        for t in self.timers:
            if t["end"] is not None:
                continue
            rule = _memo(group, ("timer", t["key"]), lambda key=t["key"]: pack.timer(key))
            if rule is None:
                continue
            if fired(rule.met_by):
                t["end"], t["end_seq"] = "met", seq
                report.setdefault("met", []).append(t["key"])
            elif fired(rule.cancel_on) or not rule.applies_to(row["level"]):
                t["end"], t["end_seq"] = "cancelled", seq
                report.setdefault("cancelled", []).append(t["key"])
        keys = {t["key"] for t in self.timers if t["end"] is None}
        for rule in pack.timers:
            if rule.key in keys or not rule.applies_to(row["level"]) or not fired(rule.start):
                continue
            self.timers.append(
                {
                    "key": rule.key,
                    "round": row["round"],
                    "level": row["level"],
                    "within": rule.within_for(row["level"]),
                    "not_before": rule.not_before,
                    "warn_percent": rule.warn_at_percent,
                    "start_seq": seq,
                    "end": None,
                    "end_seq": 0,
                }
            )
            report.setdefault("started", []).append(rule.key)
        if report:
            payload["sla"] = report


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


ENV = {
    "KESU_ENVIRONMENT": "production",
    "KESU_SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
    "KESU_DATA_KEY": "bench-only-data-key-0123456789abcdef",
}
"""The settings the generator and the servers share (personal data is sealed with keys
derived from them, so both sides must agree)."""


# --- rows as the database is sent them -------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "complainant": (
        "id",
        "org_id",
        "name",
        "phone",
        "other_contact",
        "address",
        "member_id",
        "created_at",
        "phone_hash",
    ),
    "complaint": (
        "id",
        "number",
        "org_id",
        "site_id",
        "policy_version_id",
        "channel",
        "complainant_id",
        "complainant_type",
        "subject",
        "staff_complained_id",
        "occurred_at",
        "occurred_place",
        "title",
        "description",
        "demands",
        "category",
        "classification",
        "department_id",
        "assignee_id",
        "pending_transfer",
        "investigation",
        "solution",
        "solution_amount",
        "satisfaction",
        "review_step",
        "round",
        "gm_agenda",
        "delay_status",
        "delay_until",
        "unreachable_attempts",
        "received_by_id",
        "received_at",
        "acknowledged_at",
        "first_contact_at",
        "resolved_at",
        "closed_at",
        "followed_up_at",
        "updated_at",
        "version",
        "state",
        "level",
        "current_tier",
        "urgent_keywords",
        "next_due_at",
        "deadline_provisional",
    ),
    "complaint_event": (
        "complaint_id",
        "seq",
        "command",
        "actor_kind",
        "actor_id",
        "actor_label",
        "at",
        "payload",
        "policy_version_id",
        "prev_hash",
        "hash",
    ),
    "sla_timer": (
        "complaint_id",
        "key",
        "round",
        "level",
        "unit",
        "amount",
        "state",
        "started_at",
        "due_at",
        "opens_at",
        "warn_at",
        "warned_at",
        "breached_at",
        "met_at",
        "cancelled_at",
        "provisional",
        "pauses",
        "extensions",
    ),
}
"""The columns the generator fills, per table, in the order its rows carry them (event and
timer ids come from the database)."""

_C = {name: i for i, name in enumerate(COLUMNS["complaint"])}
_DATETIMES = frozenset(
    c for c in COLUMNS["complaint"] if c.endswith("_at") or c in ("delay_until",)
) - {"next_due_at"}


def _copy_text(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class Codec:
    """How values are sent: SQLite gets what SQLAlchemy's bind processing makes of them (the
    same text, numbers and JSON the service stores); PostgreSQL gets COPY text lines."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self._dialect = pg_dialect.psycopg.dialect() if self.pg else sqlite_dialect.dialect()
        self._tables = migrate.metadata().tables
        self._procs: dict[tuple[str, str], Any] = {}
        self.null = r"\N" if self.pg else None
        self.true = "t" if self.pg else 1
        self.false = "f" if self.pg else 0

    def const(self, table: str, column: str, value: Any) -> Any:
        if self.pg:
            return _copy_text(value)
        try:
            proc = self._procs[(table, column)]
        except KeyError:
            typ = self._tables[table].c[column].type
            proc = self._procs[(table, column)] = typ.dialect_impl(self._dialect).bind_processor(
                self._dialect
            )
        return proc(value) if proc and value is not None else value

    def int(self, n: int | None) -> Any:
        if n is None:
            return self.null
        return str(n) if self.pg else n

    def at(self, moment: datetime | None) -> Any:
        """An aware UTC datetime: SQLite stores it naive as SQLAlchemy's DATETIME writes it."""
        if moment is None:
            return self.null
        text_ = moment.isoformat(" ", "microseconds")
        return text_ if self.pg else text_[:26]

    def row(self, values) -> Any:
        return "\t".join(values) if self.pg else tuple(values)


@dataclass
class Layout:
    """A table's columns as the migrated database has them: the generator's own, then newer
    columns it does not know, filled with their model's scalar default (a NOT NULL column
    without one stops the run with its name; nullable ones are left to the database)."""

    table: str
    columns: tuple[str, ...]
    tail: tuple[Any, ...]

    @classmethod
    def of(cls, engine: Engine, table: str, codec: Codec) -> Layout:
        present = {c["name"] for c in inspect(engine).get_columns(table)}
        given = COLUMNS[table]
        if missing := [c for c in given if c not in present]:
            raise SystemExit(f"bench data: table {table} lacks columns {missing} (migrate first)")
        extra, tail, required = [], [], []
        for c in migrate.metadata().tables[table].columns:
            if c.name in given or c.name not in present:
                continue
            if c.default is not None and c.default.is_scalar:
                extra.append(c.name)
                tail.append(codec.const(table, c.name, c.default.arg))
            elif not (c.nullable or c.primary_key or c.server_default is not None):
                required.append(c.name)
        if required:
            raise SystemExit(f"bench data: table {table} has new required columns {required}")
        return cls(table, given + tuple(extra), tuple(tail))


# --- histories --------------------------------------------------------------------------------

CID, SITE, PERSON = "900000001", "900000002", "900000003"
ORDER, AT = "SO@ORDER@", "@AT@"
_HOLE = re.compile(f"({CID}|{SITE}|{PERSON}|{ORDER}|{AT})")
"""Values that differ between the complaints sharing a history, left as holes in its texts."""
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
"""When every history is replayed: its times are kept as offsets from the complaint's receipt."""

STAMPS_PER_HISTORY = 100
"""Complaints per replayed history, on average, in an organisation with many complaints."""
MIN_HISTORIES = 200
"""Histories per organisation however few complaints it has (or one per complaint)."""


class Holes(NamedTuple):
    """A text with holes: `parts` around the values named by `names`."""

    parts: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, text_: str) -> Holes:
        pieces = _HOLE.split(text_)
        return cls(tuple(pieces[0::2]), tuple(pieces[1::2]))

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for name, part in zip(self.names, parts[1:], strict=True):
            out.append(values[name])
            out.append(part)
        return "".join(out)


class Event(NamedTuple):
    off: timedelta
    seq: Any
    command: str
    actor_id: Any
    actor_label: Any
    payload: Holes  # as stored
    hashed: Holes  # the canonical JSON the chain hashes (`kesu.audit.chain.event_hash`)


class Snapshot(NamedTuple):
    """The complaint row after some events: sent values, with its times as offsets."""

    values: tuple[Any, ...]
    times: tuple[tuple[int, timedelta], ...]


class TimerSpec(NamedTuple):
    """A timer of a history: the events that started and ended it (0: still running)."""

    start_seq: int
    end_seq: int
    end: str | None  # met | cancelled
    head: tuple[Any, ...]  # key, round, level, unit, amount as sent
    tail: tuple[Any, ...]  # pauses, extensions as sent
    within: Any  # the period (kesu.policy.schema.Duration)
    unit: str
    amount: int
    day_based: bool
    not_before: Any
    warn_percent: int | None


class History(NamedTuple):
    group: int
    events: tuple[Event, ...]
    rows: tuple[Snapshot, ...]  # the row after 1, 2, … events
    subject: Holes
    timers: tuple[TimerSpec, ...]
    close_seq: int  # the first `close` (0: none)
    stuck: str | None  # the step no one could take, after the last event


def _event(codec: Codec, group: Group, actor, command, payload, at, seq) -> Event:
    fields = hashed_fields(
        complaint_id=int(CID),
        seq=seq,
        command=command,
        actor_kind=actor.kind,
        actor_id=actor.user_id,
        at=at,
        payload=payload,
        policy_version_id=group.policy_version_id,
    )
    fields["at"] = AT
    body = json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    hashed = Holes.of(body)
    if seq == 1:  # the chain's own function must agree with the holes (checked once a history)
        real = {**fields, "at": at.isoformat(timespec="microseconds")}
        filled = hashed.fill({CID: CID, SITE: SITE, PERSON: PERSON, ORDER: ORDER, AT: real["at"]})
        expected = event_hash(GENESIS, real)
        if hashlib.sha256((GENESIS + filled).encode()).hexdigest() != expected:
            raise AssertionError("bench data: the event hash layout differs from kesu.audit.chain")
    return Event(
        off=at - T0,
        seq=codec.int(seq),
        command=command,
        actor_id=codec.int(actor.user_id),
        actor_label=codec.const("complaint_event", "actor_label", actor.label[:100]),
        payload=Holes.of(codec.const("complaint_event", "payload", payload)),
        hashed=hashed,
    )


def _snapshot(
    codec: Codec, row: dict[str, Any], before: Snapshot | None, changed: set[str]
) -> Snapshot:
    """The row as sent; columns not in `changed` are taken from the row after the event before
    (nothing in a row changes but through an event's fields)."""
    values: list[Any] = []
    times = []
    for i, name in enumerate(COLUMNS["complaint"]):
        value = row[name]
        if name in _DATETIMES:
            values.append(codec.null)
            if value is not None:
                times.append((i, value - T0))
        elif before is not None and name not in changed:
            values.append(before.values[i])
        else:
            values.append(codec.const("complaint", name, value))
    return Snapshot(tuple(values), tuple(times))


def _history(rng: random.Random, gi: int, group: Group, codec: Codec) -> History:
    """One complaint of `group` walked through its whole lifecycle (the code the original
    per-complaint generator ran), kept event by event."""
    pack = group.pack
    body = intake_body(rng, group)
    if body["category"] in ("attitude", "store_attitude") and rng.random() < 0.5:
        body["staff_complained_id"] = group.clerk.id
    body["site_id"] = int(SITE)
    body["subject"]["order_no"] = ORDER
    data = ComplaintCreate.model_validate(body)
    receiver = rng.choice(_lowest(group, "receive", None))
    initial = lifecycle.open_complaint(
        pack, level=data.level, text=f"{data.title}\n{data.description}"
    )
    row: dict[str, Any] = {
        "id": int(CID),
        "number": None,
        "org_id": group.id,
        "site_id": int(SITE),
        "policy_version_id": group.policy_version_id,
        "channel": data.channel,
        "complainant_id": int(PERSON),
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
        "received_at": T0,
        "acknowledged_at": None,
        "first_contact_at": None,
        "resolved_at": None,
        "closed_at": None,
        "followed_up_at": None,
        "updated_at": T0,
        "version": 0,
        "next_due_at": None,
        "deadline_provisional": False,
        **initial,
    }
    payload = data.model_dump(mode="json", exclude={"complainant"})
    payload["complainant_id"] = int(PERSON)
    payload["level"] = row["level"]
    events: list[Event] = []
    rows: list[Snapshot] = []
    close_seq = 0

    def record(actor, command: str, payload: dict[str, Any], at: datetime, changed=()):
        nonlocal close_seq
        seq = len(events) + 1
        events.append(_event(codec, group, actor, command, _jsonable(payload), at, seq))
        row["version"] += 1
        row["updated_at"] = at
        changed = {*changed, "version", "solution_amount"}
        rows.append(_snapshot(codec, row, rows[-1] if rows else None, changed))
        if command == "close" and not close_seq:
            close_seq = seq

    clocks = Clocks(group, row)
    clocks.step(receiver.actor(), "receive", payload, 1)
    record(receiver.actor(), "receive", payload, T0)
    people: dict[str, Person] = {"receiver": receiver}
    request = rng.random() < 0.08
    at = T0
    stuck = None
    for _ in range(40):
        step = _next_step(rng, group, row, people, request)
        if step is None:
            break
        command, who, raw = step
        if who is None:
            stuck = pack.key + ":" + command
            break
        at += timedelta(minutes=rng.randint(10, 480))
        parsed = COMMANDS[command].model_validate(raw)
        handler = people.get("handler")
        assignee = handler if handler and handler.id == row["assignee_id"] else None
        case = _case(group, row, assignee)
        try:
            change = lifecycle.decide(pack, case, who.actor(), command, parsed, at)
        except KesuError as exc:
            stuck = f"{pack.key}:{command}:{exc.key}"
            break
        _apply(row, change.fields)
        clocks.step(who.actor(), command, change.event, len(events) + 1)
        record(who.actor(), command, change.event, at, change.fields)
    subject = Holes.of(codec.const("complaint", "subject", row["subject"]))
    timers = tuple(_timer_spec(codec, t) for t in clocks.timers)
    return History(gi, tuple(events), tuple(rows), subject, timers, close_seq, stuck)


def _timer_spec(codec: Codec, t: dict[str, Any]) -> TimerSpec:
    within = t["within"]
    unit, amount = within.unit, within.amount
    head = (t["key"], codec.int(t["round"]), t["level"], unit, codec.int(amount))
    return TimerSpec(
        start_seq=t["start_seq"],
        end_seq=t["end_seq"],
        end=t["end"],
        head=tuple(codec.const("sla_timer", "key", v) if isinstance(v, str) else v for v in head),
        tail=(codec.const("sla_timer", "pauses", []), codec.const("sla_timer", "extensions", [])),
        within=within,
        unit=unit,
        amount=amount,
        day_based=unit in _DAY_UNITS,
        not_before=t["not_before"],
        warn_percent=t["warn_percent"],
    )


def _histories(job) -> list[History]:
    """Some histories of one organisation (in a worker process)."""
    seed, gi, chunk, count = job
    rng = random.Random(seed * 1_000_003 + gi * 10_007 + chunk + 1)
    group = _WORK["groups"][gi]
    return [_history(rng, gi, group, _WORK["codec"]) for _ in range(count)]


# --- stamping a history on a complaint --------------------------------------------------------

_DAY_UNITS = frozenset({"working_days", "calendar_days"})


class Deadlines:
    """Due and opening times on a pack's working calendar. Day-based periods depend only on
    the local day a timer starts, so those are worked out once per day."""

    def __init__(self, pack: Pack) -> None:
        self.cal = sla_rules.calendar(pack)
        self.tz = ZoneInfo(pack.timezone)
        self.memo: dict[Any, tuple[datetime, bool]] = {}

    def due(self, start: datetime, spec: TimerSpec) -> tuple[datetime, bool]:
        if not spec.day_based:
            d = sla_rules.due_at(self.cal, start, spec.within)
            return d.at, d.provisional
        key = (start.astimezone(self.tz).date(), spec.unit, spec.amount)
        if (found := self.memo.get(key)) is None:
            d = sla_rules.due_at(self.cal, start, spec.within)
            found = self.memo[key] = (d.at, d.provisional)
        return found

    def opens(self, start: datetime, not_before) -> tuple[datetime, bool]:
        if not_before.unit not in _DAY_UNITS:
            d = sla_rules.opens_at(self.cal, start, not_before)
            return d.at, d.provisional
        key = ("opens", start.astimezone(self.tz).date(), not_before.unit, not_before.amount)
        if (found := self.memo.get(key)) is None:
            d = sla_rules.opens_at(self.cal, start, not_before)
            found = self.memo[key] = (d.at, d.provisional)
        return found


def _stamp(
    rng: random.Random,
    h: History,
    group: Group,
    deadlines: Deadlines,
    received: datetime,
    number: str,
    cid: int,
    pid: int,
    now: datetime,
    codec: Codec,
    tails: dict[str, tuple[Any, ...]],
    out: dict[str, list[Any]],
) -> tuple[str, str | None]:
    """One complaint from a history: its rows appended to `out`; returns its state (and the
    step no one could take, if it stopped there)."""
    events = h.events
    age_days = (now - received).total_seconds() / 86400
    kept = len(events)
    if rng.random() < _open_probability(age_days):
        # an open complaint stops somewhere along its way, before being closed
        kept = min(kept, 1 + rng.randint(0, 9))
        if h.close_seq:
            kept = min(kept, h.close_seq - 1)
    while kept > 1 and received + events[kept - 1].off >= now:  # nothing after the data ends
        kept -= 1
    phone = _phone(rng)
    site = rng.choice(group.sites)
    cid_text = str(cid)
    holes = {
        CID: cid_text,
        SITE: str(site),
        PERSON: str(pid),
        ORDER: f"SO{rng.randint(100000, 999999)}",
    }
    pg, at_ = codec.pg, codec.at
    complaint_id = cid_text if pg else cid
    out["complainant"].append(
        codec.row(
            (
                codec.int(pid),
                codec.int(group.id),
                codec.const("complainant", "name", _name(rng)),
                # sealed as the model's SealedText seals it (base64: nothing to escape)
                keys().seal(complaint_service.normalise_phone(phone), "complainant.phone"),
                codec.null,
                codec.null,
                codec.null,
                at_(received),
                codec.const("complainant", "phone_hash", complaint_service.phone_digest(phone)),
                *tails["complainant"],
            )
        )
    )

    # events: the chain over this complaint's own id and times
    pv = codec.int(group.policy_version_id)
    staff = codec.const("complaint_event", "actor_kind", "staff")
    tail = tails["complaint_event"]
    rows, row = out["complaint_event"], codec.row
    prev = GENESIS
    sha = hashlib.sha256
    for seq in range(1, kept + 1):
        ev = events[seq - 1]
        moment = (received + ev.off).isoformat(" ", "microseconds")  # …+00:00
        iso = moment[:10] + "T" + moment[11:]
        parts = ev.hashed.parts
        if len(parts) == 3:  # at, complaint_id
            body = parts[0] + iso + parts[1] + cid_text + parts[2]
        else:
            holes[AT] = iso
            body = ev.hashed.fill(holes)
        digest = sha((prev + body).encode()).hexdigest()
        payload = ev.payload
        rows.append(
            row(
                (
                    complaint_id,
                    ev.seq,
                    ev.command,
                    staff,
                    ev.actor_id,
                    ev.actor_label,
                    moment if pg else moment[:26],
                    payload.parts[0] if len(payload.parts) == 1 else payload.fill(holes),
                    pv,
                    prev,
                    digest,
                    *tail,
                )
            )
        )
        prev = digest

    # timers: due on the calendar from their real start; as the worker leaves them at `now`
    # (a running timer past due breached at its due time, warnings given while it ran)
    tail = tails["sla_timer"]
    rows = out["sla_timer"]
    next_due, provisional_due = None, False
    for t in h.timers:
        if t.start_seq > kept:
            continue
        started = received + events[t.start_seq - 1].off
        due, provisional = deadlines.due(started, t)
        opens = None
        if t.not_before is not None:
            opens, unsure = deadlines.opens(started, t.not_before)
            provisional = provisional or unsure
        warn = opens or sla_rules.warn_at(started, due, t.warn_percent)
        if 0 < t.end_seq <= kept:
            state, ended = t.end, received + events[t.end_seq - 1].off
            breached, until = None, ended
        else:
            state, ended = "running", None
            breached, until = (due if due <= now else None), now
            if next_due is None or due < next_due:
                next_due = due
            provisional_due = provisional_due or provisional
        rows.append(
            row(
                (
                    complaint_id,
                    *t.head,
                    state,
                    at_(started),
                    at_(due),
                    at_(opens),
                    at_(warn),
                    at_(warn if warn is not None and warn <= until else None),
                    at_(breached),
                    at_(ended if state == "met" else None),
                    at_(ended if state == "cancelled" else None),
                    codec.true if provisional else codec.false,
                    *t.tail,
                    *tail,
                )
            )
        )

    snap = h.rows[kept - 1]
    values = list(snap.values)
    for i, off in snap.times:
        values[i] = at_(received + off)
    values[_C["id"]] = complaint_id
    values[_C["number"]] = codec.const("complaint", "number", number)
    values[_C["site_id"]] = holes[SITE] if pg else site
    values[_C["complainant_id"]] = holes[PERSON] if pg else pid
    values[_C["subject"]] = h.subject.fill(holes)
    values[_C["next_due_at"]] = at_(next_due)
    values[_C["deadline_provisional"]] = codec.true if provisional_due else codec.false
    out["complaint"].append(row((*values, *tails["complaint"])))
    return snap.values[_C["state"]], (h.stuck if kept == len(events) else None)


# --- loading ----------------------------------------------------------------------------------


class SQLiteLoad:
    """Rows in through the sqlite3 driver. During the load: the journal off and no syncs (an
    interrupted load leaves a broken file; the run starts again from scratch), the loaded
    tables' secondary indexes dropped, and the AFTER INSERT triggers that copy a new row into
    another table (the full-text indexes of the case library and of the search) dropped.
    Afterwards each such trigger's statement runs once over every row (`FROM complaint AS
    new`: the same expressions on the same rows), and triggers and indexes are created again
    from their own SQL; then ANALYZE."""

    def __init__(self, engine: Engine, layouts: dict[str, Layout]) -> None:
        self.layouts = layouts
        self.conn = sqlite3.connect(make_url(str(engine.url)).database, isolation_level=None)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "cache_size=-1000000",
            "temp_store=MEMORY",
            "locking_mode=EXCLUSIVE",
            "threads=2",  # sorting for CREATE INDEX
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.sql = {
            name: f"INSERT INTO {name} ({', '.join(_quote(c) for c in lay.columns)}) "
            f"VALUES ({', '.join('?' for _ in lay.columns)})"
            for name, lay in layouts.items()
        }
        marks = ", ".join("?" for _ in layouts)
        self.indexes = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks})",
            tuple(layouts),
        ).fetchall()
        self.triggers = []
        for name, table, sql in self.conn.execute(
            f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
            f" AND tbl_name IN ({marks})",
            tuple(layouts),
        ).fetchall():
            if bulk := _sqlite_bulk(table, sql):
                self.triggers.append((name, sql, bulk))
        self.conn.execute("BEGIN")
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        for name, _, _ in self.triggers:
            self.conn.execute(f'DROP TRIGGER "{name}"')
        self.conn.execute("COMMIT")
        self.timings: dict[str, float] = {}

    def write(self, batch: dict[str, list[Any]]) -> None:
        self.conn.execute("BEGIN")
        for name in COLUMNS:
            if batch[name]:
                self.conn.executemany(self.sql[name], batch[name])
        self.conn.execute("COMMIT")

    def finish(self, counters: list[tuple[int, str, int]]) -> None:
        conn, t = self.conn, time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO number_counter (org_id, period, last_value) VALUES (?, ?, ?)", counters
        )
        for _, sql, bulk in self.triggers:
            conn.execute(bulk)
            conn.execute(sql)
        conn.execute("COMMIT")
        self.timings["derived"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        conn.execute("BEGIN")
        for _, sql in self.indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        self.timings["indexes"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        conn.execute("ANALYZE")
        self.timings["analyze"] = round(time.perf_counter() - t, 1)
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()


_SQLITE_TRIGGER = re.compile(
    r"CREATE TRIGGER \S+ AFTER INSERT ON (?P<table>\w+)(?: WHEN (?P<when>.+?))?"
    r" BEGIN (?P<insert>INSERT INTO [^;]+?) VALUES \((?P<values>[^;]+)\); END",
    re.S | re.I,
)


def _sqlite_bulk(table: str, sql: str) -> str | None:
    """An AFTER INSERT trigger of one `INSERT … VALUES (… new.x …)` as one statement over
    every row of its table (None: any other trigger, which stays and fires)."""
    m = _SQLITE_TRIGGER.fullmatch(sql.strip())
    if m is None or m["table"] != table:
        return None
    where = f" WHERE {m['when']}" if m["when"] else ""
    return f"{m['insert']} SELECT {m['values']} FROM {table} AS new{where}"


_PG_TRIGGER = re.compile(
    r"\s*BEGIN\s+(?:IF TG_OP = 'UPDATE' THEN [^;]+; END IF;\s*)?"
    r"(?:IF (?P<when>[^;]+?) THEN\s+)?"
    r"(?P<insert>INSERT INTO \w+ \([^)]*\))\s+VALUES \((?P<values>[^;]+?)\)"
    r"(?:\s+ON CONFLICT [^;]+)?;\s*(?:END IF;\s*)?RETURN NULL;\s*END\s*",
    re.S | re.I,
)


def _pg_bulk(table: str, source: str) -> tuple[str, str] | None:
    """A PL/pgSQL row trigger that inserts one row from NEW (and, on UPDATE, deletes the old
    one first) as one statement over every row of its table: (statement, its WHERE clause
    without the word, "TRUE" when none); None for anything else."""
    m = _PG_TRIGGER.fullmatch(source)
    if m is None:
        return None
    return f"{m['insert']} SELECT {m['values']} FROM {table} AS new", m["when"] or "TRUE"


SESSIONS = 2
"""PostgreSQL sessions building the derived tables, indexes and statistics at once."""


class PostgresLoad:
    """Rows in through `COPY`, the loaded tables' (and the derived tables') secondary indexes
    dropped during the load and built afterwards from their own definitions. When every
    INSERT trigger on the loaded tables is one this can run as a single statement (the case
    library's and the search's, which copy a new complaint's text into their tables), the
    load's session runs with `session_replication_role = replica` (no triggers, no
    foreign-key checks: the rows are consistent by construction) and each trigger's statement
    runs over all rows afterwards; otherwise the triggers fire row by row. The work after the
    load (derived rows by id range, indexes, VACUUM ANALYZE per table) is shared among
    `SESSIONS` sessions."""

    def __init__(self, engine: Engine, layouts: dict[str, Layout]) -> None:
        import psycopg

        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(self.dsn)
        self.layouts = layouts
        self.timings = {}
        self.copy = {
            name: f"COPY {name} ({', '.join(_quote(c) for c in lay.columns)}) FROM STDIN"
            for name, lay in layouts.items()
        }
        tables = list(layouts)
        with self.conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute(
                "SELECT c.relname, p.prosrc FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"
                " AND t.tgtype & 4 <> 0 AND c.relname = ANY(%s)",
                (tables,),
            )
            triggers = cur.fetchall()
            bulk = [_pg_bulk(table, source) for table, source in triggers]
            # (statement, condition, the table whose rows it reads)
            self.derived = [(*b, table) for b, (table, _) in zip(bulk, triggers, strict=True) if b]
            self.replica = False
            if all(bulk):
                cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                self.replica = bool(cur.fetchone()[0])
            if not self.replica:
                self.derived = []
            derived = [re.match(r"INSERT INTO (\w+)", b)[1] for b, _, _ in self.derived]
            cur.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.relname"
                " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
                " WHERE c.relname = ANY(%s) AND NOT EXISTS"
                " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
                (tables + derived,),
            )
            self.indexes = cur.fetchall()
            for name, _, _ in self.indexes:
                cur.execute(f"DROP INDEX {name}")
            if self.replica:
                cur.execute("SET session_replication_role = replica")
        self.conn.commit()

    def write(self, batch: dict[str, str]) -> None:
        with self.conn.cursor() as cur:
            for name in COLUMNS:
                if batch[name]:
                    with cur.copy(self.copy[name]) as copy:
                        copy.write(batch[name])
        self.conn.commit()

    def finish(self, counters: list[tuple[int, str, int]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO number_counter (org_id, period, last_value) VALUES (%s, %s, %s)",
                counters,
            )
            for table in ("complainant", "complaint"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            ids = {}  # the id range of each table a trigger reads (complaints, events)
            for table in {table for _, _, table in self.derived}:
                cur.execute(f"SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM {table}")
                ids[table] = cur.fetchone()
            cur.execute(
                "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r'"
                " AND c.relnamespace = 'public'::regnamespace ORDER BY pg_relation_size(c.oid) DESC"
            )
            tables = [name for (name,) in cur.fetchall()]
        self.conn.commit()
        self.conn.close()
        t = time.perf_counter()
        self._concurrently(
            [
                f"{statement} WHERE ({where}) AND new.id BETWEEN {lo} AND {lo + step - 1}"
                for statement, where, table in self.derived
                for low, high in [ids[table]]
                for step in [(high - low) // SESSIONS + 1]
                for lo in range(low, high + 1, step)
            ],
            replica=True,
        )
        self.timings["derived"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        order = {name: i for i, name in enumerate(tables)}
        self._concurrently([d for _, d, table in sorted(self.indexes, key=lambda x: order[x[2]])])
        self.timings["indexes"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        # autovacuum would vacuum and analyse the freshly loaded tables during the benchmark
        self._concurrently([f'VACUUM ANALYZE "{name}"' for name in tables])
        self.timings["analyze"] = round(time.perf_counter() - t, 1)

    def _concurrently(self, statements: list[str], replica: bool = False) -> None:
        """Run independent statements on `SESSIONS` sessions at once, in the given order."""
        import queue
        import threading

        import psycopg

        todo: queue.Queue[str] = queue.Queue()
        for statement in statements:
            todo.put(statement)
        errors: list[BaseException] = []

        def session() -> None:
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute("SET maintenance_work_mem = '512MB'")
                    if replica and self.replica:
                        conn.execute("SET session_replication_role = replica")
                    while not errors:
                        try:
                            statement = todo.get_nowait()
                        except queue.Empty:
                            return
                        conn.execute(statement)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=session) for _ in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]


def _quote(column: str) -> str:
    return f'"{column}"'


# --- the run ----------------------------------------------------------------------------------


def generate(
    url: str,
    rows: int,
    *,
    seed: int = 7,
    now: datetime | None = None,
    workers: int = os.cpu_count() or 1,
) -> Summary:
    """Reset the database at `url` and fill it with `rows` complaints spread over a year.

    `workers` processes replay the histories, then build the rows (each chunk from its own
    seeded generator, so the data does not depend on how many) while this one inserts them.
    Run with `ENV` in the environment (as `python -m bench` does).
    """
    started, cpu = time.perf_counter(), time.process_time()
    now = now or _now()
    _memoise_official_calendar()
    reset(url)
    engine = make_engine(url)
    prepare(engine)
    groups = build_groups(engine, now)
    codec = Codec(engine.dialect.name)
    layouts = {name: Layout.of(engine, name, codec) for name in COLUMNS}
    with engine.connect() as conn:
        first = {
            name: (conn.scalar(text(f"SELECT max(id) FROM {name}")) or 0) + 1
            for name in ("complainant", "complaint")
        }
    plan, counters = _plan(random.Random(seed), groups, rows, now)
    _WORK.update(groups=groups, now=now, codec=codec, layouts=layouts)
    timings: dict[str, float] = {}

    per_group = Counter(gi for gi, _, _ in plan)
    hjobs = []
    for gi, n in sorted(per_group.items()):
        wanted = min(n, max(MIN_HISTORIES, n // STAMPS_PER_HISTORY))
        for chunk, lo in enumerate(range(0, wanted, 100)):
            hjobs.append((seed, gi, chunk, min(100, wanted - lo)))
    t = time.perf_counter()
    histories: list[list[History]] = [[] for _ in groups]
    for done in _map(workers, _histories, hjobs):
        for h in done:
            histories[h.group].append(h)
    _WORK["histories"] = histories
    timings["histories"] = round(time.perf_counter() - t, 1)

    jobs = [
        (seed, i, plan[i : i + BATCH], first["complaint"] + i, first["complainant"] + i)
        for i in range(0, rows, BATCH)
    ]
    engine.dispose()
    load = (PostgresLoad if codec.pg else SQLiteLoad)(engine, layouts)
    stats: Counter[str] = Counter()
    stuck: Counter[str] = Counter()
    t = time.perf_counter()
    waited, waited_cpu, rows_cpu = 0.0, 0.0, time.process_time()
    for batch, states, stuck_here, counts in _map(workers, _batch, jobs):
        stuck.update(stuck_here)
        stats.update(states)
        stats.update(counts)
        w, c = time.perf_counter(), time.process_time()
        load.write(batch)
        waited += time.perf_counter() - w
        waited_cpu += time.process_time() - c
    timings["rows"] = round(time.perf_counter() - t, 1)
    timings["rows_cpu_this_process"] = round(time.process_time() - rows_cpu, 1)
    timings["inserting"] = round(waited, 1)
    timings["inserting_cpu"] = round(waited_cpu, 1)
    t, c = time.perf_counter(), time.process_time()
    load.finish([(o, p, n) for (o, p), n in counters.items()])
    timings.update(load.timings)
    timings["finish"] = round(time.perf_counter() - t, 1)
    timings["finish_cpu_this_process"] = round(time.process_time() - c, 1)
    events, timers = stats.pop("events", 0), stats.pop("timers", 0)
    timings["rows_cpu_workers"] = round(stats.pop("cpu_ms", 0) / 1000, 1)
    timings["cpu_this_process"] = round(time.process_time() - cpu, 1)
    return Summary(
        url=make_url(url).render_as_string(hide_password=True),
        rows=rows,
        events=events,
        open=sum(n for s, n in stats.items() if s != "closed"),
        seconds=round(time.perf_counter() - started, 1),
        groups=[
            {
                "id": g.id,
                "pack": g.pack.key,
                "sites": len(g.sites),
                "staff": _staff_count(g),
                "histories": len(histories[i]),
            }
            for i, g in enumerate(groups)
        ],
        by_state=dict(sorted(stats.items())),
        timers=timers,
        stuck=dict(stuck.most_common()),
        until=now.isoformat(),
        timings=timings,
    )


def _map(workers: int, fn, jobs):
    """`fn` over `jobs` in order, in `workers` forked processes (0: in this one, to profile)."""
    if workers <= 0:
        yield from map(fn, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(fn, jobs)


_WORK: dict[str, Any] = {}
"""What the forked workers share: groups, histories, the end of the data (`now`), codec."""


def _plan(
    rng: random.Random, groups: list[Group], rows: int, now: datetime
) -> tuple[list[tuple[int, datetime, str]], Counter[tuple[int, str]]]:
    """Each complaint's group, time and number: drawn in time order, like a real counter."""
    times = sorted(now - timedelta(seconds=rng.uniform(60, 365 * 86400)) for _ in range(rows))
    counters: Counter[tuple[int, str]] = Counter()
    plan = []
    zones = {gi: ZoneInfo(g.pack.timezone) for gi, g in enumerate(groups)}
    for received in times:
        # one national chain holds half the history; the other packs' groups share the rest
        gi = 0 if rng.random() < 0.5 else rng.randrange(len(groups))
        pack = groups[gi].pack
        day = received.astimezone(zones[gi]).date()
        period = period_key(pack.numbering.reset, day)
        counters[(groups[gi].id, period)] += 1
        number = format_number(pack.numbering.pattern, day, counters[(groups[gi].id, period)])
        plan.append((gi, received, number))
    return plan, counters


def _batch(job):
    """Build one batch of rows (in a worker process)."""
    seed, index, plan, complaint_id, complainant_id = job
    cpu = time.process_time()
    rng = random.Random(seed * 1_000_003 + index)
    groups, now, codec = _WORK["groups"], _WORK["now"], _WORK["codec"]
    histories = _WORK["histories"]
    tails = {name: lay.tail for name, lay in _WORK["layouts"].items()}
    deadlines = _WORK.setdefault("deadlines", {})
    out: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    states: Counter[str] = Counter()
    stuck: Counter[str] = Counter()
    for k, (gi, received, number) in enumerate(plan):
        pool = histories[gi]
        h = pool[rng.randrange(len(pool))]
        if gi not in deadlines:
            deadlines[gi] = Deadlines(groups[gi].pack)
        state, stuck_at = _stamp(
            rng,
            h,
            groups[gi],
            deadlines[gi],
            received,
            number,
            complaint_id + k,
            complainant_id + k,
            now,
            codec,
            tails,
            out,
        )
        states[state] += 1
        if stuck_at:
            stuck[stuck_at] += 1
    counts = Counter(events=len(out["complaint_event"]), timers=len(out["sla_timer"]))
    counts["cpu_ms"] = round((time.process_time() - cpu) * 1000)
    if codec.pg:
        return (
            {n: "".join(r + "\n" for r in rows) for n, rows in out.items()},
            states,
            stuck,
            counts,
        )
    return out, states, stuck, counts


def _staff_count(group: Group) -> int:
    return sum(len(v) for v in group.staff.values()) + 1
