"""Automatic escalation inside a complaint's own write (升级): emergency categories, urgent
keywords and repeat complaints raise the level; an unowned complaint gets a handler (never the
person complained about); the pack's roles are told. Decisions change the complaint in memory;
messages are collected as `Alert`s and enqueued by `send` (outbox rows) once the caller has
flushed the complaint."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from kesu.access.models import User
from kesu.complaint import lifecycle
from kesu.complaint.commands import Categorize
from kesu.complaint.models import Complainant, Complaint
from kesu.escalation import rules
from kesu.i18n import LOCALES, in_language, label, translate
from kesu.notify import service as notify_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy.schema import Pack, Trigger, per_pack
from kesu.sla import rules as sla_rules

TEXT_FIELDS = {"note": "text", "record_contact": "summary"}
"""Commands whose free text is checked for the pack's urgent keywords."""


@dataclass
class Alert:
    """A message to enqueue: to pack roles / pseudo-recipients, and/or to the complainant."""

    kind: str
    template: str
    params: dict[str, Any]
    to: list[str] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    customer: bool = False


def params_of(pack: Pack, complaint: Complaint, **more: Any) -> dict[str, Any]:
    level = pack.level(complaint.level)
    return {
        "number": complaint.number,
        "title": complaint.title,
        "level": level.name if level else complaint.level,  # a label: picked at sending
        **more,
    }


def reason_label(key: str, **params: Any) -> dict[str, str]:
    """Why a level was raised (`escalation.reason.<key>`), as a label a message renders in its
    reader's language: a pack label among `params` is picked per language, a list of words
    joined with that language's separator. Its Simplified Chinese is what the event records."""
    return {
        loc: translate(
            f"escalation.reason.{key}",
            loc,
            **{name: in_language(value, loc) for name, value in params.items()},
        )
        for loc in LOCALES
    }


# --- who -------------------------------------------------------------------------------------


def scope_of(session: Session, complaint: Complaint) -> list[int]:
    """The organisations whose staff cover this complaint: its site and everything above
    (walked once per site and unit of work)."""
    known = session.info.setdefault("kesu.escalation.scope", {})
    start = complaint.site_id or complaint.org_id
    if start not in known:
        found = org_service.ancestors(session, start) or [start]
        if complaint.org_id not in found:
            found.append(complaint.org_id)
        known[start] = found
    return known[start]


_STAFF = (User.id, User.role, User.department_id, User.org_id)
"""What escalation reads of a staff member (plain rows: a site's staff are read on every intake,
and whole ORM users cost several times more to load than the four columns used)."""


def _staff(session: Session, complaint: Complaint) -> list[Row]:
    """Active staff whose scope covers the complaint's site (`_STAFF` rows, in id order); looked
    up once per site and unit of work (the worker's sweep asks for the same site thousands of
    times in one pass)."""
    known = session.info.setdefault("kesu.escalation.staff", {})
    site = complaint.site_id or complaint.org_id
    if site not in known:
        known[site] = session.execute(
            select(*_STAFF)
            .where(User.org_id.in_(scope_of(session, complaint)), User.active.is_(True))
            .order_by(User.id)
        ).all()
    return known[site]


def prefetch_staff(session: Session, complaints: list[Complaint]) -> list[int]:
    """Look up `_staff` for many complaints' sites with one query (the sweep's pass); returns
    the ids of the staff it read."""
    known = session.info.setdefault("kesu.escalation.staff", {})
    scopes = {
        c.site_id or c.org_id: scope_of(session, c)
        for c in complaints
        if (c.site_id or c.org_id) not in known
    }
    if not scopes:
        return []
    staff = session.execute(
        select(*_STAFF)
        .where(User.org_id.in_(set().union(*scopes.values())), User.active.is_(True))
        .order_by(User.id)
    ).all()
    by_org: dict[int, list[Row]] = defaultdict(list)
    for user in staff:
        by_org[user.org_id].append(user)
    for site, scope in scopes.items():  # each site's staff in id order, as `_staff` reads them
        known[site] = sorted(
            (u for org_id in dict.fromkeys(scope) for u in by_org.get(org_id, ())),
            key=lambda u: u.id,
        )
    return [u.id for u in staff]


