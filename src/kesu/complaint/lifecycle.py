"""The complaint lifecycle as a pure transition table (受理 → … → 结案 → 回访).

`decide()` takes the pack, what the engine needs to know of the complaint (`Case`), the
actor and a validated command payload, and returns the field changes and the event
payload — or raises a KesuError naming the rule. No I/O, no clock: `now` is given.

States: new 新登记 → acknowledged 已受理 → in_progress 处理中 → awaiting_approval 方案待批 →
solution_agreed 方案已定 → implemented 已实施(待客户确认) → reviewing 审核中 → closed 已结案.
Transfers and delay requests are flags beside the state, not states of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kesu.complaint import commands as c
from kesu.errors import Forbidden, IllegalTransition, InvalidInput
from kesu.escalation.rules import keyword_hits
from kesu.i18n import label
from kesu.policy.schema import Pack

STATES = (
    "new",
    "acknowledged",
    "in_progress",
    "awaiting_approval",
    "solution_agreed",
    "implemented",
    "reviewing",
    "closed",
)
OPEN = frozenset(STATES) - {"closed"}
HANDLING = frozenset({"in_progress", "awaiting_approval", "solution_agreed", "implemented"})


@dataclass(frozen=True)
class Actor:
    """Who issues a command. `role` is a pack role key; customers and the system have none."""

    kind: str  # staff | customer | system
    user_id: int | None = None
    role: str | None = None
    department_id: int | None = None
    label: str = ""


SYSTEM = Actor(kind="system", label="system")


@dataclass(frozen=True)
class Case:
    """What the rules read of a complaint (a projection of the complaint row)."""

    state: str
    level: str
    current_tier: str
    classification: str | None = None
    category: str | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    assignee_tier: str | None = None
    staff_complained_id: int | None = None
    pending_transfer: dict[str, Any] | None = None
    investigation: dict[str, Any] | None = None
    solution: dict[str, Any] | None = None
    review_step: int = 0
    delay_status: str | None = None
    round: int = 1


@dataclass
class Change:
    """The outcome of one command: new field values and what the event records."""

    fields: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)


# --- guards -------------------------------------------------------------------------


def _staff_role(pack: Pack, actor: Actor, command: str):
    if actor.kind != "staff":
        raise Forbidden("forbidden.staff_only", command=_command_name(command))
    role = pack.role(actor.role)
    if role is None or not role.may(command):
        raise Forbidden(
            "forbidden.role", command=_command_name(command), role=role_name(pack, actor.role)
        )
    return role


def _command_name(command: str) -> dict[str, str]:
    """A command as the reader says it (确认受理 / Acknowledge) in a message, not its key."""
    return label(f"command.{command}")


def _state_name(state: str) -> dict[str, str]:
    return label(f"state.{state}")


def role_name(pack: Pack, role: str | None) -> dict[str, str] | str:
    """A role's label (事务文员 / Archivist) for a message, its key if unknown."""
    found = pack.role(role) if role else None
    return dict(found.name) if found else (role or "-")


def _not_recused(case: Case, actor: Actor) -> None:
    if actor.user_id is not None and actor.user_id == case.staff_complained_id:
        raise Forbidden("forbidden.recused")


def tier_name(pack: Pack, tier: str | None) -> dict[str, str] | str:
    """A tier's label (一级受理人 / Tier 1 receiver) for a message, its key if unknown."""
    found = next((t for t in pack.tiers if t.key == tier), None)
    return dict(found.name) if found else (tier or "-")


def _at_least_tier(pack: Pack, actor: Actor, tier: str) -> None:
    role = pack.role(actor.role)
    if role is None or pack.tier_rank(role.tier) < pack.tier_rank(tier):
        mine = (role and role.tier) or "-"
        raise Forbidden(
            "forbidden.tier",
            tier=tier,
            actor_tier=mine,
            tier_name=tier_name(pack, tier),
            actor_tier_name=tier_name(pack, mine),
        )


def _level_after(pack: Pack, level: str) -> str | None:
    i = pack.level_index(level)
    return pack.levels[i + 1].key if i + 1 < len(pack.levels) else None


