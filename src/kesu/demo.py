"""Demo data for the one-command start: an organisation under the franchise-sales-center pack
(seed 002), staff for every role, and realistic complaints driven through the real lifecycle
in time order, with the worker's sweep between (so every timeline, breach and hash chain is
genuine). Idempotent: a second run adds nothing."""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import FrozenClock, SystemClock
from kesu.complaint import service as complaint_service
from kesu.complaint.schemas import ComplainantIn, ComplaintCreate, SubjectIn
from kesu.db.session import transaction
from kesu.errors import KesuError
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.sla.models import Timer
from kesu.sla.sweep import sweep

PASSWORD = "kesu-demo-2026"
GROUP_CODE = "HX"

SITES = [
    (
        "EAST",
        "华东大区",
        [("SH-NJ", "上海南京路店"), ("HZ-XH", "杭州西湖店"), ("NJ-XJ", "南京新街口店")],
    ),
    ("SOUTH", "华南大区", [("GZ-TH", "广州天河店"), ("SZ-FT", "深圳福田店")]),
]
DEPARTMENTS = [("CS", "综合服务部"), ("LOG", "物流部"), ("QA", "质量管理部")]
STAFF = [
    ("receiver1", "王晓丽", "receiver", "CS"),
    ("receiver2", "李明", "receiver", "CS"),
    ("receiver3", "陈静", "receiver", "LOG"),
    ("supervisor", "张伟", "supervisor", "CS"),
    ("supervisor2", "刘洋", "supervisor", "LOG"),
    ("director", "赵总监", "director", "CS"),
    ("admincenter", "孙主任", "admin_center", None),
    ("archivist", "周文员", "archivist", "CS"),
    ("admin", "系统管理员", "admin", None),
    ("clerk", "吴店员", "receiver", "CS"),  # a store clerk: complained about in some cases
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
]
PRODUCTS = [
    ("北欧布艺沙发", "SF-2031"),
    ("实木餐桌", "DT-1180"),
    ("记忆棉床垫", "MT-0960"),
    ("儿童书桌", "KD-0412"),
    ("电动升降桌", "ED-7730"),
    ("真皮办公椅", "OC-5521"),
]
STORIES = [
    (
        "product_quality",
        "L1",
        "沙发使用不到一个月，坐垫出现明显塌陷",
        "要求上门检测并更换坐垫",
        ["repair", "exchange"],
    ),
    (
        "delivery_quality",
        "L1",
        "送货到家后发现桌面有划痕，安装师傅说是出厂问题",
        "要求换货",
        ["exchange"],
    ),
    (
        "delivery_quantity",
        "L1",
        "加盟店本周到货比订单少了6件，影响周末促销",
        "要求尽快补发",
        ["explanation"],
    ),
    (
        "store_attitude",
        "L2",
        "门店店员态度冷淡，询问价格时不耐烦，还说买不起就别看",
        "要求道歉并处理该店员",
        ["apology"],
    ),
    ("repair", "L1", "床垫保修期内出现异响，报修一周无人上门", "要求尽快维修", ["repair"]),
    (
        "regional_cs",
        "L2",
        "向大区客服反映问题三次均无回复，第二次投诉同一件事",
        "要求给出明确处理时间",
        ["explanation"],
    ),
    (
        "policy",
        "L2",
        "新的加盟返利政策看不懂，与招商时承诺的不一致",
        "要求书面解释",
        ["explanation"],
    ),
    ("transport", "L1", "物流延误五天，客户已经多次催问", "要求赔偿运费", ["compensation"]),
    (
        "product_quality",
        "L3",
        "已向12315投诉：同批次餐椅多位顾客反映椅腿断裂",
        "要求全额退款并赔偿",
        ["refund", "compensation"],
    ),
]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def build_org(session: Session, clock) -> dict[str, int]:
    ids: dict[str, int] = {}
    group = org_service.create(
        session,
        clock,
        kind="group",
        code=GROUP_CODE,
        name="华夏家居集团",
        pack_key="franchise-sales-center",
    )
    ids[GROUP_CODE] = group.id
    for code, name in DEPARTMENTS:
        ids[code] = org_service.create(
            session, clock, kind="department", code=code, name=name, parent_id=group.id
        ).id
    for rcode, rname, sites in SITES:
        region = org_service.create(
            session, clock, kind="region", code=rcode, name=rname, parent_id=group.id
        )
        ids[rcode] = region.id
        for scode, sname in sites:
            ids[scode] = org_service.create(
                session, clock, kind="site", code=scode, name=sname, parent_id=region.id
            ).id
    for username, display, role, dept in STAFF:
        access_service.add_user(
            session,
            clock,
            username=username,
            display_name=display,
            role=role,
            org_id=group.id,
            department_id=ids[dept] if dept else None,
            password=PASSWORD,
        )
    return ids


