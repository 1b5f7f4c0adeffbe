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
    zh, hant, en = (set(catalogue(loc)) for loc in LOCALES)
    assert zh - hant == set() and zh - en == set() and hant - zh == set() and en - zh == set()


def test_accept_language_picks_the_readers_language():
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("zh-TW,zh;q=0.9") == "zh_Hant"
    assert negotiate("fr-FR, zh-CN;q=0.5") == "zh_Hans"
    assert negotiate(None) == "zh_Hans"
    assert translate("not_found.complaint", "en", id=7) == "Complaint 7 not found"
    assert translate("not_found.complaint", "zh_Hant", id=7) == "找不到投訴 7"