def _raise_level(pack: Pack, case: Case, new_level: str) -> dict[str, Any]:
    lv = pack.level(new_level)
    assert lv is not None
    out: dict[str, Any] = {"level": new_level, "current_tier": lv.handler_tier}
    if case.assignee_id is not None and pack.tier_rank(case.assignee_tier) < pack.tier_rank(
        lv.handler_tier
    ):
        out["assignee_id"] = None  # the case now needs a handler of a higher tier
    return out


# --- guards without a payload (what a UI may offer) ------------------------------------


def _handler(pack: Pack, case: Case, actor: Actor) -> None:
    _at_least_tier(pack, actor, case.current_tier)


def _needs_valid(pack: Pack, case: Case, actor: Actor) -> None:
    if case.classification != "valid":
        raise IllegalTransition("transition.needs_valid")
    _handler(pack, case, actor)


def _needs_investigation(pack: Pack, case: Case, actor: Actor) -> None:
    _handler(pack, case, actor)
    if case.investigation is None:
        raise IllegalTransition("transition.needs_investigation")


def _approver(pack: Pack, case: Case, actor: Actor) -> None:
    assert case.solution is not None
    _at_least_tier(pack, actor, case.solution["approval_tier"])


def _no_pending_transfer(pack: Pack, case: Case, actor: Actor) -> None:
    if case.pending_transfer:
        raise IllegalTransition("transition.transfer_pending")


def _receiving_side(pack: Pack, case: Case, actor: Actor) -> None:
    pending = case.pending_transfer
    if not pending:
        raise IllegalTransition("transition.no_transfer")
    if pending["to_user_id"] is not None:
        ok = actor.user_id == pending["to_user_id"]
    else:
        ok = actor.department_id == pending["to_department_id"]
    if not ok:
        raise Forbidden("forbidden.not_receiving_side")


def _sending_side(pack: Pack, case: Case, actor: Actor) -> None:
    """Who may take a transfer back before it is answered: whoever sent it, or the handler."""
    pending = case.pending_transfer
    if not pending:
        raise IllegalTransition("transition.no_transfer")
    if actor.user_id not in (pending["from_user_id"], case.assignee_id):
        raise Forbidden("forbidden.not_sending_side")


def _receiving_handler(pack: Pack, case: Case, actor: Actor) -> None:
    """Whoever accepts a transfer to a department becomes its handler: of the complaint's tier."""
    _receiving_side(pack, case, actor)
    if case.pending_transfer and case.pending_transfer["to_user_id"] is None:
        _handler(pack, case, actor)


def _reviewer(pack: Pack, case: Case, actor: Actor) -> None:
    chain = pack.level(case.level).review_chain
    if case.review_step >= len(chain):
        raise IllegalTransition("transition.review_complete")
    step = chain[case.review_step]
    if step.role is not None and actor.role != step.role:
        raise Forbidden("forbidden.review_role", role=role_name(pack, step.role))
    if step.tier is not None:
        _at_least_tier(pack, actor, step.tier)
    if case.assignee_id is not None and actor.user_id == case.assignee_id:
        raise Forbidden("forbidden.self_review")


def _closer(pack: Pack, case: Case, actor: Actor) -> None:
    level = pack.level(case.level)
    if actor.role not in level.closer_roles:
        raise Forbidden("forbidden.closer", roles=[role_name(pack, r) for r in level.closer_roles])
    if case.classification not in (None, "valid"):
        return  # a request, an invalid or a malicious complaint closes with its reason
    if case.state != "reviewing" or case.review_step < len(level.review_chain):
        raise IllegalTransition("transition.close_unresolved", state=_state_name(case.state))


def _below_top(pack: Pack, case: Case, actor: Actor) -> None:
    if _level_after(pack, case.level) is None:
        level = pack.level(case.level)
        raise IllegalTransition(
            "transition.top_level", level=dict(level.name) if level else case.level
        )


def _delay_open(pack: Pack, case: Case, actor: Actor) -> None:
    if case.delay_status == "requested":
        raise IllegalTransition("transition.delay_pending")


def _delay_requested(pack: Pack, case: Case, actor: Actor) -> None:
    if case.delay_status != "requested":
        raise IllegalTransition("transition.no_delay_request")


# --- effects: payload checks and the change --------------------------------------------


