"""Complaint numbers from the pack's pattern (pure).

Tokens: {yyyy} {yy} {mm} {dd} and exactly one {seq:N} (zero-padded to N digits; a
larger count simply gets longer, so numbers stay unique). `reset` says which period
the running count restarts in, e.g. seed 001's AABBCCDDD is `{yy}{mm}{dd}{seq:3}`
with reset `year`.
"""

from __future__ import annotations

import re
from datetime import date

_TOKEN = re.compile(r"\{(yyyy|yy|mm|dd|seq:(\d))\}")
_READ_OUT = re.compile(r"[A-Za-z0-9\-]+(?:\s+[A-Za-z0-9\-]+)+")


def check_pattern(pattern: str) -> None:
    tokens = _TOKEN.findall(pattern)
    seqs = [t for t in tokens if t[0].startswith("seq")]
    if len(seqs) != 1:
        raise ValueError("numbering.pattern needs exactly one {seq:N} token (N = 1..9)")
    leftover = _TOKEN.sub("", pattern)
    if "{" in leftover or "}" in leftover:
        raise ValueError("numbering.pattern: unknown token; known {yyyy} {yy} {mm} {dd} {seq:N}")
    if not re.fullmatch(r"[A-Za-z0-9\-]*", leftover):
        raise ValueError("numbering.pattern: literal text may only be letters, digits and '-'")


def period_key(reset: str, day: date) -> str:
    """The counter a number is drawn from: one per year / month / day, or one for ever."""
    return {
        "year": f"{day:%Y}",
        "month": f"{day:%Y-%m}",
        "day": f"{day:%Y-%m-%d}",
        "never": "all",
    }[reset]


def format_number(pattern: str, day: date, seq: int) -> str:
    def repl(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "yyyy":
            return f"{day:%Y}"
        if token == "yy":
            return f"{day:%y}"
        if token == "mm":
            return f"{day:%m}"
        if token == "dd":
            return f"{day:%d}"
        return str(seq).zfill(int(m.group(2)))

    return _TOKEN.sub(repl, pattern)


def unspaced(text: str) -> str:
    """A number as it was read out and written down ("FS 2026 11 0085", see the received page)
    without its spaces; any other text (words, a number typed whole) as it is."""
    if _READ_OUT.fullmatch(text) and sum(ch.isdigit() for ch in text) >= 6:
        return "".join(text.split())
    return text
