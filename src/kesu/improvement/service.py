"""Writes of the improvement loop (整改): open an action, run a command on it, record training
and accountability, record an inspection and open a preventive action from a failed item.

Every change to an action appends one event to its record and bumps its version in the same
transaction (a stale page gets 409); its messages go to the outbox in that transaction too.
Services flush, never commit: the entry point that called them owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kesu.access.models import User
from kesu.clock import Clock
from kesu.complaint import lifecycle
from kesu.complaint import queries as complaint_queries
from kesu.complaint import service as complaint_service
from kesu.complaint.models import Complaint, SubmissionKey
from kesu.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from kesu.escalation import service as escalation_service
from kesu.i18n import LOCALES, pick, translate
from kesu.improvement import queries, rules
from kesu.improvement.models import (
    Accountability,
    ActionComplaint,
    ActionEvent,
    CorrectiveAction,
    Inspection,
)
from kesu.improvement.schemas import (
    PAYLOADS,
    AccountabilityCreate,
    ActionCreate,
    FromFinding,
    InspectionIn,
)
from kesu.notify import service as notify_service
from kesu.org import service as org_service
from kesu.org.models import Organisation
from kesu.policy import service as policy_service
from kesu.policy.schema import IMPROVEMENT_RECIPIENTS, Checklist, Duration, Pack
from kesu.sla import rules as sla_rules
from kesu.sla import service as sla_service

# --- reading what a write needs -----------------------------------------------------------------


def pack_of(session: Session, action: CorrectiveAction) -> Pack:
    """The pack version the action was opened under (its deadline and target rules)."""
    return policy_service.pack_of(session, action.policy_version_id)


def get(session: Session, action_id: int) -> CorrectiveAction:
    action = session.get(CorrectiveAction, action_id)
    if action is None:
        raise NotFound("improvement.not_found.action", id=action_id)
    return action


def visible_action(session: Session, user: User, action_id: int) -> CorrectiveAction:
    """Load-or-404 within the user's reach (`queries.visible_to`)."""
    stmt = queries.visible_to(session, user).where(CorrectiveAction.id == action_id)
    action = session.scalar(stmt)
    if action is None:
        raise NotFound("improvement.not_found.action", id=action_id)
    return action


def view_of(action: CorrectiveAction) -> rules.ActionView:
    return rules.ActionView(
        state=action.state,
        owner_id=action.owner_id,
        verifier_id=action.verifier_id,
    )


def who_of(user: User) -> rules.Who:
    return rules.Who(user_id=user.id, role=user.role)


def allowed(session: Session, user: User, action: CorrectiveAction) -> list[str]:
    return rules.allowed(pack_of(session, action), view_of(action), who_of(user))


def _group_pack(session: Session, org_id: int) -> tuple[Organisation, int, Pack]:
    group = org_service.group_of(session, org_id)
    version = policy_service.current(session, group.pack_key)
    return group, version.id, policy_service.pack_of(session, version.id)


def _parsed(model: type[BaseModel], payload: dict[str, Any]) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise complaint_service.invalid_from(exc, "payload.") from exc


def require_manager(pack: Pack, user: User) -> None:
    if user.role not in rules.managers(pack):
        roles = [lifecycle.role_name(pack, r) for r in sorted(rules.managers(pack))]
        raise Forbidden("improvement.manager_only", roles=roles)


def _staff_member(session: Session, group_id: int, user_id: int, field: str) -> User:
    """An active user of the group (anything else is an unknown id to this caller)."""
    user = session.get(User, user_id)
    if user is None or not user.active or org_service.group_of(session, user.org_id).id != group_id:
        raise InvalidInput("invalid.unknown_id", field=field, value=user_id)
    return user


def _check_key(pack: Pack, kind: str, value: str | None, field: str) -> None:
    if value is not None and value not in pack.keys(kind):
        allowed_keys = ", ".join(sorted(pack.keys(kind)))
        raise InvalidInput("invalid.unknown_key", field=field, value=value, allowed=allowed_keys)