def recipients(session: Session, pack: Pack, complaint: Complaint, names: list[str]) -> list[int]:
    """User ids for pack role keys and `assignee` / `receiver` / `next_tier`; never the person
    complained about. A role (or the next tier) means its holders in the complaint's department
    when there are any there, otherwise every holder whose scope covers the complaint."""
    out: list[int] = []
    for who in ("assignee", "receiver"):
        if who in names:
            out.append(
                rules.responsible(
                    who,
                    assignee_id=complaint.assignee_id,
                    received_by_id=complaint.received_by_id,
                )
            )
    groups: list[list[Row]] = []
    people = {"assignee", "receiver"}
    if any(n not in people for n in names):
        held = _holders(session, pack, complaint)
    for name in names:
        if name in people:
            continue
        if name == "next_tier":
            wanted = min(pack.tier_rank(complaint.current_tier) + 1, len(pack.tiers))
            groups.append(held(("rank", wanted)))
        else:
            groups.append(held(("role", name)))
    for holders in groups:
        local = [u for u in holders if u.department_id == complaint.department_id]
        out.extend(u.id for u in (local or holders))
    unique = dict.fromkeys(u for u in out if u is not None and u != complaint.staff_complained_id)
    return list(unique)


def _holders(
    session: Session, pack: Pack, complaint: Complaint
) -> Callable[[tuple[str, Any]], list[Row]]:
    """`_staff` of the complaint's site holding a role, ("role", key), or of a tier rank,
    ("rank", n), in id order; each worked out once per site, pack and unit of work, like
    `_staff` itself (the sweep asks for the same few roles of a site thousands of times)."""
    staff = _staff(session, complaint)
    known = session.info.setdefault("kesu.escalation.holders", {})
    key = (complaint.site_id or complaint.org_id, id(pack))
    entry = known.get(key)
    if entry is None or entry[0] is not staff or entry[1] is not pack:
        entry = known[key] = (staff, pack, {})
    found: dict[tuple[str, Any], list[Row]] = entry[2]

    def held(wanted: tuple[str, Any]) -> list[Row]:
        if wanted not in found:
            kind, value = wanted
            if kind == "rank":
                ranks = _roles(pack)
                found[wanted] = [u for u in staff if ranks.get(u.role, _NO_ROLE)[0] == value]
            else:
                found[wanted] = [u for u in staff if u.role == value]
        return found[wanted]

    return held


_NO_ROLE = (0, False)


@per_pack
def _roles(pack: Pack) -> dict[str, tuple[int, bool]]:
    """Per role key of the pack: its tier rank, and whether its holders handle complaints
    (a tier and `record_investigation`)."""
    roles: dict[str, tuple[int, bool]] = {}
    for r in pack.roles:  # the first of a key, as pack.role finds it
        handles = r.tier is not None and r.may("record_investigation")
        roles.setdefault(r.key, (pack.tier_rank(r.tier), handles))
    return roles


def send(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    alerts: list[Alert],
    dedupe: str,
    now,
    batch: notify_service.Batch | None = None,
) -> int:
    """Enqueue the alerts as outbox rows (exactly once per dedupe key and recipient). With a
    `batch` (the worker's sweep) they join it and are inserted when it is flushed (returns 0)."""
    into = batch or notify_service.Batch(session, now)
    told = [
        (a, list(dict.fromkeys(a.user_ids + recipients(session, pack, complaint, a.to))))
        for a in alerts
    ]
    into.know([uid for _, users in told for uid in users])  # every alert's people in one read
    for alert, users in told:
        key = f"{dedupe}:{alert.kind}"
        if users:
            into.users(
                user_ids=users,
                template=alert.template,
                params=alert.params,
                dedupe_key=key,
                complaint_id=complaint.id,
                complaint=complaint,
            )
        if alert.customer:
            into.customer(
                complainant_id=complaint.complainant_id,
                template=alert.template,
                params=alert.params,
                dedupe_key=key,
                complaint_id=complaint.id,
                locale=complaint.locale,
            )
    return 0 if batch is not None else into.flush()


# --- level --------------------------------------------------------------------------------------


def _assignee_tier(session: Session, pack: Pack, complaint: Complaint) -> str | None:
    if complaint.assignee_id is None:
        return None
    user = session.get(User, complaint.assignee_id)
    role = pack.role(user.role) if user else None
    return role.tier if role else None