def _users(session: Session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User))}


def _step(session, clock, cid: int, step: tuple[str, str, dict], users) -> bool:
    """Run one scripted command; if a breach's escalation has moved the case to someone else
    meanwhile, the handler of the moment runs it instead. False when neither may: the case
    stays where it is (as a real one waits for whoever now holds it)."""
    username, command, payload = step
    complaint = complaint_service.get(session, cid)
    holder = next((u for u, user in users.items() if user.id == complaint.assignee_id), None)
    for who in dict.fromkeys([username, holder]):
        if who is None:
            continue
        try:
            with session.begin_nested():
                actor = complaint_service.actor_of(users[who])
                version = complaint_service.get(session, cid).version
                complaint_service.execute(session, clock, cid, actor, command, payload, version)
            return True
        except KesuError:
            continue
    return False


def _sweep_until(sessions: sessionmaker[Session], moment: datetime) -> None:
    """What the worker would have done by `moment`: each warning and breach at its own time."""
    running = (Timer.state == "running", Timer.breached_at.is_(None))
    while True:
        with sessions() as session:
            due = session.scalar(select(func.min(Timer.due_at)).where(*running))
            warn = session.scalar(
                select(func.min(Timer.warn_at)).where(*running, Timer.warned_at.is_(None))
            )
        at = min((t for t in (due, warn) if t is not None), default=None)
        if at is None or at > moment:
            return
        with transaction(sessions) as session:
            if not sweep(session, FrozenClock(at)):
                return  # nothing it could take (cannot happen here: nobody else writes)


def _path(level: str, amount: int, dissatisfied: bool) -> list[tuple[str, str, dict]]:
    handler = "receiver1" if level == "L1" else "supervisor"
    reviewer = {"L1": "supervisor", "L2": "director", "L3": "director"}[level]
    steps = [
        ("receiver1", "acknowledge", {"message": "您的投诉已受理，我们将在一个工作日内与您联系。"}),
        ("receiver1", "record_contact", {"reached": True, "summary": "已电话联系客户，了解经过。"}),
        ("receiver1", "classify", {"classification": "valid", "reason": "情况属实，属有效投诉。"}),
        (
            handler,
            "record_investigation",
            {
                "findings": "经核实，问题属实，系出厂质检遗漏及门店跟进不及时所致。",
                "root_causes": ["material", "process"],
                "responsibility": [
                    {"party": "质量管理部", "share": 60},
                    {"party": "门店", "share": 40},
                ],
                "founded": True,
            },
        ),
        (
            handler,
            "propose_solution",
            {
                "solution_type": "compensation",
                "amount": amount,
                "description": "上门更换并补偿代金券。",
            },
        ),
    ]
    if amount > (200 if handler == "receiver1" else 2000):
        steps.append(("director", "approve_solution", {"comment": "同意。"}))
    steps.append((handler, "implement", {"notes": "已上门处理完毕。"}))
    if dissatisfied:
        steps.append((handler, "record_response", {"satisfaction": 4, "comment": "还是不满意"}))
        return steps
    steps.append((handler, "record_response", {"satisfaction": 2, "comment": "满意"}))
    steps.append((reviewer, "sign_off", {"opinion": "处理得当，同意结案。"}))
    if level == "L3":
        steps.append(("admincenter", "sign_off", {"opinion": "同意。"}))
    steps.append(("archivist", "close", {"summary": "资料齐全，归档。"}))
    steps.append(
        ("receiver1", "follow_up", {"result": "回访客户，对处理结果满意。", "satisfaction": 1})
    )
    return steps


