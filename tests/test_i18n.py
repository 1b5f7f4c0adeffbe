"""Every message key raised in code exists in Simplified, Traditional Chinese and English."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Formatter

import pytest
import yaml

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


# Characters written differently in Traditional Chinese (处 → 處, 时 → 時 …): the Simplified
# forms of every such character the Simplified catalogues and packs use. 准, 群 and 台 are left
# out (also standard in Taiwan and Hong Kong: 核准, 群組, 後台).
SIMPLIFIED_ONLY = set(
    "万与专业两严个临为举么义乐书于产亲仅从们价众优伙会传伤体偿关兴内写决况减凭划则刚删别"
    "办务动励势匀区协单占卫厂历参双发变号后吗听启员咨响团围国图场声处备复头奖实审对导将尝"
    "尽层属岗带幂并库应开异弃弹归当录径态总恶惩户托执抚护报担拟拨择损换据数断无时显暂术机"
    "杂权条来极构柜标样档检毕气汇沟没洁测济满灭灯点热状独环现电畅监码确礼种称窃筛签简类紧"
    "纠约级纷线组细织终经结给络绝统继绩绪续维综编缩网罚职联脱节范获营虚补装见观规视览触誉"
    "计订认讨让训议记许论设访证评识诉词试话询该详语误说请诺读课谁调谅谈谢负财责败账货质贷"
    "费资赔赠趋踪车转轮轻载较输辖边达过运还这进远连适选邮采释鉴钟钥银链销错键长门闭问间闹"
    "阅队际险随隐难页项须顾预领频题额风馈驳验骤齐这"
)
CATALOGUES = SRC / "i18n"
PACKS = SRC / "policy" / "packs"


def _domains() -> list[str]:
    """ "" for the core catalogue (zh_Hans.json …), else the domain ("web", "report" …)."""
    names = {
        p.name.rsplit(".", 2)[0] if p.name.count(".") == 2 else ""
        for p in CATALOGUES.glob("*.json")
    }
    return sorted(names)


def _file(domain: str, locale: str) -> dict[str, str]:
    name = f"{domain}.{locale}.json" if domain else f"{locale}.json"
    return json.loads((CATALOGUES / name).read_text(encoding="utf-8"))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def _pack_labels(node, where=""):
    """Every label of a pack ({zh_Hans: …, zh_Hant: …, en: …}) with where it is."""
    if isinstance(node, dict):
        if "zh_Hans" in node and all(isinstance(v, str) for v in node.values()):
            yield where, node
            return
        for key, value in node.items():
            yield from _pack_labels(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _pack_labels(value, f"{where}[{i}]")


@pytest.mark.parametrize("domain", _domains())
def test_each_catalogue_file_has_the_same_keys_and_placeholders_in_every_language(domain):
    hans, hant, en = (_file(domain, loc) for loc in LOCALES)
    assert set(hans) == set(hant)
    assert set(hans) - set(en) == set()
    assert {k for k in set(en) - set(hans) if not (k.endswith(".one") and k[:-4] in en)} == set()
    for key, text in hans.items():
        assert _placeholders(hant[key]) == _placeholders(text), key
        assert _placeholders(en[key]) == _placeholders(text), key
        if f"{key}.one" in en:
            assert _placeholders(en[f"{key}.one"]) <= _placeholders(text), key


def test_no_traditional_chinese_text_uses_a_simplified_character():
    found = {
        key: sorted(set(text) & SIMPLIFIED_ONLY)
        for key, text in catalogue("zh_Hant").items()
        if set(text) & SIMPLIFIED_ONLY
    }
    assert found == {}


@pytest.mark.parametrize("path", sorted(PACKS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_pack_label_reads_in_traditional_chinese_and_english(path):
    labels = list(_pack_labels(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert labels
    missing = [where for where, label in labels if not label.get("zh_Hant") or not label.get("en")]
    simplified = [
        (where, sorted(set(label["zh_Hant"]) & SIMPLIFIED_ONLY))
        for where, label in labels
        if set(label.get("zh_Hant", "")) & SIMPLIFIED_ONLY
    ]
    assert missing == [] and simplified == []


def test_english_text_has_no_chinese_but_its_examples_of_chinese_input():
    chinese = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]")
    examples = {"caselib.hint", "ledger.no_header"}  # words a user types, headers of a ledger
    found = sorted(k for k, v in catalogue("en").items() if chinese.search(v) and k not in examples)
    assert found == []


def test_one_thing_has_one_name_in_each_language():
    """A pack is a 制度包 (not also 政策包), a ledger a 台账 / 台賬 (not also 台帳)."""
    hans, hant = catalogue("zh_Hans"), catalogue("zh_Hant")
    assert [k for k, v in hans.items() if "政策包" in v] == []
    assert [k for k, v in hant.items() if "政策包" in v or "台帳" in v] == []


def test_a_length_of_time_reads_one_day_not_one_days():
    from kesu.i18n import duration
    from kesu.policy.schema import Duration

    assert str(Duration(working_days=1)) == "1 working day"
    assert str(Duration(calendar_days=15)) == "15 calendar days"
    assert str(Duration(hours=1)) == "1 hour"
    assert duration("working_days", 1, "en") == "1 working day"
    assert duration("working_days", 2, "zh_Hant") == "2 個工作日"


def test_policy_show_reads_in_the_readers_language():
    from kesu.policy.loader import builtin_source, parse_pack
    from kesu.policy.summary import describe

    pack = parse_pack(builtin_source("retail-store"), "retail-store.yaml")
    hant = "\n".join(describe(pack, "zh_Hant"))
    for english in ("levels:", "timers:", "handled by", "within:", "on breach", "recurring"):
        assert english not in hant
    assert "    期限：1 個工作日；循環計時：否" in hant
    assert "升級：緊急關鍵詞 受伤、报警、媒体" in hant  # the pack's keywords, as a Chinese list
    en = describe(pack, "en")
    assert "    within: 1 working day; recurring: no" in en
    assert "    within: 1 hour; recurring: no" in en
    assert not [line for line in en if "1 working days" in line or "1 hours" in line]


def test_english_field_names_start_with_a_capital_like_the_form_labels_they_are():
    """A report form read "report kind", "organisation", "period" beside "Category", "Level"."""
    lower = sorted(
        k for k, v in catalogue("en").items() if k.startswith("field.") and v[0].islower()
    )
    assert lower == []


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_sends_its_reader_to_a_file_of_the_source_repository(locale):
    """A report's reader has the product, not the repository: "定义见 docs/reports.md"."""
    repository_file = re.compile(r"\b(?:docs|src|tests)/[\w./-]+|\b[\w-]+\.md\b")
    found = sorted(k for k, v in catalogue(locale).items() if repository_file.search(v))
    assert found == []
