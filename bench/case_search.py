"""Case-library search over many closed cases, indexed vs. a plain scan, on SQLite and
PostgreSQL. Prints a table; records nothing.

    .venv/bin/python bench/case_search.py --cases 100000 [--postgres URL]

It builds a fresh database (a temporary SQLite file; a throwaway PostgreSQL database), inserts
closed complaints in bulk (the triggers fill `caselib_fts`), then times each query five times
and prints the median: the library's search (kesu.caselib.queries._matching) and, for
comparison, a LIKE over the complaint table's description.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from kesu.caselib.queries import _matching
from kesu.clock import SystemClock
from kesu.complaint.models import Complainant, Complaint
from kesu.db import migrate
from kesu.db.session import make_engine, make_sessionmaker, reading, transaction
from kesu.org.models import Organisation
from kesu.policy import loader
from kesu.policy import service as policy_service

WORDS = [
    "沙发",
    "坐垫",
    "塌陷",
    "餐桌",
    "划痕",
    "送货",
    "延误",
    "床垫",
    "异响",
    "店员",
    "态度",
    "冷淡",
    "维修",
    "无人",
    "上门",
    "退款",
    "质量",
    "问题",
    "安装",
    "师傅",
    "少件",
    "补发",
]
QUERIES = ["沙发", "坐垫塌陷", "师傅上门安装", "不存在的说法"]


def _text(rng: random.Random) -> str:
    return "，".join("".join(rng.sample(WORDS, 3)) for _ in range(5)) + "。"


def build(url: str, cases: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    rng = random.Random(1)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with transaction(sessions) as s:
        pv = policy_service.register(
            s, SystemClock(), loader.builtin_source("default"), "default"
        ).id
        group = Organisation(
            kind="group",
            code="B",
            name="bench",
            pack_key="default",
            timezone="Asia/Shanghai",
            created_at=now,
        )
        s.add(group)
        s.flush()
        s.execute(
            insert(Complainant.__table__), [{"org_id": group.id, "name": "x", "created_at": now}]
        )
        person = s.scalar(select(Complainant.id))
    for start in range(0, cases, 10_000):
        rows = []
        for i in range(start, min(cases, start + 10_000)):
            at = now + timedelta(minutes=i)
            rows.append(
                dict(
                    number=f"B{i:07d}",
                    org_id=group.id,
                    site_id=group.id,
                    policy_version_id=pv,
                    channel="phone",
                    complainant_id=person,
                    complainant_type="consumer",
                    subject={},
                    title=_text(rng)[:20],
                    description=_text(rng),
                    demands=[],
                    level="L1",
                    urgent_keywords=[],
                    state="closed",
                    current_tier="T1",
                    review_step=0,
                    round=1,
                    gm_agenda=False,
                    unreachable_attempts=0,
                    received_at=at,
                    closed_at=at,
                    updated_at=at,
                    version=1,
                    imported=False,
                    investigation={"findings": _text(rng)},
                    solution=None,
                )
            )
        with transaction(sessions) as s:
            s.execute(insert(Complaint.__table__), rows)
    engine.dispose()


def measure(url: str) -> list[tuple[str, float, float, int]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out = []
    for q in QUERIES:
        words = q.split()
        with reading(sessions) as s:

            def library(s=s, words=words):
                return s.scalar(select(func.count()).select_from(_matching(s, words).subquery()))

            def scan(s=s, q=q):
                return s.scalar(
                    select(func.count()).where(
                        Complaint.state == "closed", Complaint.description.like(f"%{q}%")
                    )
                )

            found = library()
            timings = []
            for fn in (library, scan):
                runs = []
                for _ in range(5):
                    t = time.perf_counter()
                    fn()
                    runs.append(time.perf_counter() - t)
                timings.append(statistics.median(runs) * 1000)
        out.append((q, timings[0], timings[1], found))
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create a database")
    args = parser.parse_args()
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("sqlite", f"sqlite:///{tmp}/bench.db"))
        admin = None
        if args.postgres:
            name = f"kesu_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            targets.append(("postgresql", url))
        try:
            for label, url in targets:
                t = time.perf_counter()
                build(url, args.cases)
                print(
                    f"{label}: {args.cases} closed cases built in {time.perf_counter() - t:.0f} s"
                )
                print(f"{'query':<14}{'library ms':>12}{'LIKE scan ms':>14}{'found':>9}")
                for q, lib, scan, found in measure(url):
                    print(f"{q:<14}{lib:>12.1f}{scan:>14.1f}{found:>9}")
        finally:
            if admin is not None:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
