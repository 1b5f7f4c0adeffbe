"""Every message key raised in code exists in Simplified, Traditional Chinese and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kesu.i18n import LOCALES, catalogue, negotiate, translate

SRC = Path(__file__).resolve().parents[1] / "src" / "kesu"
RAISED = re.compile(
    r"(?:NotFound|Forbidden|InvalidInput|IllegalTransition|StaleVersion|PolicyError|"
    r"Unauthenticated|KesuError|__init__)\(\s*\"([a-z_]+\.[a-z_.]+)\""
)


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for path in SRC.rglob("*.py"):
        keys.update(RAISED.findall(path.read_text(encoding="utf-8")))
    return keys


def test_code_raises_message_keys():
    assert len(_keys_in_code()) > 40


@pytest.mark.parametrize("locale", LOCALES)
def test_every_raised_key_is_translated(locale):
    missing = sorted(k for k in _keys_in_code() if k not in catalogue(locale))
    assert missing == []


def test_the_three_catalogues_have_the_same_keys():
    """Except English's variants for a count of one (`key.one`), which Chinese does not need."""
    zh, hant, en = (set(catalogue(loc)) for loc in LOCALES)
    singular = {k for k in en - zh if k.endswith(".one") and k[:-4] in en}
    assert zh - hant == set() and zh - en == set() and hant - zh == set()
    assert en - zh == singular


def test_english_says_one_minute_and_one_earlier_complaint():
    assert translate("auth.locked", "en", minutes=1, seconds=45).endswith("in 1 minute")
    assert translate("auth.locked", "en", minutes=3, seconds=150).endswith("in 3 minutes")
    assert translate("web.lookup.repeat", "en", count=1).endswith("1 earlier complaint")
    assert translate("web.lookup.repeat", "en", count=2).endswith("2 earlier complaints")
    assert translate("improvement.unit.working_days", "en", n=1) == "1 working day"
    assert translate("improvement.unit.working_days", "zh_Hans", n=1) == "1 个工作日"


def test_accept_language_picks_the_readers_language():
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("zh-TW,zh;q=0.9") == "zh_Hant"
    assert negotiate("fr-FR, zh-CN;q=0.5") == "zh_Hans"
    assert negotiate(None) == "zh_Hans"
    assert translate("not_found.complaint", "en", id=7) == "Complaint 7 not found"
    assert translate("not_found.complaint", "zh_Hant", id=7) == "找不到投訴 7"