def raise_level(
    session: Session, pack: Pack, complaint: Complaint, level: str, reason: str, now: datetime
) -> bool:
    """Raise the complaint to `level` (never lower it) through the lifecycle engine's own
    level change, so the tier and the handler follow exactly as for a manual change."""
    if complaint.state == "closed" or not rules.is_higher(pack, level, complaint.level):
        return False
    case = lifecycle.Case(
        state=complaint.state,
        level=complaint.level,
        current_tier=complaint.current_tier,
        assignee_id=complaint.assignee_id,
        assignee_tier=_assignee_tier(session, pack, complaint),
        staff_complained_id=complaint.staff_complained_id,
    )
    change = lifecycle.decide(
        pack, case, lifecycle.SYSTEM, "categorize", Categorize(level=level, reason=reason), now
    )
    for name, value in change.fields.items():
        setattr(complaint, name, value)
    return True


def _repeat_of(session: Session, pack: Pack, complaint: Complaint, now: datetime) -> str | None:
    rule = pack.escalation.repeat
    if rule is None:
        return None
    facts = {
        "category": complaint.category,
        "site_id": complaint.site_id,
        "staff_complained_id": complaint.staff_complained_id,
        **complaint.subject,
    }
    matter = rules.matter_of(rule.same, facts)
    if matter is None:
        return None
    minutes = {"minutes": 1, "hours": 60, "calendar_days": 1440}[rule.window.unit]
    since = now - timedelta(minutes=rule.window.amount * minutes)
    earlier = session.execute(
        select(
            Complaint.number,
            Complaint.category,
            Complaint.site_id,
            Complaint.staff_complained_id,
            Complaint.subject,
        )
        .where(
            Complaint.complainant_id == complaint.complainant_id,
            Complaint.id != complaint.id,
            Complaint.received_at >= since,
        )
        .order_by(Complaint.received_at.desc())
    )
    for other in earlier:
        other_facts = {
            "category": other.category,
            "site_id": other.site_id,
            "staff_complained_id": other.staff_complained_id,
            **other.subject,
        }
        if rules.matter_of(rule.same, other_facts) == matter:
            return other.number
    return None


LEVEL_KEYS = ("upgraded_to", "to_level", "escalated_to")
"""Event payload keys that name a new level (besides categorize's `level`)."""


def raised_to(command: str, payload: dict[str, Any], auto: dict[str, Any]) -> str | None:
    """The level this event raised the complaint to, if it raised it."""
    if auto.get("level"):
        return auto["level"]
    for key in LEVEL_KEYS:
        if payload.get(key):
            return payload[key]
    return payload.get("level") if command == "categorize" else None


def _category_label(pack: Pack, key: str) -> dict[str, str] | str:
    found = next((c for c in pack.category_list() if c.key == key), None)
    return found.name if found else key


def on_event(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    command: str,
    payload: dict[str, Any],
    now: datetime,
    auto: dict[str, Any],
) -> list[Alert]:
    """Raise the level where the pack says so for this event; return whom to tell.

    Emergency categories and urgent keywords go to the top level at once, a repeat complaint
    to at least the pack's level; reaching the top tells `top_level_notify`; a dissatisfied
    customer beyond the pack's response rounds puts the case on the general manager's agenda.
    """
    esc = pack.escalation
    top = rules.top_level(pack)
    alerts: list[Alert] = []
    reasons: list[dict[str, str]] = []
    if command == "receive":
        if complaint.urgent_keywords:  # the lifecycle already opened it at the top
            reasons.append(reason_label("keywords", words=complaint.urgent_keywords))
        repeat = _repeat_of(session, pack, complaint, now)
        if repeat:
            auto["repeat_of"] = repeat
            reason = reason_label("repeat", number=repeat)
            if esc.repeat and raise_level(
                session, pack, complaint, esc.repeat.min_level, reason["zh_Hans"], now
            ):
                auto["level"] = complaint.level
                reasons.append(reason)
                alerts.append(
                    Alert(
                        "repeat",
                        "complaint_escalated",
                        params_of(pack, complaint, reason=reason),
                        to=["next_tier"],
                    )
                )
    category = payload.get("category") if command in ("receive", "categorize") else None
    if category and category in rules.emergency_categories(pack):
        reason = reason_label("emergency", category=_category_label(pack, category))
        if (
            raise_level(session, pack, complaint, top, reason["zh_Hans"], now)
            or command == "receive"
        ):
            auto.update(level=top, emergency_category=category)
            reasons.append(reason)
    text_field = TEXT_FIELDS.get(command)
    hits = rules.keyword_hits(pack, [payload.get(text_field)]) if text_field else []
    if esc.keywords_in_text and hits:
        complaint.urgent_keywords = sorted({*complaint.urgent_keywords, *hits})
        reason = reason_label("keywords", words=hits)
        if raise_level(session, pack, complaint, top, reason["zh_Hans"], now):
            auto.update(level=top, urgent_keywords=hits)
            reasons.append(reason)
    if command == "receive":
        payload["level"] = complaint.level  # the event records the level it opened at
    reached_top = complaint.level == top and (
        command == "receive" or raised_to(command, payload, auto) == top
    )
    if reached_top and esc.top_level_notify:
        reason = (
            {loc: translate("web.sep.items", loc).join(r[loc] for r in reasons) for loc in LOCALES}
            if reasons
            else label(f"command.{command}")
        )
        alerts.append(
            Alert(
                "top_level",
                "complaint_top_level",
                params_of(pack, complaint, reason=reason),
                to=esc.top_level_notify,
            )
        )
    if command == "receive":
        alerts.append(_acknowledgement(session, pack, complaint))
    if command == "record_response" and payload.get("outcome") == "escalate":
        alerts += _dissatisfied(pack, complaint, payload, auto)
    facts = sla_rules.facts_of(complaint, payload)
    for i, (rule, trigger) in enumerate(_notification_triggers(pack)):
        if sla_rules.matches(trigger, command, facts, actor_role=None, actor_rank=0, pack=pack):
            event = _customer_event(command, payload) if rule.customer else None
            params = params_of(pack, complaint, event=event or label(f"command.{command}"))
            alerts.append(
                Alert(f"rule{i}", rule.template, params, to=rule.notify, customer=rule.customer)
            )
    return alerts