def load(
    sessions: sessionmaker[Session],
    *,
    complaints: int = 300,
    seed: int = 7,
    now: datetime | None = None,
) -> str:
    """Complaints received over the 90 days before `now`, each taken along its path a few
    minutes to hours a step. Every step of every complaint runs in time order, with the
    worker's sweep run up to its moment first, so a deadline missed on the way is breached when
    it fell due (its penalty, escalation and messages then), as in a real history, and nothing
    is left overdue for the first sweep after loading. Steps that would fall after `now` have
    not happened yet."""
    with transaction(sessions) as session:
        if session.scalar(select(Organisation.id).where(Organisation.code == GROUP_CODE)):
            return "demo data already loaded (nothing added)"
        ids = build_org(session, SystemClock())
        clerk = _users(session)["clerk"].id
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    site_codes = [s for _, _, sites in SITES for s, _ in sites]
    queue: list[tuple[datetime, int, tuple]] = []
    for n in range(complaints):
        received = now - timedelta(days=rng.uniform(0, 90), minutes=rng.randint(0, 600))
        category, level, text, demand_text, demands = rng.choice(STORIES)
        product, sku = rng.choice(PRODUCTS)
        data = ComplaintCreate(
            site_id=ids[rng.choice(site_codes)],
            channel=rng.choice(["phone", "phone", "onsite", "wechat", "web", "letter", "sms"]),
            complainant=ComplainantIn(name=_name(rng), phone=_phone(rng)),
            complainant_type=rng.choice(["consumer", "consumer", "consumer", "franchisee"]),
            title=f"{product}：{text[:18]}",
            description=f"{text}。{demand_text}。",
            demands=demands,
            category=category,
            level=level,
            subject=SubjectIn(
                product=product, sku=sku, order_no=f"SO{rng.randint(100000, 999999)}"
            ),
            staff_complained_id=clerk if category == "store_attitude" else None,
            department_id=ids["CS"],
        )
        receiver = rng.choice(["receiver1", "receiver2"])
        # how far along: older complaints are further; some stay open
        path = _path(level, rng.choice([0, 100, 150, 500, 3000]), rng.random() < 0.08)
        depth = len(path) if (now - received).days > 14 else rng.randint(0, len(path))
        first = timedelta(minutes=rng.randint(5, 120))
        heapq.heappush(queue, (received, n, ("receive", data, receiver, path[:depth], first)))
    made = 0
    while queue:
        at, n, item = heapq.heappop(queue)
        if at > now:
            continue  # not happened yet
        _sweep_until(sessions, at)
        clock = FrozenClock(at)
        with transaction(sessions) as session:
            users = _users(session)
            if item[0] == "receive":
                _, data, receiver, steps, wait = item
                actor = complaint_service.actor_of(users[receiver])
                cid = complaint_service.receive(session, clock, actor, data).id
                made += 1
            else:
                _, cid, steps = item
                if not _step(session, clock, cid, steps[0], users):
                    continue
                steps = steps[1:]
                wait = timedelta(minutes=random.Random(cid).randint(20, 600))
        if steps:
            heapq.heappush(queue, (at + wait, n, ("step", cid, steps)))
    _sweep_until(sessions, now)
    return (
        f"demo loaded: {made} complaints; staff password {PASSWORD!r} (users: "
        + ", ".join(u for u, *_ in STAFF)
        + ")"
    )
