"""What the load asks Kesu, its peer and the ceiling: bodies, paths, tokens and deep cursors."""

from __future__ import annotations

import importlib.util
import json
import random
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine, func, select

from bench import data
from bench.load import Request
from kesu.access import service as access_service
from kesu.access.models import User
from kesu.clock import FrozenClock
from kesu.complaint import queries
from kesu.complaint.models import Complaint
from kesu.db.session import make_sessionmaker, transaction
from kesu.org.models import Organisation
from kesu.policy import service as policy_service

JSON = {"Content-Type": "application/json", "Accept": "application/json"}
VARIANTS = 400
"""Distinct requests per scenario; wrk cycles through them."""

SEARCH_COMMON = "床垫"
"""In about a tenth of the descriptions (the product named in every complaint)."""
SEARCH_NONE = "退货运费险"
"""A term no description holds: the search has to look at every row."""

CASE_WORDS = {"two_chars": "床垫", "five_chars": "记忆棉床垫", "none": SEARCH_NONE}
"""Case-library queries: a two-character word (no trigram), a longer one, one that is nowhere."""


def load_groups(engine: Engine) -> list[data.Group]:
    """The organisations the generator built, read back from the database."""
    groups = []
    with transaction(make_sessionmaker(engine)) as s:
        for g in s.scalars(
            select(Organisation).where(Organisation.kind == "group").order_by(Organisation.id)
        ):
            version = policy_service.current(s, g.pack_key)
            children = list(s.scalars(select(Organisation)))
            regions = {o.id for o in children if o.parent_id == g.id and o.kind == "region"}
            staff: dict[str, list[data.Person]] = {}
            clerk = None
            for u in s.scalars(select(User).where(User.org_id == g.id).order_by(User.id)):
                person = data.Person(u.id, u.role, u.display_name, u.department_id)
                if u.username.endswith("-clerk"):
                    clerk = person
                else:
                    staff.setdefault(u.role, []).append(person)
            pack = policy_service.pack_of(s, version.id)
            groups.append(
                data.Group(
                    id=g.id,
                    pack=pack,
                    policy_version_id=version.id,
                    sites=[o.id for o in children if o.parent_id in regions],
                    departments=[
                        o.id for o in children if o.parent_id == g.id and o.kind == "department"
                    ],
                    staff=staff,
                    clerk=clerk,
                    tier_of={r.key: r.tier for r in pack.roles},
                )
            )
    return groups


def token(engine: Engine, user_id: int, kind: str = "api") -> str:
    """An API token for a user, as `kesu token create` issues it (or a console sign-in's)."""
    with transaction(make_sessionmaker(engine)) as s:
        user = s.get(User, user_id)
        return access_service.issue_token(
            s,
            FrozenClock(data._now()),
            user,
            kind=kind,
            name="bench",
            hours=None if kind == "api" else 12,
        )


def console(engine: Engine, user_id: int) -> dict[str, str]:
    """The console's cookie after signing in (the session token a login sets)."""
    return {"Cookie": f"kesu_session={token(engine, user_id, 'session')}", "Accept": "text/html"}