def customer_update(
    pack: Pack, complaint: Complaint, command: str, payload: dict[str, Any]
) -> dict[str, str] | None:
    """What the pack's notification rules tell the complainant of this event (the `event` of
    their message, as a label), None where they are told nothing: the portal shows the step
    in the complaint's history with the same words."""
    facts = sla_rules.facts_of(complaint, payload)
    for rule, trigger in _notification_triggers(pack):
        if rule.customer and sla_rules.matches(
            trigger, command, facts, actor_role=None, actor_rank=0, pack=pack
        ):
            return _customer_event(command, payload) or label(f"command.{command}")
    return None


def _customer_event(command: str, payload: dict[str, Any]) -> dict[str, str] | None:
    """What a step means to the complainant ("您的投诉已受理"), where staff read the command's
    name ("判定性质"); None where the catalogues say nothing more than the command."""
    for key in (
        f"notify.customer_event.{command}.{payload.get('classification')}",
        f"notify.customer_event.{command}",
    ):
        if translate(key, "zh_Hans") != key:
            return label(key)
    return None


def _acknowledgement(session: Session, pack: Pack, complaint: Complaint) -> Alert:
    """受理告知 (the procedure's step 3): the customer hears that the complaint is accepted and
    its number, by SMS to their phone and by e-mail where they left an address, whatever the
    channel it came in by; with the number and the last four digits of their phone they follow
    it on the portal. A ledger import (`announce=False`) tells no one."""
    person = session.get(Complainant, complaint.complainant_id)
    group = session.get(Organisation, complaint.org_id)
    params = params_of(pack, complaint, org=group.name, name=person.name)
    return Alert("received", "customer_complaint_received", params, customer=True)


@per_pack
def _notification_triggers(pack: Pack) -> list[tuple[Any, Trigger]]:
    """The pack's notification rules, each with its trigger."""
    return [(rule, Trigger(event=rule.event, when=rule.when)) for rule in pack.notifications]


def _dissatisfied(
    pack: Pack, complaint: Complaint, payload: dict[str, Any], auto: dict[str, Any]
) -> list[Alert]:
    """Still dissatisfied: the lifecycle upgraded and reopened it; beyond the top level or the
    pack's response rounds it goes on the general manager's agenda."""
    alerts: list[Alert] = []
    if rules.rounds_exceeded(pack, complaint.level, complaint.round):
        complaint.gm_agenda = True
        auto["rounds_exceeded"] = complaint.round - 1
        alerts.append(
            Alert(
                "rounds",
                "rounds_exceeded",
                params_of(pack, complaint, rounds=complaint.round - 1),
                to=pack.response_rounds.notify if pack.response_rounds else [],
            )
        )
    if (
        payload.get("gm_agenda") or auto.get("rounds_exceeded")
    ) and pack.escalation.gm_agenda_notify:
        alerts.append(
            Alert(
                "gm_agenda",
                "gm_agenda",
                params_of(pack, complaint),
                to=pack.escalation.gm_agenda_notify,
            )
        )
    return alerts


