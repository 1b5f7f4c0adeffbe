"""The record in words: event payloads, the confirm-by-restating text, reply templates (话术).

Used by the complaint page, the printable forms and the portal, so a satisfaction grade or a
level reads the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kesu.complaint.models import Complainant, Complaint, ComplaintEvent
from kesu.i18n import LANGUAGES, pick, translate
from kesu.policy.schema import Pack
from kesu.privacy.rules import mask_text
from kesu.web.pages import local_deadline, local_time

HIDDEN = frozenset(
    {"complainant_id", "evidence_id", "sha256", "subject", "of", "outcome", "approved", "size"}
)
"""Payload keys that are bookkeeping, not something a reader needs on the timeline."""
RECEIVE_SHOWN = ("channel", "level", "category", "title", "demands")


@dataclass(frozen=True)
class Names:
    """Display names of the people and places an event may mention."""

    users: dict[int, str]
    orgs: dict[int, str]


USER_KEYS = ("assignee_id", "to_user_id", "from_user_id", "user_id")
"""Payload keys whose value is a staff member's id (shown by name)."""


def mentioned_users(payloads: list[dict[str, Any]]) -> set[int]:
    """The staff ids named in event payloads, nested ones (an automatic assignment) included."""
    found: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k in USER_KEYS and isinstance(v, int):
                    found.add(v)
                else:
                    walk(v)

    for payload in payloads:
        walk(payload)
    return found


def listed(items: Any, locale: str) -> str:
    """Items in a run: 人、物 in Chinese, People, Material in English."""
    return translate("web.sep.list", locale).join(items)


def labelled(pairs: Any, locale: str) -> str:
    """(label, text) pairs in a run: 摘要：…；时限：… / Summary: …; Timers: …"""
    colon = translate("web.sep.colon", locale)
    sep = translate("web.sep.items", locale)
    bare = sep.lstrip(_CLOSING)  # after text that closes its own sentence: only the space
    out = ""
    for k, v in pairs:
        if out:
            out += bare if out.rstrip().endswith(tuple(_CLOSING)) else sep
        out += f"{k}{colon}{v}"
    return out


_CLOSING = "。！？.!?；;"
"""Sentence punctuation: text ending in it takes no separator after it (了解经过。Timers: …)."""


def actor_text(event: ComplaintEvent, locale: str) -> str:
    """Who recorded an event: a person's name, "系统" for the worker's own events, and the
    complainant marked as such (their portal messages are notes too, beside staff's)."""
    if event.actor_kind == "system" and event.actor_label == "system":
        return translate("web.system", locale)
    if event.actor_kind == "customer":
        return translate("web.by_customer", locale, name=event.actor_label)
    return event.actor_label


def _yes_no(value: bool, locale: str) -> str:
    return translate("web.yes" if value else "web.no", locale)


def key_label(pack: Pack, kind: str, key: str, locale: str) -> str:
    items = pack.category_list() if kind == "categories" else getattr(pack, kind)
    found = next((i for i in items if i.key == key), None)
    return pick(found.name, locale) if found else key


