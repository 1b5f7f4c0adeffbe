"""Personal data out of case texts (pure): what stays in the case library is the matter, not
the person — phone numbers, ID and card numbers, e-mail addresses and the complainant's name
are replaced before a case is shown or exported."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "＊＊＊"
PERSON = "某"
_PATTERNS = (
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),  # e-mail
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # resident ID (18)
    re.compile(r"(?<!\d)\d{15,19}(?!\d)"),  # old ID, bank card
    re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4}(?!\d)"),  # landline with area code
    re.compile(r"(?<!\d)\d{7,8}(?!\d)"),  # local landline
)
_TITLED = re.compile(r"([\u4e00-\u9fff])(?=(先生|女士|小姐|阿姨|师傅|老师|经理))")


def redact(text: str | None, names: Iterable[str] = ()) -> str:
    """The text with contact numbers and addresses masked, the given names and any surname
    before 先生/女士/… replaced by 某 (林女士 → 某女士)."""
    if not text:
        return ""
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, PERSON * min(len(name), 2))
    return _TITLED.sub(PERSON, text)


def terms(query: str) -> list[str]:
    """Search words: split on spaces (全角 too), duplicates dropped, at most 8."""
    out: list[str] = []
    for word in re.split(r"[\s\u3000]+", query.strip()):
        if word and word not in out:
            out.append(word[:50])
    return out[:8]
