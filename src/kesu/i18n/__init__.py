"""Message catalogues: zh_Hans (default), zh_Hant and en.

Catalogues are flat JSON files (key -> text with `{name}` placeholders) so that the
same mechanism translates code messages and policy-pack labels, with no compile step.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from string import Formatter
from typing import Any

LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LOCALE = "zh_Hans"
LANGUAGES = (("zh_Hans", "简体中文"), ("zh_Hant", "繁體中文"), ("en", "English"))
"""Each language by its own name (the language switch, a customer's language)."""


@cache
def catalogue(locale: str) -> dict[str, str]:
    """`{locale}.json` plus every `{domain}.{locale}.json` (one file per domain and language)."""
    merged: dict[str, str] = {}
    for entry in sorted(files("kesu.i18n").iterdir(), key=lambda e: e.name):
        if entry.name == f"{locale}.json" or entry.name.endswith(f".{locale}.json"):
            merged.update(json.loads(entry.read_text(encoding="utf-8")))
    return merged


def translate(key: str, locale: str = DEFAULT_LOCALE, /, **params: Any) -> str:
    """Render `key` in `locale`, falling back to zh_Hans, then to the key itself. Where the
    language has `key.one` (English: "1 minute", not "1 minutes"), it is used when every number
    the text shows is 1; Chinese needs no such variant."""
    texts = catalogue(normalise(locale))
    template = texts.get(key) or catalogue(DEFAULT_LOCALE).get(key) or key
    one = texts.get(f"{key}.one")
    if one and _counts(template, params) and all(n == 1 for n in _counts(template, params)):
        template = one
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def duration(unit: str, amount: int, locale: str = DEFAULT_LOCALE) -> str:
    """A pack's length of time (`{working_days: 1}`) as the reader writes it: "1 working day",
    "2 working days", "1 個工作日"."""
    return translate(f"improvement.unit.{unit}", locale, n=amount)


def _counts(template: str, params: dict[str, Any]) -> list[int]:
    """The whole numbers among `params` that `template` shows."""
    shown = {name for _, name, _, _ in Formatter().parse(template) if name}
    return [
        v
        for k, v in params.items()
        if k in shown and isinstance(v, int) and not isinstance(v, bool)
    ]


def normalise(locale: str | None) -> str:
    """Map any spelling (zh-CN, zh_TW, en-GB, zh-Hant-HK …) to one of LOCALES."""
    if not locale:
        return DEFAULT_LOCALE
    tag = locale.replace("_", "-").lower()
    if tag.startswith("en"):
        return "en"
    if tag.startswith("zh"):
        if "hant" in tag or tag in ("zh-tw", "zh-hk", "zh-mo"):
            return "zh_Hant"
        return "zh_Hans"
    return DEFAULT_LOCALE


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported locale from an Accept-Language header."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*" and (tag.lower().startswith(("zh", "en"))):
            ranked.append((-weight, position, tag))
    if not ranked:
        return DEFAULT_LOCALE
    return normalise(min(ranked)[2])


def in_language(value: Any, locale: str) -> Any:
    """A message parameter as the reader reads it: a pack label ({zh_Hans: …, en: …}) in their
    language, a list of labels or words as their language runs a list (a、b or a, b), anything
    else as it is."""
    if isinstance(value, dict) and value and set(value) <= set(LOCALES):
        return pick(value, locale)
    if isinstance(value, list | tuple) and value and all(isinstance(v, dict | str) for v in value):
        return translate("web.sep.list", locale).join(str(in_language(v, locale)) for v in value)
    return value


def rule_params(ctx: dict[str, Any], locale: str) -> dict[str, Any]:
    """A Pydantic rule's parameters (`rule.<type>`) as the reader's language writes them: its
    list of choices "'a', 'b' or 'c'" reads 'a'、'b'、'c' in Chinese."""
    if "expected" in ctx and locale != "en":
        return {**ctx, "expected": str(ctx["expected"]).replace(" or ", ", ").replace(", ", "、")}
    return ctx


def label(key: str, /, **params: Any) -> dict[str, str]:
    """`key` in every language, as a pack label: an error parameter the edge renders (`pick`)
    in its reader's language."""
    return {loc: translate(key, loc, **params) for loc in LOCALES}


def pick(texts: dict[str, str] | str, locale: str) -> str:
    """Choose a pack label ({zh_Hans: …, zh_Hant: …, en: …}) in the reader's language."""
    if isinstance(texts, str):
        return texts
    loc = normalise(locale)
    return texts.get(loc) or texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")
