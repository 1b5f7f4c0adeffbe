"""Pure notification rules: retry backoff, phone masking, rendering a template's texts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from string import Formatter
from typing import Any

from kesu.i18n import LOCALES, pick
from kesu.privacy.rules import mask_value

BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
)
"""Wait after the 1st, 2nd, … failed attempt. After the last one the row is dead."""
MAX_ATTEMPTS = len(BACKOFF) + 1

LEASE = timedelta(minutes=5)
"""How long a claimed row is reserved for its worker. A worker that dies mid-send leaves the
row to be claimed again after this (so the message may go out twice: at-least-once)."""

REVEAL_PHONE = "reveal_phone"
"""Param: when true, staff recipients get phone numbers unmasked (robots never do)."""


def retry_at(attempts: int, now: datetime, *, permanent: bool = False) -> datetime | None:
    """When to try again after `attempts` attempts, the last of which failed; None: give up."""
    if permanent or attempts >= MAX_ATTEMPTS:
        return None
    return now + BACKOFF[attempts - 1]


def mask_phone(value: str) -> str:
    """Hide every digit but the last four, keeping spaces and dashes: 138 **** 5678."""
    digits = sum(ch.isdigit() for ch in value)
    hidden, out = digits - 4, []
    for ch in value:
        if ch.isdigit() and hidden > 0:
            out.append("*")
            hidden -= 1
        else:
            out.append(ch)
    return "".join(out)


def is_phone_param(name: str) -> bool:
    return name == "phone" or name.endswith("_phone")


NOT_TEXT = frozenset({"number", "numbers", "link", "due_at", "until", "since", REVEAL_PHONE})
"""Params that are Kesu's own references and times, never typed text: left as they are."""


def params_for(recipient_kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What this recipient may see: for staff (unless `reveal_phone`) and always for channels
    (group chats, other systems), phone params masked and the numbers, ID numbers and e-mail
    addresses inside free text (a complaint's title, a reason) masked as the console masks
    them; customers see their own data."""
    reveal = recipient_kind == "customer" or (
        recipient_kind == "user" and bool(params.get(REVEAL_PHONE))
    )
    if reveal:
        return dict(params)
    return {
        name: value
        if name in NOT_TEXT
        else mask_phone(value)
        if is_phone_param(name) and isinstance(value, str)
        else mask_value(value)
        for name, value in params.items()
    }


def localised(params: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Params as the recipient reads them: a label ({zh_Hans: …, zh_Hant: …, en: …}, e.g. a
    level's name) in the recipient's language, everything else as stored."""
    return {
        name: pick(value, locale)
        if isinstance(value, dict) and value and set(value) <= set(LOCALES)
        else value
        for name, value in params.items()
    }


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def template_keys(template: str) -> tuple[str, str]:
    return f"notify.{template}.subject", f"notify.{template}.body"


def placeholders(text: str) -> set[str]:
    return {
        field.split(".")[0].split("[")[0] for _, field, _, _ in Formatter().parse(text) if field
    }


def missing_params(texts: Mapping[str, str], template: str, params: Mapping[str, Any]) -> set[str]:
    """Placeholders of the template's texts that `params` does not supply."""
    needed: set[str] = set()
    for key in template_keys(template):
        needed |= placeholders(texts.get(key, ""))
    return needed - set(params)


def render(texts: Mapping[str, str], template: str, params: Mapping[str, Any]) -> Message:
    """Render `notify.<template>.subject/body` from one language's catalogue.

    Raises KeyError when the catalogue lacks the template or a placeholder has no param.
    """
    subject_key, body_key = template_keys(template)
    return Message(
        subject=texts[subject_key].format_map(params),
        body=texts[body_key].format_map(params),
    )


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def email_in(text: str | None) -> str | None:
    """The first e-mail address in a free-text contact field (e.g. 'WeChat lin88, lin@x.cn')."""
    match = EMAIL.search(text or "")
    return match.group(0) if match else None
