"""Masking of personal data (pure): what a viewer without the permission sees.

《个人信息保护法》 asks for the minimum necessary: a list, a search result, an export, a report
or a notification shows `138****5678`, never the number, unless the viewer may see it
(`kesu.access.rules.can(..., "unmask", ...)`). Free text typed by staff is masked too:
mobile and landline numbers, 18-digit resident ID numbers and e-mail addresses in it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from kesu.i18n import translate

MASK = "****"
PERSONAL_FIELDS = ("phone", "other_contact", "address", "member_id")
"""Complainant fields that are sealed at rest and masked on output (name is shown)."""

COMPLAINT_TEXT = (
    "title",
    "description",
    "occurred_place",
    "subject",
    "investigation",
    "solution",
    "pending_transfer",
)
"""A complaint's free text: numbers and e-mail addresses in it are masked (`mask_value`) for
whoever may not see the complainant's personal data, on the API and the console alike."""

RETENTION_YEARS = 3
"""Default: closed complaints are anonymised 3 years after closing — the general limitation
period for civil claims (《民法典》第一百八十八条) — unless the organisation sets its own."""

_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<![\d])(\+?86[ \-]?)?1[3-9]\d(?:[ \-]?\d){8}(?![\d])")
_LANDLINE = re.compile(r"(?<![\d\-])0\d{2,3}[ \-]?\d{7,8}(?![\d])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def mask_phone(phone: str | None) -> str | None:
    """13812345678 → 138****5678; short numbers keep their last two digits."""
    if not phone:
        return phone
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 11:
        return digits[-11:-8] + MASK + digits[-4:]
    if len(digits) >= 7:
        return digits[:2] + MASK + digits[-2:]
    return MASK


def consent_note(version: str) -> str:
    """The note the portal records, in the customer's name, that they accepted the privacy
    notice of this version as they submitted (in the record's language)."""
    return translate("portal.consent_record", "zh_Hans", version=version)


def is_consent_note(text: str | None) -> bool:
    """Whether a customer's note is that record (of any version of the notice), not something
    they wrote: it is not shown as their message, nor marks their complaint 客户新留言."""
    prefix = consent_note("\0").split("\0")[0]
    return bool(text) and text.startswith(prefix)


CONTACT_SEPARATOR = " · "
"""Between the portal's contact preference and the address the customer gave."""


def mask_id(value: str | None) -> str | None:
    """Resident ID, member number, plate: the first 3 and last 4 characters of long values."""
    if not value:
        return value
    if len(value) >= 11:
        return value[:3] + MASK + value[-4:]
    if len(value) >= 4:
        return value[:1] + MASK + value[-1:]
    return MASK


def mask_address(address: str | None) -> str | None:
    """Keep the first six characters (province and city, as a rule) and hide the rest."""
    if not address:
        return address
    return address[:6] + MASK if len(address) > 6 else MASK


def mask_contact(value: str | None) -> str | None:
    """An e-mail keeps its first letter and domain; anything else is masked like an id. The
    portal writes the customer's preferred way ahead of the address ("电子邮件 · a@b.cn"):
    that label is not personal and stays, the address after it is masked."""
    if not value:
        return value
    label, sep, rest = value.partition(CONTACT_SEPARATOR)
    if sep and rest:
        return label + sep + (mask_contact(rest) or "")
    local, at, domain = value.partition("@")
    if at and domain:
        return local[:1] + MASK + "@" + domain
    return mask_id(value)


def mask_address_of(channel: str, address: str) -> str:
    """Where a message to a complainant went, as staff see it: an e-mail like `mask_contact`,
    a phone (SMS) like `mask_phone`."""
    if channel == "email":
        return mask_contact(address) or ""
    return mask_phone(address) or ""


def mask_text(text: str | None) -> str | None:
    """Numbers and e-mail addresses inside free text (descriptions, notes, payloads)."""
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: mask_id(m.group()) or MASK, text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group()) or MASK, text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group()) or MASK, text)
    return _EMAIL.sub(lambda m: mask_contact(m.group()) or MASK, text)


def mask_value(value: Any) -> Any:
    """mask_text over every string in a JSON-like value (an event payload, a subject)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value


def mask_person(fields: dict[str, Any]) -> dict[str, Any]:
    """A complainant's fields (name, phone, other_contact, address, member_id …) masked."""
    out = dict(fields)
    if "phone" in out:
        out["phone"] = mask_phone(out["phone"])
    if "other_contact" in out:
        out["other_contact"] = mask_contact(out["other_contact"])
    if "address" in out:
        out["address"] = mask_address(out["address"])
    if "member_id" in out:
        out["member_id"] = mask_id(out["member_id"])
    return out


ANONYMISED_NAME = "（已匿名）"


def anonymised_fields() -> dict[str, Any]:
    """What a complainant row keeps after anonymisation: nothing that identifies a person."""
    return {
        "name": ANONYMISED_NAME,
        "phone": None,
        "phone_hash": None,
        "other_contact": None,
        "address": None,
        "member_id": None,
    }


def retention_cutoff(now: datetime, years: int) -> datetime:
    """Complaints closed at or before this instant are past retention (29 Feb → 28 Feb)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)