def value_text(pack: Pack, key: str, value: Any, names: Names, locale: str) -> str:
    """One payload value as a reader would say it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value, locale)
    if key == "classification":
        return translate(f"classification.{value}", locale)
    if key in ("level", "upgraded_to", "to_level"):
        lv = pack.level(value)
        return pick(lv.name, locale) if lv else str(value)
    if key == "category":
        return key_label(pack, "categories", value, locale)
    if key == "channel":
        return key_label(pack, "channels", value, locale)
    if key == "solution_type":
        return key_label(pack, "solution_types", value, locale)
    if key in ("approval_tier", "current_tier"):
        return key_label(pack, "tiers", value, locale)
    if key == "complainant_type":
        return key_label(pack, "complainant_types", value, locale)
    if key == "demands":
        return listed((key_label(pack, "demands", d, locale) for d in value), locale)
    if key == "root_causes":
        return listed((key_label(pack, "root_cause_dimensions", d, locale) for d in value), locale)
    if key == "responsibility":
        return listed((f"{r.get('party')} {r.get('share')}%" for r in value), locale)
    if key == "satisfaction":
        grade = pack.grade(int(value))
        return f"{value} {pick(grade.name, locale)}" if grade else str(value)
    if key == "method":
        return translate(f"web.method.{value}", locale)
    if key == "locale":
        return dict(LANGUAGES).get(value, str(value))
    if key in USER_KEYS:
        return names.users.get(value, str(value))
    if key in ("department_id", "to_department_id", "from_department_id"):
        return names.orgs.get(value, str(value))
    if key == "timer" and isinstance(value, str):
        timer = pack.timer(value)
        return pick(timer.name, locale) if timer else value
    if key in ("until", "requested_at", "due_at") and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if key == "requested_at":
            return local_time(moment, pack.timezone)
        return local_deadline(moment, pack.timezone)
    if key == "sla" and isinstance(value, dict):
        names_ = {tm.key: pick(tm.name, locale) for tm in pack.timers}
        return labelled(
            (
                (
                    translate(f"web.timer.{what}", locale),
                    listed((names_.get(k, k) for k in keys), locale),
                )
                for what, keys in value.items()
                if isinstance(keys, list)
            ),
            locale,
        )
    if key == "transfer" and isinstance(value, dict):
        to = names.orgs.get(value.get("to_department_id"), "")
        return f"{names.orgs.get(value.get('from_department_id'), '—')} → {to}"
    if isinstance(value, list):
        return listed((str(v) for v in value), locale)
    if isinstance(value, dict):
        return labelled(
            (
                (field_label(k, locale), value_text(pack, k, v, names, locale))
                for k, v in value.items()
            ),
            locale,
        )
    return str(value)


LABELS = {
    ("propose_solution", "description"): "web.solution_description",
    ("sla_breach", "due_at"): "web.timer.due",
    ("sla_warning", "due_at"): "web.timer.due",
}
"""Where a payload key means something else than on the complaint (a solution's description)."""


def field_label(key: str, locale: str, command: str = "") -> str:
    text = translate(LABELS.get((command, key), f"field.{key}"), locale)
    return key if text.startswith(("field.", "web.")) else text


def event_lines(
    pack: Pack, event: ComplaintEvent, names: Names, locale: str
) -> list[tuple[str, str]]:
    """(label, text) pairs of an event's payload worth showing."""
    keys = RECEIVE_SHOWN if event.command == "receive" else event.payload.keys()
    out = []
    for key in keys:
        if key in HIDDEN or key not in event.payload:
            continue
        text = value_text(pack, key, event.payload[key], names, locale)
        if text:
            out.append((field_label(key, locale, event.command), text))
    return out


_PART = re.compile(r"\{(yyyy|yy|mm|dd|seq:\d)\}|([^{]+)")
_WIDTH = {"yyyy": 4, "yy": 2, "mm": 2, "dd": 2}


def spaced(number: str, pattern: str = "") -> str:
    """A complaint number as read over the phone, in the parts of the pack's pattern
    (`FS{yyyy}{mm}{seq:4}` → "FS 2026 11 0001"); groups of four if it does not fit."""
    parts, rest = [], number
    tokens = _PART.findall(pattern)
    for i, (token, literal) in enumerate(tokens):
        width = len(literal) if literal else _WIDTH.get(token, 0)
        last = i == len(tokens) - 1
        if token.startswith("seq") and not last:
            width = len(rest) - sum(len(lt) or _WIDTH.get(t, 0) for t, lt in tokens[i + 1 :])
        part, rest = (rest, "") if last else (rest[:width], rest[width:])
        parts.append(part)
    if not tokens or rest or "" in parts or "".join(parts) != number:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return " ".join(p.strip("-") for p in parts if p.strip("-"))


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else phone


def restatement(
    pack: Pack, complaint: Complaint, person: Complainant, locale: str, *, plain: bool
) -> str:
    """确认复述: what the receiver reads back to the caller to confirm the record (numbers in
    the title masked unless the viewer may see the complainant's personal data: `plain`)."""
    demands = value_text(pack, "demands", complaint.demands, Names({}, {}), locale)
    return translate(
        "web.restate",
        locale,
        name=person.name,
        phone=mask_phone(person.phone),
        title=complaint.title if plain else mask_text(complaint.title),
        demands=demands or translate("web.restate_no_demand", locale),
        number=spaced(complaint.number, pack.numbering.pattern),
    )


REPLIES: dict[str, tuple[str, ...]] = {
    "franchise-sales-center": (
        "greeting",
        "empathy",
        "accepted",
        "progress",
        "result",
        "unreachable",
    ),
}
DEFAULT_REPLIES = ("greeting", "empathy", "accepted", "progress", "result")
"""Reply templates (客服标准话术, seed 002 附件四) per pack key; texts in the web catalogue."""


def replies(
    pack: Pack, complaint: Complaint, person: Complainant, agent: str, locale: str
) -> list[tuple[str, str]]:
    """(title, text) of each reply template, filled in for this complaint."""
    keys = REPLIES.get(pack.key, DEFAULT_REPLIES)
    grades = ", " if locale == "en" else "，"  # the pack's own scale, not seed 002's five grades
    params = {
        "name": person.name,
        "number": complaint.number,
        "agent": agent,
        "grades": grades.join(f"{g.value} {pick(g.name, locale)}" for g in pack.satisfaction),
    }
    return [
        (translate(f"web.reply.{k}.title", locale), translate(f"web.reply.{k}", locale, **params))
        for k in keys
    ]