def _acknowledge(pack, case, actor, p: c.Acknowledge, now):
    return Change({"state": "acknowledged", "acknowledged_at": now}, p.model_dump())


def _record_contact(pack, case, actor, p: c.RecordContact, now):
    # the service keeps the first contact time and adds up unreachable attempts
    f: dict[str, Any] = {"first_contact_at": now} if p.reached else {"unreachable_attempts": 1}
    if p.locale:
        f["locale"] = p.locale
    return Change(f, p.model_dump())


def _classify(pack, case, actor, p: c.Classify, now):
    if p.classification != "valid":
        # not a valid complaint closes at once without the review chain: only its handlers
        # (a receiver may not set aside an L3 12315 or injury complaint as a mere enquiry)
        _handler(pack, case, actor)
    f: dict[str, Any] = {"classification": p.classification}
    if case.state in ("new", "acknowledged") and p.classification == "valid":
        f["state"] = "in_progress"
    return Change(f, p.model_dump())


def _categorize(pack, case, actor, p: c.Categorize, now):
    if p.category is None and p.level is None:
        raise InvalidInput("invalid.nothing_to_change", field="category")
    f: dict[str, Any] = {}
    if p.category is not None:
        if p.category not in pack.keys("categories"):
            raise InvalidInput("invalid.unknown_key", field="category", value=p.category)
        f["category"] = p.category
    if p.level is not None and p.level != case.level:
        if pack.level(p.level) is None:
            raise InvalidInput("invalid.unknown_key", field="level", value=p.level)
        if pack.level_index(p.level) < pack.level_index(case.level):
            _handler(pack, case, actor)  # lowering a level is for its handlers, not those below
        f.update(_raise_level(pack, case, p.level))
    return Change(f, p.model_dump())


def _assign(pack, case, actor, p: c.Assign, now):
    if p.assignee_id is None and p.department_id is None:
        raise InvalidInput("invalid.nothing_to_change", field="assignee_id")
    f: dict[str, Any] = {}
    if p.assignee_id is not None:
        if p.assignee_id == case.staff_complained_id:
            raise Forbidden("forbidden.assignee_recused", field="assignee_id")
        f["assignee_id"] = p.assignee_id
    if p.department_id is not None:
        f["department_id"] = p.department_id
    return Change(f, p.model_dump())


def _transfer(pack, case, actor, p: c.Transfer, now):
    if p.to_user_id is not None and p.to_user_id == case.staff_complained_id:
        raise Forbidden("forbidden.assignee_recused", field="to_user_id")
    pending = {
        "to_department_id": p.to_department_id,
        "to_user_id": p.to_user_id,
        "from_department_id": case.department_id,
        "from_user_id": actor.user_id,
        "reason": p.reason,
        "requested_at": now.isoformat(),
    }
    return Change({"pending_transfer": pending}, p.model_dump())


def _accept_transfer(pack, case, actor, p: c.AnswerTransfer, now):
    pending = case.pending_transfer
    f = {
        "pending_transfer": None,
        "department_id": pending["to_department_id"],
        "assignee_id": pending["to_user_id"] or actor.user_id,
    }
    return Change(f, {**p.model_dump(), "transfer": pending})


def _drop_transfer(pack, case, actor, p: c.AnswerTransfer, now):
    """Declined by the receiving side or withdrawn by the sending side: it stays where it was."""
    return Change({"pending_transfer": None}, {**p.model_dump(), "transfer": case.pending_transfer})


def _record_investigation(pack, case, actor, p: c.RecordInvestigation, now):
    dims = pack.keys("root_cause_dimensions")
    for i, cause in enumerate(p.root_causes):
        if cause not in dims:
            raise InvalidInput("invalid.unknown_key", field=f"root_causes.{i}", value=cause)
    total = sum(r.share for r in p.responsibility)
    if total != 100:
        raise InvalidInput("invalid.shares_sum", field="responsibility", total=total)
    data = p.model_dump(mode="json")
    return Change({"investigation": data}, data)