def bearer(raw: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {raw}"}


def intake_bodies(groups: list[data.Group], n: int = VARIANTS, seed: int = 99) -> list[dict]:
    rng = random.Random(seed)
    return [data.intake_body(rng, groups[i % len(groups)]) for i in range(n)]


def kesu_intake(engine: Engine, groups: list[data.Group]) -> list[Request]:
    """POST /api/v1/complaints by each group's own receiver, bodies from that group's pack."""
    tokens = {}
    for g in groups:
        receiver = data._lowest(g, "receive", None)[0]
        tokens[g.id] = bearer(token(engine, receiver.id))
    out = []
    for i, body in enumerate(intake_bodies(groups)):
        g = groups[i % len(groups)]
        out.append(Request("POST", "/api/v1/complaints", tokens[g.id], json.dumps(body)))
    return out


def ceiling_intake(groups: list[data.Group]) -> list[Request]:
    return [Request("POST", "/complaints", JSON, json.dumps(b)) for b in intake_bodies(groups)]


def peer_intake(headers: dict[str, str], groups: list[data.Group]) -> list[Request]:
    """The same complaints as django-helpdesk tickets (queue 1, priority by level)."""
    out = []
    for i, b in enumerate(intake_bodies(groups)):
        ticket = {
            "queue": 1,
            "title": b["title"],
            "description": b["description"],
            "submitter_email": f"c{i}@example.com",
            "priority": 3,
        }
        out.append(
            Request("POST", "/helpdesk/api/tickets/", {**JSON, **headers}, json.dumps(ticket))
        )
    return out


@dataclass
class Reads:
    """Kesu read scenarios: name -> requests."""

    scenarios: dict[str, list[Request]]
    notes: dict[str, str]


def kesu_reads(engine: Engine, groups: list[data.Group], seed: int = 5) -> Reads:
    rng = random.Random(seed)
    g = groups[0]
    with transaction(make_sessionmaker(engine)) as s:
        # my queue: the handler with the most open complaints
        handler_id, open_count = s.execute(
            select(Complaint.assignee_id, func.count())
            .where(Complaint.org_id == g.id, Complaint.state != "closed")
            .where(Complaint.assignee_id.is_not(None))
            .group_by(Complaint.assignee_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        handler_total = s.scalar(select(func.count()).where(Complaint.assignee_id == handler_id))
        ids = list(s.scalars(select(Complaint.id).where(Complaint.org_id == g.id)))
        channel, matching = s.execute(
            select(Complaint.channel, func.count())
            .where(Complaint.org_id == g.id, Complaint.state == "closed")
            .group_by(Complaint.channel)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        depths = sorted(rng.randint(matching // 4, matching * 3 // 4) for _ in range(40))
        cursors = []
        for depth in depths:
            at, cid = s.execute(
                select(Complaint.received_at, Complaint.id)
                .where(Complaint.org_id == g.id, Complaint.state == "closed")
                .where(Complaint.channel == channel)
                .order_by(Complaint.received_at.desc(), Complaint.id.desc())
                .offset(depth)
                .limit(1)
            ).one()
            cursors.append(queries._encode(at, cid))  # the API's own cursor format
    common, nothing = quote(SEARCH_COMMON), quote(SEARCH_NONE)
    supervisor = data._lowest(g, "assign", None)[0]
    staff = bearer(token(engine, supervisor.id))
    mine = bearer(token(engine, handler_id))
    sample = rng.sample(ids, min(VARIANTS, len(ids)))
    scenarios = {
        "health": [Request("GET", "/api/v1/health", JSON)],
        "queue": [
            Request("GET", f"/api/v1/complaints?assignee_id={handler_id}&open_only=true", mine)
        ],
        "detail": [Request("GET", f"/api/v1/complaints/{i}", staff) for i in sample],
        "list_deep": [
            Request("GET", f"/api/v1/complaints?state=closed&channel={channel}&cursor={c}", staff)
            for c in cursors
        ],
        "search_common": [Request("GET", f"/api/v1/complaints?q={common}", staff)],
        "search_none": [Request("GET", f"/api/v1/complaints?q={nothing}", staff)],
    }
    notes = {
        "health": "the stack's floor: no sign-in, one session, SELECT 1, JSON (vs the ceiling)",
        "queue": f"handler {handler_id}: {open_count} open of {handler_total} assigned",
        "detail": "one complaint with its timeline, random ids of one group",
        "list_deep": f"state=closed&channel={channel}: {matching} rows, pages 25–75 % deep",
        "search_common": f"q={SEARCH_COMMON} (first page of matches)",
        "search_none": f"q={SEARCH_NONE} (matches nothing: every description is read)",
    }
    if importlib.util.find_spec("kesu.caselib") is not None:  # the case library's search
        for name, words in CASE_WORDS.items():
            scenarios[f"cases_{name}"] = [Request("GET", f"/api/v1/cases?q={quote(words)}", staff)]
            notes[f"cases_{name}"] = f"case library: q={words}"
    if hasattr(Complaint, "next_due_at"):  # the console's queues sort by the next deadline
        pages = console(engine, handler_id)
        scenarios["console_queue"] = [Request("GET", "/?queue=mine", pages)]
        notes["console_queue"] = "console page: my queue, next deadline first (HTML)"
        desk = console(engine, supervisor.id)
        scenarios["console_complaint"] = [
            Request("GET", f"/complaints/{i}", desk) for i in sample[:100]
        ]
        notes["console_complaint"] = "console page: one complaint with timeline and timers"
    return Reads(scenarios=scenarios, notes=notes)


def peer_reads(headers: dict[str, str], tickets: int, seed: int = 5) -> dict[str, list[Request]]:
    rng = random.Random(seed)
    h = {**JSON, **headers}
    return {
        "detail": [
            Request("GET", f"/helpdesk/api/tickets/{rng.randint(1, tickets)}/", h)
            for _ in range(VARIANTS)
        ],
        "list": [Request("GET", "/helpdesk/api/tickets/?page_size=25", h)],
    }