def _visible_complaints(
    session: Session, user: User, group_id: int, ids: list[int], field: str
) -> list[Complaint]:
    """The complaints named, each of the group and within the user's reach."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {
        c.id: c
        for c in session.scalars(
            complaint_queries.visible_to(session, user).where(Complaint.id.in_(wanted))
        )
    }
    for i, cid in enumerate(wanted):
        if cid not in found or found[cid].org_id != group_id:
            raise InvalidInput("invalid.unknown_id", field=f"{field}.{i}", value=cid)
    return [found[cid] for cid in wanted]


def category_keys(pack: Pack, key: str | None) -> list[str] | None:
    """A category and every category under it (None: no category)."""
    if key is None:
        return None
    top = next(c for c in pack.category_list() if c.key == key)
    out, stack = [], [top]
    while stack:
        node = stack.pop()
        out.append(node.key)
        stack.extend(node.children)
    return out


def local(pack: Pack, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(pack.timezone)).strftime("%Y-%m-%d %H:%M")


# --- the record ---------------------------------------------------------------------------------


def _json_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def record(
    session: Session,
    action: CorrectiveAction,
    actor: lifecycle.Actor,
    command: str,
    payload: dict[str, Any],
    now: datetime,
) -> ActionEvent:
    """Append one event to the action's record (sequence numbers never repeat: unique)."""
    last = session.scalar(
        select(func.max(ActionEvent.seq)).where(ActionEvent.action_id == action.id)
    )
    event = ActionEvent(
        action_id=action.id,
        seq=(last or 0) + 1,
        command=command,
        actor_kind=actor.kind,
        actor_id=actor.user_id,
        actor_label=actor.label[:100],
        at=now,
        payload=json.loads(json.dumps(payload, default=_json_value, ensure_ascii=False)),
    )
    session.add(event)
    return event


def _flush(session: Session, version: int) -> None:
    """A concurrent writer that got there first is a 409, never a half write."""
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise StaleVersion("conflict.stale", current=version + 1, given=version) from exc


# --- messages -----------------------------------------------------------------------------------


def _rank(pack: Pack, role_key: str | None) -> int:
    role = pack.role(role_key)
    return pack.tier_rank(role.tier) if role else 0


def owner_rank(session: Session, pack: Pack, action: CorrectiveAction) -> int:
    """The owner's tier in the pack (0: a role without a tier)."""
    owner = session.get(User, action.owner_id)
    return _rank(pack, owner.role if owner else None)