def _propose_solution(pack, case, actor, p: c.ProposeSolution, now):
    if p.solution_type not in pack.keys("solution_types"):
        raise InvalidInput("invalid.unknown_key", field="solution_type", value=p.solution_type)
    needed = pack.approval_tier(p.amount)
    role = pack.role(actor.role)
    within = role is not None and pack.tier_rank(role.tier) >= pack.tier_rank(needed)
    solution = {**p.model_dump(mode="json"), "approval_tier": needed, "approved": within}
    state = "solution_agreed" if within else "awaiting_approval"
    return Change({"solution": solution, "state": state}, solution)


def _approve_solution(pack, case, actor, p: c.Decision, now):
    solution = {**case.solution, "approved": True}
    return Change({"solution": solution, "state": "solution_agreed"}, p.model_dump())


def _reject_solution(pack, case, actor, p: c.Rejection, now):
    return Change({"solution": None, "state": "in_progress"}, p.model_dump())


def _implement(pack, case, actor, p: c.Implement, now):
    return Change({"state": "implemented", "resolved_at": now}, p.model_dump())


def _check_grade(pack: Pack, value: int) -> None:
    if pack.grade(value) is None:
        allowed = [str(g.value) for g in pack.satisfaction]  # 1、2、3 or 1, 2, 3
        raise InvalidInput("invalid.satisfaction", field="satisfaction", allowed=allowed)


def _record_response(pack, case, actor, p: c.RecordResponse, now):
    _check_grade(pack, p.satisfaction)
    grade = pack.grade(p.satisfaction)
    event = {**p.model_dump(), "outcome": grade.outcome}
    f: dict[str, Any] = {"satisfaction": p.satisfaction}
    if grade.outcome == "accept":
        f.update(state="reviewing", review_step=0)
        return Change(f, event)
    # seed 002: 4/5 upgrade one level with a new handling form (round), back to handling
    f.update(state="in_progress", solution=None, round=case.round + 1, review_step=0)
    higher = _level_after(pack, case.level)
    if higher is None:
        f["gm_agenda"] = True  # L3 still dissatisfied: on the general manager's meeting agenda
        event["gm_agenda"] = True
    else:
        f.update(_raise_level(pack, case, higher))
        event["upgraded_to"] = higher
    return Change(f, event)


def _sign_off(pack, case, actor, p: c.SignOff, now):
    chain = pack.level(case.level).review_chain
    return Change(
        {"review_step": case.review_step + 1},
        {**p.model_dump(), "step": case.review_step + 1, "of": len(chain)},
    )


def _close(pack, case, actor, p: c.Close, now):
    return Change({"state": "closed", "closed_at": now}, p.model_dump())


def _reopen(pack, case, actor, p: c.Reopen, now):
    f = {
        "state": "in_progress",
        "closed_at": None,
        "round": case.round + 1,
        "review_step": 0,
        "solution": None,
        "classification": "valid",
    }
    return Change(f, p.model_dump())


def _escalate(pack, case, actor, p: c.Escalate, now):
    higher = _level_after(pack, case.level)
    return Change(_raise_level(pack, case, higher), {**p.model_dump(), "to_level": higher})


def _request_delay(pack, case, actor, p: c.RequestDelay, now):
    if p.until.tzinfo is None:
        raise InvalidInput("invalid.no_timezone", field="until")
    if p.until <= now:
        raise InvalidInput("invalid.future_time", field="until")
    data = p.model_dump(mode="json")
    return Change({"delay_status": "requested", "delay_until": p.until}, data)


def _approve_delay(pack, case, actor, p: c.Decision, now):
    return Change({"delay_status": "approved"}, p.model_dump())


def _reject_delay(pack, case, actor, p: c.Rejection, now):
    return Change({"delay_status": "rejected", "delay_until": None}, p.model_dump())


def _follow_up(pack, case, actor, p: c.FollowUp, now):
    if p.satisfaction is not None:
        _check_grade(pack, p.satisfaction)
    return Change({"followed_up_at": now}, p.model_dump())


def _note(pack, case, actor, p: c.Note, now):
    return Change({}, p.model_dump())


Guard = Callable[[Pack, Case, Actor], None]
Effect = Callable[[Pack, Case, Actor, Any, datetime], Change]
ANY = frozenset(STATES)


@dataclass(frozen=True)
class Rule:
    states: frozenset[str]
    effect: Effect
    guards: tuple[Guard, ...] = ()


