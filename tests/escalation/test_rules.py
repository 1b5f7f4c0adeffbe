"""Pure escalation rules: who gets an unowned complaint, emergency categories, keywords,
repeat matters and response rounds."""

from __future__ import annotations

from kesu.escalation import rules
from kesu.escalation.rules import Candidate
from kesu.policy import loader

MALL = loader.parse_cached(loader.builtin_source("shopping-mall"))
SERVICE = loader.parse_cached(loader.builtin_source("service-center"))
CLUB = loader.parse_cached(loader.builtin_source("billiards-club"))

STAFF = [
    Candidate(user_id=1, tier_rank=1, department_id=10, open_cases=4),
    Candidate(user_id=2, tier_rank=1, department_id=10, open_cases=1),
    Candidate(user_id=3, tier_rank=1, department_id=20, open_cases=0),
    Candidate(user_id=4, tier_rank=2, department_id=10, open_cases=0),
    Candidate(user_id=5, tier_rank=3, department_id=None, open_cases=0),
]


def pick(**kw):
    args = {"needed_rank": 1, "department_id": 10, "recused_id": None, "preferred_id": None}
    args.update(kw)
    return rules.pick_handler(STAFF, **args)


def test_the_person_acting_keeps_the_case_when_their_tier_suffices():
    assert pick(preferred_id=1) == 1
    assert pick(preferred_id=1, needed_rank=2) == 4  # a T1 cannot keep a T2 case


def test_otherwise_the_least_loaded_of_the_lowest_sufficient_tier_in_the_department():
    assert pick() == 2
    assert pick(department_id=20) == 3
    assert pick(needed_rank=2) == 4
    assert pick(needed_rank=3) == 5


def test_the_person_complained_about_is_never_chosen_even_when_acting():
    assert pick(recused_id=2) == 1
    assert pick(recused_id=1, preferred_id=1) == 2
    assert pick(needed_rank=3, recused_id=5) is None


def test_emergency_categories_include_their_children():
    assert rules.emergency_categories(MALL) == {"safety"}
    assert rules.emergency_categories(CLUB) == {"safety", "discrimination"}


def test_keywords_are_found_in_any_of_the_texts():
    assert rules.keyword_hits(SERVICE, ["门口有人堵门", None, "要找媒体"]) == ["媒体", "堵门"]
    assert rules.keyword_hits(SERVICE, ["沙发坏了"]) == []


# every urgent keyword of the built-in packs as a customer may write it: Traditional characters,
# full-width digits (a keyword added to a pack must be added here)
WRITTEN_OTHERWISE = {
    "12315": "１２３１５",
    "12378": "１２３７８",
    "媒体": "媒體",
    "曝光": "曝光",
    "起诉": "起訴",
    "受伤": "受傷",
    "报警": "報警",
    "群体": "群體",
    "歧视": "歧視",
    "堵门": "堵門",
    "闹事": "鬧事",
    "围堵": "圍堵",
    "失窃": "失竊",
    "中毒": "中毒",
    "死亡": "死亡",
}


def test_every_packs_urgent_keywords_are_found_in_traditional_chinese_and_full_width_digits():
    for key in loader.builtin_keys():
        pack = loader.parse_cached(loader.builtin_source(key))
        for keyword in pack.urgent_keywords:
            written = WRITTEN_OTHERWISE[rules.folded(keyword)]
            assert rules.keyword_hits(pack, [f"顧客說：{written}！"]) == [keyword], (key, keyword)


def test_a_keyword_a_pack_lists_in_both_scripts_is_found_once_as_it_lists_it_first():
    both = CLUB.model_copy(update={"urgent_keywords": ["受傷", "受伤", "报警"]})
    assert rules.keyword_hits(both, ["小孩受伤了，要報警"]) == ["受傷", "报警"]


def test_a_matter_with_an_empty_field_is_never_a_repeat():
    assert rules.matter_of(["category", "site_id"], {"category": "repair", "site_id": 3}) == (
        "repair",
        3,
    )
    assert rules.matter_of(["category", "order_no"], {"category": "repair"}) is None


def test_response_rounds_follow_the_grade_and_crisis_has_no_limit():
    assert not rules.rounds_exceeded(SERVICE, "dissatisfied", 2)
    assert rules.rounds_exceeded(SERVICE, "dissatisfied", 3)
    assert not rules.rounds_exceeded(SERVICE, "crisis", 9)
    assert not rules.rounds_exceeded(MALL, "normal", 9)  # no limit in the pack