# --- owner --------------------------------------------------------------------------------------


def handed_over(
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    auto: dict[str, Any],
) -> list[Alert]:
    """Tell the handler the pack's auto-assignment has just given a complaint to that it is
    theirs (seed 002 5.1: an L2 form goes to the T2 manager at once; 5.3.1.6: a 4 or 5 upgrades
    it "并向相应的处理人员反馈"). A raise the procedure makes by itself (a dissatisfied answer,
    an urgent word, an emergency category) reads as an automatic escalation with its reason,
    anything else (a level set by hand, a transfer) as a reminder naming the step. Not at
    intake (the pack's notifications say who hears of a new complaint), not on a breach (the
    sweep tells the new handler itself), never the person who acted."""
    owner = complaint.assignee_id
    if command in ("receive", "sla_breach") or owner is None or owner == actor.user_id:
        return []
    if auto.get("urgent_keywords"):
        reason = reason_label("keywords", words=auto["urgent_keywords"])
    elif auto.get("emergency_category"):
        reason = reason_label(
            "emergency", category=_category_label(pack, auto["emergency_category"])
        )
    elif command == "record_response" and raised_to(command, payload, auto):
        grade = pack.grade(payload.get("satisfaction"))
        reason = reason_label("dissatisfied", grade=grade.name if grade else "")
    else:
        params = params_of(pack, complaint, event=label(f"command.{command}"))
        return [Alert("handover", "complaint_alert", params, user_ids=[owner])]
    params = params_of(pack, complaint, reason=reason)
    return [Alert("handover", "complaint_escalated", params, user_ids=[owner])]


def ensure_owner(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    open_cases: Callable[[list[int]], dict[int, int]] | None = None,
) -> int | None:
    """Give an open, unowned complaint a handler of its tier; return who, or None.
    `open_cases`: how many open complaints each of these users handles, when the caller keeps
    that itself (the sweep, for a pass's changes not flushed yet)."""
    if complaint.assignee_id is not None:
        return None
    chosen = pick_owner(session, pack, complaint, actor, open_cases)
    if chosen is not None:
        complaint.assignee_id = chosen
    return chosen


def pick_owner(
    session: Session,
    pack: Pack,
    complaint: Complaint,
    actor: lifecycle.Actor,
    open_cases: Callable[[list[int]], dict[int, int]] | None = None,
) -> int | None:
    """Who the pack's auto-assignment would give this open complaint to now (active staff of
    its tier, the least loaded, never the person complained about); None when the pack does
    not assign by itself or nobody fits."""
    if not pack.escalation.auto_assign or complaint.state == "closed":
        return None
    roles = _roles(pack)
    staff = [
        (u.id, rank, u.department_id)
        for u in _staff(session, complaint)
        for rank, handles in [roles.get(u.role, _NO_ROLE)]
        if handles
    ]
    ids = [uid for uid, _, _ in staff]
    load = open_cases(ids) if open_cases else open_cases_of(session, ids)
    candidates = [
        rules.Candidate(
            user_id=uid, tier_rank=rank, department_id=dept, open_cases=load.get(uid, 0)
        )
        for uid, rank, dept in staff
    ]
    return rules.pick_handler(
        candidates,
        needed_rank=pack.tier_rank(complaint.current_tier),
        department_id=complaint.department_id,
        recused_id=complaint.staff_complained_id,
        preferred_id=actor.user_id if actor.kind == "staff" else None,
    )


def open_cases_of(
    session: Session, user_ids: list[int], excluding: list[int] | None = None
) -> dict[int, int]:
    """Open complaints per handler (`excluding` these complaint ids)."""
    stmt = select(Complaint.assignee_id, func.count(Complaint.id)).where(
        Complaint.assignee_id.in_(user_ids),
        Complaint.state.in_(sorted(lifecycle.OPEN)),  # seeks (assignee, state): no history
    )
    if excluding:
        stmt = stmt.where(Complaint.id.not_in(excluding))
    return dict(session.execute(stmt.group_by(Complaint.assignee_id)).all())