RULES: dict[str, Rule] = {
    "acknowledge": Rule(frozenset({"new"}), _acknowledge),
    "record_contact": Rule(OPEN, _record_contact),
    "classify": Rule(frozenset({"new", "acknowledged", "in_progress"}), _classify),
    "categorize": Rule(OPEN, _categorize),
    "assign": Rule(OPEN, _assign),
    "transfer": Rule(OPEN, _transfer, (_no_pending_transfer,)),
    "accept_transfer": Rule(OPEN, _accept_transfer, (_receiving_handler,)),
    "decline_transfer": Rule(OPEN, _drop_transfer, (_receiving_side,)),
    "withdraw_transfer": Rule(OPEN, _drop_transfer, (_sending_side,)),
    "record_investigation": Rule(
        frozenset({"in_progress"}), _record_investigation, (_needs_valid,)
    ),
    "propose_solution": Rule(
        frozenset({"in_progress"}), _propose_solution, (_needs_investigation,)
    ),
    "approve_solution": Rule(frozenset({"awaiting_approval"}), _approve_solution, (_approver,)),
    "reject_solution": Rule(frozenset({"awaiting_approval"}), _reject_solution, (_approver,)),
    "implement": Rule(frozenset({"solution_agreed"}), _implement, (_handler,)),
    "record_response": Rule(frozenset({"implemented"}), _record_response),
    "sign_off": Rule(frozenset({"reviewing"}), _sign_off, (_reviewer,)),
    "close": Rule(OPEN, _close, (_closer,)),
    "reopen": Rule(frozenset({"closed"}), _reopen),
    "escalate": Rule(OPEN, _escalate, (_below_top,)),
    "request_delay": Rule(OPEN, _request_delay, (_delay_open,)),
    "approve_delay": Rule(OPEN, _approve_delay, (_delay_requested,)),
    "reject_delay": Rule(OPEN, _reject_delay, (_delay_requested,)),
    "follow_up": Rule(frozenset({"closed"}), _follow_up),
    "note": Rule(ANY, _note),
}
assert set(RULES) == set(c.COMMANDS), "every command has exactly one rule"

CUSTOMER_COMMANDS = frozenset({"record_response", "note"})
"""What a complainant may do through the portal (with a verified link)."""


def _check(pack: Pack, case: Case, actor: Actor, command: str, rule: Rule) -> None:
    _not_recused(case, actor)
    if actor.kind == "customer":
        if command not in CUSTOMER_COMMANDS:
            raise Forbidden("forbidden.staff_only", command=_command_name(command))
    elif actor.kind == "staff":
        _staff_role(pack, actor, command)
    if case.state not in rule.states:
        raise IllegalTransition(
            "transition.illegal", command=_command_name(command), state=_state_name(case.state)
        )
    for guard in rule.guards:
        guard(pack, case, actor)


def decide(pack: Pack, case: Case, actor: Actor, command: str, payload: c.Payload, now) -> Change:
    """Check who may do what now, then compute the change. Raises; never half-applies."""
    rule = RULES.get(command)
    if rule is None:
        raise InvalidInput("invalid.unknown_command", field="command", value=command)
    _check(pack, case, actor, command, rule)
    return rule.effect(pack, case, actor, payload, now)


def allowed_commands(pack: Pack, case: Case, actor: Actor) -> list[str]:
    """Commands this actor could issue now (before any payload): what a UI offers."""
    out = []
    for command, rule in RULES.items():
        try:
            _check(pack, case, actor, command, rule)
        except (Forbidden, IllegalTransition):
            continue
        out.append(command)
    return out


def open_complaint(pack: Pack, *, level: str | None, text: str) -> dict[str, Any]:
    """Initial fields of a new complaint: its level (urgent keywords go to the top at once)."""
    urgent = keyword_hits(pack, [text])  # either script: 媒體 is 媒体
    if urgent:
        chosen = pack.levels[-1].key
    else:
        chosen = level or pack.levels[0].key
        if pack.level(chosen) is None:
            raise InvalidInput("invalid.unknown_key", field="level", value=chosen)
    return {
        "state": "new",
        "level": chosen,
        "current_tier": pack.level(chosen).handler_tier,
        "urgent_keywords": urgent,
    }