def recipients(
    session: Session,
    pack: Pack,
    action: CorrectiveAction,
    names: list[str],
    step: int = 1,
    *,
    not_owner: bool = False,
) -> list[int]:
    """User ids for pack roles and owner / verifier / creator / next_tier; `next_tier` is
    `step` tiers above the owner (escalation climbs one tier per step). Roles are looked up
    at the action's site and above (head office for a group-wide action). `not_owner`: never
    the owner (who does not verify their own action)."""
    out: list[int | None] = []
    for name, user_id in (
        ("owner", action.owner_id),
        ("verifier", action.verifier_id),
        ("creator", action.created_by_id),
    ):
        if name in names:
            out.append(user_id)
    roles = [n for n in names if n not in IMPROVEMENT_RECIPIENTS]
    if roles or "next_tier" in names:
        wanted = rules.escalation_rank(owner_rank(session, pack, action), step, len(pack.tiers))
        staff = session.scalars(
            select(User)
            .where(
                User.org_id.in_(escalation_service.scope_of(session, action)),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
        for user in staff:
            if user.role in roles or ("next_tier" in names and _rank(pack, user.role) == wanted):
                out.append(user.id)
    skip = action.owner_id if not_owner else None
    return [u for u in dict.fromkeys(out) if u is not None and u != skip]


def verifier_names(pack: Pack, action: CorrectiveAction) -> list[str]:
    """Who is asked to check an action's effect: its named verifier, else the verifier roles."""
    return ["verifier"] if action.verifier_id is not None else sorted(rules.verifiers(pack))


def in_each(make: Callable[[str], str]) -> dict[str, str]:
    """A message parameter written in every language: each recipient reads their own (a
    pack's label, a list as the language runs one)."""
    return {locale: make(locale) for locale in LOCALES}


def cause_label(pack: Pack, dimension: str) -> dict[str, str] | str:
    found = next((d for d in pack.root_cause_dimensions if d.key == dimension), None)
    return in_each(lambda loc: pick(found.name, loc)) if found else dimension


def listed(items: list[str]) -> dict[str, str]:
    """Items as each language lists them: 1、2 or 1, 2."""
    return in_each(lambda loc: translate("web.sep.list", loc).join(items))


def params_of(session: Session, pack: Pack, action: CorrectiveAction, **more: Any) -> dict:
    owner = session.get(User, action.owner_id)
    return {
        "number": action.number,
        "title": action.title,
        "owner": owner.display_name if owner else "",
        "cause": cause_label(pack, action.cause_dimension),
        "due_at": local(pack, action.due_at),
        **more,
    }


def tell(
    session: Session,
    pack: Pack,
    action: CorrectiveAction,
    names: list[str],
    template: str,
    dedupe: str,
    now: datetime,
    *,
    step: int = 1,
    not_owner: bool = False,
    **params: Any,
) -> int:
    """Enqueue one message to the people `names` resolves to (once per dedupe key)."""
    users = recipients(session, pack, action, names, step, not_owner=not_owner)
    if not users:
        return 0
    return notify_service.notify_users(
        session,
        now=now,
        user_ids=users,
        template=template,
        params=params_of(session, pack, action, **params),
        dedupe_key=f"improvement:{action.id}:{dedupe}",
    )


# --- the deadline -------------------------------------------------------------------------------


def _deadline(
    session: Session,
    pack: Pack,
    action: CorrectiveAction,
    now: datetime,
    given: datetime | None,
    field: str,
) -> None:
    """Start the action's deadline timer now: the given time, or the pack's `deadline.within`
    on the action's site calendar; warn at the pack's share of the way."""
    rule = pack.improvement.deadline
    if given is not None:
        if given.tzinfo is None:
            raise InvalidInput("invalid.no_timezone", field=field)
        if given <= now:
            raise InvalidInput("invalid.future_time", field=field)
        due, provisional = given, False
    else:
        cal = sla_service.calendar_for(session, pack, action)  # the action's site calendar
        deadline = sla_rules.due_at(cal, now, rule.within)
        due, provisional = deadline.at, deadline.provisional
    action.started_at = now
    action.due_at = due
    action.deadline_provisional = provisional
    action.warn_at = sla_rules.warn_at(now, due, rule.warn_at_percent)
    action.warned_at = None
    action.breached_at = None
    action.escalation_step = 0
    action.next_escalation_at = None


def later(
    session: Session, pack: Pack, action: CorrectiveAction, start: datetime, every: Duration
) -> datetime:
    """`every` after `start` on the action's site calendar (the next escalation step)."""
    cal = sla_service.calendar_for(session, pack, action)
    return sla_rules.due_at(cal, start, every).at


# --- opening an action --------------------------------------------------------------------------


def _submitted(
    session: Session, now: datetime, user: User, key: str | None, content: str
) -> tuple[SubmissionKey | None, list[int] | None]:
    """The submission's key taken (its row, None) or the ids its earlier copy made (None, the
    ids): see `complaint.service.claim_submission`. No key: (None, None)."""
    session.info[complaint_service.REPLAYED] = False
    if key is None:
        return None, None
    actor = complaint_service.actor_of(user)
    claimed, earlier = complaint_service.claim_submission(session, now, actor, key, content)
    if earlier is not None:
        session.info[complaint_service.REPLAYED] = True
        return None, earlier.made
    return claimed, None


def _note_made(session: Session, claimed: SubmissionKey | None, ids: list[int]) -> None:
    if claimed is not None:
        claimed.made = ids
        session.flush()


def open_action(
    session: Session, clock: Clock, user: User, data: ActionCreate, *, key: str | None = None
) -> CorrectiveAction:
    """整改立项: a corrective or preventive action with its cause, owner, deadline and target,
    linked to the complaints it answers. Only the pack's managers open actions. `key`: the
    submission's own key; sent again, it answers with the action it opened."""
    now = clock.now()
    claimed, made = _submitted(session, now, user, key, data.model_dump_json())
    if made is not None:
        return get(session, made[0])
    group, version_id, pack = _group_pack(session, user.org_id)
    require_manager(pack, user)
    _check_key(pack, "root_cause_dimensions", data.cause_dimension, "cause_dimension")
    _check_key(pack, "categories", data.category, "category")
    _staff_member(session, group.id, data.owner_id, "owner_id")
    if data.verifier_id is not None:
        _staff_member(session, group.id, data.verifier_id, "verifier_id")
        if data.verifier_id == data.owner_id:
            raise InvalidInput("improvement.verifier_is_owner", field="verifier_id")
    complaints = _visible_complaints(session, user, group.id, data.complaint_ids, "complaint_ids")
    site_id = data.site_id
    if site_id is not None:
        site = session.get(Organisation, site_id)
        if site is None or site.kind != "site" or org_service.group_of(session, site.id) != group:
            raise InvalidInput("invalid.unknown_id", field="site_id", value=site_id)
    elif complaints and len({c.site_id for c in complaints}) == 1:
        shared = session.get(Organisation, complaints[0].site_id)
        site_id = shared.id if shared is not None and shared.kind == "site" else None
    department_id = data.department_id
    if department_id is None and complaints and len({c.department_id for c in complaints}) == 1:
        department_id = complaints[0].department_id
    if department_id is not None:
        dept = session.get(Organisation, department_id)
        if dept is None or dept.kind != "department":
            raise InvalidInput("invalid.not_a_department", field="department_id")
    action = _create(
        session,
        now,
        user,
        group.id,
        version_id,
        pack,
        data,
        complaints,
        site_id,
        department_id,
        inspection_id=None,
    )
    _note_made(session, claimed, [action.id])
    return action


def _source(data: ActionCreate, complaints: list[Complaint], inspection_id: int | None) -> str:
    if inspection_id is not None:
        return "inspection"
    if data.period:
        return "pareto"
    if len(complaints) == 1:
        return "complaint"
    return "complaints" if complaints else "manual"


def _create(
    session: Session,
    now: datetime,
    user: User,
    group_id: int,
    version_id: int,
    pack: Pack,
    data: ActionCreate,
    complaints: list[Complaint],
    site_id: int | None,
    department_id: int | None,
    *,
    inspection_id: int | None,
) -> CorrectiveAction:
    action = CorrectiveAction(
        org_id=group_id,
        site_id=site_id,
        department_id=department_id,
        policy_version_id=version_id,
        kind=data.action_kind,
        source=_source(data, complaints, inspection_id),
        inspection_id=inspection_id,
        title=data.title,
        problem=data.problem,
        cause_dimension=data.cause_dimension,
        category=data.category,
        planned=data.planned,
        owner_id=data.owner_id,
        verifier_id=data.verifier_id,
        created_by_id=user.id,
        state="open",
        round=1,
        target_per_month=data.target_per_month,
        observation_months=pack.improvement.observation_months,
        evidence=[],
        created_at=now,
        updated_at=now,
        version=1,
    )
    _deadline(session, pack, action, now, data.due_at, "due_at")
    session.add(action)
    session.flush()
    for c in complaints:
        session.add(
            ActionComplaint(
                action_id=action.id, complaint_id=c.id, linked_at=now, linked_by_id=user.id
            )
        )
    payload = data.model_dump(mode="json", exclude_none=True)
    payload.update(
        source=action.source,
        site_id=site_id,
        department_id=department_id,
        due_at=action.due_at.isoformat(),
        complaint_numbers=[c.number for c in complaints],
    )
    if inspection_id is not None:
        payload["inspection_id"] = inspection_id
    record(session, action, complaint_service.actor_of(user), "open", payload, now)
    session.flush()
    tell(session, pack, action, ["owner"], "improvement_assigned", "open", now)
    return action


# --- commands -----------------------------------------------------------------------------------


def execute(
    session: Session,
    clock: Clock,
    action_id: int,
    user: User,
    command: str,
    payload: dict[str, Any],
    version: int,
) -> CorrectiveAction:
    """Run one command on an action: validate, check who and when, apply, record — or change
    nothing."""
    model = PAYLOADS.get(command)
    if model is None:
        raise NotFound("not_found.command", command=command)
    parsed = _parsed(model, payload)
    action = visible_action(session, user, action_id)
    session.info[complaint_service.REPLAYED] = False
    if action.version != version:
        if _repeated(session, action, user, command, parsed, version):
            session.info[complaint_service.REPLAYED] = True
            return action  # the same command sent twice (a second click): done once already
        raise StaleVersion("conflict.stale", current=action.version, given=version)
    pack = pack_of(session, action)
    rules.check(pack, view_of(action), who_of(user), command)
    now = clock.now()
    event = parsed.model_dump(mode="json", exclude_none=True)
    messages = _APPLY[command](session, pack, action, user, parsed, event, now)
    action.updated_at = now
    action.version = version + 1
    record(session, action, complaint_service.actor_of(user), command, event, now)
    _flush(session, version)
    for names, template, params in messages:
        tell(session, pack, action, names, template, f"{command}:{action.version}", now, **params)
    return action


def _repeated(
    session: Session, action: CorrectiveAction, user: User, command: str, parsed: Any, version: int
) -> bool:
    """Whether the action's last step is this very command by this user with this payload,
    taken from `version` (the same form sent twice finds the version moved on by its first)."""
    last = session.scalar(
        select(ActionEvent)
        .where(ActionEvent.action_id == action.id)
        .order_by(ActionEvent.seq.desc())
        .limit(1)
    )
    if last is None or action.version != version + 1:
        return False
    if (last.command, last.actor_id) != (command, user.id):
        return False
    sent = json.loads(
        json.dumps(parsed.model_dump(mode="json", exclude_none=True), default=_json_value)
    )
    return all(last.payload.get(k) == v for k, v in sent.items())


Message = tuple[list[str], str, dict[str, Any]]


def _start(session, pack, action, user, p, event, now) -> list[Message]:
    action.state = "in_progress"
    return []


def _progress(session, pack, action, user, p, event, now) -> list[Message]:
    return []


def _add_evidence(session, pack, action, user, p, event, now) -> list[Message]:
    action.evidence = [*action.evidence, {"text": p.text, "at": now.isoformat(), "by": user.id}]
    return []


def _implement(session, pack, action, user, p, event, now) -> list[Message]:
    """Done (整改完成): what was done and its evidence; the deadline is met (late if breached).
    With a target the effect is watched for the observation period; without one the verifier
    is asked at once."""
    action.actions_taken = p.actions_taken
    action.evidence = [
        *action.evidence,
        *({"text": text, "at": now.isoformat(), "by": user.id} for text in p.evidence),
    ]
    action.implemented_at = now
    action.next_escalation_at = None
    action.state = rules.after_implement(action.target_per_month is not None)
    if action.breached_at is None and now >= action.due_at:
        action.breached_at = action.due_at  # past the deadline before the worker's pass saw it
    event["late"] = action.breached_at is not None
    if action.state == "observing":
        slices = rules.observation(now, action.observation_months, pack.timezone)
        action.observe_until = slices[-1].end
        event["observe_until"] = action.observe_until.isoformat()
        return []
    return [(verifier_names(pack, action), "improvement_verify_plain", {"not_owner": True})]


def _link(session, pack, action, user, p, event, now) -> list[Message]:
    complaints = _visible_complaints(
        session, user, action.org_id, p.complaint_ids, "payload.complaint_ids"
    )
    linked = set(
        session.scalars(
            select(ActionComplaint.complaint_id).where(ActionComplaint.action_id == action.id)
        )
    )
    added = [c for c in complaints if c.id not in linked]
    for c in added:
        session.add(
            ActionComplaint(
                action_id=action.id, complaint_id=c.id, linked_at=now, linked_by_id=user.id
            )
        )
    event["complaint_numbers"] = [c.number for c in added]
    return []


def _reassign(session, pack, action, user, p, event, now) -> list[Message]:
    if p.owner_id is None and p.verifier_id is None and p.due_at is None:
        raise InvalidInput("invalid.nothing_to_change", field="payload.owner_id")
    messages: list[Message] = []
    if p.owner_id is not None and p.owner_id != action.owner_id:
        _staff_member(session, action.org_id, p.owner_id, "payload.owner_id")
        event["previous_owner_id"] = action.owner_id
        action.owner_id = p.owner_id
        messages.append((["owner"], "improvement_assigned", {}))
    if p.verifier_id is not None:
        _staff_member(session, action.org_id, p.verifier_id, "payload.verifier_id")
        action.verifier_id = p.verifier_id
    if action.verifier_id is not None and action.verifier_id == action.owner_id:
        raise InvalidInput("improvement.verifier_is_owner", field="payload.verifier_id")
    if p.due_at is not None:
        if action.implemented_at is not None:
            raise InvalidInput("improvement.already_done", field="payload.due_at")
        _deadline(session, pack, action, now, p.due_at, "payload.due_at")
        if not messages:
            messages.append((["owner"], "improvement_assigned", {}))
    return messages


def _confirm(session, pack, action, user, p, event, now) -> list[Message]:
    """整改有效: the verifier signs the check of effect."""
    action.state = "effective"
    action.verified_at = now
    action.verified_by_id = user.id
    action.closed_at = now
    if action.verification is not None:
        event["verification"] = action.verification
    return []


def _reopen(session, pack, action, user, p, event, now) -> list[Message]:
    reopen(session, pack, action, now, p.due_at)
    event["due_at"] = action.due_at.isoformat()
    event["round"] = action.round
    return [(["owner"], "improvement_reopened", {"reason": p.reason})]


def _cancel(session, pack, action, user, p, event, now) -> list[Message]:
    action.state = "cancelled"
    action.closed_at = now
    action.next_escalation_at = None
    return [(["owner"], "improvement_cancelled", {"reason": p.reason})]


_APPLY = {
    "start": _start,
    "progress": _progress,
    "add_evidence": _add_evidence,
    "implement": _implement,
    "link_complaints": _link,
    "reassign": _reassign,
    "confirm": _confirm,
    "reopen": _reopen,
    "cancel": _cancel,
}


def reopen(
    session: Session,
    pack: Pack,
    action: CorrectiveAction,
    now: datetime,
    due: datetime | None = None,
) -> None:
    """Back to work (by the verifier, or by the worker when the target was missed): a new
    round and a new deadline; what was done stays on the record."""
    action.state = "reopened"
    action.round += 1
    action.implemented_at = None
    action.observe_until = None
    _deadline(session, pack, action, now, due, "payload.due_at")


# --- accountability -----------------------------------------------------------------------------


def record_accountability(
    session: Session,
    clock: Clock,
    user: User,
    data: AccountabilityCreate,
    *,
    key: str | None = None,
) -> list[Accountability]:
    """培训 / 处分 / 奖励 of one or more staff members after a complaint or an action (one row
    per person). Only the pack's managers record them. `key`: the submission's own key; sent
    again, it answers with the records it made."""
    claimed, made = _submitted(session, clock.now(), user, key, data.model_dump_json())
    if made is not None:
        return list(
            session.scalars(
                select(Accountability)
                .where(Accountability.id.in_(made))
                .order_by(Accountability.id)
            )
        )
    group, _, pack = _group_pack(session, user.org_id)
    require_manager(pack, user)
    people = [
        _staff_member(session, group.id, uid, f"user_ids.{i}")
        for i, uid in enumerate(dict.fromkeys(data.user_ids))
    ]
    if data.complaint_id is not None:
        _visible_complaints(session, user, group.id, [data.complaint_id], "complaint_id")
    if data.action_id is not None:
        visible_action(session, user, data.action_id)
    if data.record_kind == "training" and data.amount is not None:
        raise InvalidInput("improvement.training_has_no_amount", field="amount")
    if data.occurred_on > clock.now().astimezone(ZoneInfo(pack.timezone)).date():
        raise InvalidInput("invalid.past_time", field="occurred_on")  # a record of what was done
    now = clock.now()
    rows = [
        Accountability(
            org_id=group.id,
            user_id=person.id,
            kind=data.record_kind,
            complaint_id=data.complaint_id,
            action_id=data.action_id,
            occurred_on=data.occurred_on,
            measure=data.measure,
            amount=data.amount,
            note=data.note,
            recorded_by_id=user.id,
            recorded_at=now,
        )
        for person in people
    ]
    session.add_all(rows)
    session.flush()
    if data.action_id is not None:
        action = get(session, data.action_id)
        version = action.version
        action.version = version + 1
        action.updated_at = now
        record(
            session,
            action,
            complaint_service.actor_of(user),
            "accountability",
            {**data.model_dump(mode="json", exclude_none=True), "ids": [r.id for r in rows]},
            now,
        )
        _flush(session, version)
    _note_made(session, claimed, [r.id for r in rows])
    return rows


# --- inspections --------------------------------------------------------------------------------


def get_inspection(session: Session, user: User, inspection_id: int) -> Inspection:
    """Load-or-404 within the user's reach (their group; below head office, their sites)."""
    row = session.get(Inspection, inspection_id)
    group = org_service.group_of(session, user.org_id)
    if (
        row is None
        or row.org_id != group.id
        or (
            user.org_id != group.id
            and row.site_id not in org_service.subtree_ids(session, user.org_id)
        )
    ):
        raise NotFound("improvement.not_found.inspection", id=inspection_id)
    return row


def checklist_of(session: Session, inspection: Inspection) -> Checklist:
    pack = policy_service.pack_of(session, inspection.policy_version_id)
    found = next((c for c in pack.improvement.checklists if c.key == inspection.checklist), None)
    if found is None:  # a pack version never loses what it declared; this is a broken row
        raise NotFound("improvement.not_found.inspection", id=inspection.id)
    return found


def record_inspection(
    session: Session, clock: Clock, user: User, inspection_id: int, data: InspectionIn
) -> Inspection:
    """检查记录: every item's result, a finding for each failed one. A missed inspection may
    still be recorded (late); a recorded one cannot be recorded again."""
    inspection = get_inspection(session, user, inspection_id)
    pack = policy_service.pack_of(session, inspection.policy_version_id)
    checklist = checklist_of(session, inspection)
    if user.role not in set(checklist.roles) | rules.managers(pack):
        roles = [lifecycle.role_name(pack, r) for r in checklist.roles]
        raise Forbidden("improvement.not_inspector", roles=roles)
    results = rules.inspection_results(
        checklist, {k: (v.ok, v.finding) for k, v in data.items.items()}
    )
    now = clock.now()
    failed = sum(not r.ok for r in results)
    claimed = session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.state.in_(("due", "missed")))
        .values(
            state="done",
            done_at=now,
            inspector_id=user.id,
            results=[{"item": r.item, "ok": r.ok, "finding": r.finding} for r in results],
            failed=failed,
            note=data.note,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.info[complaint_service.REPLAYED] = False
    if claimed != 1:
        session.refresh(inspection)
        recorded = [{"item": r.item, "ok": r.ok, "finding": r.finding} for r in results]
        if (inspection.inspector_id, inspection.results, inspection.note) == (
            user.id,
            recorded,
            data.note,
        ):  # the same record sent twice (a second click): made once already
            session.info[complaint_service.REPLAYED] = True
            return inspection
        raise InvalidInput("improvement.inspection_recorded", field="inspection")
    session.refresh(inspection)
    if failed and checklist.on_failed:
        names = {i.key: i.name for i in checklist.items}
        findings = in_each(
            lambda loc: translate("web.sep.items", loc).join(
                f"{pick(names[r.item], loc)}{translate('web.sep.colon', loc)}{r.finding}"
                for r in results
                if not r.ok
            )
        )
        inspection_message(
            session,
            pack,
            inspection,
            checklist,
            checklist.on_failed,
            "improvement_inspection_failed",
            "failed",
            now,
            failed=failed,
            findings=findings,
        )
    return inspection


def inspection_message(
    session: Session,
    pack: Pack,
    inspection: Inspection,
    checklist: Checklist,
    roles: list[str],
    template: str,
    dedupe: str,
    now: datetime,
    **more: Any,
) -> int:
    """A message about an inspection to the pack roles at its site and above."""
    site = session.get(Organisation, inspection.site_id)
    users = list(
        session.scalars(
            select(User.id)
            .where(
                User.org_id.in_(escalation_service.scope_of(session, inspection)),
                User.role.in_(roles),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )
    if not users:
        return 0
    return notify_service.notify_users(
        session,
        now=now,
        user_ids=users,
        template=template,
        params={
            "site": site.name if site else "",
            "checklist": in_each(lambda loc: pick(checklist.name, loc)),
            "due_at": local(pack, inspection.due_at),
            **more,
        },
        dedupe_key=f"inspection:{inspection.id}:{dedupe}",
    )


def open_from_finding(
    session: Session,
    clock: Clock,
    user: User,
    inspection_id: int,
    item_key: str,
    data: FromFinding,
    *,
    key: str | None = None,
) -> CorrectiveAction:
    """A preventive action from a failed checklist item: its cause and category come from the
    item, its problem from the finding, its site from the inspection. `key`: as for
    `open_action`."""
    content = json.dumps(
        {"inspection": inspection_id, "item": item_key, **data.model_dump(mode="json")},
        ensure_ascii=False,
        sort_keys=True,
    )
    claimed, made = _submitted(session, clock.now(), user, key, content)
    if made is not None:
        return get(session, made[0])
    inspection = get_inspection(session, user, inspection_id)
    checklist = checklist_of(session, inspection)
    item = next((i for i in checklist.items if i.key == item_key), None)
    result = next((r for r in inspection.results if r["item"] == item_key), None)
    if item is None or result is None or result["ok"]:
        raise InvalidInput("improvement.item_not_failed", field="item", item=item_key)
    group, version_id, pack = _group_pack(session, user.org_id)
    require_manager(pack, user)
    if item.cause_dimension is None:
        raise InvalidInput("improvement.item_without_cause", field="item", item=item_key)
    _staff_member(session, group.id, data.owner_id, "owner_id")
    create = ActionCreate(
        action_kind="preventive",
        title=f"{pick(checklist.name, 'zh_Hans')} · {pick(item.name, 'zh_Hans')}"[:200],
        problem=result["finding"],
        cause_dimension=item.cause_dimension,
        category=item.category,
        planned=data.planned,
        owner_id=data.owner_id,
        site_id=inspection.site_id,
        due_at=data.due_at,
        target_per_month=data.target_per_month,
    )
    action = _create(
        session,
        clock.now(),
        user,
        group.id,
        version_id,
        pack,
        create,
        [],
        inspection.site_id,
        None,
        inspection_id=inspection.id,
    )
    _note_made(session, claimed, [action.id])
    return action
