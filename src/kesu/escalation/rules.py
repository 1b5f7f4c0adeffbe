"""Pure escalation rules: emergency categories, keywords, repeat complaints, response rounds,
and who gets an unowned complaint. No database: callers pass what the rules read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kesu.policy.schema import Pack


def top_level(pack: Pack) -> str:
    return pack.levels[-1].key


def is_higher(pack: Pack, level: str, than: str) -> bool:
    return pack.level_index(level) > pack.level_index(than)


def emergency_categories(pack: Pack) -> set[str]:
    """The pack's emergency categories and every category under them."""
    out: set[str] = set()
    stack = [c for c in pack.category_list() if c.key in pack.escalation.emergency_categories]
    while stack:
        category = stack.pop()
        out.add(category.key)
        stack.extend(category.children)
    return out


def keyword_hits(pack: Pack, texts: Iterable[str | None]) -> list[str]:
    """The pack's urgent keywords (12315, 媒体, 受伤 …) found in any of the texts."""
    joined = "\n".join(t for t in texts if t)
    return [k for k in pack.urgent_keywords if k and k in joined]


def responsible(who: str, *, assignee_id: int | None, received_by_id: int | None) -> int | None:
    """The person a pack's `assignee` or `receiver` names on a complaint.

    `assignee`: the handler, else whoever registered it. `receiver`: whoever registered it
    (受理人), else the handler: a complaint that came in by itself (the portal, an e-mail)
    was registered by nobody, and the staff member it was given to answers for what the
    receiver must do (seed 002 5.1.1: contact within one working day, 30 yuan if not)."""
    if who == "receiver":
        return received_by_id or assignee_id
    return assignee_id or received_by_id


def matter_of(fields: Iterable[str], complaint: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What makes two complaints "the same matter" under the pack's repeat rule; None when a
    compared field is empty (an unknown matter is never a repeat)."""
    values = tuple(complaint.get(f) for f in fields)
    return None if any(v in (None, "") for v in values) else values


def rounds_exceeded(pack: Pack, level: str, round_: int) -> bool:
    """Would response round `round_` be more rounds (对应次数) than the pack allows here?"""
    rule = pack.response_rounds
    if rule is None:
        return False
    limit = rule.max_for(level)
    return limit is not None and round_ > limit


@dataclass(frozen=True)
class Candidate:
    """A staff member who could handle a complaint."""

    user_id: int
    tier_rank: int
    department_id: int | None
    open_cases: int


def pick_handler(
    candidates: Iterable[Candidate],
    *,
    needed_rank: int,
    department_id: int | None,
    recused_id: int | None,
    preferred_id: int | None = None,
) -> int | None:
    """The handler for an unowned complaint, or None.

    Never the person complained about (回避). The staff member acting now keeps it when their
    tier suffices; otherwise the lowest sufficient tier, the complaint's own department first,
    then the fewest open cases, then the longest-serving (lowest id).
    """
    eligible = [c for c in candidates if c.tier_rank >= needed_rank and c.user_id != recused_id]
    if not eligible:
        return None
    if preferred_id is not None and any(c.user_id == preferred_id for c in eligible):
        return preferred_id
    best = min(
        eligible,
        key=lambda c: (
            c.tier_rank,
            department_id is None or c.department_id != department_id,
            c.open_cases,
            c.user_id,
        ),
    )
    return best.user_id
